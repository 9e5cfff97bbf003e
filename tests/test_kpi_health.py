"""Health, review periods, streaks and suggestions of the pure KPI core (no Django)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from headway.kpis.health import (
    CADENCES,
    Kpi,
    KpiEvaluation,
    Point,
    deserves_promotion,
    evaluate,
    health,
    health_of_value,
    may_return_to_monitoring,
    possible_gaming,
    review_periods,
)

MONDAY = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday, ISO 2024-W01
UP = Kpi("up", 95.0, 90.0, 85.0, "weekly")
DOWN = Kpi("down", 2.0, 5.0, 10.0, "weekly")
STALE_LIMIT = {"weekly": timedelta(days=10.5), "monthly": timedelta(days=45)}
STALE_LIMIT["quarterly"] = timedelta(days=136.5)


def week(n: int, **extra: float) -> datetime:
    return MONDAY + timedelta(weeks=n, **extra)


def weekly(values: list[float], hours: float = 12.0) -> list[Point]:
    return [Point(week(i, hours=hours), v) for i, v in enumerate(values)]


def kpi(direction: str = "up", cadence: str = "weekly", **thresholds: float | None) -> Kpi:
    default = {"up": (95.0, 90.0, 85.0), "down": (2.0, 5.0, 10.0)}[direction]
    target, warning, critical = (
        thresholds.get(name, value)
        for name, value in zip(("target", "warning", "critical"), default, strict=True)
    )
    return Kpi(direction, target, warning, critical, cadence)


# --------------------------------------------------------------------------- validation


def test_naive_point_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Point(datetime(2024, 1, 1), 1.0)


@pytest.mark.parametrize(
    "call",
    [
        lambda at: evaluate(UP, [], at),
        lambda at: health(UP, [], at),
        lambda at: review_periods([], "weekly", at),
        lambda at: possible_gaming([], "up", [], at, "weekly"),
    ],
    ids=["evaluate", "health", "review_periods", "possible_gaming"],
)
def test_naive_at_is_rejected(call):
    with pytest.raises(ValueError, match="timezone-aware"):
        call(datetime(2024, 1, 1))


def test_aware_non_utc_point_is_converted_to_utc() -> None:
    paris = timezone(timedelta(hours=2))
    point = Point(datetime(2024, 6, 3, 1, 0, tzinfo=paris), 1)
    assert point.at == datetime(2024, 6, 2, 23, 0, tzinfo=UTC)
    assert point.at.tzinfo is UTC
    assert point.value == 1.0
    assert isinstance(point.value, float)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_value_is_rejected(bad):
    with pytest.raises(ValueError, match="finite"):
        Point(MONDAY, bad)


@pytest.mark.parametrize("bad", ["3", None, True])
def test_non_numeric_value_is_rejected(bad):
    with pytest.raises(TypeError, match="number"):
        Point(MONDAY, bad)


def test_decimal_thresholds_and_values_become_floats() -> None:
    k = Kpi("up", Decimal("95.5"), Decimal("90"), 85, "monthly")  # type: ignore[arg-type]
    assert (k.target, k.warning, k.critical) == (95.5, 90.0, 85.0)
    assert all(isinstance(x, float) for x in (k.target, k.warning, k.critical))
    assert Point(MONDAY, Decimal("1.25")).value == 1.25  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("direction", "cadence"), [("sideways", "weekly"), ("up", "daily"), ("UP", "weekly")]
)
def test_unknown_direction_or_cadence_is_rejected(direction, cadence):
    with pytest.raises(ValueError, match="must be one of"):
        Kpi(direction, None, None, None, cadence)


def test_nan_threshold_is_rejected() -> None:
    with pytest.raises(ValueError, match="warning"):
        Kpi("up", 1.0, float("nan"), 0.0, "weekly")


# --------------------------------------------------------------------------- thresholds


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (100.0, "healthy"),
        (95.0, "healthy"),  # the target is not a health threshold
        (90.000001, "healthy"),
        (90.0, "warning"),  # reaching warning triggers it
        (87.5, "warning"),
        (85.000001, "warning"),
        (85.0, "critical"),  # reaching critical triggers it
        (0.0, "critical"),
        (-5.0, "critical"),
    ],
)
def test_up_thresholds_trigger_when_reached(value, expected):
    assert health_of_value(UP, value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.0, "healthy"),
        (4.999999, "healthy"),
        (5.0, "warning"),
        (7.0, "warning"),
        (9.999999, "warning"),
        (10.0, "critical"),
        (1000.0, "critical"),
    ],
)
def test_down_thresholds_trigger_when_reached(value, expected):
    assert health_of_value(DOWN, value) == expected


@pytest.mark.parametrize(
    ("direction", "value", "expected"),
    [("up", 86.0, "healthy"), ("up", 85.0, "critical"), ("down", 9.0, "healthy")],
)
def test_missing_warning_means_no_warning_band(direction, value, expected):
    assert health_of_value(kpi(direction, warning=None), value) == expected


@pytest.mark.parametrize(
    ("direction", "value", "expected"),
    [("up", -1e9, "warning"), ("up", 90.5, "healthy"), ("down", 1e9, "warning")],
)
def test_missing_critical_means_no_critical_band(direction, value, expected):
    assert health_of_value(kpi(direction, critical=None), value) == expected


@pytest.mark.parametrize("value", [-1e12, 0.0, 1e12])
def test_no_thresholds_means_always_healthy(value):
    assert health_of_value(Kpi("up", 5.0, None, None, "weekly"), value) == "healthy"
    assert health_of_value(Kpi("down", None, None, None, "weekly"), value) == "healthy"


def test_warning_past_critical_gives_an_empty_warning_band() -> None:
    # Misconfigured `up` KPI: warning 80 below critical 85. Critical is tested first.
    odd = kpi("up", warning=80.0, critical=85.0)
    assert health_of_value(odd, 85.0) == "critical"
    assert health_of_value(odd, 80.0) == "critical"
    assert health_of_value(odd, 85.5) == "healthy"


def test_health_of_value_rejects_nan() -> None:
    with pytest.raises(ValueError, match="finite"):
        health_of_value(UP, float("nan"))


# --------------------------------------------------------------------------- health


def test_no_points_is_no_data() -> None:
    assert health(UP, [], MONDAY) == "no_data"
    assert evaluate(UP, [], MONDAY).health == "no_data"


def test_points_only_after_at_is_no_data() -> None:
    points = [Point(week(1), 99.0)]
    assert health(UP, points, week(0)) == "no_data"
    assert evaluate(UP, points, week(0)).latest is None


def test_point_exactly_at_at_counts() -> None:
    assert health(UP, [Point(MONDAY, 80.0)], MONDAY) == "critical"


@pytest.mark.parametrize("cadence", CADENCES)
@pytest.mark.parametrize("direction", ["up", "down"])
def test_stale_boundary_for_each_cadence(cadence, direction):
    k = kpi(direction, cadence)
    value = 100.0 if direction == "up" else 0.0
    points = [Point(MONDAY, value)]
    limit = STALE_LIMIT[cadence]
    assert health(k, points, MONDAY + limit) == "healthy"  # exactly 1.5 x cadence: fresh
    assert health(k, points, MONDAY + limit + timedelta(microseconds=1)) == "stale"
    assert evaluate(k, points, MONDAY + limit + timedelta(seconds=1)).health == "stale"


@pytest.mark.parametrize("cadence", CADENCES)
@pytest.mark.parametrize(
    ("direction", "value", "expected"),
    [
        ("up", 90.0, "warning"),
        ("up", 85.0, "critical"),
        ("up", 90.5, "healthy"),
        ("down", 5.0, "warning"),
        ("down", 10.0, "critical"),
        ("down", 4.5, "healthy"),
    ],
)
def test_health_at_threshold_boundaries_for_each_cadence(cadence, direction, value, expected):
    k = kpi(direction, cadence)
    points = [Point(MONDAY - timedelta(days=400), 50.0), Point(MONDAY, value)]
    assert health(k, points, MONDAY + timedelta(days=3)) == expected
    assert evaluate(k, points, MONDAY + timedelta(days=3)).health == expected


def test_health_uses_latest_point_not_best_or_last_given() -> None:
    points = [Point(week(2), 80.0), Point(week(0), 99.0), Point(week(1), 92.0)]
    assert health(UP, points, week(2, days=1)) == "critical"
    assert health(UP, points, week(1, days=1)) == "healthy"


def test_duplicate_timestamps_last_given_wins() -> None:
    points = [Point(MONDAY, 99.0), Point(MONDAY, 80.0)]
    assert health(UP, points, MONDAY) == "critical"
    assert health(UP, list(reversed(points)), MONDAY) == "healthy"
    ev = evaluate(UP, points, MONDAY)
    assert ev.periods == (Point(MONDAY, 80.0),)
    assert ev.latest == Point(MONDAY, 80.0)


def test_single_point_evaluation() -> None:
    ev = evaluate(DOWN, [Point(MONDAY, 3.0)], MONDAY + timedelta(days=1))
    assert ev.health == "healthy"
    assert ev.trend == "stable"
    assert ev.periods == (Point(MONDAY, 3.0),)
    assert ev.anomalies == ()
    assert ev.slope_per_period is None
    assert ev.p_value is None
    assert (ev.wrong_way_streak, ev.right_way_streak, ev.healthy_streak) == (0, 0, 1)


def test_empty_evaluation() -> None:
    assert evaluate(UP, [], MONDAY) == KpiEvaluation(
        "no_data", "stable", None, (), (), None, None, 0, 0, 0
    )


# --------------------------------------------------------------------------- review periods


def test_weekly_periods_start_on_monday_utc() -> None:
    sunday_night = datetime(2024, 1, 7, 23, 59, 59, 999999, tzinfo=UTC)
    monday = datetime(2024, 1, 8, tzinfo=UTC)
    points = [Point(sunday_night, 1.0), Point(monday, 2.0), Point(monday + timedelta(days=6), 3)]
    assert review_periods(points, "weekly", monday + timedelta(days=7)) == (
        Point(sunday_night, 1.0),
        Point(monday + timedelta(days=6), 3.0),
    )


def test_weekly_period_spans_the_new_year_like_iso_weeks() -> None:
    # 2026-W01 runs from Monday 2025-12-29 to Sunday 2026-01-04.
    points = [
        Point(datetime(2025, 12, 29, tzinfo=UTC), 1),
        Point(datetime(2026, 1, 4, tzinfo=UTC), 2),
    ]
    assert [
        p.value for p in review_periods(points, "weekly", datetime(2026, 2, 1, tzinfo=UTC))
    ] == [2.0]


def test_monthly_and_quarterly_boundaries() -> None:
    end_jan = datetime(2024, 1, 31, 23, 59, 59, tzinfo=UTC)
    leap = datetime(2024, 2, 29, 12, tzinfo=UTC)
    end_march = datetime(2024, 3, 31, 23, 59, 59, tzinfo=UTC)
    april = datetime(2024, 4, 1, tzinfo=UTC)
    points = [Point(t, i) for i, t in enumerate([end_jan, leap, end_march, april])]
    at = datetime(2024, 5, 1, tzinfo=UTC)
    assert [p.value for p in review_periods(points, "monthly", at)] == [0, 1, 2, 3]
    assert [p.value for p in review_periods(points, "quarterly", at)] == [2, 3]


def test_local_time_is_bucketed_in_utc() -> None:
    # Monday 01:00 at UTC+2 is Sunday 23:00 UTC: still the previous week.
    plus2 = timezone(timedelta(hours=2))
    points = [
        Point(datetime(2024, 1, 8, 1, tzinfo=plus2), 1),
        Point(datetime(2024, 1, 3, tzinfo=UTC), 2),
    ]
    assert [
        p.value for p in review_periods(points, "weekly", datetime(2024, 2, 1, tzinfo=UTC))
    ] == [1.0]


@pytest.mark.parametrize("cadence", CADENCES)
def test_periods_match_calendar_reference(cadence):
    rng = random.Random(7)
    start = datetime(1965, 1, 1, tzinfo=UTC)  # before the epoch too
    points = [
        Point(start + timedelta(seconds=rng.randrange(0, 80 * 365 * 86400)), float(i))
        for i in range(3000)
    ]

    def key(d: date) -> tuple[int, int]:
        if cadence == "weekly":
            iso = d.isocalendar()
            return iso.year, iso.week
        return (d.year, d.month) if cadence == "monthly" else (d.year, (d.month - 1) // 3)

    expected: dict[tuple[int, int], Point] = {}
    for p in sorted(points, key=lambda p: p.at):
        expected[key(p.at.date())] = p
    at = start + timedelta(days=100 * 365)
    assert review_periods(points, cadence, at) == tuple(expected[k] for k in sorted(expected))


def test_periods_ignore_points_after_at_and_sort() -> None:
    points = [Point(week(3), 3.0), Point(week(0), 0.0), Point(week(5), 5.0), Point(week(1), 1.0)]
    assert [p.value for p in review_periods(points, "weekly", week(3))] == [0.0, 1.0, 3.0]


def test_periods_with_gaps_are_absent_not_filled() -> None:
    points = [Point(week(0), 1.0), Point(week(4), 2.0)]
    assert review_periods(points, "weekly", week(9)) == tuple(points)


def test_unknown_cadence_in_review_periods_is_rejected() -> None:
    with pytest.raises(ValueError, match="cadence"):
        review_periods([], "daily", MONDAY)


# --------------------------------------------------------------------------- streaks


def test_streaks_count_consecutive_moves() -> None:
    ev = evaluate(UP, weekly([99, 98, 97, 96, 95]), week(4, days=1))
    assert (ev.wrong_way_streak, ev.right_way_streak) == (4, 0)
    ev = evaluate(DOWN, weekly([1, 3, 2, 1]), week(3, days=1))
    assert (ev.wrong_way_streak, ev.right_way_streak) == (0, 2)


def test_flat_move_ends_a_streak() -> None:
    ev = evaluate(UP, weekly([99, 98, 98, 97]), week(3, days=1))
    assert (ev.wrong_way_streak, ev.right_way_streak) == (1, 0)


def test_missing_period_ends_a_streak() -> None:
    points = [Point(week(i), v) for i, v in [(0, 99), (1, 98), (3, 97), (4, 96)]]
    ev = evaluate(UP, points, week(4, days=1))
    assert ev.wrong_way_streak == 1


def test_healthy_streak_counts_trailing_healthy_periods() -> None:
    ev = evaluate(UP, weekly([80, 91, 92, 93, 94]), week(4, days=1))
    assert ev.healthy_streak == 4
    ev = evaluate(UP, weekly([91, 90, 92, 93]), week(3, days=1))
    assert ev.healthy_streak == 2  # 90 is warning: reaching warning is not healthy


def test_healthy_streak_is_zero_when_not_healthy_now() -> None:
    assert evaluate(UP, weekly([99, 99, 99, 85]), week(3, days=1)).healthy_streak == 0
    stale = evaluate(UP, weekly([99, 99, 99, 99]), week(3) + timedelta(days=30))
    assert (stale.health, stale.healthy_streak) == ("stale", 0)


def test_healthy_streak_stops_at_a_missing_period() -> None:
    points = [Point(week(i), 99.0) for i in (0, 1, 2, 4, 5)]
    assert evaluate(UP, points, week(5, days=1)).healthy_streak == 2


def test_healthy_streak_with_missing_thresholds() -> None:
    always = Kpi("down", None, None, None, "monthly")
    points = [Point(datetime(2024, m, 15, tzinfo=UTC), 1e6 * m) for m in range(1, 7)]
    assert evaluate(always, points, datetime(2024, 6, 20, tzinfo=UTC)).healthy_streak == 6


# --------------------------------------------------------------------------- suggestions


def _ev(health_: str, trend_: str, wrong: int = 0, healthy: int = 0) -> KpiEvaluation:
    return KpiEvaluation(health_, trend_, None, (), (), None, None, wrong, 0, healthy)


@pytest.mark.parametrize(
    ("ev", "expected"),
    [
        (_ev("critical", "stable"), True),
        (_ev("critical", "improving"), True),
        (_ev("warning", "deteriorating", wrong=3), True),
        (_ev("healthy", "deteriorating", wrong=5), True),
        (_ev("warning", "deteriorating", wrong=2), False),  # the test alone is not 3 periods
        (_ev("warning", "stable", wrong=3), False),
        (_ev("healthy", "improving"), False),
        (_ev("stale", "deteriorating", wrong=4), False),  # stale data: review, not promote
        (_ev("no_data", "stable"), False),
    ],
)
def test_deserves_promotion(ev, expected):
    assert deserves_promotion(ev) is expected


def test_promotion_from_a_real_series() -> None:
    falling = evaluate(UP, weekly([99, 98, 97, 96]), week(3, days=1))
    assert falling.trend == "deteriorating"
    assert deserves_promotion(falling)
    assert not deserves_promotion(evaluate(UP, weekly([99, 98, 97]), week(2, days=1)))
    assert deserves_promotion(evaluate(UP, weekly([99, 85]), week(1, days=1)))


@pytest.mark.parametrize(
    ("achieved", "ev", "expected"),
    [
        (True, _ev("healthy", "stable", healthy=3), True),
        (True, _ev("healthy", "deteriorating", healthy=7), True),
        (True, _ev("healthy", "stable", healthy=2), False),
        (False, _ev("healthy", "stable", healthy=9), False),
        (True, _ev("stale", "stable", healthy=3), False),
        (True, _ev("warning", "stable", healthy=3), False),
    ],
)
def test_may_return_to_monitoring(achieved, ev, expected):
    assert may_return_to_monitoring(achieved, ev) is expected


def test_return_to_monitoring_from_a_real_series() -> None:
    ev = evaluate(UP, weekly([80, 88, 91, 92, 93]), week(4, days=1))
    assert may_return_to_monitoring(True, ev)
    ev = evaluate(UP, weekly([80, 88, 89, 92, 93]), week(4, days=1))
    assert not may_return_to_monitoring(True, ev)


# --------------------------------------------------------------------------- possible gaming

COST = Kpi("down", 10.0, 20.0, 30.0, "weekly")  # cost per lead: lower is better
AT = week(10, days=2)  # Wednesday of week 10: the span is weeks 8, 9, 10


def test_gaming_when_kr_improves_and_counter_worsens() -> None:
    kr = [Point(week(7), 100.0), Point(week(10), 130.0)]
    cost = [Point(week(7), 12.0), Point(week(9), 15.0)]
    assert possible_gaming(kr, "up", [(COST, cost)], AT, "weekly")


def test_no_gaming_when_counter_improves_or_holds() -> None:
    kr = [Point(week(7), 100.0), Point(week(10), 130.0)]
    assert not possible_gaming(
        kr, "up", [(COST, [Point(week(7), 12), Point(week(9), 11)])], AT, "weekly"
    )
    assert not possible_gaming(
        kr, "up", [(COST, [Point(week(7), 12), Point(week(9), 12)])], AT, "weekly"
    )


def test_no_gaming_when_kr_does_not_improve() -> None:
    cost = [Point(week(7), 12.0), Point(week(9), 15.0)]
    for kr in (
        [Point(week(7), 100.0), Point(week(10), 100.0)],
        [Point(week(7), 100.0), Point(week(10), 90.0)],
    ):
        assert not possible_gaming(kr, "up", [(COST, cost)], AT, "weekly")


def test_gaming_with_a_decreasing_kr_and_an_up_counter() -> None:
    conversion = Kpi("up", 0.3, 0.2, 0.1, "monthly")
    kr = [Point(week(6), 50.0), Point(week(9), 40.0)]  # e.g. cost per lead going down
    counter = [Point(week(5), 0.25), Point(week(8), 0.22)]  # lead-to-customer rate falling
    assert possible_gaming(kr, "down", [(COST, []), (conversion, counter)], AT, "weekly")
    assert not possible_gaming(kr, "up", [(conversion, counter)], AT, "weekly")


def test_gaming_span_starts_at_the_period_two_before_the_current_one() -> None:
    span_start = week(8)  # Monday 00:00 of week 8 belongs to the span, not before it
    kr = [Point(week(7), 100.0), Point(span_start, 100.0), Point(week(10), 130.0)]
    cost = [Point(week(7), 12.0), Point(week(10), 15.0)]
    assert possible_gaming(kr, "up", [(COST, cost)], AT, "weekly")
    moved_inside = [Point(span_start, 100.0), Point(week(10), 130.0)]  # nothing before span
    assert not possible_gaming(moved_inside, "up", [(COST, cost)], AT, "weekly")


def test_gaming_ignores_points_after_at_and_needs_data() -> None:
    kr = [Point(week(7), 100.0), Point(week(10), 130.0)]
    late = [Point(week(7), 12.0), Point(week(11), 50.0)]
    assert not possible_gaming(kr, "up", [(COST, late)], AT, "weekly")
    assert not possible_gaming([], "up", [(COST, late)], AT, "weekly")
    assert not possible_gaming(kr, "up", [], AT, "weekly")


def test_gaming_over_quarters() -> None:
    def q(year: int, month: int) -> datetime:
        return datetime(year, month, 15, tzinfo=UTC)

    at = q(2024, 8)  # Q3 2024: the span is Q1..Q3 2024, the reference is Q4 2023 or before
    kr = [Point(q(2023, 11), 1.0), Point(q(2024, 7), 2.0)]
    cost = [Point(q(2023, 12), 12.0), Point(q(2024, 2), 19.0)]
    assert possible_gaming(kr, "up", [(COST, cost)], at, "quarterly")
    # Over months (span June..August) the cost has not moved since February.
    assert not possible_gaming(kr, "up", [(COST, cost)], at, "monthly")


def test_gaming_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="kr_better"):
        possible_gaming([], "sideways", [], AT, "weekly")
    with pytest.raises(ValueError, match="cadence"):
        possible_gaming([], "up", [], AT, "daily")
