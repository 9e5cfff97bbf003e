"""The large demo: the promised sizes, in proportion when scaled down, deterministic per seed."""

from __future__ import annotations

import io
from collections import Counter
from datetime import UTC, date, datetime, time
from functools import partial
from typing import Any

import pytest
from django.db import transaction
from django.db.models import Count, Max, Min
from rich.console import Console

import headway.demo_large as demo_large
from headway.demo import load_demo
from headway.demo_large import (
    COMPANY_KEY,
    DOMAIN,
    LargeDemoExists,
    _Plan,
    load_large_demo,
    plan_sizes,
    run_large_demo,
)
from headway.document.exporter import export_text
from headway.kpis.models import Kpi, Measurement
from headway.okrs.models import CheckIn, Cycle, KeyResult, Objective
from headway.teams.models import Membership, Person, Team

TODAY = date(2026, 11, 24)
NOW = datetime.combine(TODAY, time(18), UTC)
SCALE = 0.02  # 20 teams: a fiftieth of the real thing, through the same code


def counts() -> dict[str, int]:
    models: list[Any] = [Team, Person, Membership, Cycle, Objective, KeyResult, CheckIn, Kpi,
                         Measurement]  # fmt: skip
    return {m.__name__: m.objects.count() for m in models}


def test_full_size_is_what_the_benchmarks_promise() -> None:
    sizes = plan_sizes()
    assert (sizes.teams, sizes.departments, sizes.groups) == (1000, 10, 100)
    assert (sizes.people, sizes.objectives, sizes.key_results) == (10_000, 5000, 20_000)
    assert (sizes.kpis, sizes.days) == (1000, 1096)
    plan = _Plan(1, sizes, TODAY, NOW)
    assert len(plan.teams) == 1000
    assert len(plan.people) == 10_000
    assert len({p.email for p in plan.people}) == 10_000
    assert len(plan.objectives) == 5000
    assert sum(len(o.krs) for o in plan.objectives) == 20_000
    assert len(plan.kpis) == 1000
    assert {len(k.series) for k in plan.kpis} == {1096}
    assert Counter(t.kind for t in plan.teams)["department"] == 110  # departments and groups
    assert max(t.depth for t in plan.teams) >= 4  # teams nested under teams
    assert len({t.key for t in plan.teams}) == 1000
    assert all(len(o.key) <= 150 and len(o.title) <= 300 for o in plan.objectives)


@pytest.mark.django_db
def test_scaled_down_run_keeps_the_proportions() -> None:
    events: list[tuple[str, int, int]] = []
    summary = load_large_demo(
        seed=11, scale=SCALE, today=TODAY, progress=lambda *e: events.append(e)
    )
    n = counts()
    assert n["Team"] == 20
    assert summary.teams == 20
    assert n["Person"] == 10 * n["Team"] == summary.people
    assert n["Membership"] == n["Person"]
    assert n["Objective"] == 5 * n["Team"] == summary.objectives
    assert n["KeyResult"] == 4 * n["Objective"] == summary.key_results
    assert n["Kpi"] == n["Team"] == summary.kpis
    assert n["Measurement"] == 1096 * n["Kpi"] == summary.measurements
    assert n["CheckIn"] == summary.checkins > n["KeyResult"]
    assert n["Cycle"] == 1
    cycle = Cycle.objects.get()
    assert (cycle.key, cycle.state, cycle.start, cycle.end) == (
        "2026-Q4", "active", date(2026, 10, 1), date(2026, 12, 31)
    )  # fmt: skip

    # A tree under the company, objectives aligned up it.
    assert Team.objects.get(parent=None).key == COMPANY_KEY
    assert not Objective.objects.exclude(team__parent=None).filter(parent=None).exists()
    assert set(KeyResult.objects.values_list("kind", flat=True)) >= {
        "increase", "decrease", "above", "below", "milestone",
    }  # fmt: skip
    assert set(Membership.objects.values_list("role", flat=True)) == {
        "admin", "lead", "member", "viewer",
    }  # fmt: skip
    # Three years of daily measurements up to today, at midnight UTC.
    span = Measurement.objects.values("kpi").annotate(
        first=Min("at"), last=Max("at"), n=Count("id")
    )
    assert {(row["first"].date(), row["last"].date(), row["n"]) for row in span} == {
        (date(2023, 11, 25), TODAY, 1096)
    }
    # Weekly check-ins on Mondays, in office hours, none in the future.
    moments = list(CheckIn.objects.values_list("at", flat=True))
    assert {m.weekday() for m in moments} == {0}
    assert all(9 <= m.hour < 17 and m <= NOW for m in moments)
    # Stored KPI state computed; KPI-fed key results carry the KPI's latest value.
    assert not Kpi.objects.filter(evaluated_at=None).exists()
    assert set(Kpi.objects.values_list("health", flat=True)) <= {"healthy", "warning", "critical"}
    linked = list(KeyResult.objects.exclude(kpi=None).values_list("current", "kpi__latest_value"))
    assert linked
    assert all(current == latest for current, latest in linked)
    # Progress: every phase reported up to its total.
    finals = {phase: (done, total) for phase, done, total in events}
    assert finals["measurements"] == (n["Measurement"], n["Measurement"])
    assert finals["refreshing KPIs"] == (20, 20)


