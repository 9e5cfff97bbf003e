"""The inbox in a real browser: a key result achieved by a colleague shows up, unread."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from headway.notify.models import Notification
from headway.okrs.actions import record_checkin
from headway.okrs.models import KeyResult
from tests.browser.test_journeys import sign_in, world  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_inbox_shows_unread_count_and_marks_read(
    page: Any,
    live_server: Any,
    console: list[str],
    shoot: Any,
    world: Any,  # noqa: F811
) -> None:
    member = world.org.member
    kr = (
        KeyResult.objects.filter(
            objective__owner=member, kind="increase", kpi__isnull=True, target__isnull=False
        )
        .order_by("pk")
        .first()
    )
    assert kr is not None
    # A lead checks in the value that reaches the target: the owner hears of it.
    record_checkin(key_result=kr, by=world.org.lead, value=kr.target, at=timezone.now())
    assert Notification.objects.filter(person=member, read_at__isnull=True).exists()

    sign_in(page, live_server, console, member)
    inbox_link = page.get_by_role("link", name="Inbox")
    assert inbox_link.locator(".count").inner_text().strip() != ""
    inbox_link.click()
    page.wait_for_url(f"{live_server.url}/inbox/")
    expect(page.get_by_text(kr.title).first).to_be_visible()
    expect(page.get_by_text("unread").first).to_be_visible()
    shoot("journey-inbox")
    page.get_by_role("button", name="Mark all as read").click()
    page.wait_for_url(f"{live_server.url}/inbox/")
    expect(page.get_by_text("Nothing unread")).to_be_visible()
    assert page.get_by_role("link", name="Inbox").locator(".count").count() == 0
    assert not Notification.objects.filter(person=member, read_at__isnull=True).exists()
