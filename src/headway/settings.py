"""Headway settings, read from the environment (see the configuration table in README.md)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from headway.coach.language import default_language

BASE_DIR = Path(__file__).resolve().parent


def env_bool(name: str, default: bool = False) -> bool:
    """Read a boolean environment variable; accepts 1/0, true/false, yes/no, on/off."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{name} must be a boolean (1/0, true/false, yes/no, on/off), not {raw!r}")


def env_list(name: str, default: str = "") -> list[str]:
    """Read a comma-separated environment variable into a list, dropping blanks."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DATA_DIR = Path(os.environ.get("HEADWAY_DATA_DIR", Path.cwd() / "data")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """Use SECRET_KEY when given, else one generated once and kept in the data folder."""
    if given := os.environ.get("SECRET_KEY"):
        return given
    path = DATA_DIR / "secret_key"
    if not path.exists():
        # Exclusive create so two processes starting at once agree on one key.
        try:
            with path.open("x") as fh:
                fh.write(secrets.token_urlsafe(50))
            path.chmod(0o600)
        except FileExistsError:
            pass
    return path.read_text().strip()


SECRET_KEY = _secret_key()


DEBUG = env_bool("DEBUG")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# Without SITE_URL, links name the address `headway serve` answers on (it sets
# HEADWAY_SERVED_URL for its processes), so an invitation served on :8765 points at :8765.
_GIVEN_SITE_URL = os.environ.get("SITE_URL", "")
SITE_URL = (
    _GIVEN_SITE_URL or os.environ.get("HEADWAY_SERVED_URL", "") or "http://127.0.0.1:8000"
).rstrip("/")

INSTALLED_APPS = [
    "headway.teams",
    "headway.okrs",
    "headway.kpis",
    "headway.coach",
    "headway.notify",
    "headway.sources",
    "headway.web",
    "headway.api",
    "headway.directory",
    "headway.search",
    "headway.discussion",
    "headway.initiatives",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",  # allauth's sessions page uses it
    "django_htmx",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.socialaccount.providers.saml",
    "allauth.mfa",
    "allauth.usersessions",
    "simple_history",
    "django_tasks_db",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "headway.teams.middleware.PersonLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "headway.directory.middleware.TwoFactorRequiredMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "headway.urls"
WSGI_APPLICATION = "headway.wsgi.application"
AUTH_USER_MODEL = "teams.Person"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "headway.notify.context_processors.notifications",
            ],
        },
    },
]


def _database(url: str | None) -> dict[str, Any]:
    """Build the default database from DATABASE_URL, or a SQLite file in the data folder."""
    if not url:
        url = f"sqlite:///{DATA_DIR / 'headway.sqlite3'}"
    config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=60))
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets readers and one writer work at once; IMMEDIATE takes the write lock at
        # BEGIN so concurrent writers wait (busy timeout) instead of failing mid-transaction.
        # A web worker keeps its connection, and with it SQLite's page cache (32 MB):
        # opening the file for every request started each page on a cold cache, which
        # made the pages that read thousands of rows (the review, the tree) half as fast
        # served as in-process (docs/performance.md). A restore writes into the same file
        # through SQLite's backup API, which kept connections see.
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-32000;"
            ),
        }
    elif config["ENGINE"] == "django.db.backends.postgresql":
        config["CONN_HEALTH_CHECKS"] = True
    else:
        raise ValueError(f"DATABASE_URL must be sqlite:// or postgres://, not {url.split(':')[0]}")
    return config


DATABASES = {"default": _database(os.environ.get("DATABASE_URL"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

# Sign-in by e-mail and password; strangers cannot sign up (an admin invites people).
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_ADAPTER = "headway.teams.adapters.InviteOnlyAccountAdapter"
ACCOUNT_LOGOUT_ON_GET = False
# Setting a password from an invitation or reset link signs the person in.
ACCOUNT_LOGIN_ON_PASSWORD_RESET = True
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"

# Single sign-on (OpenID Connect, SAML) through allauth, with providers from Headway's sign-in
# settings page and HEADWAY_SSO_PROVIDERS (a JSON list, see docs/sign-in.md); accounts are
# made just in time only for the allowed domains (headway.directory.adapter decides).
SOCIALACCOUNT_ADAPTER = "headway.directory.adapter.DirectorySocialAccountAdapter"
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False  # the adapter matches verified e-mail itself
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_LOGIN_ON_GET = False  # a sign-in starts with a POST (no login CSRF)
SOCIALACCOUNT_REQUESTS_TIMEOUT = 10


def _sso_providers(raw: str) -> list[Any]:
    from headway.directory.providers import from_environment

    return from_environment(raw)


HEADWAY_SSO_PROVIDERS = _sso_providers(os.environ.get("HEADWAY_SSO_PROVIDERS", ""))
# Secrets at rest (headway.secrets): Fernet keys, comma-separated; unset: derived from SECRET_KEY.
HEADWAY_SECRETS_KEY = os.environ.get("HEADWAY_SECRETS_KEY", "")

# Two-factor sign-in for password accounts (TOTP and recovery codes); admins may require it.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Headway"
MFA_ADAPTER = "headway.directory.mfa.HeadwayMFAAdapter"
# Each signed-in session is recorded, so that deactivating a person can end all of theirs.
USERSESSIONS_TRACK_ACTIVITY = False

# The interface's languages (docs/operations.md, "Languages"): each person chooses one on
# their settings page; blank follows the organisation's, HEADWAY_INTERFACE_LANGUAGE.
LANGUAGES = [("en", "English"), ("de", "Deutsch"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]


def _interface_language(given: str, organisation: str) -> str:
    """HEADWAY_INTERFACE_LANGUAGE, else HEADWAY_LANGUAGE when the interface speaks it, else en."""
    codes = [code for code, _ in LANGUAGES]
    value = given.strip().lower()
    if not value:
        fallback = organisation.strip().lower()
        return fallback if fallback in codes else "en"
    if value not in codes:
        raise ImproperlyConfigured(
            f"HEADWAY_INTERFACE_LANGUAGE must be one of {', '.join(codes)}, got {value!r}"
        )
    return value


HEADWAY_INTERFACE_LANGUAGE = _interface_language(
    os.environ.get("HEADWAY_INTERFACE_LANGUAGE", ""), os.environ.get("HEADWAY_LANGUAGE", "")
)
LANGUAGE_CODE = HEADWAY_INTERFACE_LANGUAGE
# The language the organisation writes its OKRs in: the coach reads a title in it unless
# the title is plainly in another language (or its YAML file names one).
COACH_LANGUAGE = default_language({"HEADWAY_LANGUAGE": os.environ.get("HEADWAY_LANGUAGE", "")})
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", DATA_DIR / "static"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = True

# Front-end libraries from npm (package.json / package-lock.json, installed by `make` with
# `npm ci`): only each library's dist folder is served, under static/vendor/<name>/.
# headway/static (headway.css) is listed too: the headway package itself is not an app.
NODE_MODULES = BASE_DIR.parent.parent / "node_modules"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/chartjs", NODE_MODULES / "chart.js" / "dist"),
]
# End of front-end libraries from npm.

# Security: the defaults are the strict ones; HEADWAY_HTTPS=0 only for plain-HTTP local use.
HTTPS = env_bool(
    "HEADWAY_HTTPS",
    default=not DEBUG and "127.0.0.1" not in (_GIVEN_SITE_URL or "http://127.0.0.1"),
)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and env_bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY") else None
# Behind one reverse proxy, allauth (rate limits, the sessions page) reads the client's address
# from X-Forwarded-For as that proxy set it.
ALLAUTH_TRUSTED_PROXY_COUNT = 1 if env_bool("BEHIND_PROXY") else 0
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

from django.utils.csp import CSP  # noqa: E402

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}


def _mailers() -> dict[str, Any]:
    """Build Django's MAILERS: SMTP from EMAIL_* variables, or another backend by path."""
    backend = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
    options: dict[str, Any] = {}
    if backend.endswith("smtp.EmailBackend"):
        options = {
            "host": os.environ.get("EMAIL_HOST", "localhost"),
            "port": int(os.environ.get("EMAIL_PORT", "25")),
            "username": os.environ.get("EMAIL_HOST_USER", ""),
            "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
            "use_tls": env_bool("EMAIL_USE_TLS"),
            "use_ssl": env_bool("EMAIL_USE_SSL"),
            "timeout": int(os.environ.get("EMAIL_TIMEOUT", "30")),
        }
    elif backend.endswith("filebased.EmailBackend"):
        # One file per message in this folder (a demo or a test without a mail server).
        options = {"file_path": os.environ.get("HEADWAY_MAIL_DIR", str(DATA_DIR / "mail"))}
    return {"default": {"BACKEND": backend, "OPTIONS": options}}


