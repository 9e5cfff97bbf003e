"""Two people edit one objective in their browsers: the second save is refused, not lost."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from playwright.sync_api import expect

from headway.okrs.models import Objective
from headway.web.testing import build_depot

from .conftest import RESULTS
from .test_journeys import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(org: Any) -> SimpleNamespace:
    _kpis, objectives = build_depot(org, objectives=2)
    return SimpleNamespace(org=org, objective=objectives[1])


def test_the_second_of_two_editors_is_refused_with_the_first_change_shown(
    page: Any,
    browser: Any,
    live_server: Any,
    console: list[str],
    world: SimpleNamespace,
) -> None:
    objective = world.objective
    url = f"{live_server.url}/objectives/{objective.key}/edit/"
    other_context = browser.new_context(viewport={"width": 1280, "height": 900})
    other = other_context.new_page()
    other_console: list[str] = []
    other.on("console", lambda m: other_console.append(m.text) if m.type == "error" else None)
    try:
        sign_in(page, live_server, console, world.org.lead)
        sign_in(other, live_server, other_console, world.org.member)
        page.goto(url)
        other.goto(url)  # both forms are open on the same version

        page.fill("#id_title", "Make every delivery arrive on the promised day")
        page.get_by_role("button", name="Save").click()
        page.wait_for_url(f"{live_server.url}/objectives/{objective.key}/")

        other.fill("#id_title", "Make deliveries boringly reliable")
        other.get_by_role("button", name="Save").click()
        other.wait_for_load_state()
        alert = other.locator(".form-errors")
        expect(alert).to_be_visible()
        text = alert.inner_text()
        assert f"{world.org.lead} changed this objective" in text
        assert "theirs “Make every delivery arrive on the promised day”" in text
        assert "yours “Make deliveries boringly reliable”" in text
        assert other.input_value("#id_title") == "Make deliveries boringly reliable"  # kept
        RESULTS.mkdir(parents=True, exist_ok=True)
        other.screenshot(path=str(RESULTS / "stale-objective-save.png"), full_page=True)

        objective.refresh_from_db()
        assert objective.title == "Make every delivery arrive on the promised day"
        assert Objective.objects.filter(title="Make deliveries boringly reliable").count() == 0
        other_console[:] = [m for m in other_console if "inline style" not in m]
        assert not other_console, other_console
    finally:
        other_context.close()
