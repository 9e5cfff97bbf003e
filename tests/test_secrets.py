"""Secrets at rest: encrypted differently each time, readable only with the configured keys."""

from __future__ import annotations

import pytest
from django.test import override_settings

from headway import secrets


def test_a_secret_round_trips_and_never_encrypts_the_same_twice() -> None:
    first, second = secrets.encrypt("s3cr3t"), secrets.encrypt("s3cr3t")
    assert first != second
    assert "s3cr3t" not in first
    assert first.startswith("enc1:")
    assert secrets.decrypt(first) == secrets.decrypt(second) == "s3cr3t"


def test_a_changed_value_is_refused_not_misread() -> None:
    stored = secrets.encrypt("s3cr3t")
    tampered = stored[:-6] + ("A" if stored[-6] != "A" else "B") + stored[-5:]
    with pytest.raises(secrets.SecretUnreadable):
        secrets.decrypt(tampered)
    with pytest.raises(secrets.SecretUnreadable):
        secrets.decrypt("s3cr3t")  # a value that was never encrypted


def test_keys_rotate_first_encrypts_all_decrypt() -> None:
    old, new = secrets.generate_key(), secrets.generate_key()
    with override_settings(HEADWAY_SECRETS_KEY=old):
        stored = secrets.encrypt("s3cr3t")
    with override_settings(HEADWAY_SECRETS_KEY=f"{new},{old}"):
        assert secrets.decrypt(stored) == "s3cr3t"
        rotated = secrets.reencrypt(stored)
    with override_settings(HEADWAY_SECRETS_KEY=new):
        assert secrets.decrypt(rotated) == "s3cr3t"
        with pytest.raises(secrets.SecretUnreadable):
            secrets.decrypt(stored)


def test_without_a_key_the_secret_key_derives_one_and_its_fallbacks_still_read() -> None:
    with override_settings(HEADWAY_SECRETS_KEY="", SECRET_KEY="one-key-" * 6):
        stored = secrets.encrypt("s3cr3t")
    with override_settings(
        HEADWAY_SECRETS_KEY="", SECRET_KEY="another-" * 6, SECRET_KEY_FALLBACKS=["one-key-" * 6]
    ):
        assert secrets.decrypt(stored) == "s3cr3t"
    with (
        override_settings(HEADWAY_SECRETS_KEY="", SECRET_KEY="another-" * 6),
        pytest.raises(secrets.SecretUnreadable),
    ):
        secrets.decrypt(stored)


def test_a_malformed_key_is_a_clear_error() -> None:
    with (
        override_settings(HEADWAY_SECRETS_KEY="not-a-fernet-key"),
        pytest.raises(ValueError, match="HEADWAY_SECRETS_KEY"),
    ):
        secrets.encrypt("x")


def test_explicit_keys_round_trip_rotate_and_refuse_the_wrong_key() -> None:
    old, new = secrets.new_key(), secrets.new_key()
    token = secrets.encrypt("hunter2-é", keys=[old])
    assert "hunter2" not in token
    assert secrets.decrypt(token, keys=[new, old]) == "hunter2-é"
    rotated = secrets.rotate(token, keys=[new, old])
    assert secrets.decrypt(rotated, keys=[new]) == "hunter2-é"
    with pytest.raises(secrets.SecretError, match="cannot be decrypted"):
        secrets.decrypt(token, keys=[new])


def test_a_malformed_explicit_key_is_named() -> None:
    with pytest.raises(secrets.SecretError, match="key 1 is not a Fernet key"):
        secrets.encrypt("s", keys=["short"])


def test_redact_masks_every_form_of_a_secret() -> None:
    secret = "p@ss word/1"
    text = f"failed: {secret} / p%40ss%20word%2F1 / p%40ss+word%2F1 and more"
    assert secrets.redact(text, [secret, ""]) == "failed: ••• / ••• / ••• and more"
