"""Two-factor required: a person signed in with a password sets it up before anything else.

The requirement is checked once, when someone signs in with a password (the sign-in marks
the session); pages then read only the session, so no page pays a query for it. Turning the
requirement on applies from each person's next sign-in.
"""

from __future__ import annotations

from collections.abc import Callable

from allauth.account.authentication import get_authentication_records
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect

# Sign-in, sign-out, password and two-factor pages stay reachable; so do static files.
OPEN_PREFIXES = ("/accounts/", "/static/", "/healthz", "/scim/")
SESSION_KEY = "headway_two_factor_setup"


def two_factor_required() -> bool:
    """The organisation's policy, as the admins last set it."""
    from headway.directory.models import SignInPolicy

    return SignInPolicy.objects.filter(pk=1, require_two_factor=True).exists()


def signed_in_with_password(request: HttpRequest) -> bool:
    """Whether this session's sign-in used a password (single sign-on leaves 2FA to the IdP)."""
    records = get_authentication_records(request, request.user)
    return any(record.get("method") == "password" for record in records)


def mark_if_setup_needed(request: HttpRequest, user: object) -> None:
    """At a sign-in: note in the session that two-factor must be set up first, if it must."""
    if signed_in_with_password(request) and two_factor_required() and not is_mfa_enabled(user):
        request.session[SESSION_KEY] = True
    else:
        request.session.pop(SESSION_KEY, None)


class TwoFactorRequiredMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            request.session.get(SESSION_KEY)
            and request.user.is_authenticated
            and not request.path.startswith(OPEN_PREFIXES)
        ):
            if is_mfa_enabled(request.user) or not two_factor_required():
                request.session.pop(SESSION_KEY, None)
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
