"""Secrets at rest: encrypt a secret before it is stored, decrypt it where it is used.

The one place Headway turns a secret (an identity provider's client secret, an
authenticator seed, a data-source connection's password or token) into something safe to
keep in the database, and back::

    from headway import secrets

    stored = secrets.encrypt("s3cr3t")      # text to store in a TextField
    secrets.decrypt(stored) == "s3cr3t"      # only where the secret is used
    secrets.redact(message, ["s3cr3t"])      # before an error text is shown or stored

Encryption is Fernet (``cryptography``): AES-128-CBC with an HMAC-SHA256 over the message,
a random IV and a timestamp, so the same secret never encrypts twice to the same text and
any change to the stored text is detected. The keys:

- ``HEADWAY_SECRETS_KEY``: one or more Fernet keys (``python -m headway.secrets`` prints a
  new one), comma-separated. The first encrypts; all decrypt, so a key is rotated by
  putting the new one first and running `reencrypt` over stored values (or just saving
  them again).
- unset: a key derived from ``SECRET_KEY`` (HKDF-SHA256 with a fixed, Headway-specific
  label) and, for decryption only, from each of ``SECRET_KEY_FALLBACKS``. Several web
  processes and workers that share ``SECRET_KEY`` therefore share the key with nothing more
  to configure. Changing ``SECRET_KEY`` without keeping the old one in
  ``SECRET_KEY_FALLBACKS`` makes stored secrets unreadable: they must then be entered again.

Stored values carry the prefix ``enc1:`` so they can never be mistaken for a plain secret.
`decrypt` raises `SecretUnreadable` (never returns garbage) for a value it cannot read.
Callers and tests may pass explicit ``keys=`` (Fernet keys) instead of the configured ones.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterable, Sequence
from functools import lru_cache
from urllib.parse import quote, quote_plus

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = [
    "MASK",
    "PREFIX",
    "SecretError",
    "SecretUnreadable",
    "decrypt",
    "encrypt",
    "generate_key",
    "new_key",
    "redact",
    "reencrypt",
    "rotate",
]

PREFIX = "enc1:"
#: What a secret is replaced with in messages and forms.
MASK = "•••"
_LABEL = b"headway secrets at rest v1"


class SecretUnreadable(ValueError):
    """A stored secret cannot be decrypted with the keys configured now, or a key is bad."""


#: The name the data-source code uses for the same error.
SecretError = SecretUnreadable


def generate_key() -> str:
    """A new random key for HEADWAY_SECRETS_KEY (32 random bytes, URL-safe base64)."""
    return Fernet.generate_key().decode()


new_key = generate_key


def _derived(secret_key: str) -> bytes:
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_LABEL).derive(
        secret_key.encode()
    )
    return base64.urlsafe_b64encode(raw)


def _explicit(keys: Sequence[str], what: str) -> MultiFernet:
    fernets = []
    for number, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key.strip()))
        except ValueError:
            raise SecretUnreadable(
                f"{what}: key {number} is not a Fernet key (32 bytes in URL-safe base64, "
                "comma-separated); `python -m headway.secrets` prints a new one."
            ) from None
    if not fernets:
        raise SecretUnreadable(f"{what}: no key given.")
    return MultiFernet(fernets)


@lru_cache(maxsize=8)
def _fernet(configured: str, secret_key: str, fallbacks: tuple[str, ...]) -> MultiFernet:
    if configured.strip():
        keys = [key for key in configured.split(",") if key.strip()]
        return _explicit(keys, "HEADWAY_SECRETS_KEY")
    return MultiFernet([Fernet(_derived(key)) for key in (secret_key, *fallbacks)])


def _keys(keys: Sequence[str] | None = None) -> MultiFernet:
    if keys is not None:
        return _explicit(list(keys), "keys")
    from django.conf import settings

    return _fernet(
        str(
            getattr(settings, "HEADWAY_SECRETS_KEY", "")
            or os.environ.get("HEADWAY_SECRETS_KEY", "")
        ),
        str(settings.SECRET_KEY),
        tuple(str(key) for key in getattr(settings, "SECRET_KEY_FALLBACKS", ())),
    )


def encrypt(plain: str, *, keys: Sequence[str] | None = None) -> str:
    """The text to store for `plain` (different each call; `decrypt` gives `plain` back)."""
    return PREFIX + _keys(keys).encrypt(plain.encode("utf-8")).decode("ascii")


def decrypt(stored: str, *, keys: Sequence[str] | None = None) -> str:
    """The secret behind a value made by `encrypt`; SecretUnreadable if it cannot be read."""
    if not stored.startswith(PREFIX):
        raise SecretUnreadable("This value was not encrypted by Headway.")
    try:
        return _keys(keys).decrypt(stored[len(PREFIX) :].encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError):
        raise SecretUnreadable(
            "This secret cannot be decrypted with the current keys (HEADWAY_SECRETS_KEY or "
            "SECRET_KEY changed?): enter it again."
        ) from None


def reencrypt(stored: str, *, keys: Sequence[str] | None = None) -> str:
    """The same secret encrypted with the first (newest) key, for key rotation."""
    if not stored.startswith(PREFIX):
        raise SecretUnreadable("This value was not encrypted by Headway.")
    try:
        return PREFIX + _keys(keys).rotate(stored[len(PREFIX) :].encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError):
        raise SecretUnreadable(
            "This secret cannot be decrypted with the current keys: enter it again."
        ) from None


rotate = reencrypt


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret (and its URL-encoded and base64 forms) replaced by MASK.

    Longest first, so a secret that contains another is masked whole. Short secrets are
    masked too: a short password is still a password.
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


if __name__ == "__main__":
    print(generate_key())
