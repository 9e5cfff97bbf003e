"""Minting, finding and revoking personal API tokens (shared by the API, the page and the CLI).

A token is `hw_` followed by 43 URL-safe characters (256 random bits). Only its SHA-256
hash is stored, with the first characters for display: the secret is shown once.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from headway.api.models import ApiToken, Scope
from headway.teams.models import Person

TOKEN_PREFIX = "hw_"
PREFIX_LENGTH = 10
# A token's last use is written at most this often, so reads do not all become writes.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class NewToken:
    """A token just created, with its secret (never stored, never shown again)."""

    token: ApiToken
    secret: str


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(*, person: Person, name: str, scope: str = Scope.READ) -> NewToken:
    """Mint a token for `person`; raises ValidationError with field errors for bad input."""
    errors: dict[str, str] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = "Name the token after what will use it."
    elif len(name) > 100:
        errors["name"] = "At most 100 characters."
    if scope not in Scope.values:
        errors["scope"] = f"Choose one of: {', '.join(Scope.values)}."
    if not person.is_active:
        errors["person"] = f"{person.email} is deactivated."
    if errors:
        raise ValidationError(errors)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        person=person,
        name=name,
        scope=scope,
        prefix=secret[:PREFIX_LENGTH],
        token_hash=hash_secret(secret),
    )
    return NewToken(token=token, secret=secret)


def find_token(secret: str) -> ApiToken | None:
    """The active token with this secret and an active person, or None (one query)."""
    if not secret or not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    token = (
        ApiToken.objects.select_related("person")
        .filter(token_hash=hash_secret(secret), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.person.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


@transaction.atomic
def revoke_token(*, token_id: int, person: Person | None) -> ApiToken:
    """Revoke a token; `person` may only revoke their own (None: an operator, any token).

    Revoking twice keeps the first moment. Raises ApiToken.DoesNotExist for a token that
    is not there or not theirs.
    """
    tokens = ApiToken.objects.select_for_update()
    if person is not None:
        tokens = tokens.filter(person=person)
    token = tokens.get(pk=token_id)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token
