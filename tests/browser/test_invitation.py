"""The invitation journey in a browser: invite → e-mail in the outbox → link → password → in."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from headway.notify.outbox import send_due
from headway.teams.models import Person
from tests.browser.conftest import RESULTS
from tests.browser.test_journeys import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_invited_person_sets_a_password_from_the_email_and_is_signed_in(
    page: Any, live_server: Any, console: list[str], shoot: Any, org: Any, settings: Any
) -> None:
    # As `headway serve` does without SITE_URL: links name the address served.
    settings.SITE_URL = live_server.url
    sign_in(page, live_server, console, org.admin)
    page.goto(f"{live_server.url}/people/new/")
    page.fill("#id_name", "Nia Newcomer")
    page.fill("#id_email", "nia@acme.test")
    page.get_by_role("button", name="Create").click()
    page.wait_for_url(f"{live_server.url}/people/new/")
    expect(page.get_by_text("An invitation e-mail")).to_be_visible()

    assert send_due(worker_id="browser-test").sent == 1  # the worker's pass

    page.goto(f"{live_server.url}/admin-tools/invitations")
    assert page.locator("td.status-sent").inner_text() == "sent"
    page.goto(f"{live_server.url}/admin-tools/outbox")
    page.locator("summary", has_text="invited you to Headway").click()  # opens the message
    body = page.locator("pre.mail-body").inner_text()
    shoot("journey-invitation-outbox")
    link = re.search(r"http://\S+/password/reset/key/\S+", body)
    assert link, body
    assert link.group(0).startswith(live_server.url)

    invitee = page.context.browser.new_context()
    try:
        theirs = invitee.new_page()
        theirs.goto(link.group(0))
        theirs.fill("#id_password1", "nia-sets-a-long-password-1")
        theirs.fill("#id_password2", "nia-sets-a-long-password-1")
        theirs.get_by_role("button", name=re.compile("Change|Set", re.I)).click()
        theirs.wait_for_url(f"{live_server.url}/")
        assert theirs.locator("h1").inner_text().startswith("Hello")
        theirs.screenshot(path=str(RESULTS / "journey-invited.png"), full_page=True)
    finally:
        invitee.close()
    nia = Person.objects.get(email="nia@acme.test")
    assert nia.check_password("nia-sets-a-long-password-1")
    page.goto(f"{live_server.url}/admin-tools/invitations")
    assert page.locator("td.status-accepted").inner_text() == "accepted"
