"""Working together (issue 18) in a real browser: find a KPI with the header's search, discuss
it mentioning a colleague, and the colleague's inbox leads back to the comment."""

from __future__ import annotations

import re
from typing import Any

import pytest

from headway.discussion.models import Comment
from headway.kpis.models import Kpi
from headway.notify.models import Notification
from tests.browser.test_journeys import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_search_a_kpi_comment_mentioning_a_colleague_who_finds_it_in_the_inbox(
    page: Any, live_server: Any, console: list[str], shoot: Any, org: Any
) -> None:
    Kpi.objects.create(
        key="forklift-incidents", name="Forklift incidents", team=org.depot, owner=org.member,
        definition="Reported forklift near-misses and collisions in the depot, per month.",
    )  # fmt: skip
    sign_in(page, live_server, console, org.member)
    page.fill("#header-q", "forkl")
    page.press("#header-q", "Enter")
    page.wait_for_url(re.compile(r"/search/\?q=forkl"))
    result = page.locator(".search-hit").first
    assert result.locator("mark").first.inner_text() == "Forklift"
    assert "Depot North" in result.inner_text()  # its team
    shoot("search-results")
    result.get_by_role("link", name="Forklift incidents").click()
    page.wait_for_url(f"{live_server.url}/kpis/forklift-incidents/")

    page.fill("#id_body", "@lead the near-misses doubled since the new racks; can we talk?")
    page.get_by_role("button", name="Post comment").click()
    page.wait_for_url(re.compile(r"/discussion/kpis/forklift-incidents/#comment-\d+$"))
    comment = Comment.objects.get()
    assert page.locator(f"#comment-{comment.pk}").get_by_text("near-misses doubled").is_visible()
    shoot("discussion-thread")
    assert Notification.objects.filter(person=org.lead, event__kind="mentioned").exists()

    page.context.clear_cookies()
    sign_in(page, live_server, console, org.lead)
    page.get_by_role("link", name=re.compile(r"^Inbox")).click()
    mention = page.locator(".notification").filter(has_text="mentioned you")
    assert "near-misses doubled" in mention.inner_text()
    shoot("mention-in-inbox")
    mention.get_by_role("link").first.click()
    page.wait_for_url(
        re.compile(rf"/discussion/kpis/forklift-incidents/\?page=1#comment-{comment.pk}$")
    )
    assert page.locator(f"#comment-{comment.pk}").is_visible()
    assert page.locator("h1").inner_text().startswith("Discussion of the KPI")
