"""A German reader in a real browser: the pages, the charts' words and numbers in German."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from playwright.sync_api import expect

from headway.web.testing import build_depot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-password"  # the password of the people of the `org` fixture


@pytest.fixture
def world(org: Any) -> SimpleNamespace:
    kpis, objectives = build_depot(org, objectives=2)
    return SimpleNamespace(org=org, kpis=kpis, objective=objectives[1])


def test_a_german_reader_sees_german_pages_and_charts(
    page: Any, live_server: Any, console: list[str], world: SimpleNamespace
) -> None:
    lead = world.org.lead
    lead.language = "de"
    lead.save(update_fields=["language"])
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_login", lead.email)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")
    console[:] = [m for m in console if "inline style" not in m]  # the sign-in page's own
    expect(page.get_by_role("heading", name="Was Sie braucht")).to_be_visible()

    kpi = world.kpis[0]
    page.goto(f"{live_server.url}/kpis/{kpi.key}/")
    assert page.evaluate("document.documentElement.lang") == "de"
    expect(page.get_by_role("button", name="Messung speichern")).to_be_visible()
    page.wait_for_function("document.querySelector('canvas[data-chart]').dataset.drawn === '1'")
    words = page.evaluate("JSON.parse(document.getElementById('chart-words').textContent)")
    assert words["value"] == "Wert"
    assert words["range"] == "80-%-Bereich"

    page.goto(f"{live_server.url}/objectives/{world.objective.key}/")
    if page.locator("canvas[data-chart]").count():
        page.wait_for_function(
            "[...document.querySelectorAll('canvas[data-chart]')]"
            ".every(c => c.dataset.drawn === '1')"
        )
    expect(page.get_by_text("Schlüsselergebnisse").first).to_be_visible()
    assert not console, console
