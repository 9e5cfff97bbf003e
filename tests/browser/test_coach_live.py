"""The coach speaks while a key result is typed, and falls silent once it reads as an outcome."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from headway.okrs.models import KeyResult, Objective
from headway.teams.models import Person
from headway.web.testing import current_cycle

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-password"  # the password of the people of the `org` fixture


def sign_in(page: Any, live_server: Any, console: list[str], person: Person) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_login", person.email)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")
    # Only the sign-in template's inline style is forgiven (see test_journeys.sign_in).
    console[:] = [m for m in console if "inline style" not in m]


def test_the_coach_judges_a_key_result_as_it_is_typed(
    page: Any, live_server: Any, console: list[str], shoot: Any, org: Any
) -> None:
    current_cycle(org.cycle)
    Objective.objects.create(
        key="website",
        cycle=org.cycle,
        team=org.depot,
        owner=org.member,
        title="Make the website the easiest way to book a delivery",
    )
    sign_in(page, live_server, console, org.member)
    page.goto(f"{live_server.url}/objectives/website/key-results/new/")
    live = page.locator("#coach-live")
    task = live.locator("li.finding[data-rule='kr-is-task']")
    assert task.count() == 0

    page.select_option("#id_kind", "milestone")
    page.locator("#id_title").press_sequentially("Launch the new website", delay=20)
    task.wait_for(state="visible")
    assert "not an activity or a to-do" in task.inner_text()
    assert task.locator(".chip.severity-warning").inner_text() == "warning"
    shoot("coach-live-task")

    page.fill("#id_title", "")
    page.locator("#id_title").press_sequentially("Raise online bookings from 20% to 45%")
    page.select_option("#id_kind", "increase")
    page.fill("#id_start", "20")
    page.fill("#id_target", "45")
    task.wait_for(state="detached")
    live.get_by_text("The coach has nothing to add.").wait_for()
    assert live.locator("li.finding").count() == 0
    shoot("coach-live-outcome")

    page.get_by_role("button", name="Save", exact=True).click()  # a normal post still saves
    page.wait_for_url(re.compile(r"/objectives/website/$"))
    assert KeyResult.objects.filter(objective__key="website", kind="increase").count() == 1
    # Beside the objective: what the coach says about it (one key result, aligned to nothing).
    expect(page.locator(".coach-box li.finding[data-rule='kr-count']")).to_be_visible()
    shoot("coach-objective-page")
