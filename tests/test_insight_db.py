"""Insight on the database and in the API: calibration, team history, KPI moves, forecasts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from headway.api.testing import ApiClient, token_for
from headway.kpis.models import Kpi, Measurement
from headway.okrs import insight_db
from headway.okrs.models import CheckIn, Cycle, KeyResult, Objective
from headway.okrs.stored import rescore

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(org: Any) -> Any:
    """Two closed quarters for the depot, a KPI with 60 weeks of history, check-ins."""
    q3 = Cycle.objects.create(key="2026-Q3", start=date(2026, 7, 1), end=date(2026, 9, 30),
                              state="closed")  # fmt: skip
    q4 = Cycle.objects.create(key="2026-Q4", start=date(2026, 10, 1), end=date(2026, 12, 31),
                              state="closed")  # fmt: skip
    kpi = Kpi.objects.create(key="otd", name="On-time delivery", team=org.depot, cadence="weekly")
    rng = np.random.default_rng(3)
    first = datetime(2025, 8, 4, tzinfo=UTC)  # a Monday, 60 weeks before Q4 ends
    for w in range(74):
        at = first + timedelta(weeks=w, hours=12)
        step = 8.0 if at >= datetime(2026, 10, 1, tzinfo=UTC) else 0.0
        Measurement.objects.create(kpi=kpi, at=at, value=80 + 0.02 * w + step + rng.normal(0, 1))
    objectives = {}
    for cycle, key, type_, grade in [
        (q3, "fast", "committed", 0.5),
        (q3, "kind", "aspirational", 0.8),
        (q4, "fast-again", "committed", 1.0),
        (q4, "kind-q4", "aspirational", 0.3),
    ]:
        title = "Deliver on time, every time" if key.startswith("fast") else f"Be kind {key}"
        objectives[key] = Objective.objects.create(
            key=key, cycle=cycle, team=org.depot, title=title, type=type_, grade=grade
        )
    # The q3 objective reappears in q4 under the same title: it was carried over.
    landed = KeyResult.objects.create(objective=objectives["fast-again"], key="otd", title="OTD",
                                      kind="increase", start=80, target=86, kpi=kpi, grade=1.0,
                                      score=1.0)  # fmt: skip
    missed = KeyResult.objects.create(objective=objectives["kind-q4"], key="nps", title="NPS",
                                      kind="increase", start=10, target=50, grade=0.3)  # fmt: skip
    for i in range(10):
        at = datetime(2026, 10, 5, tzinfo=UTC) + timedelta(weeks=i)
        CheckIn.objects.create(key_result=missed, at=at, value=10 + i, confidence=8,
                               author=org.member)  # fmt: skip
        CheckIn.objects.create(key_result=landed, at=at, value=80 + i, confidence=8 if i < 5 else 9,
                               author=org.lead)  # fmt: skip
    return type("H", (), {"q3": q3, "q4": q4, "kpi": kpi, "landed": landed, "missed": missed})


def test_calibration_counts_each_persons_confidences_against_what_landed(
    org: Any, history: Any
) -> None:
    mine = insight_db.calibration(person=org.member)
    assert mine.forecasts == 10
    row = mine.row(8)
    assert row is not None
    assert (row.forecasts, row.landed) == (10, 0)
    assert mine.brier == pytest.approx(0.64)
    everyone = insight_db.calibration()
    assert everyone.forecasts == 20
    line = insight_db.calibration_line(mine, 8, "your")
    assert line.startswith("Your 8s have landed 0% of the time (0 of 10)")
    team = insight_db.calibration(team=org.depot)
    assert team.forecasts == 20
    assert insight_db.calibration(team=org.sales).forecasts == 0


def test_calibration_is_cached_until_a_closed_cycle_changes(org: Any, history: Any) -> None:
    first = insight_db.calibration()
    with CaptureQueriesContext(connection) as queries:
        again = insight_db.calibration()
    assert again == first
    assert len(queries) == 3  # the closed cycles' state; the count itself is cached
    # An import re-grading a key result of a closed cycle stamps it as changed.
    later = history.missed.updated_at + timedelta(seconds=1)
    KeyResult.objects.filter(pk=history.missed.pk).update(grade=1.0, updated_at=later)
    regraded = insight_db.calibration()
    assert regraded.forecasts == first.forecasts
    assert sum(r.landed for r in regraded.rows) == sum(r.landed for r in first.rows) + 10
    # A check-in written into a closed cycle (a restore) is a new newest check-in.
    CheckIn.objects.create(key_result=history.missed, at=datetime(2026, 12, 20, tzinfo=UTC),
                           value=30, confidence=2, author=org.member)  # fmt: skip
    assert insight_db.calibration().forecasts == first.forecasts + 1
    # Reopened, the cycle's confidences no longer count.
    Cycle.objects.filter(pk=history.q4.pk).update(state="active")
    assert insight_db.calibration().forecasts == 0


def test_calibration_without_a_closed_cycle_reads_no_check_in(org: Any) -> None:
    with CaptureQueriesContext(connection) as queries:
        result = insight_db.calibration()
    assert result.forecasts == 0
    assert len(queries) == 1


def test_team_history_gives_grades_bands_types_and_carry_overs(org: Any, history: Any) -> None:
    cycles = insight_db.team_history(org.depot)
    assert [h.cycle.key for h in cycles] == ["2026-Q3", "2026-Q4"]
    q3, q4 = cycles
    assert q3.bands == {"red": 0, "yellow": 1, "green": 1}
    assert q3.committed_mean == 0.5
    assert q3.aspirational_mean == 0.8
    assert (q3.unfinished, q3.carried_over) == (2, 1)
    assert q4.carried_over_rate == 0.0
    assert q4.as_dict()["mean"] == pytest.approx(0.65)


def test_a_step_at_the_cycles_start_moved_the_kpi(org: Any, history: Any) -> None:
    landed = KeyResult.objects.select_related("objective", "kpi").get(pk=history.landed.pk)
    moves = insight_db.kpi_moves(history.q4, [landed])
    row = moves[landed.pk]
    assert row.move.verdict == "moved"
    assert row.label == "moved the KPI"
    assert row.periods_before >= 8
    assert row.periods_after == 13
    assert row.achieved
    # Not linked to a KPI: no verdict at all.
    missed = KeyResult.objects.select_related("objective", "kpi").get(pk=history.missed.pk)
    assert insight_db.kpi_moves(history.q4, [missed]) == {}


def test_forecast_of_an_objectives_key_results(org: Any) -> None:
    objective = Objective.objects.create(key="grow", cycle=org.cycle, team=org.depot,
                                         title="Grow")  # fmt: skip
    kr = KeyResult.objects.create(objective=objective, key="k", title="K", kind="increase",
                                  start=0, target=10)  # fmt: skip
    few = insight_db.objective_forecasts(objective, datetime(2027, 3, 1, tzinfo=UTC))
    assert few["k"].probability is None
    for w in range(1, 8):
        at = datetime(2027, 1, 1, tzinfo=UTC) + timedelta(weeks=w)
        CheckIn.objects.create(key_result=kr, at=at, value=float(w) + (0.2 if w % 2 else -0.2))
    rescore([objective.pk])
    objective = Objective.objects.select_related("cycle").get(pk=objective.pk)
    with CaptureQueriesContext(connection) as ctx:
        found = insight_db.objective_forecasts(objective, datetime(2027, 3, 1, tzinfo=UTC))
    assert len(ctx.captured_queries) <= 3
    p = found["k"]
    assert p.probability is not None
    assert p.probability > 0.9
    assert p.low is not None
    assert p.high is not None
    assert p.low < 13 < p.high


def test_insight_endpoints_answer_and_are_in_the_openapi(org: Any, history: Any) -> None:
    client = ApiClient(token_for(org.member, "read"))
    calibration = client.get("/calibration", {"person": "member@acme.test"}).json()
    assert calibration["forecasts"] == 10
    assert calibration["rows"] == [{"confidence": 8, "forecasts": 10, "landed": 0}]
    team = client.get("/teams/depot/history").json()
    assert [c["cycle"] for c in team["cycles"]] == ["2026-Q3", "2026-Q4"]
    assert team["cycles"][0]["carried_over"] == 1
    assert team["calibration"]["forecasts"] == 20
    moves = client.get("/cycles/2026-Q4/kpi-moves").json()
    assert [(m["key_result"], m["verdict"]) for m in moves["items"]] == [("otd", "moved")]
    forecast = client.get("/objectives/fast-again/forecast").json()
    assert forecast["objective"] == "fast-again"
    assert client.get("/teams/nope/history").status_code == 404
    assert client.get("/calibration", {"person": "nobody@acme.test"}).status_code == 404
    spec = client.client.get("/api/openapi.json", headers=client.headers).json()["paths"]
    for path in ("calibration", "teams/{key}/history", "cycles/{key}/kpi-moves",
                 "objectives/{key}/forecast"):  # fmt: skip
        assert f"/api/v1/{path}" in spec, path


@pytest.mark.frozen("2027-03-01T12:00:00Z")
def test_the_pages_show_the_insight_where_decisions_are_made(org: Any, history: Any) -> None:
    from django.test import Client

    client = Client()
    client.force_login(org.member)
    team = client.get("/teams/depot/").content.decode()
    assert "History across cycles" in team
    assert "2026-Q3" in team
    assert '50% <span class="meta">(1 of 2)</span>' in team  # carried over
    assert "Brier score" in team
    review = client.get("/cycles/2026-Q4/review/").content.decode()
    assert "moved the KPI" in review
    assert "Brier score" in review
    # The check-in form says how the person's confidences landed.
    objective = Objective.objects.create(key="now", cycle=org.cycle, team=org.depot, title="Now")
    kr = KeyResult.objects.create(objective=objective, key="k", title="K", kind="increase",
                                  start=0, target=10)  # fmt: skip
    CheckIn.objects.create(key_result=kr, at=datetime(2027, 1, 4, tzinfo=UTC), value=1,
                           confidence=8, author=org.member)  # fmt: skip
    checkin = client.get("/teams/depot/checkin/").content.decode()
    assert "Your 8s have landed 0% of the time (0 of 10)" in checkin
    for w in range(2, 9):
        CheckIn.objects.create(key_result=kr, at=datetime(2027, 1, 1, tzinfo=UTC)
                               + timedelta(weeks=w), value=float(w))  # fmt: skip
    rescore([objective.pk])
    page = client.get("/objectives/now/").content.decode()
    assert "likely to reach the target; 80% range" in page
    assert '"range": [[' in page
