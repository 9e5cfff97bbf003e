"""Every list or tree page runs the same number of SQL queries at two data sizes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from headway.kpis.actions import refresh_kpis
from headway.kpis.models import Measurement
from headway.okrs.models import CheckIn, KeyResult, Objective
from headway.teams.models import Membership, Person
from headway.web.testing import build_kpis, build_okrs, current_cycle

pytestmark = pytest.mark.django_db

PAGES = [
    "/",
    "/cycles/{cycle}/",
    "/cycles/{cycle}/?open=all",
    "/cycles/{cycle}/review/",
    "/cycles/{cycle}/review/?page=2",
    "/cycles/{cycle}/review/?team=depot&missing=1",
    "/cycles/{cycle}/?roots=100&team=depot",
    "/objectives/a-0/",
    "/kpis/",
    "/kpis/?health=healthy&tier=key",
    "/teams/depot/kpis/",
    "/kpis/a0/",
    "/kpis/a0/?page=2",
    "/kpis/a0/?find=objective",
    "/teams/",
    "/teams/depot/",
    "/teams/depot/checkin/",
    "/objectives/new/",
    "/objectives/a-0/edit/",
    "/objectives/a-0/key-results/new/",
    "/objectives/a-0/key-results/grow/edit/",
]
HTMX_PAGES = ["/cycles/{cycle}/", "/cycles/{cycle}/nodes/a-root/?open=1", "/kpis/"]
# The live coach of the forms: what is typed is posted as it is typed (htmx).
DRAFTS = [
    ("/objectives/new/coach/", {"title": "Improve our marketing", "team": "{team}",
                                "cycle": "{cycle_pk}", "parent": "{parent}"}),
    ("/objectives/a-0/edit/coach/", {"title": "Grow revenue by 20%", "parent": "{parent}",
                                     "coach_ignore": "kr-count"}),
    ("/objectives/a-0/key-results/new/coach/", {"title": "Launch the new website",
                                                "kind": "milestone"}),
    ("/objectives/a-0/key-results/grow/edit/coach/", {"title": "Grow from 1 to 5", "start": "1",
                                                      "target": "5", "due": "2020-01-01"}),
]  # fmt: skip


def posted(client: Client, url: str, data: dict[str, str]) -> int:
    headers = {"HX-Request": "true"}
    client.post(url, data, headers=headers)
    with CaptureQueriesContext(connection) as ctx:
        response = client.post(url, data, headers=headers)
    assert response.status_code == 200, url
    assert b"finding" in response.content, (url, response.content)
    return len(ctx.captured_queries)


def queries(client: Client, url: str, htmx: bool = False) -> int:
    headers = {"HX-Request": "true"} if htmx else {}
    client.get(url, headers=headers)  # warm caches that are not per request
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, headers=headers)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


def measure(clients: dict[str, Client], cycle: str) -> dict[tuple[str, str, bool], int]:
    counts = {}
    root = Objective.objects.get(key="a-root")
    team = Objective.objects.get(key="a-0").team_id
    fill = {"team": str(team), "cycle_pk": str(root.cycle_id), "parent": str(root.pk)}
    for who, client in clients.items():
        for url, data in DRAFTS:
            body = {name: value.format(**fill) for name, value in data.items()}
            counts[(who, url, True)] = posted(client, url, body)
        for page in PAGES:
            url = page.format(cycle=cycle)
            counts[(who, url, False)] = queries(client, url)
        for page in HTMX_PAGES:
            url = page.format(cycle=cycle)
            counts[(who, url, True)] = queries(client, url, htmx=True)
    return counts


def grow(org: Any, kpi_count: int, objectives: int, prefix: str, people: int) -> None:
    kpis = build_kpis(team=org.depot, owner=org.member, count=kpi_count, prefix=prefix)
    build_okrs(
        cycle=org.cycle,
        company=org.company,
        team=org.depot,
        owner=org.member,
        objectives=objectives,
        kpi=kpis[0],
        prefix=prefix,
    )
    for i in range(people):
        someone = Person.objects.create_user(f"{prefix}{i}@acme.test", None, name=f"P {i}")
        Membership.objects.create(person=someone, team=org.depot, role="member")


def test_pages_run_a_constant_number_of_queries(org: Any) -> None:
    current_cycle(org.cycle)
    grow(org, kpi_count=2, objectives=2, prefix="a", people=1)
    clients = {}
    for who in ("member", "lead", "admin"):
        client = Client()
        client.force_login(getattr(org, who))
        clients[who] = client
    small = measure(clients, org.cycle.key)

    grow(org, kpi_count=40, objectives=30, prefix="b", people=12)
    # The first objective and KPI get more of everything too.
    now = timezone.now()
    first = KeyResult.objects.get(objective__key="a-0", key="grow")
    CheckIn.objects.bulk_create(
        CheckIn(key_result=first, at=now - timedelta(days=d, hours=3), value=20 + d, confidence=5)
        for d in range(4, 40)
    )
    kpi = Measurement.objects.filter(kpi__key="a0").first()
    assert kpi is not None
    Measurement.objects.bulk_create(
        Measurement(kpi_id=kpi.kpi_id, at=now - timedelta(days=400 + d), value=90 + d % 7)
        for d in range(200)
    )
    refresh_kpis(kpi_ids=[kpi.kpi_id])
    large = measure(clients, org.cycle.key)

    grown = {page: (small[page], large[page]) for page in small if small[page] != large[page]}
    assert not grown, grown
