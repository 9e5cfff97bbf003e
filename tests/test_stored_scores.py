"""Stored scores stay equal to scoring the whole history, through every action that moves them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from headway.kpis.actions import MeasurementRow, ingest_measurements, promote_kpi
from headway.kpis.models import Kpi
from headway.okrs.actions import (
    align_objective,
    close_cycle,
    recalibrate_key_result,
    record_checkin,
    reopen_cycle,
)
from headway.okrs.models import Cycle, KeyResult, Objective
from headway.okrs.stored import EVERYTHING, cycle_tree, rescore, rescore_cycle, scored_at
from headway.okrs.tree import load_cycle_tree

NOW = datetime(2027, 2, 15, 12, tzinfo=UTC)


def assert_stored_equals_history(cycle: Cycle) -> None:
    """Every stored score of `cycle` equals what scoring its whole history gives."""
    cycle.refresh_from_db()
    tree = load_cycle_tree(cycle, at=scored_at(cycle))
    stored = {o.pk: o for o in Objective.objects.filter(cycle=cycle)}
    stored_krs = {kr.pk: kr for kr in KeyResult.objects.filter(objective__cycle=cycle)}
    for objective in tree.objectives:
        result = tree.objective_result(objective)
        row = stored[objective.pk]
        assert (row.score, row.forecast, row.has_data) == pytest.approx(
            (result.score, result.forecast, result.has_data)
        ), objective.key
        for kr in tree.key_results_of(objective):
            r = tree.key_result_result(kr)
            got = stored_krs[kr.pk]
            assert got.score == pytest.approx(r.score), kr.key
            assert got.forecast == pytest.approx(r.forecast), kr.key
            assert got.has_data == r.has_data, kr.key
            assert got.scored_value == pytest.approx(r.current), kr.key
            assert got.last_checkin_at == r.last_checkin_at, kr.key
            assert got.confidence == r.confidence, kr.key


@pytest.fixture
def okr(org: Any) -> Any:
    """A company objective rolled up from two team objectives, one fed by a KPI."""
    org.top = Objective.objects.create(
        key="delight", cycle=org.cycle, team=org.company, owner=org.admin, title="Delight"
    )
    org.rollup = KeyResult.objects.create(
        objective=org.top, key="teams", title="Teams deliver", kind="objectives"
    )
    org.reliable = Objective.objects.create(
        key="reliable", cycle=org.cycle, team=org.ops, owner=org.lead, title="Reliable",
        parent=org.top,
    )  # fmt: skip
    org.otd = KeyResult.objects.create(
        objective=org.reliable, key="otd", title="On-time delivery from 80 to 100",
        kind="increase", start=80, target=100, owner=org.member,
    )  # fmt: skip
    org.depot_obj = Objective.objects.create(
        key="depot", cycle=org.cycle, team=org.depot, owner=org.member, title="Depot"
    )
    org.kpi = Kpi.objects.create(
        key="otd-rate", name="On-time delivery rate", team=org.depot, owner=org.member,
        unit="%", direction="up", target=95, warning=90, critical=85, cadence="weekly",
    )  # fmt: skip
    org.fed = KeyResult.objects.create(
        objective=org.depot_obj, key="fed", title="Keep the rate above 95", kind="above",
        target=95, kpi=org.kpi,
    )  # fmt: skip
    rescore_cycle(org.cycle)
    return org


def test_a_checkin_moves_the_stored_score_of_its_objective_and_every_roll_up_above(
    okr: Any,
) -> None:
    with time_machine.travel(NOW, tick=False):
        record_checkin(key_result=okr.otd, by=okr.member, value=90, confidence=7)
    okr.otd.refresh_from_db()
    okr.reliable.refresh_from_db()
    okr.top.refresh_from_db()
    assert okr.otd.score == pytest.approx(0.5)
    assert okr.otd.confidence == 7
    assert okr.reliable.score == pytest.approx(0.5)
    assert okr.top.score == pytest.approx(0.5)  # the roll-up of its only child
    assert okr.top.has_data
    assert_stored_equals_history(okr.cycle)


def test_every_action_keeps_stored_scores_equal_to_the_history(okr: Any) -> None:
    with time_machine.travel(NOW, tick=False):
        record_checkin(key_result=okr.otd, by=okr.member, value=84)
        assert_stored_equals_history(okr.cycle)
        recalibrate_key_result(key_result=okr.otd, by=okr.lead, reason="new baseline", start=82)
        assert_stored_equals_history(okr.cycle)
        ingest_measurements(
            rows=[MeasurementRow(kpi="otd-rate", at="2027-02-01T00:00:00Z", value=97)], by=None
        )
        assert_stored_equals_history(okr.cycle)
        align_objective(objective=okr.depot_obj, parent=okr.top, by=okr.admin)
        assert_stored_equals_history(okr.cycle)
        okr.top.refresh_from_db()
        # Two children now: 0.1 (84 on 82→100 is 2/18) and 1.0 (97 is above 95).
        assert okr.top.score == pytest.approx((2 / 18 + 1.0) / 2)
        promote_kpi(kpi=okr.kpi, objective=okr.reliable, by=okr.lead, target=99)
        assert_stored_equals_history(okr.cycle)
        align_objective(objective=okr.depot_obj, parent=None, by=okr.admin)
        assert_stored_equals_history(okr.cycle)


def test_a_closed_cycle_keeps_the_scores_of_its_closing(okr: Any) -> None:
    with time_machine.travel(NOW, tick=False):
        record_checkin(key_result=okr.otd, by=okr.member, value=90)
        close_cycle(cycle=okr.cycle, by=okr.admin, reflections={"reliable": "ok"})
        ingest_measurements(
            rows=[MeasurementRow(kpi="otd-rate", at="2027-02-10T00:00:00Z", value=50)], by=None
        )
    okr.fed.refresh_from_db()
    assert okr.fed.score == 0.0
    assert not okr.fed.has_data
    okr.reliable.refresh_from_db()
    assert okr.reliable.score == okr.reliable.grade == pytest.approx(0.5)
    with time_machine.travel(NOW, tick=False):
        reopen_cycle(cycle=okr.cycle, by=okr.admin)
    okr.fed.refresh_from_db()
    assert okr.fed.has_data
    assert okr.fed.scored_value == 50
    assert_stored_equals_history(okr.cycle)


def test_status_follows_the_clock_without_rescoring(okr: Any) -> None:
    with time_machine.travel(NOW, tick=False):
        record_checkin(key_result=okr.otd, by=okr.member, value=90)  # 0.5
    early = cycle_tree(okr.cycle, at=None)
    with time_machine.travel(datetime(2027, 1, 20, tzinfo=UTC), tick=False):
        assert cycle_tree(okr.cycle).objective_result(okr.reliable).status == "on_track"
    with time_machine.travel(datetime(2027, 3, 30, tzinfo=UTC), tick=False):
        assert cycle_tree(okr.cycle).objective_result(okr.reliable).status == "off_track"
    assert early.objective_result(okr.reliable).score == pytest.approx(0.5)


def test_rescoring_one_objective_costs_the_same_whatever_the_cycle_size(okr: Any) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            rescore([okr.reliable.pk])
        return len(ctx.captured_queries)

    small = queries()
    Objective.objects.bulk_create(
        Objective(key=f"extra-{i}", cycle=okr.cycle, team=okr.depot, title=f"Extra {i}")
        for i in range(200)
    )
    assert queries() == small


def test_rescore_cycle_repairs_rows_written_behind_the_actions_back(okr: Any) -> None:
    KeyResult.objects.filter(pk=okr.otd.pk).update(score=0.9, has_data=True)
    assert rescore_cycle(okr.cycle) >= 1
    okr.otd.refresh_from_db()
    assert okr.otd.score == 0.0
    assert not okr.otd.has_data
    assert_stored_equals_history(okr.cycle)
    assert scored_at(okr.cycle) == EVERYTHING