@pytest.mark.django_db
def test_names_look_like_a_real_company() -> None:
    load_large_demo(seed=5, scale=0.01, today=TODAY)
    people = list(Person.objects.values_list("email", "name"))
    assert all(email.endswith(f"@{DOMAIN}") and len(name.split()) == 2 for email, name in people)
    texts = " ".join(
        [
            *Team.objects.values_list("name", flat=True),
            *Objective.objects.values_list("title", flat=True),
            *KeyResult.objects.values_list("title", flat=True),
            *Kpi.objects.values_list("name", flat=True),
        ]
    ).lower()
    assert "lorem" not in texts
    assert "ipsum" not in texts
    assert "foo" not in texts
    assert "Meridian Labs" in Team.objects.values_list("name", flat=True)


@pytest.mark.django_db
def test_same_seed_gives_the_same_export_and_another_seed_another() -> None:
    exports = []
    for seed in (3, 3, 4):
        with transaction.atomic():
            load_large_demo(seed=seed, scale=0.01, today=TODAY)
            exports.append(export_text())
            transaction.set_rollback(True)
    assert exports[0] == exports[1]
    assert exports[0] != exports[2]
    assert counts()["Team"] == 0


@pytest.mark.django_db
def test_running_twice_refuses_and_writes_nothing() -> None:
    load_large_demo(seed=1, scale=0.01, today=TODAY)
    before = counts()
    with pytest.raises(LargeDemoExists, match="already loaded"):
        load_large_demo(seed=1, scale=0.01, today=TODAY)
    with pytest.raises(LargeDemoExists, match="already loaded"):
        load_large_demo(seed=2, scale=0.01, today=TODAY)
    assert counts() == before


@pytest.mark.django_db
def test_rows_with_its_keys_make_it_refuse() -> None:
    plan = _Plan(1, plan_sizes(0.01), TODAY, NOW)
    Person.objects.create_user(plan.people[3].email, "a-long-test-password")
    with pytest.raises(LargeDemoExists, match=plan.people[3].email):
        load_large_demo(seed=1, scale=0.01, today=TODAY)
    assert counts()["Team"] == 0


@pytest.mark.django_db
def test_it_shares_the_quarter_with_the_small_demo() -> None:
    load_demo(today=TODAY)
    load_large_demo(seed=1, scale=0.01, today=TODAY)
    cycle = Cycle.objects.get(key="2026-Q4")
    assert cycle.objectives.filter(team__key=COMPANY_KEY).count() == 5
    assert cycle.objectives.filter(team__key="larkspur").exists()


@pytest.mark.django_db
def test_the_command_helper_shows_progress_and_refuses_clearly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import typer

    small = partial(load_large_demo, scale=0.01, today=TODAY)
    monkeypatch.setattr(demo_large, "load_large_demo", small)
    out = io.StringIO()
    console = Console(file=out, width=120)
    run_large_demo(seed=1, console=console)
    assert "Large demo (seed 1) loaded" in out.getvalue()
    assert "10 teams, 100 people" in out.getvalue()
    with pytest.raises(typer.Exit) as info:
        run_large_demo(seed=1, console=console)
    assert info.value.exit_code == 2
    assert "already loaded" in out.getvalue()


def test_no_numeric_key_result_starts_at_its_target() -> None:
    # `headway lint` of the organisation's own export reports every such key result as an
    # error (kr-not-measurable); the generator keeps a step between start and target.
    plan = _Plan(1, plan_sizes(), TODAY, NOW)
    stuck = [
        (o.key, kr.key)
        for o in plan.objectives
        for kr in o.krs
        if kr.kind in ("increase", "decrease") and kr.start == kr.target
    ]
    assert stuck == []
