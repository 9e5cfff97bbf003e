"""After a single sign-on: remember the groups the provider listed and sync team memberships."""

from __future__ import annotations

from typing import Any

from allauth.account.signals import user_logged_in
from django.dispatch import receiver

from headway.directory import groups, providers


def groups_in(sociallogin: Any, config: providers.ProviderConfig) -> list[str]:
    """The groups in the login's data: OpenID Connect's userinfo and ID token, SAML attributes."""
    data = sociallogin.account.extra_data or {}
    if config.kind == "oidc":
        found = groups.groups_from_claims(data.get("userinfo") or {}, config.groups_claim)
        found += groups.groups_from_claims(data.get("id_token") or {}, config.groups_claim)
    else:
        values = data.get(config.groups_claim) or []
        found = [str(v).strip() for v in values if str(v).strip()]
    return sorted(set(found))


@receiver(user_logged_in)
def sync_groups_after_sign_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    from headway.directory.models import SignInGroups

    sociallogin = kwargs.get("sociallogin")
    if sociallogin is None:
        return
    config = providers.find_by_key(sociallogin.account.provider)
    if config is None or not config.groups_claim:
        return
    SignInGroups.objects.update_or_create(
        person=user, provider=config.key, defaults={"groups": groups_in(sociallogin, config)}
    )
    groups.sync_at_sign_in(user)


@receiver(user_logged_in)
def fresh_password_counts_as_recent(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """A password typed at sign-in counts as typed again for allauth's next few minutes.

    allauth asks for the password once more before two-factor sign-in is set up; right
    after signing in with it (when admins require two-factor, the very next page) that
    would ask twice in a row.
    """
    from allauth.account.internal.flows.login import AUTHENTICATION_METHODS_SESSION_KEY

    records = request.session.get(AUTHENTICATION_METHODS_SESSION_KEY) or []
    if records and records[-1].get("method") == "password":
        records[-1]["reauthenticated"] = True
        request.session[AUTHENTICATION_METHODS_SESSION_KEY] = records


@receiver(user_logged_in)
def two_factor_setup_first(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    from headway.directory.middleware import mark_if_setup_needed

    mark_if_setup_needed(request, user)
