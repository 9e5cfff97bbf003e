"""Trend (Mann-Kendall, Theil-Sen, streaks) and SPC anomalies, against independent references."""

from __future__ import annotations

import math
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from scipy import stats

from headway.kpis.health import (
    CADENCES,
    Anomaly,
    Kpi,
    Point,
    anomalies,
    evaluate,
    mann_kendall,
    review_periods,
    theil_sen,
    trend,
)

MONDAY = datetime(2024, 1, 1, tzinfo=UTC)
UP = Kpi("up", 95.0, 90.0, 85.0, "weekly")
DOWN = Kpi("down", 2.0, 5.0, 10.0, "weekly")


def week(n: int) -> datetime:
    return MONDAY + timedelta(weeks=n, hours=9)


def weekly(values: list[float] | np.ndarray) -> list[Point]:
    return [Point(week(i), float(v)) for i, v in enumerate(values)]


def zigzag_rise(n: int) -> list[float]:
    """Rises overall (+1 per period) but alternates +3 / -1: never 3 moves one way."""
    return [i + (2.0 if i % 2 else 0.0) for i in range(n)]


# --------------------------------------------------------------------------- Mann-Kendall


def test_mann_kendall_matches_hand_computation_with_a_tie() -> None:
    # x = 3 1 4 1 5 9. Signs of x_j - x_i for i < j, row by row:
    #   3: -1 +1 -1 +1 +1 = +1;  1: +1 0 +1 +1 = +3;  4: -1 +1 +1 = +1;  1: +1 +1 = +2;
    #   5: +1.  S = 8.
    # Var(S) = [6*5*17 - 2*1*9 (one pair of tied 1s)] / 18 = (510 - 18) / 18 = 82/3.
    # Z = (S - 1) / sqrt(Var) = 7 / sqrt(27.333) = 7 / 5.22813 = 1.33891; p = 2 (1 - Phi(Z)).
    result = mann_kendall([3, 1, 4, 1, 5, 9])
    assert result.s == 8
    assert result.var_s == pytest.approx(82 / 3, rel=1e-12)
    assert result.z == pytest.approx(7 / math.sqrt(82 / 3), rel=1e-12)
    assert result.z == pytest.approx(1.33891, abs=1e-5)
    assert result.p_value == pytest.approx(2 * (1 - statistics.NormalDist().cdf(result.z)))
    assert result.p_value == pytest.approx(0.18060, abs=1e-5)


def test_mann_kendall_decreasing_six_points_by_hand() -> None:
    # Strictly decreasing, no ties: S = -15, Var = 6*5*17/18 = 85/3,
    # Z = (-15 + 1) / sqrt(85/3) = -14 / 5.32291 = -2.63015, p = 2 (1 - Phi(2.63015)).
    result = mann_kendall([6, 5, 4, 3, 2, 1])
    assert result.s == -15
    assert result.var_s == pytest.approx(85 / 3)
    assert result.z == pytest.approx(-14 / math.sqrt(85 / 3))
    assert result.p_value == pytest.approx(0.008535, abs=1e-6)


@pytest.mark.parametrize("seed", range(6))
def test_mann_kendall_agrees_with_scipy_kendalltau(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 60))
    # Rounded values give plenty of ties, so the tie correction is exercised.
    y = np.round(rng.normal(0.0, 3.0, n) + rng.uniform(-0.2, 0.2) * np.arange(n))
    x = np.arange(n)
    ref = stats.kendalltau(x, y, method="asymptotic")
    result = mann_kendall(y)
    # tau_b = S / sqrt(n0 (n0 - n2)) with n0 = n(n-1)/2 and n2 the tied pairs of y.
    _, counts = np.unique(y, return_counts=True)
    n0 = n * (n - 1) / 2
    n2 = float((counts * (counts - 1) / 2).sum())
    assert result.s == round(ref.statistic * math.sqrt(n0 * (n0 - n2)))
    # scipy's asymptotic p uses Z = S / sqrt(Var S) with the same tie-corrected variance and
    # no continuity correction: rebuilding its p from our Var(S) checks the variance.
    assert math.erfc(abs(result.s) / math.sqrt(result.var_s) / math.sqrt(2)) == pytest.approx(
        ref.pvalue, rel=1e-9
    )


@pytest.mark.parametrize("values", [[], [4.0], [2.0, 2.0], [7.0] * 30])
def test_mann_kendall_degenerate_series(values):
    result = mann_kendall(values)
    assert (result.s, result.z, result.p_value) == (0, 0.0, 1.0)
    assert not math.isnan(result.var_s)


