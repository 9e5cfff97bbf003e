"""Secrets at rest: encrypt a secret before it is stored, decrypt it when it is used.

The one place Headway turns a secret (an identity provider's client secret, a data
source's password) into something safe to keep in the database, and back::

    from headway import secrets

    stored = secrets.encrypt("s3cr3t")      # text to store in a TextField
    secrets.decrypt(stored) == "s3cr3t"      # only where the secret is used

Encryption is Fernet (``cryptography``): AES-128-CBC with an HMAC-SHA256 over the message,
a random IV and a timestamp, so the same secret never encrypts twice to the same text and
any change to the stored text is detected. The key comes from the environment:

- ``HEADWAY_SECRETS_KEY``: one or more Fernet keys (``python -m headway.secrets`` prints a
  new one), comma-separated. The first encrypts; all decrypt, so a key is rotated by
  putting the new one first and running ``secrets.reencrypt`` over stored values (or just
  saving them again).
- unset: a key derived from ``SECRET_KEY`` (HKDF-SHA256 with a fixed, Headway-specific
  label) and, for decryption only, from each of ``SECRET_KEY_FALLBACKS``. Changing
  ``SECRET_KEY`` without keeping the old one in ``SECRET_KEY_FALLBACKS`` makes stored
  secrets unreadable: they must then be entered again.

Stored values carry the prefix ``enc1:`` so they can never be mistaken for a plain secret.
`decrypt` raises `SecretUnreadable` (never returns garbage) for a value it cannot read.
"""

from __future__ import annotations

import base64
import os
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "enc1:"
_LABEL = b"headway secrets at rest v1"


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted with the keys configured now."""


def generate_key() -> str:
    """A new random key for HEADWAY_SECRETS_KEY."""
    return Fernet.generate_key().decode()


def _derived(secret_key: str) -> bytes:
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_LABEL).derive(
        secret_key.encode()
    )
    return base64.urlsafe_b64encode(raw)


@lru_cache(maxsize=4)
def _fernet(configured: str, secret_key: str, fallbacks: tuple[str, ...]) -> MultiFernet:
    if configured.strip():
        keys = [key.strip() for key in configured.split(",") if key.strip()]
        try:
            return MultiFernet([Fernet(key) for key in keys])
        except ValueError:
            raise ValueError(
                "HEADWAY_SECRETS_KEY must be Fernet keys (32 url-safe base64-encoded bytes), "
                "comma-separated; `python -m headway.secrets` prints a new one."
            ) from None
    return MultiFernet([Fernet(_derived(key)) for key in (secret_key, *fallbacks)])


def _keys() -> MultiFernet:
    from django.conf import settings

    return _fernet(
        str(
            getattr(settings, "HEADWAY_SECRETS_KEY", "")
            or os.environ.get("HEADWAY_SECRETS_KEY", "")
        ),
        str(settings.SECRET_KEY),
        tuple(str(key) for key in getattr(settings, "SECRET_KEY_FALLBACKS", ())),
    )


def encrypt(plain: str) -> str:
    """The text to store for `plain` (different each call; `decrypt` gives `plain` back)."""
    return PREFIX + _keys().encrypt(plain.encode()).decode()


def decrypt(stored: str) -> str:
    """The secret behind a value made by `encrypt`; SecretUnreadable if it cannot be read."""
    if not stored.startswith(PREFIX):
        raise SecretUnreadable("This value was not encrypted by Headway.")
    try:
        return _keys().decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            "This secret cannot be decrypted with the current keys (HEADWAY_SECRETS_KEY or "
            "SECRET_KEY changed?): enter it again."
        ) from None


def reencrypt(stored: str) -> str:
    """The same secret encrypted with the first (newest) key, for key rotation."""
    if not stored.startswith(PREFIX):
        raise SecretUnreadable("This value was not encrypted by Headway.")
    try:
        return PREFIX + _keys().rotate(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("This secret cannot be decrypted with the current keys.") from None


if __name__ == "__main__":
    print(generate_key())
