"""Insight methods on synthetic series with a known truth (docs/scoring.md, "Insight").

Every series is generated here, seeded, from processes that are not the methods' own
model: a linear trend with Student-t noise, a random walk with drift and Laplace steps, and
a trend with a step change at an unknown moment (plus AR(1) noise for the KPI tests).
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from scipy import stats

from headway.okrs import insight, scoring

N = 1000
WEEKS = 13
PROCESSES = ("trend", "random_walk", "step")


def _series(process: str, n: int, length: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` series of ``length`` weekly values from ``process`` (rows)."""
    t = np.arange(length, dtype=np.float64)
    scale = rng.uniform(0.5, 2.0, size=(n, 1))
    if process == "trend":
        slope = rng.normal(1.0, 0.5, size=(n, 1))
        noise = rng.standard_t(5, size=(n, length)) * math.sqrt(3 / 5)
        return 10 + slope * t + scale * noise
    if process == "random_walk":
        drift = rng.normal(1.0, 0.5, size=(n, 1))
        steps = rng.laplace(0.0, 1 / math.sqrt(2), size=(n, length))
        return 10 + np.cumsum(drift + scale * steps, axis=1)
    if process == "step":
        slope = rng.normal(0.5, 0.3, size=(n, 1))
        at = rng.integers(1, length, size=(n, 1))
        size = rng.choice([-1.0, 1.0], size=(n, 1)) * rng.uniform(1.0, 4.0, size=(n, 1))
        return 10 + slope * t + size * scale * (t >= at) + scale * rng.normal(size=(n, length))
    if process == "ar1":
        phi = 0.5
        e = np.empty((n, length))
        e[:, 0] = rng.normal(size=n)
        for k in range(1, length):
            e[:, k] = phi * e[:, k - 1] + math.sqrt(1 - phi * phi) * rng.normal(size=n)
        return 10 + rng.normal(0.3, 0.2, size=(n, 1)) * t + scale * e
    raise AssertionError(process)


# --------------------------------------------------------------------------- forecast


def _coverage(process: str, n: int, rng: np.random.Generator) -> float:
    series = _series(process, n, WEEKS + 1, rng)
    seen = rng.integers(insight.MIN_FORECAST_POINTS, 12, size=n)
    hits = 0
    for row, k in zip(series, seen, strict=True):
        prediction = insight.predict(zip(range(k), row[:k], strict=True), WEEKS)
        assert prediction is not None
        low, high = prediction.interval()
        hits += low <= row[WEEKS] <= high
    return hits / n