MAILERS = _mailers()
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Headway <headway@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Deliveries (headway.notify.delivery): attempts before a delivery fails for good, and the
# first back-off (doubling after each failed attempt, at most 6 h).
HEADWAY_NOTIFY_MAX_ATTEMPTS = int(os.environ.get("HEADWAY_NOTIFY_MAX_ATTEMPTS", "6"))
HEADWAY_NOTIFY_RETRY_SECONDS = float(os.environ.get("HEADWAY_NOTIFY_RETRY_SECONDS", "30"))

# Data sources (headway.sources): limits every fetch runs under; see docs/sources.md.
# The Slack app's Web API (views.open, users.info); tests point it at a local server.
HEADWAY_SLACK_API_URL = os.environ.get("HEADWAY_SLACK_API_URL", "https://slack.com/api/")
HEADWAY_SOURCE_TIMEOUT = float(os.environ.get("HEADWAY_SOURCE_TIMEOUT", "30"))
HEADWAY_SOURCE_MAX_ROWS = int(os.environ.get("HEADWAY_SOURCE_MAX_ROWS", "10000"))
HEADWAY_SOURCE_MAX_BYTES = int(os.environ.get("HEADWAY_SOURCE_MAX_BYTES", str(5 * 1024 * 1024)))
HEADWAY_SOURCE_RETRY_SECONDS = float(os.environ.get("HEADWAY_SOURCE_RETRY_SECONDS", "60"))
HEADWAY_SOURCE_CONCURRENCY = int(os.environ.get("HEADWAY_SOURCE_CONCURRENCY", "4"))
# Tracker sync (headway.initiatives.sync): minutes between two reads of a followed issue.
HEADWAY_TRACKER_SYNC_MINUTES = float(os.environ.get("HEADWAY_TRACKER_SYNC_MINUTES", "15"))
# The MAILERS alias notification e-mail goes through (docs/notifications.md).
HEADWAY_NOTIFY_MAILER = os.environ.get("HEADWAY_NOTIFY_MAILER", "default")
# The API's own limit for measurement bodies (docs/api.md); the site-wide one stays small.
HEADWAY_API_MAX_INGEST_BYTES = int(
    os.environ.get("HEADWAY_API_MAX_INGEST_BYTES", str(64 * 1024 * 1024))
)
# A measurement push of more rows than this is accepted as a push job (202, polled) and
# stored by the worker, so no web request runs long enough to time out (docs/api.md).
HEADWAY_API_ASYNC_PUSH_ROWS = int(os.environ.get("HEADWAY_API_ASYNC_PUSH_ROWS", "20000"))
# gunicorn's worker timeout under `headway serve`, in seconds: the largest push the API
# accepts must finish within it. A push stores about 1 MiB of JSON rows a second on a busy
# 2-core machine (docs/performance.md), so 2 s per MiB of that limit, plus 30 s.
HEADWAY_SERVE_TIMEOUT = int(
    os.environ.get("HEADWAY_SERVE_TIMEOUT", str(30 + 2 * (HEADWAY_API_MAX_INGEST_BYTES >> 20)))
)

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # WeasyPrint (the PDF review pack) reports every layout step at INFO: noise in a log.
    "loggers": {"weasyprint": {"level": "WARNING"}, "fontTools": {"level": "WARNING"}},
}
