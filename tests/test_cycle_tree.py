"""A whole cycle loads in a constant number of queries and scores like the pure core."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from headway.kpis.models import Kpi, Measurement
from headway.okrs.models import CheckIn, KeyResult, Objective
from headway.okrs.stored import cycle_tree

pytestmark = pytest.mark.django_db
AT = datetime(2027, 2, 15, tzinfo=UTC)


def build(org: Any, objectives: int, krs_per_objective: int) -> None:
    """Bulk-create a cycle of `objectives` objectives, half aligned, with weekly check-ins."""
    rows = [
        Objective(key=f"o{i}", cycle=org.cycle, team=org.depot, owner=org.member, title=f"O {i}")
        for i in range(objectives)
    ]
    Objective.objects.bulk_create(rows)
    created = list(Objective.objects.filter(cycle=org.cycle).order_by("id"))
    for i, objective in enumerate(created[1:], start=1):
        objective.parent = created[(i - 1) // 2]
    Objective.objects.bulk_update(created, ["parent"])
    kpi = Kpi.objects.create(key="k", name="K", team=org.depot)
    Measurement.objects.bulk_create(
        Measurement(kpi=kpi, at=AT - timedelta(days=d), value=50 + d) for d in range(0, 40, 7)
    )
    krs = []
    for objective in created:
        for j in range(krs_per_objective):
            krs.append(
                KeyResult(objective=objective, key=f"kr{j}", title=f"KR {j}", start=0, target=100,
                          kpi=kpi if j == 1 else None, kind="objectives" if j == 2 else "increase")
            )  # fmt: skip
    KeyResult.objects.bulk_create(krs)
    CheckIn.objects.bulk_create(
        CheckIn(key_result=kr, at=AT - timedelta(days=w * 7), value=10.0 * w, confidence=5)
        for kr in KeyResult.objects.filter(kind="increase", kpi__isnull=True)
        for w in range(1, 4)
    )


def count_queries(org: Any) -> tuple[int, Any]:
    with CaptureQueriesContext(connection) as ctx:
        tree = cycle_tree(org.cycle, at=AT)
        for objective in tree.roots():
            tree.objective_result(objective)
            for kr in objective.key_results_list:  # type: ignore[attr-defined]
                tree.key_result_result(kr)
                _ = (kr.owner, kr.kpi, kr.objective.team, objective.owner)
    return len(ctx.captured_queries), tree


@pytest.mark.slow
def test_loading_a_cycle_takes_constant_queries_whatever_its_size(org: Any) -> None:
    build(org, objectives=10, krs_per_objective=4)
    small, _ = count_queries(org)
    Objective.objects.all().delete()
    Kpi.objects.all().delete()
    build(org, objectives=500, krs_per_objective=4)
    large, tree = count_queries(org)
    assert small == large <= 4
    assert len(tree.objectives) == 500
    assert sum(len(o.key_results_list) for o in tree.objectives) == 2000


def test_tree_scores_match_hand_computation(org: Any) -> None:
    build(org, objectives=3, krs_per_objective=3)
    _, tree = count_queries(org)
    leaf = Objective.objects.get(key="o2")
    # kr0: latest check-in (7 days before AT) is 10 of 0..100 -> 0.1;
    # kr1: KPI-linked, latest measurement 50 -> 0.5; kr2: roll-up of no children -> 0.
    assert tree.evaluation.key_results[("o2", "kr0")].score == pytest.approx(0.1, abs=1e-9)
    assert tree.evaluation.key_results[("o2", "kr1")].score == pytest.approx(0.5, abs=1e-9)
    assert tree.objective_result(leaf).score == pytest.approx(0.2, abs=1e-9)
    # o0's roll-up key result is the mean of its children o1 and o2 (both 0.2).
    assert tree.evaluation.key_results[("o0", "kr2")].score == pytest.approx(0.2, abs=1e-9)
    # o0 scores (0.1 + 0.5 + 0.2) / 3; the team averages o0, o1 and o2.
    assert tree.team_score("depot") == pytest.approx((0.8 / 3 + 0.2 + 0.2) / 3, abs=1e-9)
    assert [o.key for o in tree.roots()] == ["o0"]
