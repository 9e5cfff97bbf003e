"""API authentication: personal tokens (hashed, scoped, revocable), sessions with CSRF,
the token settings page, the `headway token` commands, and the docs under the CSP."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest
import typer
from django.test import Client
from typer.testing import CliRunner

from headway.api.commands import register
from headway.api.models import ApiToken
from headway.api.testing import ApiClient, token_for
from headway.teams.models import Team

pytestmark = pytest.mark.django_db


def test_tokens_are_stored_hashed_and_shown_once(org: Any) -> None:
    client = Client()
    client.force_login(org.member)
    response = client.post(
        "/api/v1/tokens", {"name": "pipeline", "scope": "write"}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    secret = response.json()["token"]
    assert secret.startswith("hw_")
    assert len(secret) > 40
    token = ApiToken.objects.get()
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert token.prefix == secret[:10]
    assert secret not in str(list(ApiToken.objects.values()))
    listed = client.get("/api/v1/tokens").json()
    assert listed["count"] == 1
    assert "token" not in listed["items"][0]
    assert listed["items"][0]["prefix"] == secret[:10]


def test_bearer_token_acts_as_its_person(org: Any) -> None:
    client = ApiClient(token_for(org.admin, "write"))
    created = client.post("/teams", {"key": "fleet", "name": "Fleet", "parent": "ops"})
    assert created.status_code == 201, created.content
    assert Team.objects.get(key="fleet").history.first().history_user == org.admin
    assert ApiToken.objects.get().last_used_at is not None


def test_read_token_cannot_write(org: Any) -> None:
    client = ApiClient(token_for(org.admin, "read"))
    assert client.get("/teams").status_code == 200
    refused = client.post("/teams", {"key": "fleet", "name": "Fleet", "parent": "ops"})
    assert refused.status_code == 403
    assert "read scope" in refused.json()["error"]["message"]
    assert not Team.objects.filter(key="fleet").exists()


def test_revoked_and_unknown_tokens_are_refused(org: Any) -> None:
    secret = token_for(org.admin, "write")
    token = ApiToken.objects.get()
    session = Client()
    session.force_login(org.admin)
    assert session.delete(f"/api/v1/tokens/{token.pk}").json()["revoked_at"] is not None
    refused = ApiClient(secret).get("/teams")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthenticated"
    assert ApiClient("hw_not-a-real-token").get("/teams").status_code == 401
    # A bad token is refused even when a session cookie comes along.
    both = session.get("/api/v1/teams", headers={"Authorization": f"Bearer {secret}"})
    assert both.status_code == 401


def test_a_deactivated_persons_token_is_refused(org: Any) -> None:
    secret = token_for(org.member)
    org.member.is_active = False
    org.member.save()
    assert ApiClient(secret).get("/teams").status_code == 401


def test_tokens_cannot_mint_tokens(org: Any) -> None:
    client = ApiClient(token_for(org.admin, "write"))
    assert client.post("/tokens", {"name": "more"}).status_code == 401
    assert client.get("/tokens").status_code == 401
    assert ApiToken.objects.count() == 1


def test_only_own_tokens_can_be_revoked(org: Any) -> None:
    token_for(org.admin)
    other = ApiToken.objects.get()
    client = Client()
    client.force_login(org.member)
    assert client.delete(f"/api/v1/tokens/{other.pk}").status_code == 404
    other.refresh_from_db()
    assert other.revoked_at is None


def test_session_writes_need_the_csrf_token(org: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(org.admin)
    assert client.get("/api/v1/teams").status_code == 200
    body = {"key": "fleet", "name": "Fleet", "parent": "ops"}
    refused = client.post("/api/v1/teams", body, content_type="application/json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["error"]["message"]
    page = client.get("/settings/tokens")
    csrf = client.cookies["csrftoken"].value
    assert page.status_code == 200
    allowed = client.post(
        "/api/v1/teams", body, content_type="application/json", headers={"X-CSRFToken": csrf}
    )
    assert allowed.status_code == 201, allowed.content


def test_no_credentials_is_401_even_for_writes(org: Any) -> None:
    response = Client(enforce_csrf_checks=True).post(
        "/api/v1/teams", {"key": "x", "name": "X"}, content_type="application/json"
    )
    assert response.status_code == 401


def test_settings_page_creates_lists_and_revokes(org: Any) -> None:
    client = Client()
    assert client.get("/settings/tokens").status_code == 302  # sign in first
    client.force_login(org.member)
    page = client.get("/settings/tokens")
    assert page.status_code == 200
    assert "No tokens yet" in page.content.decode()
    created = client.post("/settings/tokens", {"name": "laptop script", "scope": "write"})
    html = created.content.decode()
    secret = re.search(r'value="(hw_[^"]+)"', html)
    assert secret is not None
    assert "shown this once" in html
    assert ApiClient(secret.group(1)).get("/teams").status_code == 200
    again = client.get("/settings/tokens").content.decode()
    assert secret.group(1) not in again
    assert "laptop script" in again
    token = ApiToken.objects.get()
    revoked = client.post(f"/settings/tokens/{token.pk}/revoke", follow=True)
    assert "is revoked" in revoked.content.decode()
    assert ApiClient(secret.group(1)).get("/teams").status_code == 401
    invalid = client.post("/settings/tokens", {"name": "", "scope": "admin"})
    assert invalid.status_code == 400


def test_token_commands(org: Any) -> None:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Stand-in for the headway app."""

    register(app)
    runner = CliRunner()
    made = runner.invoke(
        app,
        ["token", "create", "--email", "MEMBER@acme.test", "--name", "cron", "--scope", "write"],
    )
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip().splitlines()[-1]
    assert secret.startswith("hw_")
    assert ApiClient(secret).get("/teams").status_code == 200
    listed = runner.invoke(app, ["token", "list", "--email", "member@acme.test"])
    assert listed.exit_code == 0
    assert "cron" in listed.output
    assert secret not in listed.output
    token = ApiToken.objects.get()
    assert runner.invoke(app, ["token", "revoke", str(token.pk)]).exit_code == 0
    assert ApiClient(secret).get("/teams").status_code == 401
    assert runner.invoke(app, ["token", "revoke", "999999"]).exit_code == 2
    nobody = runner.invoke(app, ["token", "create", "--email", "x@y.z", "--name", "n"])
    assert nobody.exit_code == 2
    bad_scope = runner.invoke(
        app, ["token", "create", "--email", "member@acme.test", "--name", "n", "--scope", "root"]
    )
    assert bad_scope.exit_code == 2


