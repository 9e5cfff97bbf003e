"""Single sign-on end to end in Chromium: Headway, a real OpenID Connect provider, and back."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from headway.directory.models import GroupMapping
from headway.teams.models import Membership, Person

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def through_the_provider(page: Any, live_server: Any, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("button", name="Sign in with Test OP").click()
    page.wait_for_selector("text=Test identity provider")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill("op-password")
    page.get_by_role("button", name="Sign in at the provider").click()


def test_sign_in_with_the_provider_creates_the_account_and_maps_groups(
    page: Any,
    live_server: Any,
    oidc_provider: Any,
    oidc_sign_in: Any,
    org: Any,
    console: list[str],
    shoot: Any,
) -> None:
    GroupMapping.objects.create(group="depot-crew", team=org.depot, role="member")
    oidc_provider.set_people(
        {
            "nina": {
                "password": "op-password",
                "email": "nina@acme.test",
                "email_verified": True,
                "name": "Nina New",
                "groups": ["depot-crew"],
            },
            "eve": {
                "password": "op-password",
                "email": "eve@elsewhere.test",
                "email_verified": True,
                "name": "Eve",
            },
        }
    )
    page.goto(f"{live_server.url}/accounts/login/")
    shoot("sign-in-with-provider")
    through_the_provider(page, live_server, "nina")
    page.wait_for_url(f"{live_server.url}/")
    assert page.locator("h1").inner_text().startswith("Hello")
    nina = Person.objects.get(email="nina@acme.test")
    assert Membership.objects.get(person=nina).team == org.depot
    page.goto(f"{live_server.url}/teams/depot/")
    expect(page.get_by_text("Nina New").first).to_be_visible()
    shoot("signed-in-with-provider")

    page.get_by_role("button", name="Sign out").click()
    page.context.clear_cookies()
    through_the_provider(page, live_server, "eve")
    page.wait_for_selector("text=No Headway account for you yet")
    assert "elsewhere.test" in page.content()
    shoot("sign-in-refused-domain")
    assert not Person.objects.filter(email="eve@elsewhere.test").exists()
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url
    # The 403 of the refusal page is the only console error expected.
    console[:] = [m for m in console if "403" not in m]