# --------------------------------------------------------------------------- Theil-Sen


@pytest.mark.parametrize("seed", range(5))
def test_theil_sen_agrees_with_scipy(seed):
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(3, 70))
    x = np.sort(rng.choice(200, size=n, replace=False)).astype(float)  # gaps in x
    y = np.round(0.4 * x + rng.normal(0.0, 5.0, n), 1)
    assert theil_sen(x, y) == pytest.approx(stats.theilslopes(y, x).slope, rel=1e-12)


def test_theil_sen_hand_computation() -> None:
    # Pairwise slopes of (0,1) (1,3) (3,4): 2/1, 3/3, 1/2 -> median 1.
    assert theil_sen([0, 1, 3], [1, 3, 4]) == 1.0
    # Tied x pairs are skipped: slopes of (0,0) (1,2) (1,4): 2, 4 -> median 3.
    assert theil_sen([0, 1, 1], [0, 2, 4]) == 3.0
    assert theil_sen([5], [1]) is None
    assert theil_sen([2, 2], [1, 3]) is None


def test_slope_is_per_calendar_period_across_gaps() -> None:
    points = [Point(week(i), 10.0 + 2.0 * i) for i in (0, 1, 4, 5, 9)]
    verdict, slope, p_value = trend(UP, points)
    assert slope == pytest.approx(2.0)
    # The gaps break the streak (weeks 5 -> 9 is not consecutive) but Mann-Kendall on
    # 5 rising values (S = 10, Var = 50/3, Z = 9 / 4.08248 = 2.20454) is significant.
    assert evaluate(UP, points, week(9)).right_way_streak == 0
    assert p_value == pytest.approx(0.027486, abs=1e-6)
    assert verdict == "improving"


# --------------------------------------------------------------------------- trend rules


@pytest.mark.parametrize("cadence", CADENCES)
def test_three_wrong_moves_deteriorate_for_each_cadence(cadence):
    starts = {"weekly": timedelta(weeks=1), "monthly": timedelta(days=31)}
    starts["quarterly"] = timedelta(days=92)
    at = [MONDAY + k * starts[cadence] for k in range(4)]
    up = Kpi("up", 95.0, 90.0, 85.0, cadence)
    down = Kpi("down", 2.0, 5.0, 10.0, cadence)
    falling = [Point(t, v) for t, v in zip(at, [99, 98, 97, 96], strict=True)]
    rising = [Point(t, v) for t, v in zip(at, [1, 2, 3, 4], strict=True)]
    assert trend(up, falling)[0] == "deteriorating"
    assert trend(down, falling)[0] == "improving"
    assert trend(up, rising)[0] == "improving"
    assert trend(down, rising)[0] == "deteriorating"
    assert trend(up, falling[1:])[0] == "stable"  # two moves are not enough


def test_streak_needs_strict_moves() -> None:
    assert trend(UP, weekly([99, 98, 98, 97]))[0] == "stable"
    assert trend(UP, weekly([99, 98, 97.5, 97.499]))[0] == "deteriorating"


def test_significant_test_decides_without_a_streak() -> None:
    values = zigzag_rise(20)
    mk = mann_kendall(values)
    assert mk.p_value < 0.05
    assert mk.s > 0
    verdict, slope, p_value = trend(UP, weekly(values))
    assert verdict == "improving"
    assert p_value == pytest.approx(mk.p_value)
    assert slope == pytest.approx(stats.theilslopes(values, range(20)).slope)
    assert trend(DOWN, weekly(values))[0] == "deteriorating"


def test_recent_streak_wins_over_a_disagreeing_test() -> None:
    values = [*zigzag_rise(30), 28.0, 27.0, 26.0]  # overall up, last 3 moves down
    assert mann_kendall(values[-52:]).p_value < 0.05
    assert mann_kendall(values[-52:]).s > 0
    ev = evaluate(UP, weekly(values), week(len(values)))
    assert (ev.trend, ev.wrong_way_streak) == ("deteriorating", 3)
    assert trend(DOWN, weekly(values))[0] == "improving"


def test_insignificant_series_is_stable() -> None:
    values = [5.0, 7.0, 4.0, 6.0, 5.0, 7.0, 4.0, 6.0, 5.0]
    verdict, _, p_value = trend(UP, weekly(values))
    assert verdict == "stable"
    assert p_value is not None
    assert p_value >= 0.05


