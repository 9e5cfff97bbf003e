"""Incremental KPI state says exactly what a full evaluation of the whole history says.

Generated series pushed in random batches, out of order, with replaced values: after every
batch, the state advanced by the batch's points (or rebuilt from the history when it cannot
answer, as refresh_kpis does) evaluates to the same health, trend, slope, p-value, streaks,
latest point and anomalies as `health.evaluate` of every point stored so far.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headway.kpis import health as core
from headway.kpis import incremental

START = datetime(2024, 1, 1, tzinfo=UTC)

FIELDS = (
    "health",
    "trend",
    "latest",
    "anomalies",
    "slope_per_period",
    "p_value",
    "wrong_way_streak",
    "right_way_streak",
    "healthy_streak",
)


def same(full: core.KpiEvaluation, state: incremental.State, at: datetime) -> None:
    inc = incremental.evaluation(card_of(state), state, at)
    for name in FIELDS:
        if name == "anomalies":
            assert incremental.anomalies(state) == full.anomalies
        else:
            assert getattr(inc, name) == getattr(full, name), name
    kept = incremental.periods(state)
    assert kept == full.periods[-len(kept) :] if kept else not full.periods


def card_of(state: incremental.State) -> core.Kpi:
    """The card a state was built for, rebuilt from its fingerprint (the schedule too)."""
    direction, target, warning, critical, cadence, *rest = state.card
    steps = tuple(
        core.Step(datetime.fromisoformat(at), t, w, c) for at, t, w, c in (rest[0] if rest else [])
    )
    return core.Kpi(direction, target, warning, critical, cadence, steps)


# Targets that change by period: steps at day offsets from START, thresholds that tighten
# or loosen (in order for "up"; the property holds whatever the order).
steps = st.lists(
    st.builds(
        core.Step,
        starts_at=st.integers(1, 4000).map(lambda d: START + timedelta(days=d)),
        target=st.sampled_from([None, 100.0, 104.0]),
        warning=st.sampled_from([None, 85.0, 92.0, 97.0]),
        critical=st.sampled_from([None, 75.0, 88.0]),
    ),
    max_size=6,
    unique_by=lambda s: s.starts_at,
).map(tuple)
cards = st.builds(
    core.Kpi,
    direction=st.sampled_from(core.DIRECTIONS),
    target=st.just(100.0),
    warning=st.sampled_from([None, 90.0, 95.0]),
    critical=st.sampled_from([None, 80.0]),
    cadence=st.sampled_from(core.CADENCES),
    schedule=st.one_of(st.just(()), steps),
)
# Few distinct values, so ties, constant runs and sigma-0 baselines come up often.
values = st.one_of(st.sampled_from([80.0, 90.0, 95.0, 100.0]), st.floats(70, 110, width=32))


@st.composite
def pushes(draw: st.DrawFn) -> tuple[core.Kpi, list[list[tuple[int, float]]]]:
    card = draw(cards)
    step = {"weekly": 3, "monthly": 20, "quarterly": 60}[card.cadence]
    # Short histories, and long ones of more periods than the state keeps.
    long = {"weekly": 900, "monthly": 3000, "quarterly": 8000}[card.cadence]
    days = draw(
        st.one_of(st.integers(20, 300), st.integers(long, long + 1500), st.just(long + 800))
    )
    batches: list[list[tuple[int, float]]] = []
    # Mostly in order (the common push), with back-fills (mostly recent, some of old
    # history) and replaced values mixed in.
    cursor = 0
    while cursor < days:
        size = draw(st.integers(1, 120))
        batch = []
        for _ in range(size):
            kind = draw(st.sampled_from(["next"] * 6 + ["recent", "recent", "old"]))
            if kind == "next" or cursor == 0:
                cursor += draw(st.integers(1, step))
                day = cursor
            elif kind == "recent":
                day = max(0, cursor - draw(st.integers(0, step * 30)))
            else:
                day = draw(st.integers(0, cursor))
            batch.append((day, draw(values)))
        batches.append(batch)
    return card, batches


PATHS: Counter[str] = Counter()


@settings(max_examples=150, deadline=None)
@given(pushes(), st.integers(0, 3))
def test_incremental_state_equals_full_evaluation(
    case: tuple[core.Kpi, list[list[tuple[int, float]]]], late: int
) -> None:
    card, batches = case
    stored: dict[datetime, float] = {}
    state: incremental.State | None = None
    now = START
    for number, batch in enumerate(batches):
        changed: dict[datetime, float] = {}
        for day, value in batch:
            at = START + timedelta(days=day, hours=number % 5)
            if stored.get(at) != value:
                changed[at] = value
        stored.update(changed)
        now = max(now, max(stored) + timedelta(days=late * number % 7))
        points = [core.Point(at=at, value=v) for at, v in stored.items()]
        full = core.evaluate(card, points, now)
        new = list(changed.items())
        advanced = None if state is None else incremental.advance(card, state, new, now)
        PATHS["incremental" if advanced is not None else "full"] += 1
        if advanced is not None and not advanced.complete:
            PATHS["incremental, beyond the tail"] += 1
        if advanced is None:
            _, advanced = incremental.from_points(card, points, now)
        state = incremental.State.from_json(advanced.as_json())
        assert state is not None
        same(full, state, now)


def test_the_property_took_every_path() -> None:
    """Run after the property (file order): the cases reached both paths, long histories too."""
    if not PATHS:
        test_incremental_state_equals_full_evaluation()
    assert PATHS["full"] > 0
    # The two counts come out close (754 incremental against 755 full in one run of the
    # suite), so "more incremental than full" was a coin toss: each path must carry a real
    # share of the cases.
    assert PATHS["incremental"] > PATHS["full"] / 3
    assert PATHS["incremental, beyond the tail"] > 50


def test_a_late_evaluation_without_new_points_turns_stale() -> None:
    card = core.Kpi("up", 100.0, 90.0, 80.0, "weekly")
    points = [core.Point(START + timedelta(days=d), 95.0 + d % 3) for d in range(700)]
    _, state = incremental.from_points(card, points, START + timedelta(days=700))
    later = START + timedelta(days=760)
    advanced = incremental.advance(card, state, [], later)
    assert advanced is not None
    assert incremental.evaluation(card, advanced, later).health == "stale"
    same(core.evaluate(card, points, later), advanced, later)


def test_what_the_state_cannot_answer_falls_back() -> None:
    card = core.Kpi("up", 100.0, 90.0, 80.0, "weekly")
    points = [core.Point(START + timedelta(days=d), 95.0) for d in range(1000)]
    at = START + timedelta(days=1000)
    _, state = incremental.from_points(card, points, at)
    old = [(START + timedelta(days=3), 50.0)]
    assert incremental.advance(card, state, old, at) is None  # a back-fill of old history
    other = core.Kpi("up", 100.0, 92.0, 80.0, "weekly")
    assert incremental.advance(other, state, [], at) is None  # thresholds changed
    future = [(at + timedelta(minutes=3), 50.0)]
    assert incremental.advance(card, state, future, at) is None  # after the evaluation
    assert incremental.advance(card, state, [], at - timedelta(days=1)) is None  # earlier


# --------------------------------------------------------------------------- through the database

DB_PATHS: Counter[str] = Counter()


@pytest.mark.django_db(transaction=False)
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_pushes_store_what_a_full_refresh_stores(org: Any, data: st.DataObject) -> None:
    """Pushed in random batches (out of order, values replaced), a KPI feeding a key result
    ends each push with the state, key result, anomalies and notifications that evaluating
    its whole history gives: the same pushes replayed with incremental state turned off."""
    from django.db import transaction

    from headway.kpis.actions import MeasurementRow, ingest_measurements
    from headway.kpis.models import Kpi
    from headway.notify.models import Event
    from headway.okrs.models import KeyResult, Objective

    cadence = data.draw(st.sampled_from(core.CADENCES))
    direction = data.draw(st.sampled_from(core.DIRECTIONS))
    step = {"weekly": 3, "monthly": 15, "quarterly": 40}[cadence]
    first = datetime(2027, 2, 15, tzinfo=UTC) - timedelta(days=step * 300)
    batches = []
    cursor = step * 100  # after the history
    for _ in range(data.draw(st.integers(2, 5))):
        rows = []
        for _ in range(data.draw(st.integers(1, 150))):
            kind = data.draw(st.sampled_from(["next"] * 5 + ["recent", "old"]))
            if kind == "next":
                cursor += data.draw(st.integers(1, step))
                day = cursor
            elif kind == "recent":
                day = max(0, cursor - data.draw(st.integers(0, step * 20)))
            else:
                day = data.draw(st.integers(0, cursor))
            rows.append((day, data.draw(values)))
        batches.append(rows)
    # The history first (the first push evaluates it whole), then the batches.
    history = [(d, 95.0 + (d % 5)) for d in range(0, step * 100, step)]

    def run() -> list[Any]:
        seen: list[Any] = []
        with transaction.atomic():
            kpi = Kpi.objects.create(
                key="otd", name="On-time", team=org.depot, direction=direction, target=100,
                warning=90, critical=80, cadence=cadence,
            )  # fmt: skip
            objective = Objective.objects.create(
                key="o", cycle=org.cycle, team=org.depot, title="O", owner=org.lead
            )
            kr = KeyResult.objects.create(
                objective=objective, key="k", title="K", kind="above", target=95, kpi=kpi
            )
            for number, batch in enumerate([history, *batches]):
                merged = {}
                for day, value in batch:
                    merged[first + timedelta(days=day, hours=number % 3)] = value
                now = max(merged) + timedelta(hours=1 + number)
                ingest_measurements(
                    rows=[MeasurementRow(kpi="otd", at=a, value=v) for a, v in merged.items()],
                    by=org.member,
                    now=now,
                )
                kpi.refresh_from_db()
                kr.refresh_from_db()
                state = incremental.State.from_json(kpi.evaluation_state)
                assert state is not None
                seen.append(
                    (
                        kpi.health, kpi.trend, kpi.wrong_way_streak, kpi.healthy_streak,
                        kpi.latest_value, kpi.latest_at, kr.current, kr.score, kr.forecast,
                        kr.has_data, objective.__class__.objects.get(pk=objective.pk).score,
                        incremental.anomalies(state),
                        sorted(
                            (e.kind, e.title, e.summary, _without_ids(e.data))
                            for e in Event.objects.order_by("pk")
                        ),
                    )
                )  # fmt: skip
            transaction.set_rollback(True)
        return seen

    real_advance = incremental.advance

    def counted(*args: Any, **kwargs: Any) -> incremental.State | None:
        advanced = real_advance(*args, **kwargs)
        DB_PATHS["incremental" if advanced is not None else "full"] += 1
        return advanced

    try:
        incremental.advance = counted
        incremental_run = run()
    finally:
        incremental.advance = real_advance
    DB_PATHS["events"] += len(incremental_run[-1][-1])
    try:
        incremental.advance = lambda *args, **kwargs: None
        full_run = run()
    finally:
        incremental.advance = real_advance
    assert incremental_run == full_run


def _without_ids(data: Any) -> str:
    """An event's data without the row ids (a replay after a rollback numbers rows anew)."""
    if isinstance(data, dict):
        return str({k: _without_ids(v) for k, v in sorted(data.items()) if "id" not in k})
    if isinstance(data, list):
        return str([_without_ids(v) for v in data])
    return str(data)


def test_the_database_property_took_the_incremental_path() -> None:
    """Run after it (file order): most pushes advanced the state, and notifications came."""
    if DB_PATHS:
        assert DB_PATHS["incremental"] > DB_PATHS["full"]
        assert DB_PATHS["events"] > 0
