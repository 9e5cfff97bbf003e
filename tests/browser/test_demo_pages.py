"""The demo organisation through a lead's eyes: every main page, desktop and phone.

The screenshots land in test-results/screenshots/demo-*.png; the good ones are copied to
docs/screenshots/ by hand when the pages change.
"""

from __future__ import annotations

from typing import Any

import pytest

from headway.demo import (
    CRITICAL_KPI,
    DEMO_PASSWORD,
    DETERIORATING_KPI,
    LINKED_KR,
    load_demo,
)
from headway.kpis.models import Kpi
from headway.okrs.models import Cycle, CycleState

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_demo_pages(page: Any, live_server: Any, console: list[str], shoot: Any) -> None:
    load_demo()
    lead = Kpi.objects.select_related("owner").get(key=CRITICAL_KPI).owner
    assert lead is not None
    current = Cycle.objects.get(state=CycleState.ACTIVE)
    closed = Cycle.objects.filter(state=CycleState.CLOSED).order_by("-start").first()
    assert closed is not None
    pages = {
        "home": "/",
        "tree": f"/cycles/{current.key}/",
        "objective": f"/objectives/{LINKED_KR[0]}/",
        "kpi-board": "/kpis/",
        "kpi": f"/kpis/{CRITICAL_KPI}/",
        "kpi-schedule": f"/kpis/{DETERIORATING_KPI}/",
        "kpi-review": f"/kpis/{DETERIORATING_KPI}/review/",
        "review": f"/cycles/{closed.key}/review/",
        "review-open": f"/cycles/{current.key}/review/",
        "checkin": f"/teams/{Kpi.objects.get(key=CRITICAL_KPI).team.key}/checkin/",
        "teams": "/teams/",
        # Insight across cycles: team history and calibration, KPI moves in the review.
        "team": "/teams/revenue-cycle/",
        "review-insight": f"/cycles/{closed.key}/review/?team=revenue-cycle",
    }
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_login", lead.email)
    page.fill("#id_password", DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")
    console[:] = [m for m in console if "inline style" not in m]  # the sign-in page's own

    for name, path in pages.items():
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        if page.locator("canvas[data-chart]").count():
            page.wait_for_function(
                "[...document.querySelectorAll('canvas[data-chart]')]"
                ".every(c => c.dataset.drawn === '1')"
            )
        shoot(f"demo-{name}")

    page.set_viewport_size({"width": 390, "height": 844})
    for name in ("home", "tree", "objective", "kpi-board", "kpi", "checkin"):
        page.goto(live_server.url + pages[name])
        page.wait_for_load_state("networkidle")
        fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        assert fits, name
        shoot(f"demo-phone-{name}")