def test_test_needs_four_periods_and_slope_two() -> None:
    assert trend(UP, weekly([1.0])) == ("stable", None, None)
    assert trend(UP, weekly([1.0, 3.0])) == ("stable", 2.0, None)
    assert trend(UP, weekly([1.0, 3.0, 2.0]))[2] is None
    assert trend(UP, weekly([1.0, 3.0, 2.0, 4.0]))[2] is not None
    assert trend(UP, []) == ("stable", None, None)


def test_four_periods_cannot_reach_significance() -> None:
    # Max |S| = 6 for n = 4: Z = 5 / sqrt(4*3*13/18) = 1.698 < 1.96, so only streaks decide.
    assert mann_kendall([1, 2, 3, 4]).p_value == pytest.approx(0.0894, abs=1e-3)


def test_constant_series_is_stable_without_nan() -> None:
    verdict, slope, p_value = trend(DOWN, weekly([3.0] * 40))
    assert (verdict, slope, p_value) == ("stable", 0.0, 1.0)


def test_trend_window_is_the_last_52_weeks() -> None:
    # 100 weeks falling, then 52 weeks of flat noise: only the noise is in the window.
    old = [200.0 - i for i in range(100)]
    rng = random.Random(3)
    recent = [100.0 + rng.choice([-1.0, 1.0]) for _ in range(52)]
    values = old + recent
    verdict, _, p_value = trend(UP, weekly(values))
    assert p_value == pytest.approx(mann_kendall(recent).p_value)
    assert mann_kendall(values).p_value < 1e-6  # over the whole series it would be significant
    assert verdict == "stable"


def test_trend_window_is_calendar_periods_not_count() -> None:
    # Monthly KPI: a point 3 years old is outside the 24-month window despite the gap.
    k = Kpi("up", None, None, None, "monthly")
    points = [Point(datetime(2020, 1, 10, tzinfo=UTC), 0.0)] + [
        Point(datetime(2023, m, 10, tzinfo=UTC), v) for m, v in [(1, 5), (2, 4), (4, 6), (5, 5)]
    ]
    _, slope, p_value = trend(k, points)
    assert p_value == pytest.approx(mann_kendall([5, 4, 6, 5]).p_value)
    assert slope == pytest.approx(stats.theilslopes([5, 4, 6, 5], [0, 1, 3, 4]).slope)


def test_trend_regroups_raw_points_by_period() -> None:
    # Several points a week: only the latest of each week counts.
    raw = []
    for i, v in enumerate([99.0, 98.0, 97.0, 96.0]):
        raw += [Point(week(i), 50.0), Point(week(i) + timedelta(days=1), v)]
    assert trend(UP, raw) == trend(UP, review_periods(raw, "weekly", week(10)))
    assert trend(UP, raw)[0] == "deteriorating"


def test_duplicates_and_gaps_do_not_crash() -> None:
    points = [Point(week(i), float(i % 3)) for i in (0, 0, 1, 5, 5, 6, 20, 21, 21)]
    ev = evaluate(UP, points, week(30))
    assert ev.trend in ("improving", "stable", "deteriorating")
    assert ev.slope_per_period is not None
    assert not math.isnan(ev.slope_per_period)
    assert ev.p_value is not None
    assert not math.isnan(ev.p_value)


# --------------------------------------------------------------------------- anomalies


def reference_anomalies(values: list[float]) -> list[tuple[int, str]]:
    """Plain-Python statement of the documented SPC rules, using the statistics module."""
    found: list[tuple[int, str]] = []
    run_side, run_length = 0, 0
    for i, x in enumerate(values):
        base = values[max(0, i - 20) : i]
        if len(base) < 8:
            continue
        mean, sd = statistics.fmean(base), statistics.stdev(base)
        if abs(x - mean) > 3 * sd:
            found.append((i, "beyond-3-sigma"))
        side = (x > mean) - (x < mean)
        run_length = run_length + 1 if side and side == run_side else (1 if side else 0)
        run_side = side
        if run_length >= 8:
            found.append((i, "run-of-8"))
    return found


def flagged(values: list[float]) -> list[tuple[int, str]]:
    points = weekly(values)
    index = {p.at: i for i, p in enumerate(points)}
    return [(index[a.at], a.rule) for a in anomalies(points)]


