"""Sign-in providers from the settings page and the environment, as one list allauth can use.

Both sources become a `ProviderConfig`; `social_app` turns one into the (unsaved) allauth
`SocialApp` that its OpenID Connect or SAML provider reads. allauth's own SocialApp table is
not used: Headway keeps client secrets encrypted (headway.secrets), allauth would keep them
in clear.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from headway.secrets import SecretUnreadable

KINDS = ("oidc", "saml")
KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")
ALLAUTH_PROVIDER = {"oidc": "openid_connect", "saml": "saml"}
DEFAULT_SCOPES = ("openid", "profile", "email")
# What allauth's SAML provider looks for when no attribute is named (plus Entra ID's claims).
SAML_EMAIL_ATTRIBUTES = (
    "urn:oid:0.9.2342.19200300.100.1.3",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    "email",
    "mail",
)
SAML_NAME_ATTRIBUTES = (
    "urn:oid:2.16.840.1.113730.3.1.241",
    "http://schemas.microsoft.com/identity/claims/displayname",
    "displayName",
    "name",
)
ENV_FIELDS = frozenset(
    {
        "key",
        "name",
        "kind",
        "issuer",
        "client_id",
        "client_secret",
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
    }
)


def parse_domains(text: str | list[str] | None) -> frozenset[str]:
    """`example.com, Sub.Example.org` (a list, or lines) -> {"example.com", "sub.example.org"}."""
    if not text:
        return frozenset()
    items = text if isinstance(text, list) else re.split(r"[\s,;]+", text)
    return frozenset(item.strip().lstrip("@").lower() for item in items if item.strip())


def email_domain(email: str) -> str:
    return email.rpartition("@")[2].lower()


@dataclass(frozen=True)
class ProviderConfig:
    """One identity provider, whichever way it was configured."""

    key: str
    name: str
    kind: str
    source: str  # "settings" (a row of the sign-in page) or "environment"
    issuer: str = ""
    client_id: str = ""
    scopes: tuple[str, ...] = ()
    idp_entity_id: str = ""
    idp_sso_url: str = ""
    idp_certificate: str = ""
    idp_metadata_url: str = ""
    email_attribute: str = ""
    name_attribute: str = ""
    groups_claim: str = "groups"
    allowed_domains: frozenset[str] = frozenset()
    trust_email: bool = False
    # Read only where allauth needs it; repr=False keeps it out of logs and tracebacks.
    client_secret: str = field(default="", repr=False)

    def allows_new_account(self, email: str) -> bool:
        return email_domain(email) in self.allowed_domains

    @property
    def all_scopes(self) -> list[str]:
        return list(dict.fromkeys([*DEFAULT_SCOPES, *self.scopes]))


def validate(data: dict[str, Any], *, where: str) -> ProviderConfig:
    """Check one provider's settings; ValueError naming `where` and every problem."""
    unknown = sorted(set(data) - ENV_FIELDS)
    problems = [f"unknown field {name!r}" for name in unknown]
    key = str(data.get("key", "")).strip()
    kind = str(data.get("kind", "")).strip()
    if not KEY_PATTERN.match(key):
        problems.append("key must be lowercase letters, digits, - or _ (at most 50)")
    if kind not in KINDS:
        problems.append(f"kind must be one of {', '.join(KINDS)}")
    if kind == "oidc":
        for name in ("issuer", "client_id", "client_secret"):
            if not str(data.get(name, "")).strip():
                problems.append(f"{name} is required for OpenID Connect")
    if kind == "saml" and not str(data.get("idp_metadata_url", "")).strip():
        for name in ("idp_entity_id", "idp_sso_url", "idp_certificate"):
            if not str(data.get(name, "")).strip():
                problems.append(f"{name} (or idp_metadata_url) is required for SAML")
    if problems:
        raise ValueError(f"{where}: " + "; ".join(problems) + ".")
    scopes = data.get("scopes", ())
    if isinstance(scopes, str):
        scopes = scopes.split()
    return ProviderConfig(
        key=key,
        name=str(data.get("name") or key),
        kind=kind,
        source="environment",
        issuer=str(data.get("issuer", "")).strip(),
        client_id=str(data.get("client_id", "")).strip(),
        client_secret=str(data.get("client_secret", "")),
        scopes=tuple(str(s) for s in scopes),
        idp_entity_id=str(data.get("idp_entity_id", "")).strip(),
        idp_sso_url=str(data.get("idp_sso_url", "")).strip(),
        idp_certificate=str(data.get("idp_certificate", "")).strip(),
        idp_metadata_url=str(data.get("idp_metadata_url", "")).strip(),
        email_attribute=str(data.get("email_attribute", "")).strip(),
        name_attribute=str(data.get("name_attribute", "")).strip(),
        groups_claim=str(data.get("groups_claim", "groups")).strip(),
        allowed_domains=parse_domains(data.get("allowed_domains")),
        trust_email=bool(data.get("trust_email", False)),
    )