def test_openapi_document_and_docs_need_sign_in(org: Any) -> None:
    anonymous = Client()
    assert anonymous.get("/api/openapi.json").status_code == 401
    assert anonymous.get("/api/docs").status_code == 302
    secret = token_for(org.viewer, "read")
    document = anonymous.get("/api/openapi.json", headers={"Authorization": f"Bearer {secret}"})
    assert document.status_code == 200
    paths = document.json()["paths"]
    assert "/api/v1/objectives/{key}/key-results/{kr_key}" in paths
    assert document.json()["components"]["securitySchemes"]["TokenAuth"]["scheme"] == "bearer"


def test_docs_page_is_self_hosted_under_the_csp(org: Any) -> None:
    client = Client()
    client.force_login(org.viewer)
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.content.decode()
    policy = page["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy)
    assert nonce is not None
    scripts = re.findall(r"<script src=\"([^\"]+)\" nonce=\"([^\"]+)\"", html)
    assert scripts
    assert all(src.startswith("/api/docs/assets/") for src, _ in scripts)
    assert all(n == nonce.group(1) for _, n in scripts)
    # The nonce is random letters and may spell "cdn" (a suite run drew "f6cdnmvm…").
    text = html.replace(nonce.group(1), "")
    assert "cdn" not in text.lower()
    assert "https://" not in text
    for src, _ in scripts:
        asset = client.get(src)
        assert asset.status_code == 200
        assert "javascript" in asset["Content-Type"]
    assert Client().get("/api/docs/assets/swagger-ui.css").status_code == 200
    assert Client().get("/api/docs/assets/..%2Fsettings.py").status_code == 404