def test_forecast_interval_covers_the_realised_end_value_about_80_percent() -> None:
    rng = np.random.default_rng(22)
    per_process = {p: _coverage(p, N // 3 + (p == "trend"), rng) for p in PROCESSES}
    overall = sum(per_process.values()) / len(per_process)
    assert 0.75 <= overall <= 0.85, per_process
    # Not met per process (docs/scoring.md): 6-11 points cannot tell a trend from a random
    # walk well enough for one interval to suit both (seed 22: trend 88%, walk 65%, step 80%;
    # even the walk-only model covers only 78% of walks, and a trend interval <= 85% on trends
    # leaves walks <= 68%).
    assert all(0.6 <= c <= 0.95 for c in per_process.values()), per_process


def test_forecast_says_so_when_history_is_too_short() -> None:
    cycle = scoring.Cycle("q", date(2026, 1, 1), date(2026, 3, 31))
    checkins = tuple(
        scoring.CheckIn(at=cycle.starts_at + timedelta(weeks=w), value=10.0 + w)
        for w in range(1, 4)
    )
    kr = scoring.KeyResult("k", "increase", start=10.0, target=20.0, checkins=checkins)
    result = insight.kr_probability(kr, cycle, datetime(2026, 2, 1, tzinfo=UTC))
    assert result.probability is None
    assert result.points == 4
    assert "Too little history" in result.reason


def test_forecast_probability_of_a_key_result_on_a_steady_course() -> None:
    cycle = scoring.Cycle("q", date(2026, 1, 5), date(2026, 4, 5))
    rng = np.random.default_rng(1)
    checkins = tuple(
        scoring.CheckIn(
            at=cycle.starts_at + timedelta(weeks=w), value=float(w + rng.normal(0, 0.3))
        )
        for w in range(1, 8)
    )
    at = cycle.starts_at + timedelta(weeks=8)
    easy = scoring.KeyResult("e", "increase", start=0.0, target=10.0, checkins=checkins)
    hard = scoring.KeyResult("h", "increase", start=0.0, target=30.0, checkins=checkins)
    down = scoring.KeyResult("d", "decrease", start=0.0, target=-5.0, checkins=checkins)
    p_easy = insight.kr_probability(easy, cycle, at)
    assert p_easy.probability is not None
    assert p_easy.probability > 0.9
    assert p_easy.low is not None
    assert p_easy.high is not None
    assert p_easy.low < 13 < p_easy.high
    assert p_easy.score_high == 1.0
    p_hard = insight.kr_probability(hard, cycle, at).probability
    assert p_hard is not None
    assert p_hard < 0.05
    p_down = insight.kr_probability(down, cycle, at).probability
    assert p_down is not None
    assert p_down < 0.01
    milestone = scoring.KeyResult("m", "milestone")
    assert insight.kr_probability(milestone, cycle, at).probability is None


# --------------------------------------------------------------------------- calibration


def _outcomes(process: str, confidence: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Whether each key result landed, when its target is its end value's 1 - p quantile.

    The end value's distribution is sampled from the process itself, so a team stating
    p = confidence / 10 is perfectly calibrated whatever the process.
    """
    n = confidence.size
    paths = _series(process, n * 64, WEEKS + 1, rng)[:, -1].reshape(n, 64)
    truth = _series(process, n, WEEKS + 1, rng)[:, -1]
    # The same process parameters are not shared row by row, so compare in rank terms: the
    # realised end value's rank among fresh draws of the process is uniform.
    ranks = (paths < truth[:, None]).mean(axis=1) + rng.uniform(0, 1 / 64, size=n)
    return ranks >= 1 - confidence / 10


def test_calibration_of_a_perfectly_calibrated_team_matches_the_theoretical_brier() -> None:
    rng = np.random.default_rng(7)
    for process in PROCESSES:
        confidence = rng.integers(0, 11, size=N)
        landed = _outcomes(process, confidence, rng)
        result = insight.calibration(zip(confidence.tolist(), landed.tolist(), strict=True))
        p = confidence / 10
        theoretical = float(np.mean(p * (1 - p)))
        assert result.brier is not None
        assert abs(result.brier - theoretical) <= 0.02, (process, result.brier, theoretical)
        assert result.overconfident is False, process


def test_calibration_flags_an_overconfident_team() -> None:
    rng = np.random.default_rng(8)
    for process in PROCESSES:
        stated = rng.integers(6, 11, size=200)
        # Their key results land as if they had said three points less.
        landed = _outcomes(process, np.clip(stated - 3, 0, 10), rng)
        result = insight.calibration(zip(stated.tolist(), landed.tolist(), strict=True))
        assert result.overconfident is True, process
        row = result.row(8)
        assert row is not None
        assert row.rate < 0.8


def test_calibration_with_few_forecasts_gives_no_verdict() -> None:
    result = insight.calibration([(8, True), (8, False), (3, False)])
    assert result.forecasts == 3
    assert result.overconfident is None
    row = result.row(8)
    assert row is not None
    assert (row.forecasts, row.landed) == (2, 1)
    assert insight.calibration([]).brier is None
    with pytest.raises(ValueError):
        insight.confidence_probability(11)


# --------------------------------------------------------------------------- business as usual


HISTORY = 52  # a year of weekly KPI history before the cycle
LAPLACE_SUMS = np.random.default_rng(0).laplace(0.0, 1 / math.sqrt(2), size=(20_000, WEEKS)).sum(1)


def _bau_rates(process: str, rng: np.random.Generator, n: int = 300) -> tuple[float, float]:
    """Share of planted easy targets found and of planted hard targets falsely flagged.

    Each series is generated with known parameters, so the law of its end value given its
    history is known exactly: easy = that law's 2.5% quantile (the KPI gets there on its
    own with 97.5%), hard = its 75% quantile (25%).
    """
    t = np.arange(HISTORY + WEEKS, dtype=np.float64)
    end = t[-1]
    scale = rng.uniform(0.5, 2.0, size=n)
    slope = rng.normal(1.0, 0.5, size=n)
    if process == "trend":
        history = (
            10
            + slope[:, None] * t[:HISTORY]
            + scale[:, None] * rng.standard_t(5, size=(n, HISTORY)) * math.sqrt(3 / 5)
        )
        q = stats.t.ppf([0.025, 0.75], 5) * math.sqrt(3 / 5)
        quantiles = (10 + slope * end)[:, None] + scale[:, None] * q
    elif process == "random_walk":
        steps = slope[:, None] + scale[:, None] * rng.laplace(
            0.0, 1 / math.sqrt(2), size=(n, HISTORY)
        )
        history = 10 + np.cumsum(steps, axis=1)
        q = np.quantile(LAPLACE_SUMS, [0.025, 0.75])
        quantiles = (history[:, -1] + slope * WEEKS)[:, None] + scale[:, None] * q
    else:
        at = rng.integers(1, HISTORY, size=n)
        size = rng.choice([-1.0, 1.0], size=n) * rng.uniform(1.0, 4.0, size=n) * scale
        level = 10 + size[:, None] * (t[:HISTORY] >= at[:, None])
        history = (
            level + slope[:, None] * t[:HISTORY] + scale[:, None] * rng.normal(size=(n, HISTORY))
        )
        q = stats.norm.ppf([0.025, 0.75])
        quantiles = (10 + size + slope * end)[:, None] + scale[:, None] * q
    found = false = 0
    for row, (easy, hard) in zip(history, quantiles, strict=True):
        points = list(zip(range(HISTORY), row, strict=True))
        found += insight.business_as_usual(points, end, float(easy), True).easy
        false += insight.business_as_usual(points, end, float(hard), True).easy
    return found / n, false / n


def test_business_as_usual_finds_easy_targets_and_spares_hard_ones() -> None:
    rng = np.random.default_rng(9)
    rates = {process: _bau_rates(process, rng) for process in PROCESSES}
    for process in PROCESSES:
        found, false = rates[process]
        assert found >= 0.90, (process, found)
        assert false <= 0.10, (process, false)


# --------------------------------------------------------------------------- moved the KPI


def _moved_rate(
    process: str,
    shift: float,
    rng: np.random.Generator,
    sigma: str = "noise",
    n: int = 400,
    upwards: bool | None = True,
) -> float:
    """Share of ``n`` series (52 periods before the cycle, 13 in it) found to have moved.

    ``shift`` is planted at the cycle's start in units of sigma, measured on each series'
    history before the cycle: ``"noise"`` the standard deviation of the detrended history
    (for trend or AR(1) noise: the noise's own sd), ``"innovation"`` the standard deviation
    of the period-over-period changes (for a random walk: the sd of one step). The key
    result wants the KPI to go ``upwards`` (None: either way).
    """
    before = 52
    series = _series(process, n, before + WEEKS, rng)
    t = np.arange(before)
    for row in series:
        history = row[:before]
        if sigma == "noise":
            sd = np.std(history - np.polyval(np.polyfit(t, history, 1), t), ddof=2)
        else:
            sd = np.std(np.diff(history), ddof=1)
        row[before:] += shift * sd
    moved = 0
    for i, row in enumerate(series):
        found = insight.moved_the_kpi(row.tolist(), before, seed=i, upwards=upwards)
        moved += found.verdict == "moved"
    return moved / n


@pytest.mark.parametrize("process", ["trend", "random_walk", "ar1"])
def test_moved_the_kpi_keeps_false_positives_at_5_percent(process: str) -> None:
    rate = _moved_rate(process, 0.0, np.random.default_rng(11))
    # 400 series: the binomial standard error at 5% is 1.1 points, so a test at exactly 5%
    # is seen anywhere in 3-7%; 3,000 series per process are in docs/scoring.md.
    assert rate <= 0.05 + 0.03, rate


def test_moved_the_kpi_detects_a_level_shift_of_two_sigma() -> None:
    assert _moved_rate("trend", 2.0, np.random.default_rng(12)) >= 0.80
    assert _moved_rate("ar1", 2.0, np.random.default_rng(12)) >= 0.80
    # A random walk is tested on its changes. Its detrended history's sd grows with its
    # length (about 1.9 steps over 52 periods): 2 of those are found in >= 80%; 2 step sds
    # are one jump of 2 sd among the changes, which no one-sided 5% test finds in 80%
    # (at most ~64%, P(Z + 2 > 1.645); seed 12: 40.5%).
    assert _moved_rate("random_walk", 2.0, np.random.default_rng(12)) >= 0.80
    assert _moved_rate("random_walk", 2.0, np.random.default_rng(12), "innovation") >= 0.35


def test_moved_the_kpi_looks_the_way_the_key_result_wants() -> None:
    rng = np.random.default_rng(15)
    # A fall is not what an increase asked for; asked for a fall, it is found.
    assert _moved_rate("ar1", -2.0, rng, n=100) <= 0.05
    assert _moved_rate("ar1", -2.0, rng, n=100, upwards=False) >= 0.75
    # Without a direction both ways count (two-sided, so a little less power).
    assert _moved_rate("ar1", -2.0, rng, n=100, upwards=None) >= 0.6
    assert _moved_rate("random_walk", -2.0, rng, n=100, upwards=False) >= 0.75


def test_moved_the_kpi_finds_a_wandering_kpi_whose_drift_changed() -> None:
    # The changes test watches the slope too: from the cycle's start the walk's drift grows
    # by one step sd per period, with no jump (300 series, seed 16: 79.7%).
    rng = np.random.default_rng(16)
    series = _series("random_walk", 100, 65, rng)
    found = 0
    for i, row in enumerate(series):
        step = np.std(np.diff(row[:52]), ddof=1)
        row[52:] += step * np.arange(1, 14)
        found += insight.moved_the_kpi(row.tolist(), 52, seed=i, upwards=True).verdict == "moved"
    assert found / 100 >= 0.65


def test_moved_the_kpi_tests_a_wandering_kpi_on_its_changes() -> None:
    rng = np.random.default_rng(14)
    walk = _series("random_walk", 1, 65, rng)[0]
    steady = _series("trend", 1, 65, rng)[0]
    assert insight.moved_the_kpi(walk.tolist(), 52).tested == "changes"
    assert insight.moved_the_kpi(steady.tolist(), 52).tested == "levels"


def test_moved_the_kpi_without_enough_history_says_so() -> None:
    assert insight.moved_the_kpi([1.0] * 7 + [5.0] * 5, 7).verdict == "not_enough_data"
    assert insight.moved_the_kpi([1.0] * 10 + [5.0] * 2, 10).verdict == "not_enough_data"


# --------------------------------------------------------------------------- link decay


def test_co_movement_tells_a_living_link_from_a_decayed_one() -> None:
    rng = np.random.default_rng(13)
    living = decayed = 0
    for _ in range(200):
        outcome = np.cumsum(rng.normal(size=10))
        kpi_linked = 3 * outcome + rng.normal(scale=0.5, size=10)
        kpi_gone = np.cumsum(rng.normal(size=10))
        living += insight.co_movement(outcome.tolist(), kpi_linked.tolist()).decayed is False
        decayed += insight.co_movement(outcome.tolist(), kpi_gone.tolist()).decayed is True
    assert living / 200 >= 0.9
    assert decayed / 200 >= 0.9
    assert insight.co_movement([1.0, 2.0, 3.0], [1.0, 2.0, 4.0]).decayed is None
