"""Settings come from the environment, with safe defaults."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from headway.settings import _database, env_bool, env_list

PROBE = (
    "import json; from django.conf import settings as s; "
    "db = s.DATABASES['default']; "
    "print(json.dumps({'db': db['ENGINE'], 'name': str(db['NAME']),"
    " 'debug': s.DEBUG, 'hosts': s.ALLOWED_HOSTS, 'key': s.SECRET_KEY,"
    " 'mail': s.MAILERS['default'],"
    " 'secure_cookie': s.SESSION_COOKIE_SECURE, 'site': s.SITE_URL,"
    " 'notify': [s.HEADWAY_NOTIFY_MAX_ATTEMPTS, s.HEADWAY_NOTIFY_RETRY_SECONDS]}))"
)


def load_settings(tmp_path: Path, **env: str) -> dict[str, object]:
    """Import the settings in a fresh interpreter with only the given environment."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "SECRET_", "DEBUG", "ALLOWED_", "EMAIL_", "HEADWAY_"))
    }
    clean.update({"DJANGO_SETTINGS_MODULE": "headway.settings", "HEADWAY_DATA_DIR": str(tmp_path)})
    clean.update(env)
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=clean, capture_output=True, text=True, check=True
    )
    result: dict[str, object] = json.loads(out.stdout)
    return result


def test_defaults_are_sqlite_in_data_folder_debug_off(tmp_path: Path) -> None:
    s = load_settings(tmp_path)
    assert s["db"] == "django.db.backends.sqlite3"
    assert s["name"] == str(tmp_path / "headway.sqlite3")
    assert s["debug"] is False
    assert s["hosts"] == ["127.0.0.1", "localhost"]


def test_secret_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = load_settings(tmp_path)["key"]
    second = load_settings(tmp_path)["key"]
    assert isinstance(first, str)
    assert len(first) >= 50
    assert first == second
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_secret_key_from_environment_wins(tmp_path: Path) -> None:
    assert load_settings(tmp_path, SECRET_KEY="given-key")["key"] == "given-key"
    assert not (tmp_path / "secret_key").exists()


def test_environment_overrides_debug_hosts_email(tmp_path: Path) -> None:
    s = load_settings(
        tmp_path,
        DEBUG="yes",
        ALLOWED_HOSTS="okr.example.com, headway.internal",
        EMAIL_HOST="smtp.example.com",
        EMAIL_PORT="587",
        EMAIL_USE_TLS="true",
    )
    assert s["debug"] is True
    assert s["hosts"] == ["okr.example.com", "headway.internal"]
    options = s["mail"]["OPTIONS"]  # type: ignore[index]
    assert (options["host"], options["port"], options["use_tls"]) == ("smtp.example.com", 587, True)


def test_postgres_url_selects_psycopg(tmp_path: Path) -> None:
    s = load_settings(tmp_path, DATABASE_URL="postgres://u:p@db.example:5433/headway")
    assert s["db"] == "django.db.backends.postgresql"
    assert s["name"] == "headway"


def test_sqlite_uses_wal_and_immediate_transactions() -> None:
    config = _database("sqlite:////tmp/x.sqlite3")
    assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in config["OPTIONS"]["init_command"]


def test_unsupported_database_is_refused() -> None:
    with pytest.raises(ValueError, match="sqlite:// or postgres://"):
        _database("mysql://root@localhost/headway")


def test_bad_boolean_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEBUG", "maybe")
    with pytest.raises(ValueError, match="DEBUG must be a boolean"):
        env_bool("DEBUG")


def test_env_list_drops_blanks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOWED_HOSTS", " a.example, ,b.example,")
    assert env_list("ALLOWED_HOSTS") == ["a.example", "b.example"]


def test_https_deployments_get_secure_cookies(tmp_path: Path) -> None:
    assert load_settings(tmp_path, SITE_URL="https://okr.example.com")["secure_cookie"] is True
    assert load_settings(tmp_path)["secure_cookie"] is False


def test_the_coach_language_comes_from_headway_language(tmp_path: Path) -> None:
    probe = "from django.conf import settings as s; print(s.COACH_LANGUAGE)"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWAY_")}
    env.update({"DJANGO_SETTINGS_MODULE": "headway.settings", "HEADWAY_DATA_DIR": str(tmp_path)})
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "en"
    env["HEADWAY_LANGUAGE"] = "de"
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "de"
    env["HEADWAY_LANGUAGE"] = "Deutsch"
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    assert out.returncode != 0
    assert "HEADWAY_LANGUAGE must be a two-letter language code" in out.stderr


def test_links_name_the_address_served_unless_site_url_is_set(tmp_path: Path) -> None:
    served = load_settings(tmp_path, HEADWAY_SERVED_URL="http://ops.example:8765")
    assert served["site"] == "http://ops.example:8765"
    # A served address is not a public one: it does not switch HTTPS on by itself.
    assert served["secure_cookie"] is False
    given = load_settings(
        tmp_path, HEADWAY_SERVED_URL="http://127.0.0.1:8765", SITE_URL="https://okr.example/"
    )
    assert (given["site"], given["secure_cookie"]) == ("https://okr.example", True)
    assert load_settings(tmp_path)["site"] == "http://127.0.0.1:8000"


def test_file_mail_backend_and_delivery_retries_come_from_the_environment(
    tmp_path: Path,
) -> None:
    s = load_settings(
        tmp_path,
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        HEADWAY_MAIL_DIR=str(tmp_path / "out"),
        HEADWAY_NOTIFY_MAX_ATTEMPTS="3",
        HEADWAY_NOTIFY_RETRY_SECONDS="5",
    )
    assert s["mail"] == {
        "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "OPTIONS": {"file_path": str(tmp_path / "out")},
    }
    assert s["notify"] == [3, 5.0]
    default = load_settings(
        tmp_path, EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend"
    )
    assert default["mail"]["OPTIONS"] == {"file_path": str(tmp_path / "mail")}  # type: ignore[index]
