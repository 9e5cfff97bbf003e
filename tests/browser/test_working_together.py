"""Working together (issue 18) in a real browser: find a KPI with the header's search, discuss
it mentioning a colleague, and the colleague's inbox leads back to the comment."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

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
    posted = page.locator(f"#comment-{comment.pk}")
    expect(posted.get_by_text("near-misses doubled")).to_be_visible()
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
    expect(page.locator(f"#comment-{comment.pk}")).to_be_visible()
    assert page.locator("h1").inner_text().startswith("Discussion of the KPI")


def test_close_a_cycle_and_carry_two_objectives_choosing_their_key_results(
    page: Any, live_server: Any, console: list[str], shoot: Any, org: Any
) -> None:
    from datetime import date

    from headway.okrs.actions import record_checkin
    from headway.okrs.models import Cycle, KeyResult, Objective

    q1 = org.cycle
    q2 = Cycle.objects.create(key="2027-Q2", name="2027 Q2", start=date(2027, 4, 1),
                              end=date(2027, 6, 30))  # fmt: skip
    made = {}
    for key, title in (("floors", "Safe depot floors"), ("docks", "Quick dock turnarounds"),
                       ("vans", "Cleaner vans")):  # fmt: skip
        o = Objective.objects.create(key=key, cycle=q1, team=org.depot, owner=org.member,
                                     title=title)  # fmt: skip
        a = KeyResult.objects.create(objective=o, key="a", title=f"{title}: first", start=0,
                                     target=100, kind="increase", position=0)  # fmt: skip
        KeyResult.objects.create(objective=o, key="b", title=f"{title}: second", start=0,
                                 target=10, kind="increase", position=1)  # fmt: skip
        record_checkin(key_result=a, by=org.member, value=40)
        made[key] = o
    sign_in(page, live_server, console, org.admin)
    page.goto(f"{live_server.url}/cycles/{q1.key}/review/")
    page.get_by_role("button", name="Close cycle").click()
    page.get_by_role("button", name="Yes, close").click()
    expect(page.get_by_text("is closed; its scores are now grades")).to_be_visible()

    page.get_by_role("link", name="Carry over unfinished objectives").click()
    page.wait_for_url(f"{live_server.url}/cycles/{q1.key}/carry/")
    assert page.locator("#id_cycle").input_value() == "2027-Q2"  # the next cycle
    page.locator("#carry-floors").get_by_label("Safe depot floors", exact=True).check()
    page.locator("#carry-docks").get_by_label("Quick dock turnarounds", exact=True).check()
    # Floors takes only its first key result; docks both.
    page.locator("#carry-floors").get_by_label("Safe depot floors: second").uncheck()
    shoot("carry-over-picking")
    page.get_by_role("button", name="Carry the ticked objectives").click()
    page.wait_for_url(f"{live_server.url}/cycles/{q1.key}/review/")
    expect(page.get_by_text("Carried 2 objectives into 2027 Q2.")).to_be_visible()
    carried = page.locator("#review-floors .carried")
    expect(carried.get_by_role("link", name="2027 Q2")).to_be_visible()
    assert page.locator("#review-vans .carried").count() == 0
    shoot("carry-over-review")

    floors = Objective.objects.get(copied_from=made["floors"])
    docks = Objective.objects.get(copied_from=made["docks"])
    assert (floors.cycle, docks.cycle) == (q2, q2)
    assert [(k.key, k.start) for k in floors.key_results.order_by("position")] == [("a", 40)]
    assert [(k.key, k.start) for k in docks.key_results.order_by("position")] == [
        ("a", 40), ("b", 0)
    ]  # fmt: skip
    page.locator("#review-floors .carried").get_by_role("link", name="2027 Q2").click()
    page.wait_for_url(f"{live_server.url}/objectives/{floors.key}/")
    expect(page.locator(".lineage").get_by_role("link", name="Safe depot floors")).to_be_visible()
