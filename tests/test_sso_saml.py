"""Single sign-on through a real SAML 2.0 identity provider (pysaml2 signing with xmlsec1).

Headway's SP metadata is loaded into the IdP; Django's test client is the browser and
fetches the IdP's single sign-on page over HTTP on 127.0.0.1, then posts the signed
response to Headway's ACS URL.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterator
from html import unescape
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.test import Client

from headway.directory.models import GroupMapping, SignInProvider
from headway.teams.models import Membership, Person
from tests.idp.saml_idp import XMLSEC, SamlIdentityProvider

pytestmark = pytest.mark.skipif(
    not __import__("os").path.exists(XMLSEC),
    reason="Debian's xmlsec1 is missing (make test installs it)",
)


@pytest.fixture(scope="module")
def saml_idp() -> Iterator[SamlIdentityProvider]:
    idp = SamlIdentityProvider()
    yield idp
    idp.stop()


@pytest.fixture
def saml_provider(saml_idp: SamlIdentityProvider, db: Any) -> SignInProvider:
    row = SignInProvider.objects.create(
        key="test-idp",
        name="Test IdP",
        kind="saml",
        idp_entity_id=saml_idp.entity_id,
        idp_sso_url=saml_idp.sso_url,
        idp_certificate=saml_idp.certificate,
        groups_claim="groups",
        allowed_domains="acme.test",
        trust_email=True,
    )
    metadata = browser().get("/accounts/saml/test-idp/metadata/")
    assert metadata.status_code == 200
    saml_idp.trust_service_provider(metadata.content.decode())
    return row


def browser() -> Client:
    # allauth's SAML views read the Host header, which a real browser always sends.
    return Client(HTTP_HOST="testserver")


def saml_sign_in(
    client: Client,
    idp: SamlIdentityProvider,
    who: str,
    tamper: Callable[[str], str] | None = None,
) -> Any:
    idp.current = who
    start = client.post("/accounts/saml/test-idp/login/")
    assert start.status_code == 302, start.content[:300]
    assert start["Location"].startswith(idp.sso_url)
    page = httpx.get(start["Location"], timeout=30).text
    action = unescape(re.search(r'action="([^"]+)"', page).group(1))  # type: ignore[union-attr]
    saml_response = re.search(r'name="SAMLResponse" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    relay = unescape(re.search(r'name="RelayState" value="([^"]*)"', page).group(1))  # type: ignore[union-attr]
    if tamper is not None:
        saml_response = tamper(saml_response)
    acs = client.post(urlsplit(action).path, {"SAMLResponse": saml_response, "RelayState": relay})
    assert acs.status_code == 302
    return client.get(acs["Location"], follow=True)


def no_session_for(person: Person | None) -> bool:
    if person is None:
        return True
    return all(
        s.get_decoded().get("_auth_user_id") != str(person.pk) for s in Session.objects.all()
    )


def test_signed_assertion_signs_in_creates_the_person_and_maps_groups(
    saml_idp: SamlIdentityProvider, saml_provider: SignInProvider, org: Any
) -> None:
    GroupMapping.objects.create(group="Depot crew", team=org.depot, role="member")
    saml_idp.people["alice"] = {
        "mail": ["alice@acme.test"],
        "displayName": ["Alice Able"],
        "groups": ["depot crew", "other"],
    }
    client = browser()
    answer = saml_sign_in(client, saml_idp, "alice")
    assert answer.status_code == 200
    assert client.get("/").status_code == 200
    alice = Person.objects.get(email="alice@acme.test")
    assert alice.name == "Alice Able"
    assert Membership.objects.get(person=alice).team == org.depot


def test_a_tampered_assertion_is_refused(
    saml_idp: SamlIdentityProvider, saml_provider: SignInProvider, org: Any, caplog: Any
) -> None:
    saml_idp.people["alice"] = {"mail": ["alice@acme.test"], "displayName": ["Alice"]}

    def become_the_admin(encoded: str) -> str:
        xml = base64.b64decode(encoded).decode()
        assert "alice@acme.test" in xml
        return base64.b64encode(xml.replace("alice@acme.test", "admin@acme.test").encode()).decode()

    client = browser()
    answer = saml_sign_in(client, saml_idp, "alice", tamper=become_the_admin)
    assert answer.status_code == 401
    assert b"could not sign you in" in answer.content
    assert "Signature validation failed" in caplog.text
    assert client.get("/").status_code == 302
    assert not Person.objects.filter(email="alice@acme.test").exists()
    assert no_session_for(org.admin)


def test_an_expired_assertion_is_refused(
    saml_idp: SamlIdentityProvider, saml_provider: SignInProvider, org: Any, caplog: Any
) -> None:
    saml_idp.people["alice"] = {"mail": ["alice@acme.test"], "displayName": ["Alice"]}
    client = browser()
    with time_machine.travel("2020-01-01 12:00Z", tick=True):
        # The IdP's clock stands years back: its assertion expired long ago.
        issued = _issue(client, saml_idp, "alice")
    acs = client.post(issued[0], {"SAMLResponse": issued[1], "RelayState": issued[2]})
    answer = client.get(acs["Location"], follow=True)
    assert client.get("/").status_code == 302
    assert not Person.objects.filter(email="alice@acme.test").exists()
    assert answer.status_code == 401
    assert "expired" in caplog.text


def _issue(client: Client, idp: SamlIdentityProvider, who: str) -> tuple[str, str, str]:
    idp.current = who
    start = client.post("/accounts/saml/test-idp/login/")
    query = dict(pair.split("=", 1) for pair in urlsplit(start["Location"]).query.split("&"))
    from urllib.parse import unquote

    acs, saml_response, relay = idp.answer(
        unquote(query["SAMLRequest"]), unquote(query.get("RelayState", ""))
    )
    return urlsplit(acs).path, saml_response, unescape(relay)


def test_a_deactivated_person_is_refused_and_left_without_a_session(
    saml_idp: SamlIdentityProvider, saml_provider: SignInProvider, org: Any
) -> None:
    Person.objects.filter(pk=org.member.pk).update(is_active=False)
    saml_idp.people["mo"] = {"mail": ["member@acme.test"], "displayName": ["Mo"]}
    client = browser()
    answer = saml_sign_in(client, saml_idp, "mo")
    assert b"Your account is deactivated" in answer.content
    assert client.get("/").status_code == 302
    assert no_session_for(org.member)
