"""Secrets at rest: encrypt a text before it is stored, decrypt it where it is used.

Fernet (AES-128 in CBC mode with an HMAC-SHA256, from `cryptography`) with the keys in the
setting `HEADWAY_ENCRYPTION_KEYS`, read from the environment variable
`HEADWAY_ENCRYPTION_KEY` (see settings.py): several comma-separated keys rotate, the first
encrypts and every one decrypts. A stored token names nothing about the secret except its
length. `redact` is the other half: it takes every secret out of a text (an error message,
a log line) before that text is shown or stored.

No Django import at module level, so other apps (data-source connections, SSO client
secrets) share it without depending on each other.
"""

from __future__ import annotations

import base64
import secrets as _random
from collections.abc import Iterable, Sequence
from functools import cache
from urllib.parse import quote, quote_plus

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

__all__ = ["MASK", "SecretError", "decrypt", "encrypt", "new_key", "redact", "valid_key"]

#: What a secret is replaced with in messages and forms.
MASK = "•••"


class SecretError(ValueError):
    """A stored secret cannot be read: the key changed, or the value was tampered with."""


def new_key() -> str:
    """A fresh Fernet key (32 random bytes, URL-safe base64), for HEADWAY_ENCRYPTION_KEY."""
    return Fernet.generate_key().decode()


def valid_key(key: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(key.encode())) == 32
    except ValueError:
        return False


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise SecretError("No encryption key is configured (HEADWAY_ENCRYPTION_KEY).")
    bad = [index + 1 for index, key in enumerate(keys) if not valid_key(key)]
    if bad:
        raise SecretError(
            f"HEADWAY_ENCRYPTION_KEY: key {bad[0]} is not a Fernet key (32 bytes in URL-safe "
            "base64); make one with `python -c 'from headway.secrets import new_key; "
            "print(new_key())'`."
        )
    return MultiFernet([Fernet(key.encode()) for key in keys])


def _keys(keys: Sequence[str] | None) -> tuple[str, ...]:
    if keys is not None:
        return tuple(keys)
    from django.conf import settings

    return tuple(settings.HEADWAY_ENCRYPTION_KEYS)


def encrypt(plain: str, *, keys: Sequence[str] | None = None) -> str:
    """The token to store for `plain` (a different token every time, even for one text)."""
    return _fernet(_keys(keys)).encrypt(plain.encode("utf-8")).decode("ascii")


def decrypt(token: str, *, keys: Sequence[str] | None = None) -> str:
    """The text behind a token from `encrypt`; SecretError if no configured key opens it."""
    if not token:
        return ""
    try:
        return _fernet(_keys(keys)).decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError, ValueError):
        raise SecretError(
            "A stored secret cannot be decrypted with the configured HEADWAY_ENCRYPTION_KEY "
            "(was the key changed?). Enter the secret again."
        ) from None


def rotate(token: str, *, keys: Sequence[str] | None = None) -> str:
    """Re-encrypt a token with the first key (after adding a new key in front)."""
    return _fernet(_keys(keys)).rotate(token.encode("ascii")).decode("ascii")


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret (and its URL-encoded forms) replaced by MASK.

    Longest first, so a secret that contains another is masked whole. Secrets shorter
    than 4 characters are masked too: a short password is still a password.
    """
    forms: set[str] = set()
    for secret in secrets:
        if not secret:
            continue
        forms.update({secret, quote(secret, safe=""), quote_plus(secret)})
        forms.add(base64.b64encode(secret.encode()).decode())
    for form in sorted(forms, key=len, reverse=True):
        if form:
            text = text.replace(form, MASK)
    return text


def random_token(nbytes: int = 24) -> str:
    """A random URL-safe text (for tests and generated passwords)."""
    return _random.token_urlsafe(nbytes)
