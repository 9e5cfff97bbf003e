"""Secrets at rest: encrypted with the configured key, rotated, and redacted from messages."""

from __future__ import annotations

import pytest

from headway import secrets


def test_encrypt_round_trips_and_hides_the_text() -> None:
    key = secrets.new_key()
    token = secrets.encrypt("hunter2-é", keys=[key])
    assert "hunter2" not in token
    assert token != secrets.encrypt("hunter2-é", keys=[key])  # a fresh IV every time
    assert secrets.decrypt(token, keys=[key]) == "hunter2-é"


def test_a_rotated_key_still_reads_old_tokens() -> None:
    old, new = secrets.new_key(), secrets.new_key()
    token = secrets.encrypt("s", keys=[old])
    assert secrets.decrypt(token, keys=[new, old]) == "s"
    rotated = secrets.rotate(token, keys=[new, old])
    assert secrets.decrypt(rotated, keys=[new]) == "s"


def test_wrong_key_or_tampering_is_a_clear_error() -> None:
    token = secrets.encrypt("s", keys=[secrets.new_key()])
    with pytest.raises(secrets.SecretError, match="cannot be decrypted"):
        secrets.decrypt(token, keys=[secrets.new_key()])
    with pytest.raises(secrets.SecretError):
        secrets.decrypt(token[:-3] + "AAA", keys=[secrets.new_key()])


def test_a_malformed_key_is_named() -> None:
    with pytest.raises(secrets.SecretError, match="key 1 is not a Fernet key"):
        secrets.encrypt("s", keys=["short"])


def test_redact_masks_every_form_of_a_secret() -> None:
    secret = "p@ss word/1"
    text = f"failed: {secret} / p%40ss%20word%2F1 / p%40ss+word%2F1 and more"
    assert secrets.redact(text, [secret, ""]) == "failed: ••• / ••• / ••• and more"


def test_the_settings_provide_a_key(settings: object) -> None:
    from django.conf import settings as django_settings

    assert django_settings.HEADWAY_ENCRYPTION_KEYS
    assert secrets.decrypt(secrets.encrypt("x")) == "x"
