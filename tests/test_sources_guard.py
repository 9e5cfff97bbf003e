"""The data guard's rules (pure, no database): row count, gaps and jumps against history."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from headway.sources import schedule
from headway.sources.guard import Point, judge

START = datetime(2026, 1, 5, tzinfo=UTC)


def weekly(values: list[float], start: datetime = START) -> list[Point]:
    return [Point(start + timedelta(weeks=i), v) for i, v in enumerate(values)]


HISTORY = weekly([100, 102, 99, 101, 103, 100, 98, 101, 102, 100])
NEXT = START + timedelta(weeks=10)


def test_an_ordinary_next_value_passes() -> None:
    assert judge(HISTORY, [Point(NEXT, 97)], [1, 1, 1]) == []


def test_a_business_drop_within_what_the_series_does_passes() -> None:
    # The largest weekly move so far is 3; a fall of 14 is news, not a broken pipeline.
    assert judge(HISTORY, [Point(NEXT, 86)], []) == []


def test_a_jump_far_beyond_any_move_is_an_incident() -> None:
    reasons = judge(HISTORY, [Point(NEXT, 10_000)], [])
    assert reasons
    assert reasons[0].startswith("jump: 10000")
    assert "largest move it ever made is 3" in reasons[0]


def test_a_flat_series_tolerates_half_its_level() -> None:
    flat = weekly([50.0] * 10)
    assert judge(flat, [Point(NEXT, 70)], []) == []
    assert judge(flat, [Point(NEXT, 0)], [])[0].startswith("jump: 0")


def test_too_little_history_judges_no_jump() -> None:
    assert judge(HISTORY[:7], [Point(NEXT, 10_000)], []) == []


def test_fewer_rows_than_usual_is_an_incident() -> None:
    rows = weekly([100, 101])
    assert (
        judge([], rows, [30, 31, 30])[0] == "row count: 2 rows where this source usually returns 30"
    )
    assert judge([], rows, [30, 31]) == []  # fewer than 3 past fetches: no rule yet
    assert judge([], rows, [1, 1, 1]) == []  # a single-value source


def test_a_gap_inside_the_fetch_is_an_incident() -> None:
    rows = [Point(START + timedelta(weeks=i), 100) for i in (10, 11, 20, 21)]
    assert judge(HISTORY, rows, [])[0].startswith("gap: nothing between")


def test_a_steady_trend_in_a_range_fetch_is_judged_step_by_step() -> None:
    rows = weekly([100 + 3 * (i + 1) for i in range(8)], start=NEXT)
    assert judge(HISTORY, rows, []) == []


@given(st.lists(st.floats(-1e6, 1e6), min_size=10, max_size=40), st.floats(0, 1))
def test_a_value_within_the_series_range_of_moves_never_trips_the_jump_rule(
    values: list[float], fraction: float
) -> None:
    history = weekly(values)
    largest = max(abs(b - a) for a, b in itertools.pairwise(values))
    candidate = values[-1] + fraction * largest
    reasons = judge(history, [Point(START + timedelta(weeks=len(values)), candidate)], [])
    assert not [r for r in reasons if r.startswith("jump")]


def test_cadence_schedules_and_cron(settings: object) -> None:
    monday = datetime(2026, 12, 7, 6, tzinfo=UTC)
    assert schedule.next_slot("", "weekly", datetime(2026, 12, 2, tzinfo=UTC)) == monday
    assert schedule.next_slot("", "weekly", monday) == monday + timedelta(weeks=1)
    assert schedule.next_slot("", "quarterly", monday) == datetime(2027, 1, 1, 6, tzinfo=UTC)
    assert schedule.next_slot("*/15 * * * *", "", monday) == monday + timedelta(minutes=15)
    assert schedule.schedule_problem("*/15 * * * *") is None
    assert schedule.schedule_problem("99 * * * *")
    assert schedule.retry_delay(1) == timedelta(minutes=1)
    assert schedule.retry_delay(3) == timedelta(minutes=4)
    assert schedule.retry_delay(30) == timedelta(hours=6)


def test_after_an_outage_the_fetch_is_for_the_latest_slot() -> None:
    due = datetime(2026, 12, 1, 6, tzinfo=UTC)
    now = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
    assert schedule.latest_slot("0 6 * * *", "", due, now) == datetime(2026, 12, 4, 6, tzinfo=UTC)
    assert schedule.latest_slot("0 6 * * *", "", now, now) == now
