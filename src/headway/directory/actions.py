"""Admins' changes to sign-in: providers, group mappings and the two-factor policy.

Like every action in Headway, each checks rights, validates, runs in one transaction and says
what went wrong per field.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from headway.directory import groups as group_sync
from headway.directory import providers
from headway.directory.models import (
    DirectoryGroup,
    GroupMapping,
    ProviderKind,
    SignInGroups,
    SignInPolicy,
    SignInProvider,
)
from headway.teams.access import Access, refuse
from headway.teams.models import Person, Role, Team

PROVIDER_FIELDS = (
    "key",
    "name",
    "enabled",
    "issuer",
    "client_id",
    "scopes",
    "idp_entity_id",
    "idp_sso_url",
    "idp_certificate",
    "idp_metadata_url",
    "email_attribute",
    "name_attribute",
    "groups_claim",
    "allowed_domains",
    "trust_email",
)


def why_not_manage_sign_in(access: Access) -> str | None:
    """Sign-in providers and group mappings: organisation admins only."""
    return None if access.can_manage() else _("Only admins may change how people sign in.")


def _require_admin(by: Person) -> None:
    refuse(why_not_manage_sign_in(Access.for_person(by)))


@transaction.atomic
def save_provider(
    *,
    by: Person,
    kind: str,
    data: dict[str, Any],
    secret: str = "",
    provider: SignInProvider | None = None,
) -> SignInProvider:
    """Create (provider None) or change a sign-in provider; an empty `secret` keeps the old."""
    _require_admin(by)
    if kind not in ProviderKind.values:
        raise ValidationError({"kind": _("No kind %(kind)s.") % {"kind": repr(kind)}})
    row = provider if provider is not None else SignInProvider(kind=kind)
    for name in PROVIDER_FIELDS:
        if name in data:
            value = data[name]
            setattr(row, name, value.strip() if isinstance(value, str) else value)
    if secret:
        row.set_secret(secret)
    errors: dict[str, str] = {}
    if row.key in {config.key for config in providers.environment_providers()}:
        errors["key"] = _("The environment (HEADWAY_SSO_PROVIDERS) already defines %(key)s.") % {
            "key": repr(row.key)
        }
    if kind == ProviderKind.OIDC:
        for name in ("issuer", "client_id"):
            if not getattr(row, name):
                errors[name] = _("Required for OpenID Connect.")
        if not row.has_secret:
            errors["client_secret"] = _("Required for OpenID Connect.")
    elif not row.idp_metadata_url:
        for name in ("idp_entity_id", "idp_sso_url", "idp_certificate"):
            if not getattr(row, name):
                errors[name] = _("Required unless the metadata URL is given.")
        if row.idp_certificate and "BEGIN CERTIFICATE" not in row.idp_certificate:
            errors["idp_certificate"] = _("Paste the certificate in PEM form (BEGIN CERTIFICATE…).")
    if errors:
        raise ValidationError(errors)
    row.full_clean(exclude=["client_secret_encrypted"])
    row.save()
    return row


@transaction.atomic
def delete_provider(*, by: Person, provider: SignInProvider) -> None:
    """Remove a provider; people who signed in with it keep their account (and password)."""
    _require_admin(by)
    from allauth.socialaccount.models import SocialAccount

    SocialAccount.objects.filter(provider=provider.key).delete()
    SignInGroups.objects.filter(provider=provider.key).delete()
    provider.delete()


def _people_in(group: str) -> list[Person]:
    """Everyone whose directory groups include `group` (regardless of case)."""
    folded = group.casefold()
    ids = set(
        DirectoryGroup.objects.filter(display_name__iexact=group).values_list("members", flat=True)
    ) | set(
        DirectoryGroup.objects.filter(external_id__iexact=group).values_list("members", flat=True)
    )
    for person_id, names in SignInGroups.objects.values_list("person_id", "groups"):
        if any(str(name).casefold() == folded for name in names):
            ids.add(person_id)
    ids.discard(None)
    return list(Person.objects.filter(pk__in=ids).order_by("pk"))


@transaction.atomic
def add_group_mapping(*, by: Person, group: str, team: Team, role: str) -> GroupMapping:
    """Members of `group` get `role` on `team`: now (those Headway knows) and at each sign-in."""
    _require_admin(by)
    group = group.strip()
    errors = {}
    if not group:
        errors["group"] = _("Name the group as the provider sends it.")
    if role not in Role.values:
        errors["role"] = _("No role %(role)s.") % {"role": repr(role)}
    if GroupMapping.objects.filter(group__iexact=group, team=team).exists():
        errors["group"] = f"{group} is already mapped to {team}."
    if errors:
        raise ValidationError(errors)
    mapping = GroupMapping.objects.create(group=group, team=team, role=role)
    for person in _people_in(group):
        group_sync.sync(person)
    return mapping


@transaction.atomic
def remove_group_mapping(*, by: Person, mapping: GroupMapping) -> None:
    """Stop mapping; memberships it made go (the last admin's admin role excepted: refused)."""
    _require_admin(by)
    group = mapping.group
    mapping.delete()
    for person in _people_in(group):
        group_sync.sync(person)


@transaction.atomic
def set_two_factor_policy(*, by: Person, required: bool) -> SignInPolicy:
    _require_admin(by)
    policy = SignInPolicy.current()
    policy.require_two_factor = required
    policy.updated_by = by
    policy.save()
    return policy