def from_environment(raw: str) -> list[ProviderConfig]:
    """HEADWAY_SSO_PROVIDERS: a JSON list of provider objects (fields as on the settings page)."""
    if not raw.strip():
        return []
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"HEADWAY_SSO_PROVIDERS is not valid JSON: {exc}") from None
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ValueError("HEADWAY_SSO_PROVIDERS must be a JSON list of objects.")
    configs = [validate(item, where=f"HEADWAY_SSO_PROVIDERS[{i}]") for i, item in enumerate(data)]
    keys = [config.key for config in configs]
    twice = sorted({key for key in keys if keys.count(key) > 1})
    if twice:
        raise ValueError(f"HEADWAY_SSO_PROVIDERS names a key twice: {', '.join(twice)}.")
    return configs


def environment_providers() -> list[ProviderConfig]:
    return list(getattr(settings, "HEADWAY_SSO_PROVIDERS", []))


def from_row(row: Any) -> ProviderConfig:
    try:
        secret = row.secret()
    except SecretUnreadable:
        secret = ""  # the provider answers "invalid client"; the settings page says why
    return ProviderConfig(
        key=row.key,
        name=row.name,
        kind=row.kind,
        source="settings",
        issuer=row.issuer,
        client_id=row.client_id,
        client_secret=secret,
        scopes=tuple(row.scopes.split()),
        idp_entity_id=row.idp_entity_id,
        idp_sso_url=row.idp_sso_url,
        idp_certificate=row.idp_certificate,
        idp_metadata_url=row.idp_metadata_url,
        email_attribute=row.email_attribute,
        name_attribute=row.name_attribute,
        groups_claim=row.groups_claim,
        allowed_domains=parse_domains(row.allowed_domains),
        trust_email=row.trust_email,
    )


def enabled_providers() -> list[ProviderConfig]:
    """Every provider people may sign in with now: the environment's, then the page's."""
    from headway.directory.models import SignInProvider

    found = environment_providers()
    taken = {config.key for config in found}
    rows = SignInProvider.objects.filter(enabled=True).exclude(key__in=taken).order_by("name")
    return found + [from_row(row) for row in rows]


def find(kind: str, key: str) -> ProviderConfig | None:
    return next((c for c in enabled_providers() if c.kind == kind and c.key == key), None)


def social_app(config: ProviderConfig) -> Any:
    """The unsaved allauth SocialApp for `config` (allauth accepts apps that are not rows)."""
    from allauth.socialaccount.models import SocialApp

    app = SocialApp(
        provider=ALLAUTH_PROVIDER[config.kind],
        provider_id=config.key,
        name=config.name,
        client_id=config.client_id if config.kind == "oidc" else config.key,
        secret=config.client_secret,
    )
    if config.kind == "oidc":
        app.settings = {
            "server_url": config.issuer,
            "scope": config.all_scopes,
            "oauth_pkce_enabled": True,
            "fetch_userinfo": True,
        }
    else:
        app.settings = {
            "attribute_mapping": {
                "email": [config.email_attribute] if config.email_attribute else [],
                "name": [config.name_attribute] if config.name_attribute else [],
            },
            "idp": (
                {
                    "entity_id": config.idp_entity_id or None,
                    "metadata_url": config.idp_metadata_url,
                }
                if config.idp_metadata_url
                else {
                    "entity_id": config.idp_entity_id,
                    "sso_url": config.idp_sso_url,
                    "x509cert": config.idp_certificate,
                }
            ),
            "advanced": {
                "strict": True,
                "want_assertion_signed": True,
                "reject_idp_initiated_sso": True,
                "allow_single_label_domains": True,
            },
        }
        mapping = app.settings["attribute_mapping"]
        mapping["email"] = mapping["email"] or list(SAML_EMAIL_ATTRIBUTES)
        mapping["name"] = mapping["name"] or list(SAML_NAME_ATTRIBUTES)
        mapping["uid"] = ["urn:oasis:names:tc:SAML:attribute:subject-id"]
    return app


def find_by_key(key: str) -> ProviderConfig | None:
    return next((c for c in enabled_providers() if c.key == key), None)


def _origin(url: str) -> str | None:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def sign_in_origins() -> list[str]:
    """Where a sign-in form sends the browser on: each enabled provider's origin.

    A "Sign in with …" form posts to Headway, which redirects to the provider; browsers hold
    that redirect to the page's CSP form-action, so the sign-in pages allow these origins.
    """
    found = []
    for config in enabled_providers():
        for url in (config.issuer, config.idp_sso_url, config.idp_metadata_url):
            origin = _origin(url) if url else None
            if origin and origin not in found:
                found.append(origin)
    return found
