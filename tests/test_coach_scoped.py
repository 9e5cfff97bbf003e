"""The coach scoped to one objective, KPI, team or draft: cheap, and the same as the whole."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from headway.coach.db import (
    REVIEW_RULES,
    findings,
    findings_for_draft,
    findings_for_kpi,
    findings_for_objective,
    findings_for_objectives,
    findings_for_team,
    under,
)
from headway.coach.rules import Finding
from headway.demo import load_demo
from headway.kpis.models import Kpi
from headway.okrs.models import Cycle, KeyResult, Objective
from headway.teams.models import Team

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 24)
NOW = datetime.combine(TODAY, time(18), UTC)


def test_scoped_findings_equal_the_whole_organisations_on_the_demo() -> None:
    load_demo(today=TODAY)
    everything = findings(NOW)
    assert {f.rule for f in everything} >= {"objective-count", "kr-is-task", "kpi-not-reviewed"}
    scoped: list[Finding] = []
    for objective in Objective.objects.all():
        prefix = f"objectives/{objective.key}"
        mine = findings_for_objective(objective, NOW)
        assert mine == [f for f in everything if under(f.path, prefix)], prefix
        scoped += mine
    for kpi in Kpi.objects.all():
        mine = findings_for_kpi(kpi, NOW)
        assert mine == [f for f in everything if f.path == f"kpis/{kpi.key}"], kpi.key
        scoped += mine
    for team in Team.objects.all():
        mine = findings_for_team(team, NOW)
        assert mine == [f for f in everything if f.path == f"teams/{team.key}"], team.key
        scoped += mine
    assert sorted(scoped, key=lambda f: (f.path, f.rule, f.message)) == everything
    for cycle in Cycle.objects.all():
        by_key = findings_for_objectives(Objective.objects.filter(cycle=cycle), at=NOW)
        for key, found in by_key.items():
            assert found == [f for f in everything if under(f.path, f"objectives/{key}")]


def graded(org: Any, key: str, cycle: Cycle, team: Team, grade: float, **extra: Any) -> Objective:
    objective = Objective.objects.create(
        key=key,
        cycle=cycle,
        team=team,
        title="Make every delivery arrive intact",
        grade=grade,
        **extra,
    )
    for kr in ("a", "b"):
        KeyResult.objects.create(
            objective=objective,
            key=kr,
            title="Cut damage claims from 4 to 2",
            kind="decrease",
            start=4,
            target=2,
            grade=grade,
        )
    return objective


def test_team_rules_see_closed_cycles_and_what_other_teams_planned(org: Any) -> None:
    q3 = Cycle.objects.create(
        key="2026-Q3", start=date(2026, 7, 1), end=date(2026, 9, 30), state="closed"
    )
    q4 = Cycle.objects.create(
        key="2026-Q4", start=date(2026, 10, 1), end=date(2026, 12, 31), state="closed"
    )
    graded(org, "q3", q3, org.depot, 1.0)
    graded(org, "q4", q4, org.depot, 0.97, type="committed")
    Objective.objects.create(key="now", cycle=org.cycle, team=org.sales, title="Delight buyers")
    everything = findings(NOW)
    depot = findings_for_team(org.depot, NOW)
    assert {f.rule for f in depot} == {"sandbagging", "objective-count"}
    assert depot == [f for f in everything if f.path == "teams/depot"]
    assert findings_for_team(org.sales, NOW) == [f for f in everything if f.path == "teams/sales"]
    review = findings_for_objectives(Objective.objects.filter(cycle=q4), REVIEW_RULES, NOW)
    assert {f.rule for f in review["q4"]} == {"committed-missed"}
    assert {f.rule for f in findings_for_objective(Objective.objects.get(key="q3"))} >= {
        "sandbagging"
    }


def add_objectives(org: Any, n: int, prefix: str) -> None:
    for i in range(n):
        objective = Objective.objects.create(
            key=f"{prefix}{i}", cycle=org.cycle, team=org.depot, title="Improve our marketing"
        )
        for k in range(3):
            KeyResult.objects.create(
                objective=objective, key=f"k{k}", title="Launch the portal", kind="milestone"
            )
        Kpi.objects.create(key=f"{prefix}{i}", name="KPI", team=org.depot)


def count(call: Callable[[], object]) -> int:
    with CaptureQueriesContext(connection) as ctx:
        call()
    return len(ctx.captured_queries)


def test_scoped_queries_do_not_grow_with_the_organisation(org: Any) -> None:
    add_objectives(org, 2, "a")
    objective = Objective.objects.get(key="a0")
    kpi = Kpi.objects.get(key="a0")
    calls: dict[str, Callable[[], object]] = {
        "objective": lambda: findings_for_objective(objective),
        "kpi": lambda: findings_for_kpi(kpi),
        "team": lambda: findings_for_team(org.depot),
        "cycle": lambda: findings_for_objectives(
            Objective.objects.filter(cycle=org.cycle), REVIEW_RULES
        ),
    }
    small = {name: count(call) for name, call in calls.items()}
    add_objectives(org, 30, "b")
    large = {name: count(call) for name, call in calls.items()}
    assert small == large
    assert small == {"objective": 3, "kpi": 1, "team": 4, "cycle": 2}


def test_a_draft_key_result_is_coached_while_typed(org: Any) -> None:
    objective = Objective.objects.select_related("cycle", "team").get(
        pk=Objective.objects.create(
            key="site", cycle=org.cycle, team=org.depot, title="Make the website a joy"
        ).pk
    )

    def draft(**fields: Any) -> set[str]:
        with CaptureQueriesContext(connection) as ctx:
            found = findings_for_draft("key_result", objective=objective, **fields)
        assert not ctx.captured_queries
        assert all(under(f.path, "objectives/site/key_results/draft") for f in found)
        return {f.rule for f in found}

    assert "kr-is-task" in draft(title="Launch the new website", kind="milestone")
    assert draft(title="Raise weekly sign-ups from 200 to 500", start=200, target=500) == set()
    assert draft(title="Raise weekly sign-ups", kind="increase") == {"kr-not-measurable"}
    outside = draft(title="Raise sign-ups from 2 to 5", start=2, target=5, due=date(2027, 6, 1))
    assert outside == {"kr-no-deadline"}
    assert draft(title="") == set()
    objective.coach_ignore = ["kr-is-task"]
    assert "kr-is-task" not in draft(title="Launch the new website", kind="milestone")


def test_a_draft_objective_is_coached_while_typed(org: Any) -> None:
    parent = Objective.objects.create(
        key="top", cycle=org.cycle, team=org.company, title="Be the grocer people trust"
    )

    def draft(**fields: Any) -> set[str]:
        with CaptureQueriesContext(connection) as ctx:
            found = findings_for_draft("objective", **fields)
        assert not ctx.captured_queries
        return {f.rule for f in found}

    assert draft(title="Increase revenue by 20%", team=org.company) == {"objective-is-metric"}
    assert draft(title="Improve our marketing", team=org.depot, cycle=org.cycle) == {
        "objective-vague",
        "orphan-objective",
    }
    assert draft(title="Make night shifts something people ask for", team=org.depot) == {
        "orphan-objective"
    }
    assert (
        draft(title="Make night shifts something people ask for", team=org.depot, parent=parent)
        == set()
    )
    assert draft(title="Make night shifts something people ask for") == set()
    assert draft(title="Improve our marketing", ignore=["objective-vague"]) == set()
    paths = {
        f.path
        for f in findings_for_draft("objective", title="Improve our marketing", objective=parent)
    }
    assert paths == {"objectives/top"}
