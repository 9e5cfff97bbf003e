"""Single sign-on through a real OpenID Connect provider on 127.0.0.1 (django-oidc-provider).

An HTTP client plays the browser: Headway's sign-in page, the provider's own sign-in form,
the redirect back with a code that Headway exchanges with the provider.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from headway.directory.models import GroupMapping, SignInGroups
from headway.teams.models import Membership, Person

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
_OPEN: list[httpx.Client] = []


@pytest.fixture(autouse=True)
def _close_browsers() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


def _csrf(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


def _hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, html[:500]
    return match.group(1).replace("&amp;", "&")


def sign_in(
    live_server: Any, username: str, password: str = "op-password"
) -> tuple[httpx.Client, httpx.Response]:
    """Sign in with the test provider; returns the browser and Headway's last answer."""
    browser = httpx.Client(follow_redirects=True, timeout=30)
    _OPEN.append(browser)
    page = browser.get(f"{live_server.url}/accounts/login/")
    assert "Sign in with Test OP" in page.text
    at_provider = browser.post(
        f"{live_server.url}/accounts/oidc/test-op/login/?process=login",
        data={"csrfmiddlewaretoken": _csrf(page.text)},
    )
    assert "Test identity provider" in at_provider.text, at_provider.text[:500]
    form_url = str(at_provider.url)
    answer = browser.post(
        form_url,
        data={
            "csrfmiddlewaretoken": _csrf(at_provider.text),
            "username": username,
            "password": password,
            "next": _hidden(at_provider.text, "next"),
        },
    )
    return browser, answer


def person_of(email: str) -> Person | None:
    return Person.objects.filter(email=email).first()


def signed_in(browser: httpx.Client, live_server: Any) -> bool:
    home = browser.get(f"{live_server.url}/", follow_redirects=False)
    return home.status_code == 200


def test_first_sign_in_creates_the_person_and_maps_groups_to_teams(
    live_server: Any, oidc_provider: Any, oidc_sign_in: Any, org: Any
) -> None:
    GroupMapping.objects.create(group="depot-crew", team=org.depot, role="member")
    GroupMapping.objects.create(group="ops-leads", team=org.ops, role="lead")
    oidc_provider.set_people(
        {
            "nina": {
                "password": "op-password",
                "email": "Nina@ACME.test",
                "email_verified": True,
                "name": "Nina New",
                "groups": ["depot-crew", "ops-leads", "unmapped"],
            }
        }
    )
    browser, answer = sign_in(live_server, "nina")
    assert answer.status_code == 200
    assert signed_in(browser, live_server)
    nina = person_of("nina@acme.test")
    assert nina is not None
    assert (nina.name, nina.has_usable_password()) == ("Nina New", False)
    roles = dict(Membership.objects.filter(person=nina).values_list("team__key", "role"))
    assert roles == {"depot": "member", "ops": "lead"}
    assert set(SignInGroups.objects.get(person=nina).groups) == {
        "depot-crew",
        "ops-leads",
        "unmapped",
    }

    # Left a group at the provider: the next sign-in takes that membership away.
    oidc_provider.set_people(
        {
            "nina": {
                "password": "op-password",
                "email": "nina@acme.test",
                "email_verified": True,
                "groups": ["depot-crew"],
            }
        }
    )
    browser.close()
    browser, _ = sign_in(live_server, "nina")
    assert signed_in(browser, live_server)
    assert dict(Membership.objects.filter(person=nina).values_list("team__key", "role")) == {
        "depot": "member"
    }
    assert Person.objects.filter(email="nina@acme.test").count() == 1


def test_an_address_outside_the_allowed_domains_gets_no_account(
    live_server: Any, oidc_provider: Any, oidc_sign_in: Any, org: Any
) -> None:
    oidc_provider.set_people(
        {"eve": {"password": "op-password", "email": "eve@elsewhere.test", "email_verified": True}}
    )
    browser, answer = sign_in(live_server, "eve")
    assert answer.status_code == 403
    assert "not opened Headway to addresses in that domain" in answer.text
    assert person_of("eve@elsewhere.test") is None
    assert not signed_in(browser, live_server)


def test_an_existing_person_is_matched_by_verified_email_only(
    live_server: Any, oidc_provider: Any, oidc_sign_in: Any, org: Any
) -> None:
    from allauth.socialaccount.models import SocialAccount

    oidc_provider.set_people(
        {
            "mallory": {
                "password": "op-password",
                "email": "lead@acme.test",
                "email_verified": False,
            },
            "lou": {"password": "op-password", "email": "LEAD@acme.test", "email_verified": True},
        }
    )
    browser, answer = sign_in(live_server, "mallory")
    assert answer.status_code == 403
    assert "did not confirm" in answer.text
    assert not signed_in(browser, live_server)
    assert not SocialAccount.objects.filter(user=org.lead).exists()

    browser, _ = sign_in(live_server, "lou")
    assert signed_in(browser, live_server)
    assert SocialAccount.objects.get(user=org.lead).provider == "test-op"
    assert Person.objects.filter(email="lead@acme.test").count() == 1
    assert org.lead.has_usable_password() is True  # their password still works too


def test_a_deactivated_person_is_refused_and_left_without_a_session(
    live_server: Any, oidc_provider: Any, oidc_sign_in: Any, org: Any
) -> None:
    Person.objects.filter(pk=org.member.pk).update(is_active=False)
    oidc_provider.set_people(
        {"mo": {"password": "op-password", "email": "member@acme.test", "email_verified": True}}
    )
    browser, answer = sign_in(live_server, "mo")
    assert "Your account is deactivated" in answer.text
    assert not signed_in(browser, live_server)
    from django.contrib.sessions.models import Session

    for session in Session.objects.all():
        assert session.get_decoded().get("_auth_user_id") != str(org.member.pk)


def test_single_sign_on_is_not_asked_for_two_factor_when_admins_require_it(
    live_server: Any, oidc_provider: Any, oidc_sign_in: Any, org: Any
) -> None:
    from headway.directory.actions import set_two_factor_policy

    set_two_factor_policy(by=org.admin, required=True)
    oidc_provider.set_people(
        {"lou": {"password": "op-password", "email": "lead@acme.test", "email_verified": True}}
    )
    browser, _ = sign_in(live_server, "lou")
    assert signed_in(browser, live_server)  # two-factor is the identity provider's business
