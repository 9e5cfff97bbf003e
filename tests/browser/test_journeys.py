"""The journeys of PRODUCT.md section 1 in a real browser, each ending in a screenshot."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from headway.kpis.models import Kpi
from headway.okrs.models import Cycle, KeyResult, Objective
from headway.teams.models import Person
from headway.web.testing import build_depot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-password"  # the password of the people of the `org` fixture


@pytest.fixture
def world(org: Any) -> SimpleNamespace:
    kpis, objectives = build_depot(org, objectives=2)
    return SimpleNamespace(org=org, kpis=kpis, root=objectives[0], objective=objectives[1])


def sign_in(page: Any, live_server: Any, console: list[str], person: Person) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_login", person.email)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")
    # The sign-in template (not part of the web pages) still has a style attribute that
    # the CSP blocks; only that is forgiven, and only on the sign-in page.
    console[:] = [m for m in console if "inline style" not in m]


def no_horizontal_scroll(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


def test_sign_in_and_see_home(
    page: Any, live_server: Any, console: list[str], shoot: Any, world: SimpleNamespace
) -> None:
    page.goto(f"{live_server.url}/kpis/")
    assert "/accounts/login/" in page.url  # nothing without signing in
    sign_in(page, live_server, console, world.org.member)
    assert page.locator("h1").inner_text().startswith("Hello")
    expect(page.get_by_text("Your objectives and key results")).to_be_visible()
    expect(page.get_by_text(world.objective.title).first).to_be_visible()
    expect(page.get_by_role("link", name="Check in: Depot North")).to_be_visible()
    shoot("journey-home")


def test_create_objective_with_three_key_results(
    page: Any, live_server: Any, console: list[str], shoot: Any, world: SimpleNamespace
) -> None:
    sign_in(page, live_server, console, world.org.member)
    page.goto(f"{live_server.url}/cycles/{world.org.cycle.key}/")
    page.get_by_role("link", name="New objective").click()
    page.fill("#id_title", "Make the night shift something people ask for")
    page.select_option("#id_team", label="Depot North")
    page.get_by_role("button", name="Create objective").click()
    page.wait_for_url(re.compile(r"/key-results/new/$"))

    page.fill("#id_title", "Raise night-shift volunteers from 4 to 12")
    page.select_option("#id_kind", "increase")
    page.fill("#id_start", "4")
    page.fill("#id_target", "12")
    page.get_by_role("button", name="Save and add another").click()
    page.wait_for_url(re.compile(r"/key-results/new/$"))

    page.fill("#id_title", "Cut night-shift sick days from 30 to 10 a month")
    page.select_option("#id_kind", "decrease")
    page.fill("#id_start", "30")
    page.fill("#id_target", "10")
    page.get_by_role("button", name="Save and add another").click()
    page.wait_for_url(re.compile(r"/key-results/new/$"))

    page.fill("#id_title", "Night-shift rota agreed with the union")
    page.select_option("#id_kind", "milestone")
    assert not page.locator("#id_start").is_visible()  # fields shown per kind
    assert not page.locator("#id_target").is_visible()
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(re.compile(r"/objectives/make-the-night-shift-[\w-]+/$"))

    objective = Objective.objects.get(title="Make the night shift something people ask for")
    assert objective.key_results.count() == 3
    assert page.locator(".kr-card").count() == 3
    shoot("journey-objective-created")


def test_check_in_moves_the_tree(
    page: Any, live_server: Any, console: list[str], shoot: Any, world: SimpleNamespace
) -> None:
    sign_in(page, live_server, console, world.org.member)
    tree_url = f"{live_server.url}/cycles/{world.org.cycle.key}/"
    page.goto(tree_url)
    node = page.locator(f"#node-{world.objective.pk}")
    before = node.locator(".node-score .score").first.inner_text()
    assert before != "1.0"

    # htmx collapses and expands a node in place.
    root = page.locator(f"#node-{world.root.pk}")
    root.locator("a.toggle").first.click()
    page.wait_for_selector(f"#node-{world.root.pk}[aria-expanded='false']")
    assert page.locator(f"#node-{world.objective.pk}").count() == 0
    page.locator(f"#node-{world.root.pk} a.toggle").first.click()
    page.wait_for_selector(f"#node-{world.root.pk}[aria-expanded='true']")
    assert page.locator(f"#node-{world.objective.pk}").count() == 1

    page.goto(f"{live_server.url}/teams/depot/checkin/")
    grow = KeyResult.objects.get(objective=world.objective, key="grow")
    ship = KeyResult.objects.get(objective=world.objective, key="ship")
    page.fill(f"#id_kr-{grow.pk}-comment", "Second shift is live")  # but no value
    page.select_option(f"#id_kr-{ship.pk}-done", "yes")
    page.locator(".form-actions").get_by_role("button", name="Check in").click()
    expect(page.get_by_text("Nothing was saved")).to_be_visible()
    expect(page.locator(f"#row-{grow.pk}").get_by_text("Enter the current value")).to_be_visible()
    assert page.locator(".checkin-row.has-error").count() == 1
    assert page.locator(f"#id_kr-{grow.pk}-comment").input_value() == "Second shift is live"
    page.fill(f"#id_kr-{grow.pk}-value", "50")
    page.fill(f"#id_kr-{grow.pk}-confidence", "9")
    page.locator(".form-actions").get_by_role("button", name="Check in").click()
    expect(page.get_by_text("Checked in 2 key results.")).to_be_visible()
    shoot("journey-checkin")

    page.goto(tree_url)
    node = page.locator(f"#node-{world.objective.pk}")
    assert node.locator(".node-score .score").first.inner_text() == "1.0"
    assert node.locator(".node-score .chip").first.inner_text() == "Achieved"
    shoot("journey-tree-after-checkin")


def test_critical_measurement_turns_the_tile_red_and_gets_promoted(
    page: Any, live_server: Any, console: list[str], shoot: Any, world: SimpleNamespace
) -> None:
    kpi = world.kpis[1]
    sign_in(page, live_server, console, world.org.lead)
    page.goto(f"{live_server.url}/kpis/")
    tile = page.locator(f"a.tile[data-kpi='{kpi.key}']")
    assert "health-healthy" in (tile.get_attribute("class") or "")

    page.goto(f"{live_server.url}/kpis/{kpi.key}/")
    page.fill("#id_at", timezone.now().date().isoformat())
    page.fill("#id_value", "80")
    page.fill("#id_note", "Storm closed the north depot")
    page.get_by_role("button", name="Save measurement").click()
    expect(page.get_by_text(f"Measurement saved. {kpi.name} is Critical.")).to_be_visible()
    expect(page.get_by_text("Suggested key result.")).to_be_visible()
    page.wait_for_function("document.querySelector('canvas[data-chart]').dataset.drawn === '1'")
    shoot("journey-kpi-critical")

    page.goto(f"{live_server.url}/kpis/")
    tile = page.locator(f"a.tile[data-kpi='{kpi.key}']")
    assert "health-critical" in (tile.get_attribute("class") or "")
    colour = tile.evaluate("el => getComputedStyle(el).borderTopColor")
    assert colour == "rgb(197, 34, 31)"  # the red of the critical band
    page.select_option("select[name=health]", "critical")  # htmx filter, no reload
    page.wait_for_url(re.compile(r"health=critical"))
    page.wait_for_function("document.querySelectorAll('a.tile').length === 1")
    shoot("journey-board-critical")

    page.goto(f"{live_server.url}/")
    suggestion = page.locator(".suggestion", has_text=kpi.name)
    expect(suggestion).to_be_visible()
    suggestion.get_by_role("link", name=kpi.name).click()
    page.select_option("#id_objective", str(world.objective.pk))
    page.get_by_role("button", name="Promote").click()
    # The preview names the objective's score before and after before anything changes.
    expect(page.locator("#promotion-preview").get_by_text("scores")).to_be_visible()
    page.get_by_role("button", name="Yes, promote").click()
    page.wait_for_url(re.compile(rf"/objectives/{world.objective.key}/(#.*)?$"))
    expect(page.get_by_text("is now a key result")).to_be_visible()
    assert KeyResult.objects.filter(objective=world.objective, kpi=kpi).exists()
    assert not Kpi.objects.deserving_promotion().filter(pk=kpi.pk).exists()


def test_close_the_cycle(
    page: Any, live_server: Any, console: list[str], shoot: Any, world: SimpleNamespace
) -> None:
    sign_in(page, live_server, console, world.org.admin)
    page.goto(f"{live_server.url}/cycles/{world.org.cycle.key}/review/")
    expect(page.locator("svg.histogram")).to_be_visible()
    page.get_by_role("button", name="Close cycle").click()
    expect(page.locator(".form-errors").get_by_text("need a reflection")).to_be_visible()
    for objective in Objective.objects.filter(cycle=world.org.cycle):
        page.fill(f"#reflection-{objective.key}", f"What we learnt on {objective.key}")
    page.get_by_role("button", name="Close cycle").click()
    # The confirmation names what closing freezes before anything is frozen.
    expect(page.locator("#close-confirm").get_by_text("as their grades")).to_be_visible()
    assert not Cycle.objects.get(pk=world.org.cycle.pk).is_closed
    page.get_by_role("button", name="Yes, close").click()
    expect(page.get_by_text("is closed; its scores are now grades")).to_be_visible()
    expect(page.get_by_role("button", name="Reopen cycle")).to_be_visible()
    assert Cycle.objects.get(pk=world.org.cycle.pk).is_closed
    shoot("journey-review-closed")


PHONE_PAGES = [
    "/",
    "/cycles/{cycle}/",
    "/cycles/{cycle}/review/",
    "/objectives/{objective}/",
    "/kpis/",
    "/kpis/{kpi}/",
    "/teams/",
    "/teams/depot/checkin/",
    "/objectives/{objective}/key-results/new/",
]


def test_pages_fit_a_phone(
    page: Any, live_server: Any, console: list[str], shoot: Any, world: SimpleNamespace
) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server, console, world.org.lead)
    values = {
        "cycle": world.org.cycle.key,
        "objective": world.objective.key,
        "kpi": world.kpis[0].key,
    }
    for path in PHONE_PAGES:
        page.goto(live_server.url + path.format(**values))
        page.wait_for_load_state("networkidle")
        assert no_horizontal_scroll(page), path
    shoot("journey-phone-checkin")
