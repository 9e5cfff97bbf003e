"""The admins' sign-in settings page: providers, group mappings, SCIM tokens, two-factor policy."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from headway.directory import actions, providers
from headway.directory.forms import GroupMappingForm, ProviderForm, ScimTokenForm
from headway.directory.models import (
    GroupMapping,
    ProviderKind,
    ScimToken,
    SignInPolicy,
    SignInProvider,
)
from headway.directory.scim.tokens import create_scim_token, revoke_scim_token
from headway.teams.access import refuse
from headway.web.common import access, add_errors, person


def _require_admin(request: HttpRequest) -> None:
    refuse(actions.why_not_manage_sign_in(access(request)))


def provider_addresses(request: HttpRequest, kind: str, key: str) -> dict[str, str]:
    """What to enter at the identity provider for this provider's key."""
    site = settings.SITE_URL
    if kind == "oidc":
        return {"Redirect URI": f"{site}/accounts/oidc/{key}/login/callback/"}
    return {
        "Entity ID (audience)": f"{site}/accounts/saml/{key}/metadata/",
        "ACS URL (reply URL)": f"{site}/accounts/saml/{key}/acs/",
        "Metadata": f"{site}/accounts/saml/{key}/metadata/",
    }


@require_http_methods(["GET", "POST"])
def sign_in_settings(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    by = person(request)
    mapping_form = GroupMappingForm(prefix="mapping")
    token_form = ScimTokenForm(prefix="token")
    secret = None
    status = 200
    if request.method == "POST":
        what = request.POST.get("action", "")
        try:
            if what == "add-mapping":
                mapping_form = GroupMappingForm(request.POST, prefix="mapping")
                if mapping_form.is_valid():
                    actions.add_group_mapping(by=by, **mapping_form.cleaned_data)
                    messages.success(request, _("Group mapped; members Headway knows are updated."))
                    return redirect("sign-in-settings")
                status = 400
            elif what == "remove-mapping":
                mapping = get_object_or_404(GroupMapping, pk=request.POST.get("mapping") or 0)
                actions.remove_group_mapping(by=by, mapping=mapping)
                messages.success(
                    request,
                    _("%(group)s is no longer mapped to %(team)s.")
                    % {"group": mapping.group, "team": mapping.team},
                )
                return redirect("sign-in-settings")
            elif what == "create-token":
                token_form = ScimTokenForm(request.POST, prefix="token")
                if token_form.is_valid():
                    secret = create_scim_token(by=by, name=token_form.cleaned_data["name"]).secret
                    token_form = ScimTokenForm(prefix="token")
                else:
                    status = 400
            elif what == "revoke-token":
                token = get_object_or_404(ScimToken, pk=request.POST.get("token") or 0)
                revoke_scim_token(by=by, token_id=token.pk)
                messages.success(
                    request, _("The SCIM token “%(name)s” is revoked.") % {"name": token.name}
                )
                return redirect("sign-in-settings")
            elif what == "two-factor":
                required = request.POST.get("require_two_factor") == "on"
                actions.set_two_factor_policy(by=by, required=required)
                messages.success(
                    request,
                    _("Two-factor sign-in is now required for password sign-ins.")
                    if required
                    else _("Two-factor sign-in is now optional."),
                )
                return redirect("sign-in-settings")
        except ValidationError as exc:
            form = mapping_form if what.endswith("mapping") else token_form
            add_errors(form, exc)
            if what == "remove-mapping":
                messages.error(request, " ".join(exc.messages))
                return redirect("sign-in-settings")
            status = 400
    rows = {row.key: row for row in SignInProvider.objects.all()}
    listed: list[dict[str, Any]] = []
    for config in providers.environment_providers():
        listed.append({"config": config, "row": None})
    for row in rows.values():
        listed.append({"config": providers.from_row(row), "row": row})
    for item in listed:
        config = item["config"]
        item["addresses"] = provider_addresses(request, config.kind, config.key)
    return render(
        request,
        "directory/settings.html",
        {
            "providers": listed,
            "mappings": GroupMapping.objects.select_related("team").order_by("group", "team__name"),
            "mapping_form": mapping_form,
            "token_form": token_form,
            "tokens": ScimToken.objects.select_related("created_by"),
            "secret": secret,
            "scim_url": f"{settings.SITE_URL}/scim/v2",
            "policy": SignInPolicy.current(),
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
def provider_edit(request: HttpRequest, kind: str = "", key: str = "") -> HttpResponse:
    _require_admin(request)
    row = get_object_or_404(SignInProvider, key=key) if key else None
    kind = row.kind if row is not None else kind
    if kind not in ProviderKind.values:
        raise PermissionDenied("Choose OpenID Connect or SAML.")
    initial = {"groups_claim": "groups"} if row is None else None
    form = ProviderForm(request.POST or None, instance=row, kind=kind, initial=initial)
    if request.method == "POST" and request.POST.get("delete") and row is not None:
        actions.delete_provider(by=person(request), provider=row)
        messages.success(
            request, _("%(name)s is removed from the sign-in page.") % {"name": row.name}
        )
        return redirect("sign-in-settings")
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "client_secret"}
        if row is not None:
            data.pop("key", None)
        try:
            saved = actions.save_provider(
                by=person(request),
                kind=kind,
                data=data,
                secret=form.cleaned_data.get("client_secret") or "",
                provider=row,
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("%(name)s saved.") % {"name": saved.name})
            return redirect("sign-in-settings")
    label = ProviderKind(kind).label
    return render(
        request,
        "directory/provider_form.html",
        {
            "form": form,
            "row": row,
            "title": _("Edit %(name)s") % {"name": row.name}
            if row
            else f"Add an {label} provider"
            if kind == "oidc"
            else f"Add a {label} provider",
            "kind": kind,
            "addresses": provider_addresses(request, kind, row.key) if row else None,
            "back": reverse("sign-in-settings"),
        },
        status=400 if request.method == "POST" else 200,
    )


@login_not_required
def django_admin_login(request: HttpRequest) -> HttpResponse:
    """The Django admin's sign-in is the app's (allauth's, with its failed-sign-in lockout
    and two-factor step): Django's own form would let a password be guessed without limit."""
    if request.user.is_authenticated:
        # Signed in but not staff: the admin is not for them (sending them to sign in
        # again would loop back here).
        raise PermissionDenied("Your account may not use the Django admin.")
    target = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("admin:index")
    return redirect(f"{reverse('account_login')}?{urlencode({'next': target})}")
