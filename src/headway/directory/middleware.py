"""When admins require two-factor sign-in, a person signed in with a password sets it up first."""

from __future__ import annotations

from collections.abc import Callable

from allauth.account.authentication import get_authentication_records
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect

# Sign-in, sign-out, password and two-factor pages stay reachable; so do static files.
OPEN_PREFIXES = ("/accounts/", "/static/", "/healthz", "/scim/")
POLICY_CACHE_KEY = "headway:require_two_factor"
POLICY_CACHE_SECONDS = 10
SESSION_KEY = "headway_two_factor_ok"


def two_factor_required() -> bool:
    """The organisation's policy (cached for a few seconds: it is read on every request)."""
    cached = cache.get(POLICY_CACHE_KEY)
    if cached is None:
        from headway.directory.models import SignInPolicy

        cached = SignInPolicy.objects.filter(pk=1, require_two_factor=True).exists()
        cache.set(POLICY_CACHE_KEY, cached, POLICY_CACHE_SECONDS)
    return bool(cached)


def signed_in_with_password(request: HttpRequest) -> bool:
    """Whether this session's sign-in used a password (single sign-on leaves 2FA to the IdP)."""
    records = get_authentication_records(request, request.user)
    if not records:
        # A session from before records were kept, or the admin site: treat it as a password.
        return True
    return any(record.get("method") == "password" for record in records)


class TwoFactorRequiredMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.path.startswith(OPEN_PREFIXES)
            and not request.session.get(SESSION_KEY)
            and two_factor_required()
            and signed_in_with_password(request)
        ):
            if is_mfa_enabled(user):
                request.session[SESSION_KEY] = True
            elif request.path.startswith("/api/"):
                return JsonResponse(
                    {
                        "detail": "Your organisation requires two-factor sign-in: set it up "
                        "at /accounts/2fa/ first (or use an API token)."
                    },
                    status=403,
                )
            else:
                return redirect("mfa_activate_totp")
        response = self.get_response(request)
        if request.path.startswith("/accounts/") and "html" in response.get("Content-Type", ""):
            allow_providers_in_form_action(response)
        return response


def allow_providers_in_form_action(response: HttpResponse) -> None:
    """Let sign-in forms continue to the identity providers (CSP form-action covers redirects)."""
    from headway.directory.providers import sign_in_origins

    origins = sign_in_origins()
    if origins:
        config = dict(getattr(response, "_csp_config", settings.SECURE_CSP))
        config["form-action"] = [*config.get("form-action", []), *origins]
        response._csp_config = config  # type: ignore[attr-defined]
