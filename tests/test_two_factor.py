"""Two-factor sign-in for password accounts: an authenticator app (TOTP) and recovery codes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import time
from typing import Any

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.test import Client

from headway.directory.actions import set_two_factor_policy
from headway.teams.models import Person

PASSWORD = "a-long-test-password"


def totp(secret: str, at: float | None = None) -> str:
    """RFC 6238 with SHA-1, 30 s, 6 digits: what an authenticator app shows (independent code)."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    counter = int((time.time() if at is None else at) // 30)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def password_step(client: Client, email: str) -> Any:
    return client.post("/accounts/login/", {"login": email, "password": PASSWORD})


def enrol(client: Client, email: str) -> tuple[str, list[str]]:
    """Sign in with the password, set up the authenticator app; returns its secret and codes."""
    assert password_step(client, email).status_code == 302
    page = client.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200
    assert b"data:image/svg+xml;base64," in page.content  # the QR code to scan
    secret = page.context["form"].secret
    wrong = client.post("/accounts/2fa/totp/activate/", {"code": "000000"})
    assert wrong.status_code == 200  # refused: shown again with the error
    done = client.post("/accounts/2fa/totp/activate/", {"code": totp(secret)})
    assert done.status_code == 302
    codes = client.get("/accounts/2fa/recovery-codes/").context["unused_codes"]
    assert len(codes) == 10
    client.post("/accounts/logout/")
    return secret, list(codes)


def signed_in_as(client: Client) -> str | None:
    return client.session.get("_auth_user_id")


def no_session_for(person: Person) -> bool:
    return all(
        s.get_decoded().get("_auth_user_id") != str(person.pk) for s in Session.objects.all()
    )


@pytest.mark.django_db
def test_enrolment_then_sign_in_with_a_code_and_a_wrong_code_refused(org: Any) -> None:
    client = Client()
    with time_machine.travel("2027-02-01 09:00Z", tick=False):
        secret, _ = enrol(client, "member@acme.test")
    with time_machine.travel("2027-02-01 09:05Z", tick=False):
        first = password_step(client, "member@acme.test")
        assert first["Location"] == "/accounts/2fa/authenticate/"
        assert signed_in_as(client) is None  # the password alone is not enough
        assert client.get("/").status_code == 302
        wrong = client.post("/accounts/2fa/authenticate/", {"code": "123456"})
        assert wrong.status_code == 200
        assert b"Incorrect code" in wrong.content
        assert signed_in_as(client) is None
        right = client.post("/accounts/2fa/authenticate/", {"code": totp(secret)})
        assert right.status_code == 302
        assert signed_in_as(client) == str(org.member.pk)
        assert client.get("/").status_code == 200


@pytest.mark.django_db
def test_a_recovery_code_works_once(org: Any) -> None:
    client = Client()
    _, codes = enrol(client, "member@acme.test")
    password_step(client, "member@acme.test")
    assert client.post("/accounts/2fa/authenticate/", {"code": codes[0]}).status_code == 302
    assert signed_in_as(client) == str(org.member.pk)
    client.post("/accounts/logout/")
    password_step(client, "member@acme.test")
    again = client.post("/accounts/2fa/authenticate/", {"code": codes[0]})
    assert again.status_code == 200
    assert signed_in_as(client) is None
    assert client.post("/accounts/2fa/authenticate/", {"code": codes[1]}).status_code == 302


@pytest.mark.django_db
def test_the_authenticator_secret_is_stored_encrypted(org: Any) -> None:
    from allauth.mfa.models import Authenticator

    secret, _ = enrol(Client(), "member@acme.test")
    stored = Authenticator.objects.get(user=org.member, type="totp").data["secret"]
    assert stored.startswith("enc1:")
    assert secret not in stored


@pytest.mark.django_db
def test_a_deactivated_person_is_refused_at_either_step_and_left_without_a_session(
    org: Any,
) -> None:
    client = Client()
    with time_machine.travel("2027-02-01 09:00Z", tick=False):
        secret, _ = enrol(client, "member@acme.test")
    with time_machine.travel("2027-02-01 09:05Z", tick=False):
        password_step(client, "member@acme.test")  # waiting for the code ...
        Person.objects.filter(pk=org.member.pk).update(is_active=False)  # ... when deactivated
        client.post("/accounts/2fa/authenticate/", {"code": totp(secret)})
        assert signed_in_as(client) is None
        assert client.get("/").status_code == 302
    with time_machine.travel("2027-02-01 09:10Z", tick=False):
        fresh = Client()
        answer = password_step(fresh, "member@acme.test")
        assert signed_in_as(fresh) is None
        assert answer.status_code in {200, 302}
        assert answer.status_code == 200 or "/2fa/" not in answer["Location"]
    assert no_session_for(org.member)


@pytest.mark.django_db
def test_admins_can_require_two_factor_for_password_sign_ins(org: Any) -> None:
    set_two_factor_policy(by=org.admin, required=True)
    client = Client()
    password_step(client, "viewer@acme.test")
    assert client.get("/")["Location"] == "/accounts/2fa/totp/activate/"
    api = client.get("/api/teams")
    assert api.status_code == 403
    assert "two-factor" in api.json()["detail"]
    secret = client.get("/accounts/2fa/totp/activate/").context["form"].secret
    done = client.post("/accounts/2fa/totp/activate/", {"code": totp(secret)})
    assert done.status_code == 302, done.content.decode()[:3000]
    assert client.get("/").status_code == 200
    # While it is required, the authenticator app cannot be removed.
    removed = client.post("/accounts/2fa/totp/deactivate/")
    assert removed.status_code in {200, 302}
    from allauth.mfa.models import Authenticator

    assert Authenticator.objects.filter(user=org.viewer, type="totp").exists()


@pytest.mark.django_db
def test_only_password_sign_ins_are_sent_to_set_it_up(org: Any, rf: Any) -> None:
    from django.contrib.sessions.backends.db import SessionStore

    from headway.directory.middleware import SESSION_KEY, mark_if_setup_needed

    set_two_factor_policy(by=org.admin, required=True)
    for method, expected in (("password", True), ("socialaccount", None)):
        request = rf.get("/")
        request.user = org.viewer
        request.session = SessionStore()
        request.session["account_authentication_methods_user"] = str(org.viewer.pk)
        request.session["account_authentication_methods"] = [{"method": method, "at": time.time()}]
        mark_if_setup_needed(request, org.viewer)
        assert request.session.get(SESSION_KEY) is expected, method


@pytest.mark.django_db
def test_only_admins_change_the_two_factor_policy(org: Any) -> None:
    from django.core.exceptions import PermissionDenied

    from headway.directory.models import SignInPolicy

    with pytest.raises(PermissionDenied):
        set_two_factor_policy(by=org.lead, required=True)
    assert not SignInPolicy.current().require_two_factor
