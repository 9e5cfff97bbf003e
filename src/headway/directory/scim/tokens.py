"""SCIM bearer tokens: shown once, stored as a SHA-256 hash (like API tokens), made by admins.

A token acts with the rights of the admin who created it: it stops working when it is
revoked, or when that admin is deactivated or is no longer an admin.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from headway.directory.models import ScimToken
from headway.teams.access import Access, refuse
from headway.teams.models import Person

TOKEN_PREFIX = "hwscim_"
PREFIX_LENGTH = 12


@dataclass(frozen=True)
class NewScimToken:
    token: ScimToken
    secret: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def why_not_manage_scim_tokens(access: Access) -> str | None:
    """A SCIM token writes people and teams: as powerful as an admin, so admins' only."""
    return None if access.can_manage() else "Only admins may create or revoke SCIM tokens."


@transaction.atomic
def create_scim_token(*, by: Person, name: str) -> NewScimToken:
    refuse(why_not_manage_scim_tokens(Access.for_person(by)))
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Name the token after the identity provider that uses it."})
    if len(name) > 100:
        raise ValidationError({"name": "At most 100 characters."})
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ScimToken.objects.create(
        name=name, prefix=secret[:PREFIX_LENGTH], token_hash=_hash(secret), created_by=by
    )
    return NewScimToken(token=token, secret=secret)


def find_scim_token(secret: str) -> ScimToken | None:
    """The usable token with this secret, or None (revoked, unknown, creator no admin)."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    token = (
        ScimToken.objects.select_related("created_by")
        .filter(token_hash=_hash(secret), revoked_at__isnull=True)
        .first()
    )
    if token is None or not Access.for_person(token.created_by).can_manage():
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() >= 60:
        ScimToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


@transaction.atomic
def revoke_scim_token(*, by: Person, token_id: int) -> ScimToken:
    refuse(why_not_manage_scim_tokens(Access.for_person(by)))
    token = ScimToken.objects.select_for_update().get(pk=token_id)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token