def test_beyond_three_sigma_boundary_by_hand() -> None:
    # Baseline 13 7 12 8 11 9 10 10: mean 10, squared deviations sum 28, sample var 28/7 = 4,
    # sd 2, so the limits are 4 and 16; reaching a limit is not beyond it.
    base = [13.0, 7.0, 12.0, 8.0, 11.0, 9.0, 10.0, 10.0]
    assert statistics.fmean(base) == 10.0
    assert statistics.stdev(base) == 2.0
    assert flagged([*base, 16.0]) == []
    assert flagged([*base, 4.0]) == []
    assert flagged([*base, 16.5]) == [(8, "beyond-3-sigma")]
    assert flagged([*base, 3.5]) == [(8, "beyond-3-sigma")]


def test_anomaly_reports_the_period_point() -> None:
    base = [13.0, 7.0, 12.0, 8.0, 11.0, 9.0, 10.0, 10.0]
    assert anomalies(weekly([*base, 30.0])) == (Anomaly(week(8), 30.0, "beyond-3-sigma"),)


def test_no_anomaly_before_eight_baseline_periods() -> None:
    assert flagged([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 100.0]) == []
    assert anomalies([]) == ()
    assert anomalies(weekly([5.0])) == ()


def test_run_of_eight_flags_the_eighth_and_later_by_hand() -> None:
    # Baseline 9 11 9 11 9 11 9 11 (mean 10), then 12 periods at 10.5: each baseline still
    # holds the low values, so every 10.5 is above its mean; the 8th is index 15.
    values = [9.0, 11.0] * 4 + [10.5] * 12
    assert flagged(values) == [(i, "run-of-8") for i in range(15, 20)]
    assert flagged(values) == reference_anomalies(values)


def test_run_is_broken_by_a_point_on_the_other_side() -> None:
    values = [9.0, 11.0] * 4 + [10.5] * 6 + [9.5] + [10.5] * 7
    assert flagged(values) == reference_anomalies(values) == []


def test_point_flagged_by_both_rules_gives_two_anomalies() -> None:
    values = [9.0, 11.0] * 4 + [10.5] * 7 + [30.0]
    assert flagged(values) == [(15, "beyond-3-sigma"), (15, "run-of-8")]


def test_constant_baseline_flags_any_departure_only() -> None:
    values = [0.1] * 25
    assert flagged(values) == []
    assert flagged([*values, 0.1 + 1e-9]) == [(25, "beyond-3-sigma")]
    assert flagged([0.3] * 12 + [0.1 + 0.2]) == [(12, "beyond-3-sigma")]  # 0.1+0.2 != 0.3


@pytest.mark.parametrize("seed", range(8))
def test_anomalies_agree_with_plain_python_reference(seed):
    rng = random.Random(seed)
    level, values = 50.0, []
    for _ in range(rng.randrange(30, 400)):
        if rng.random() < 0.02:
            level += rng.choice([-8.0, 8.0])  # level shifts give runs
        spike = rng.choice([0.0] * 40 + [15.0, -15.0])  # occasional spikes
        values.append(round(level + rng.gauss(0, 2) + spike, 3))
    assert flagged(values) == reference_anomalies(values)


def test_anomalies_sort_unsorted_periods_by_time() -> None:
    base = [13.0, 7.0, 12.0, 8.0, 11.0, 9.0, 10.0, 10.0, 30.0]
    points = weekly(base)
    assert anomalies(list(reversed(points))) == anomalies(points)


def test_evaluate_reports_anomalies_of_its_periods() -> None:
    base = [13.0, 7.0, 12.0, 8.0, 11.0, 9.0, 10.0, 10.0, 30.0]
    ev = evaluate(DOWN, weekly(base), week(9))
    assert ev.anomalies == anomalies(ev.periods)
    assert [a.rule for a in ev.anomalies] == ["beyond-3-sigma"]


# --------------------------------------------------------------------------- performance


def test_evaluate_is_fast_on_long_series() -> None:
    rng = np.random.default_rng(0)
    series = [
        (
            Kpi("up", 95.0, 90.0, 85.0, CADENCES[k % 3]),
            weekly(90.0 + np.cumsum(rng.normal(0.0, 1.0, 1000))),
        )
        for k in range(100)
    ]
    at = week(1000)
    start = time.perf_counter()
    results = [evaluate(k, points, at) for k, points in series]
    elapsed = time.perf_counter() - start
    # About 0.5 ms each on a laptop; the bound is loose so slow CI does not flake.
    assert elapsed < 3.0
    for ev in results:
        assert ev.p_value is not None
        assert not math.isnan(ev.p_value)
