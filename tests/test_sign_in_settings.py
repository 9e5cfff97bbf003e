"""The admins' sign-in page: providers with secrets never shown, group mappings, SCIM tokens."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from headway.directory import actions, providers
from headway.directory.models import GroupMapping, ScimToken, SignInGroups, SignInProvider
from headway.teams.models import Membership
from headway.web.testing import client_for

OIDC = {
    "name": "Okta",
    "key": "okta",
    "enabled": "on",
    "issuer": "https://acme.okta.test/oauth2/default",
    "client_id": "0oa-client",
    "client_secret": "the-client-secret-value",
    "scopes": "groups",
    "groups_claim": "groups",
    "allowed_domains": "acme.test, Example.org",
}


@pytest.mark.django_db
def test_only_admins_see_the_sign_in_page(org: Any) -> None:
    assert client_for(org.lead).get("/settings/sign-in/").status_code == 403
    page = client_for(org.admin).get("/settings/sign-in/")
    assert page.status_code == 200
    assert b"Single sign-on providers" in page.content


@pytest.mark.django_db
def test_a_provider_is_saved_with_its_secret_encrypted_and_never_shown(org: Any) -> None:
    admin = client_for(org.admin)
    saved = admin.post("/settings/sign-in/providers/new/oidc/", OIDC)
    assert saved.status_code == 302
    row = SignInProvider.objects.get(key="okta")
    assert row.client_secret_encrypted.startswith("enc1:")
    assert "the-client-secret-value" not in row.client_secret_encrypted
    assert row.secret() == "the-client-secret-value"
    for url in ("/settings/sign-in/", "/settings/sign-in/providers/okta/"):
        assert b"the-client-secret-value" not in admin.get(url).content
    page = admin.get("/settings/sign-in/").content.decode()
    assert "/accounts/oidc/okta/login/callback/" in page
    # Saving again without a secret keeps the stored one.
    edited = admin.post(
        "/settings/sign-in/providers/okta/", {**OIDC, "client_secret": "", "name": "Okta SSO"}
    )
    assert edited.status_code == 302
    row.refresh_from_db()
    assert (row.name, row.secret()) == ("Okta SSO", "the-client-secret-value")
    assert providers.find_by_key("okta").allowed_domains == {"acme.test", "example.org"}  # type: ignore[union-attr]
    assert b"Sign in with Okta SSO" in admin.__class__().get("/accounts/login/").content


@pytest.mark.django_db
def test_a_provider_missing_what_its_kind_needs_is_refused(org: Any) -> None:
    admin = client_for(org.admin)
    answer = admin.post(
        "/settings/sign-in/providers/new/oidc/", {**OIDC, "issuer": "", "client_secret": ""}
    )
    assert answer.status_code == 400
    assert b"Required for OpenID Connect" in answer.content
    saml = admin.post(
        "/settings/sign-in/providers/new/saml/",
        {
            "name": "ADFS",
            "key": "adfs",
            "idp_entity_id": "x",
            "idp_sso_url": "https://idp.test/sso",
            "idp_certificate": "junk",
            "groups_claim": "groups",
        },
    )
    assert saml.status_code == 400
    assert b"PEM" in saml.content
    assert not SignInProvider.objects.exists()


@pytest.mark.django_db
def test_a_key_the_environment_uses_cannot_be_taken(org: Any) -> None:
    env = providers.from_environment(
        json.dumps(
            [
                {
                    "key": "okta",
                    "kind": "oidc",
                    "issuer": "https://x.test",
                    "client_id": "c",
                    "client_secret": "s",
                }
            ]
        )
    )
    with override_settings(HEADWAY_SSO_PROVIDERS=env):
        with pytest.raises(ValidationError) as caught:
            actions.save_provider(
                by=org.admin,
                kind="oidc",
                data={k: v for k, v in OIDC.items() if k not in {"client_secret", "enabled"}},
                secret="s",
            )
        assert "environment" in str(caught.value)
        page = client_for(org.admin).get("/settings/sign-in/")
        assert b"from the environment" in page.content


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"key": "x"}', "JSON list of objects"),
        ('[{"key": "x", "kind": "oidc"}]', "issuer is required"),
        (
            '[{"key": "Bad Key", "kind": "saml", "idp_metadata_url": "https://i.test/m"}]',
            "key must be",
        ),
        (
            '[{"key": "x", "kind": "oidc", "issuer": "i", "client_id": "c", '
            '"client_secret": "s", "colour": 1}]',
            "unknown field",
        ),
    ],
)
def test_a_wrong_environment_setting_stops_headway_with_a_message(
    tmp_path: Path, raw: str, message: str
) -> None:
    env = {**os.environ, "HEADWAY_DATA_DIR": str(tmp_path), "HEADWAY_SSO_PROVIDERS": raw}
    env["DJANGO_SETTINGS_MODULE"] = "headway.settings"
    run = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode != 0
    assert message in run.stderr


@pytest.mark.django_db
def test_mapping_a_group_updates_people_already_in_it_and_removing_it_undoes_that(org: Any) -> None:
    SignInGroups.objects.create(person=org.outsider, provider="okta", groups=["Depot-Crew"])
    admin = client_for(org.admin)
    answer = admin.post(
        "/settings/sign-in/",
        {
            "action": "add-mapping",
            "mapping-group": "depot-crew",
            "mapping-team": "depot",
            "mapping-role": "lead",
        },
    )
    assert answer.status_code == 302
    membership = Membership.objects.get(person=org.outsider, team=org.depot)
    assert (membership.role, membership.origin) == ("lead", "directory")
    again = admin.post(
        "/settings/sign-in/",
        {
            "action": "add-mapping",
            "mapping-group": "DEPOT-CREW",
            "mapping-team": "depot",
            "mapping-role": "member",
        },
    )
    assert again.status_code == 400
    assert b"already mapped" in again.content
    mapping = GroupMapping.objects.get()
    admin.post("/settings/sign-in/", {"action": "remove-mapping", "mapping": mapping.pk})
    assert not Membership.objects.filter(person=org.outsider, team=org.depot).exists()
    assert Membership.objects.filter(person=org.outsider, team=org.sales).exists()  # by hand


@pytest.mark.django_db
def test_a_scim_token_is_shown_once_and_stored_hashed(org: Any) -> None:
    admin = client_for(org.admin)
    page = admin.post("/settings/sign-in/", {"action": "create-token", "token-name": "Entra ID"})
    assert page.status_code == 200
    secret = page.context["secret"]
    assert secret.startswith("hwscim_")
    token = ScimToken.objects.get()
    assert secret not in (token.token_hash, token.prefix)
    assert secret.encode() not in admin.get("/settings/sign-in/").content
    admin.post("/settings/sign-in/", {"action": "revoke-token", "token": token.pk})
    token.refresh_from_db()
    assert token.revoked_at is not None


@pytest.mark.django_db
def test_two_factor_policy_is_switched_on_the_page(org: Any) -> None:
    from headway.directory.models import SignInPolicy

    lead = client_for(org.lead)
    refused = lead.post("/settings/sign-in/", {"action": "two-factor", "require_two_factor": "on"})
    assert refused.status_code == 403
    assert not SignInPolicy.current().require_two_factor
    admin = client_for(org.admin)
    admin.post("/settings/sign-in/", {"action": "two-factor", "require_two_factor": "on"})
    assert SignInPolicy.current().require_two_factor
    assert SignInPolicy.current().updated_by == org.admin
