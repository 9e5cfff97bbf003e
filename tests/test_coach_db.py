"""The coach runs on the database with the same rules, in a constant number of queries."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from headway.coach.db import findings, findings_by_path
from headway.kpis.models import Kpi
from headway.okrs.models import KeyResult, Objective

pytestmark = pytest.mark.django_db


def add_objectives(org: Any, n: int, prefix: str) -> None:
    for i in range(n):
        objective = Objective.objects.create(
            key=f"{prefix}{i}", cycle=org.cycle, team=org.depot, title="Improve our marketing"
        )
        KeyResult.objects.create(
            objective=objective, key="k", title="Launch the new customer portal", kind="milestone"
        )


def test_findings_on_the_database(org: Any) -> None:
    add_objectives(org, 1, "o")
    Kpi.objects.create(key="otd", name="On-time", team=org.depot)
    paths = {(f.rule, f.path) for f in findings()}
    assert ("objective-vague", "objectives/o0") in paths
    assert ("orphan-objective", "objectives/o0") in paths
    assert ("kr-count", "objectives/o0") in paths
    assert ("kr-is-task", "objectives/o0/key_results/k") in paths
    assert ("kpi-card-incomplete", "kpis/otd") in paths
    assert ("objective-count", "teams/sales") in paths
    grouped = findings_by_path()
    assert {f.rule for f in grouped["objectives/o0"]} >= {"kr-is-task", "objective-vague"}


def test_silenced_rules_stay_quiet_in_the_database(org: Any) -> None:
    add_objectives(org, 1, "o")
    Objective.objects.filter(key="o0").update(
        coach_ignore=["objective-vague", "kr-is-task"], coach_ignore_why="Draft"
    )
    rules = {f.rule for f in findings() if f.path.startswith("objectives/o0")}
    assert "objective-vague" not in rules
    assert "kr-is-task" not in rules
    assert "orphan-objective" in rules


def test_coach_queries_do_not_grow_with_the_organisation(org: Any) -> None:
    add_objectives(org, 2, "a")
    with CaptureQueriesContext(connection) as small:
        findings()
    add_objectives(org, 40, "b")
    with CaptureQueriesContext(connection) as large:
        findings()
    assert len(small.captured_queries) == len(large.captured_queries) <= 6
