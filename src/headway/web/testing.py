"""Data builders for the web tests (unit and browser): a cycle around today, OKRs and KPIs.

Writes in bulk so that the query-count tests can grow the data cheaply.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.test import Client
from django.utils import timezone

from headway.kpis.actions import refresh_kpis
from headway.kpis.models import Kpi, Measurement
from headway.okrs.models import CheckIn, Cycle, KeyResult, Objective
from headway.okrs.stored import rescore_cycle
from headway.teams.models import Person, Team


def current_cycle(cycle: Cycle, days_before: int = 45, days_after: int = 45) -> Cycle:
    """Move `cycle` so that today lies inside it (check-ins happen now), and activate it."""
    today = timezone.now().date()
    cycle.start = today - timedelta(days=days_before)
    cycle.end = today + timedelta(days=days_after)
    cycle.state = "active"
    cycle.save()
    return cycle


def build_okrs(
    *,
    cycle: Cycle,
    company: Team,
    team: Team,
    owner: Person,
    objectives: int,
    kpi: Kpi | None = None,
    prefix: str = "o",
) -> list[Objective]:
    """One company objective and `objectives` team objectives aligned to it.

    Each team objective has an increase key result with three weekly check-ins, a
    milestone, and (when `kpi` is given) a KPI-fed key result; every third is private.
    """
    root = Objective.objects.create(
        key=f"{prefix}-root",
        cycle=cycle,
        team=company,
        owner=owner,
        title=f"Company objective {prefix}",
    )
    rows = [
        Objective(
            key=f"{prefix}-{i}",
            cycle=cycle,
            team=team,
            owner=owner,
            parent=root,
            title=f"Team objective {prefix} {i}",
            visibility="private" if i % 3 == 2 else "public",
            type="committed" if i % 2 else "aspirational",
        )
        for i in range(objectives)
    ]
    Objective.objects.bulk_create(rows)
    made = list(Objective.objects.filter(cycle=cycle, key__startswith=f"{prefix}-").order_by("id"))
    krs = [
        KeyResult(
            objective=root,
            key="roll-up",
            title="Team objectives average 0.7",
            kind="objectives",
            owner=owner,
        )
    ]
    for objective in made:
        if objective.pk == root.pk:
            continue
        krs.append(
            KeyResult(
                objective=objective,
                key="grow",
                title=f"Grow {objective.key} from 10 to 50",
                kind="increase",
                start=10,
                target=50,
                owner=owner,
                unit="%",
                position=0,
            )
        )
        krs.append(
            KeyResult(
                objective=objective,
                key="ship",
                title=f"Standard agreed for {objective.key}",
                kind="milestone",
                owner=owner,
                position=1,
            )
        )
        if kpi is not None:
            krs.append(
                KeyResult(
                    objective=objective,
                    key="kpi-fed",
                    title=f"Keep {kpi.name} up",
                    kind="above",
                    target=kpi.target,
                    kpi=kpi,
                    owner=owner,
                    position=2,
                )
            )
    KeyResult.objects.bulk_create(krs)
    now = timezone.now()
    CheckIn.objects.bulk_create(
        CheckIn(
            key_result=kr,
            at=now - timedelta(days=7 * week, hours=1),
            value=10 + 5 * (4 - week),
            confidence=6,
            comment=f"week {week}",
            author=owner,
        )
        for kr in KeyResult.objects.filter(objective__in=made, kind="increase")
        for week in (1, 2, 3)
    )
    rescore_cycle(cycle)
    return made


def build_kpis(
    *, team: Team, owner: Person | None, count: int, weeks: int = 30, prefix: str = "k"
) -> list[Kpi]:
    """`count` weekly KPIs with `weeks` healthy measurements each, evaluated."""
    kpis = Kpi.objects.bulk_create(
        Kpi(
            key=f"{prefix}{i}",
            name=f"KPI {prefix}{i}",
            team=team,
            owner=owner,
            unit="%",
            direction="up",
            target=95,
            warning=90,
            critical=85,
            benchmark=92,
            cadence="weekly",
            tier="key" if i % 2 == 0 else "diagnostic",
            why="Customers leave when it drops",
            how="Routing and staffing",
        )
        for i in range(count)
    )
    kpis = list(Kpi.objects.filter(key__in=[k.key for k in kpis]))
    now = timezone.now()
    Measurement.objects.bulk_create(
        Measurement(kpi=kpi, at=now - timedelta(days=7 * (week + 1)), value=96 + (week % 3) * 0.5)
        for kpi in kpis
        for week in range(weeks)
    )
    refresh_kpis(kpi_ids=[k.pk for k in kpis], at=now)
    return kpis


def build_depot(org: Any, *, objectives: int) -> tuple[list[Kpi], list[Objective]]:
    """The `org` test fixture's depot in a cycle around today: 3 KPIs and OKRs fed by k0."""
    current_cycle(org.cycle)
    kpis = build_kpis(team=org.depot, owner=org.member, count=3)
    okrs = build_okrs(
        cycle=org.cycle,
        company=org.company,
        team=org.depot,
        owner=org.member,
        objectives=objectives,
        kpi=kpis[0],
    )
    return kpis, okrs


def client_for(person: Person) -> Client:
    """A test client signed in as `person`."""
    client = Client()
    client.force_login(person)
    return client
