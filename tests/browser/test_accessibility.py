"""Every page of the demo at desktop and phone width (issue 19): no serious or critical
axe-core violation, no sideways scroll, every status chip in its word's colour, and scores
at one decimal."""

from __future__ import annotations

import json
import re
from pathlib import Path
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
from headway.teams.models import Person
from headway.web.common import STATUS_LABELS

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = {"desktop": (1366, 900), "phone": (390, 844)}


def _sign_in(page: Any, live_server: Any, email: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_login", email)
    page.fill("#id_password", DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")


def _violations(page: Any) -> list[str]:
    # evaluate() runs through the DevTools protocol, so the page's CSP does not block axe.
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text() + "\n;0")
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3)"
        ".map(n => n.target.join(' ')).join(' | '))"
    )
    return list(found)


def _widest(page: Any) -> list[str]:
    """The elements that stick out to the right (for the failure message)."""
    return list(
        page.evaluate(
            "[...document.querySelectorAll('body *')].filter(e => "
            "e.getBoundingClientRect().right > window.innerWidth + 1 && "
            "!e.closest('.table-wrap')).slice(-4).map(e => e.tagName.toLowerCase() + "
            "(e.className ? '.' + String(e.className).split(' ').join('.') : '') + ' ' + "
            "Math.round(e.getBoundingClientRect().right))"
        )
    )


def _chip_words(page: Any) -> list[str]:
    """Status chips whose word is not their status's (class status-X shows STATUS_LABELS[X])."""
    chips = page.evaluate(
        "[...document.querySelectorAll('.chip[class*=status-]')].map(c => [c.className, "
        "c.textContent.trim()])"
    )
    wrong = []
    for classes, text in chips:
        status = re.search(r"status-(\w+)", classes)
        if status and status.group(1) in STATUS_LABELS and text != STATUS_LABELS[status.group(1)]:
            wrong.append(f"{classes}: {text}")
    return wrong


def _long_scores(page: Any) -> list[str]:
    texts = page.evaluate("[...document.querySelectorAll('.score')].map(s => s.textContent.trim())")
    return [t for t in texts if re.fullmatch(r"-?\d+\.\d{2,}", t)]


def test_every_demo_page_is_accessible_fits_a_phone_and_says_what_it_means(
    page: Any, live_server: Any, console: list[str]
) -> None:
    assert AXE.exists(), "axe-core comes from npm (package.json): make bootstrap installs it"
    load_demo()
    lead = Kpi.objects.select_related("owner").get(key=CRITICAL_KPI).owner
    assert lead is not None
    current = Cycle.objects.get(state=CycleState.ACTIVE)
    closed = Cycle.objects.filter(state=CycleState.CLOSED).order_by("-start").first()
    assert closed is not None
    team = Kpi.objects.get(key=CRITICAL_KPI).team.key
    pages = [
        "/",
        f"/cycles/{current.key}/",
        f"/cycles/{closed.key}/",
        f"/objectives/{LINKED_KR[0]}/",
        "/kpis/",
        f"/kpis/{CRITICAL_KPI}/",
        # Targets that change by period, and the KPI's selection review.
        f"/kpis/{DETERIORATING_KPI}/",
        f"/kpis/{DETERIORATING_KPI}/review/",
        f"/cycles/{closed.key}/review/",
        f"/cycles/{current.key}/review/",
        f"/teams/{team}/checkin/",
        "/teams/",
        f"/teams/{team}/",
        "/inbox/",
        "/settings/notifications",
        "/search/?q=revenue",
    ]
    admin = Person.objects.filter(is_superuser=True).first() or Person.objects.get(
        email="demo@headway.local"
    )
    admin_pages = [
        "/admin-tools/deliveries",
        "/admin-tools/outbox",
        "/admin-tools/invitations",
        "/settings/trackers",
    ]
    problems: dict[str, list[str]] = {}
    for who, paths in ((lead.email, pages), (admin.email, admin_pages)):
        page.context.clear_cookies()
        page.set_viewport_size({"width": 1366, "height": 900})
        _sign_in(page, live_server, who)
        for label, (width, height) in WIDTHS.items():
            page.set_viewport_size({"width": width, "height": height})
            for path in paths:
                response = page.goto(live_server.url + path)
                if response is None or response.status == 404:
                    continue
                assert response.status == 200, path
                page.wait_for_load_state("networkidle")
                found = _violations(page)
                if not page.evaluate(
                    "document.documentElement.scrollWidth <= window.innerWidth + 1"
                ):
                    found.append(f"scrolls sideways: {_widest(page)}")
                found += [f"chip says {w}" for w in _chip_words(page)]
                found += [f"score {s}" for s in _long_scores(page)]
                if found:
                    problems[f"{label} {path}"] = found
    assert not problems, json.dumps(problems, indent=1)
