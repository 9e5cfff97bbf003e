"""Insight across cycles: probabilistic forecasts, calibration, business-as-usual targets,
"did it move the KPI?" and KPI-link decay.

Pure code over numbers (no Django, no database): the database layer turns check-ins and
measurements into ``(x, value)`` points and calls these functions. ``docs/scoring.md``
("Insight across cycles") states every method, its test and its figures on synthetic data.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy import stats

from headway.kpis import health
from headway.okrs import scoring

__all__ = [
    "BAU_PROBABILITY",
    "FORECAST_LEVEL",
    "MIN_FORECAST_POINTS",
    "BusinessAsUsual",
    "Calibration",
    "CoMovement",
    "KpiMove",
    "Prediction",
    "Probability",
    "ReliabilityRow",
    "business_as_usual",
    "calibration",
    "co_movement",
    "confidence_probability",
    "kpi_history",
    "kr_probability",
    "moved_the_kpi",
    "predict",
    "reaches_upwards",
]

_Floats = npt.NDArray[np.float64]

#: The forecast interval's coverage: "80% range".
FORECAST_LEVEL: Final = 0.80
#: Fewest value points (the key result's start counts as one) for a probabilistic forecast.
MIN_FORECAST_POINTS: Final = 6
#: A target the KPI's own trend reaches with at least this probability is business as usual.
BAU_PROBABILITY: Final = 0.80
#: Fewest forecasts for the over-confidence test, and its one-sided level.
MIN_CALIBRATION_FORECASTS: Final = 20
OVERCONFIDENCE_Z: Final = 1.645
#: "Did it move the KPI?": periods needed before and after the cycle's start, the level of
#: the test, its bootstrap size, and the (bias-corrected) autocorrelation of the detrended
#: history from which a KPI counts as wandering and is tested on its changes.
MIN_PERIODS_BEFORE: Final = 8
MIN_PERIODS_AFTER: Final = 3
MOVED_ALPHA: Final = 0.05
BOOTSTRAP_SAMPLES: Final = 499
LEVELS_CRITICAL_SAMPLES: Final = 4000
WANDERING_RHO: Final = 0.65
#: KPI-link decay: the last this-many paired period changes, Spearman, one-sided level.
CO_MOVEMENT_WINDOW: Final = 8
MIN_CO_MOVEMENT: Final = 6
CO_MOVEMENT_ALPHA: Final = 0.05


# --------------------------------------------------------------------------- prediction


@dataclass(frozen=True, slots=True)
class Prediction:
    """The predictive distribution of a series' value at ``x``: Student t(mean, sd, df)."""

    x: float
    mean: float
    sd: float
    df: float

    def interval(self, level: float = FORECAST_LEVEL) -> tuple[float, float]:
        q = float(stats.t.ppf(0.5 + level / 2, self.df)) * self.sd
        return self.mean - q, self.mean + q

    def probability_at_least(self, threshold: float) -> float:
        if self.sd <= 0.0:
            return 1.0 if self.mean >= threshold else 0.0
        return float(stats.t.sf((threshold - self.mean) / self.sd, self.df))

    def probability_at_most(self, threshold: float) -> float:
        if self.sd <= 0.0:
            return 1.0 if self.mean <= threshold else 0.0
        return float(stats.t.cdf((threshold - self.mean) / self.sd, self.df))


@dataclass(frozen=True, slots=True)
class _Fit:
    """One local-level fit per signal-to-noise ratio, with its likelihood weight."""

    slope: float
    level: _Floats  # filtered level of the detrended series after the last point
    level_var: _Floats
    noise_var: _Floats  # measurement noise per point
    wander_var: _Floats  # random-walk variance per unit of x
    slope_var: _Floats
    anchor: _Floats  # where the level estimate sits in x
    weight: _Floats
    x_last: float
    increments: int


def _points(points: Iterable[tuple[float, float]]) -> tuple[_Floats, _Floats]:
    """Sorted x and y; points at an equal x are averaged (one observation per moment)."""
    pairs = sorted((float(x), float(y)) for x, y in points)
    xs = np.array([p[0] for p in pairs], dtype=np.float64)
    ys = np.array([p[1] for p in pairs], dtype=np.float64)
    if xs.size == 0:
        return xs, ys
    ux, inverse = np.unique(xs, return_inverse=True)
    sums = np.bincount(inverse, weights=ys)
    counts = np.bincount(inverse)
    return ux, sums / counts


#: Signal-to-noise ratios (wander per median step over noise) the likelihood chooses from;
#: 0 is a straight trend with noise, the largest is practically a random walk with drift.
_RATIOS: Final = np.concatenate([[0.0], np.geomspace(1e-3, 1e3, 31)])


def _fit(x: _Floats, y: _Floats) -> _Fit:
    """Theil-Sen trend plus a local-level model of what is left (see docs/scoring.md).

    The deviations from the trend are a random walk (variance ``wander_var`` per unit of x)
    seen through independent noise (``noise_var``). Their ratio is chosen by maximum
    likelihood over a grid (Kalman filter, noise variance concentrated out), so a series
    that wanders gets a widening interval and a steady trend a narrow one.
    """
    n = x.size
    i, j = np.triu_indices(n, k=1)
    slope = float(np.median((y[j] - y[i]) / (x[j] - x[i])))
    dt = np.diff(x)
    unit = float(np.median(dt))
    r = y - slope * x
    q = _RATIOS / unit
    # One filter per ratio, in noise units; the first value fixes the level (diffuse start).
    level = np.full(q.size, r[0])
    # The same filter run over x finds where the level estimate sits in time: the slope's
    # error acts over the distance from there (the mean x for a trend, the last x for a walk).
    anchor = np.full(q.size, x[0])
    var = np.ones(q.size)
    log_f = np.zeros(q.size)
    sum_v2f = np.zeros(q.size)
    for k in range(1, n):
        var = var + q * dt[k - 1]
        f = var + 1.0
        v = r[k] - level
        log_f += np.log(f)
        sum_v2f += v * v / f
        gain = var / f
        level = level + gain * v
        anchor = anchor + gain * (x[k] - anchor)
        var = var * (1.0 - gain)
    m = n - 1
    sigma2 = sum_v2f / m
    with np.errstate(divide="ignore"):
        loglik = -0.5 * (log_f + m * np.log(np.maximum(sigma2, 1e-300)))
    # Likelihood weights (flat prior over the log-spaced grid): short histories that
    # cannot tell a trend from a walk hedge between them, long ones pick one.
    weight = np.exp(loglik - loglik.max())
    weight /= weight.sum()
    # The m one-step errors also paid for the Theil-Sen slope: the variance is estimated
    # on m - 1 degrees of freedom, as the Student t of the prediction has (n - 2).
    noise = sigma2 * m / max(m - 1, 1)
    wander = q * noise
    sxx = float(np.sum((x - x.mean()) ** 2))
    span = float(x[-1] - x[0])
    return _Fit(
        slope=slope,
        level=level,
        level_var=var * noise,
        noise_var=noise,
        wander_var=wander,
        # Theil-Sen on a random walk varies about 6/5 as much as the mean step would.
        slope_var=noise / sxx + 1.2 * wander / span,
        anchor=anchor,
        weight=weight,
        x_last=float(x[-1]),
        increments=m,
    )


#: Shifted-trend models (``_breaks``): fewest points in the series, and before / after the
#: shift (a short history cannot tell a shift from noise; see docs/scoring.md).
MIN_BREAK_POINTS: Final = 12
BREAK_BEFORE: Final = 3
BREAK_AFTER: Final = 2


def _breaks(x: _Floats, y: _Floats, at: float) -> tuple[_Floats, _Floats, _Floats, float]:
    """Trend-plus-one-level-shift models, one per break, predicting the value at ``at``.

    y = a + b x + c [x >= x_tau] + iid noise, fitted by least squares for every break with
    BREAK_BEFORE points before it and BREAK_AFTER from it on, in a series of at least
    MIN_BREAK_POINTS. Returns the predictive means, variances, log evidence relative to
    the straight trend (concentrated likelihood ratio; ``predict`` spreads the shift's
    prior over its positions), and the df.
    """
    n = x.size
    if n < MIN_BREAK_POINTS:
        empty = np.zeros(0)
        return empty, empty, empty, 1.0
    taus = np.arange(BREAK_BEFORE, n - BREAK_AFTER + 1)
    base = np.column_stack([np.ones(n), x])
    _, rss0, *_ = np.linalg.lstsq(base, y, rcond=None)
    rss_trend = float(rss0[0]) if rss0.size else 0.0
    means = np.empty(taus.size)
    variances = np.empty(taus.size)
    evidence = np.empty(taus.size)
    point = np.array([1.0, at, 1.0])
    for i, tau in enumerate(taus):
        design = np.column_stack([base, (np.arange(n) >= tau).astype(np.float64)])
        gram_inv = np.linalg.inv(design.T @ design)
        beta = gram_inv @ design.T @ y
        rss = float(np.sum((y - design @ beta) ** 2))
        s2 = rss / (n - 3)
        means[i] = float(point @ beta)
        variances[i] = s2 * (1.0 + float(point @ gram_inv @ point))
        evidence[i] = 0.5 * n * math.log(max(rss_trend, 1e-300) / max(rss, 1e-300))
    return means, variances, evidence, float(n - 3)


def predict(points: Iterable[tuple[float, float]], x: float) -> Prediction | None:
    """Predictive distribution of the series' value at ``x`` (after its last point).

    A likelihood-weighted mixture of the local-level fits (``_fit``) and, from
    MIN_BREAK_POINTS points on, of a trend with one level shift at each possible break
    (``_breaks``), whose weight is the straight trend's times their evidence against it.
    None with fewer than MIN_FORECAST_POINTS distinct x values.
    """
    xs, ys = _points(points)
    if xs.size < MIN_FORECAST_POINTS:
        return None
    fit = _fit(xs, ys)
    h = max(x - fit.x_last, 0.0)
    means = fit.level + fit.slope * x
    lever = x - fit.anchor
    variances = fit.level_var + fit.wander_var * h + fit.noise_var + fit.slope_var * lever**2
    weight = fit.weight
    b_means, b_vars, b_evidence, _ = _breaks(xs, ys, x)
    if b_means.size:
        # fit.weight[0] is the straight trend (ratio 0): the break models are weighed
        # against it, one shift as likely a priori as none, spread evenly over positions.
        b_weight = fit.weight[0] * np.exp(np.minimum(b_evidence, 700.0)) / b_means.size
        means = np.concatenate([means, b_means])
        variances = np.concatenate([variances, b_vars])
        weight = np.concatenate([weight, b_weight])
        weight = weight / weight.sum()
    mean = float(np.sum(weight * means))
    var = float(np.sum(weight * (variances + (means - mean) ** 2)))
    return Prediction(x=x, mean=mean, sd=math.sqrt(max(var, 0.0)), df=max(fit.increments - 1, 1))


# --------------------------------------------------------------------------- key results


@dataclass(frozen=True, slots=True)
class Probability:
    """How likely a key result is to reach its target by the cycle's end.

    ``probability`` is None when there is too little history, and ``reason`` says why.
    ``low``/``high`` bound the 80% interval of the end value, ``score_low``/``score_high``
    the same interval scored by the key result's rule.
    """

    probability: float | None
    low: float | None = None
    high: float | None = None
    score_low: float | None = None
    score_high: float | None = None
    points: int = 0
    reason: str = ""

    def as_dict(self) -> dict[str, float | int | str | None]:
        return {
            "probability": self.probability,
            "low": self.low,
            "high": self.high,
            "score_low": self.score_low,
            "score_high": self.score_high,
            "points": self.points,
            "reason": self.reason,
        }


_DAY_SECONDS: Final = 86_400.0
_END_OF_TIME: Final = datetime.max.replace(tzinfo=UTC)


def reaches_upwards(kind: str, start: float | None, target: float) -> bool:
    """Whether reaching ``target`` means getting to it or above (else to it or below)."""
    if kind == "above":
        return True
    if kind == "below":
        return False
    if start is None or start == target:
        return kind == "increase"
    return target > start


def kpi_history(
    points: Iterable[tuple[datetime, float]], cadence: str | None, before: datetime
) -> tuple[tuple[datetime, float], ...]:
    """A KPI's review periods before ``before`` (its trend window), as (moment, value).

    The latest measurement of each period counts, as for its trend (docs/kpis.md); a KPI
    without a cadence is read weekly.
    """
    period = cadence if cadence in health.CADENCES else "weekly"
    chosen = health.review_periods(
        [health.Point(at, value) for at, value in points if at < before],
        period,
        before,
    )
    window = chosen[-health.TREND_WINDOW[period] :]
    return tuple((p.at, p.value) for p in window)


def kr_probability(kr: scoring.KeyResult, cycle: scoring.Cycle, at: datetime) -> Probability:
    """Probability that ``kr`` reaches its target at ``cycle``'s end, from history up to ``at``.

    The points are the check-ins with a value (x in days from the cycle's start) plus the
    start at the cycle's start, as for the linear forecast.
    """
    if kr.kind in ("milestone", "objectives"):
        return Probability(None, reason="A milestone or roll-up has no numeric history.")
    if kr.target is None or (kr.kind in ("increase", "decrease") and kr.start is None):
        return Probability(None, reason="Not measurable: it needs a start and a target.")
    origin = cycle.starts_at
    points = [
        ((c.at - origin).total_seconds() / _DAY_SECONDS, c.value)
        for c in kr.checkins
        if c.at <= at and c.value is not None
    ]
    if kr.start is not None:
        points.append((0.0, kr.start))
    distinct = len({x for x, _ in points})
    if distinct < MIN_FORECAST_POINTS:
        return Probability(
            None,
            points=distinct,
            reason=f"Too little history: {distinct} of the {MIN_FORECAST_POINTS} values "
            "a forecast needs.",
        )
    end = (cycle.ends_at - origin).total_seconds() / _DAY_SECONDS
    prediction = predict(points, end)
    assert prediction is not None
    low, high = prediction.interval()
    up = reaches_upwards(kr.kind, kr.start, kr.target)
    p = (
        prediction.probability_at_least(kr.target)
        if up
        else prediction.probability_at_most(kr.target)
    )
    s_low, s_high = sorted((_score(kr, low), _score(kr, high)))
    return Probability(
        probability=p, low=low, high=high, score_low=s_low, score_high=s_high, points=distinct
    )


def _score(kr: scoring.KeyResult, value: float) -> float:
    probe = scoring.KeyResult(
        key=kr.key,
        kind=kr.kind,
        start=kr.start,
        target=kr.target,
        checkins=(scoring.CheckIn(at=_END_OF_TIME, value=value),),
    )
    return scoring.kr_score(probe, _END_OF_TIME)


# --------------------------------------------------------------------------- calibration


def confidence_probability(confidence: int) -> float:
    """Confidence 0-10 read as the probability of reaching the target: confidence / 10."""
    if isinstance(confidence, bool) or confidence not in range(11):
        raise ValueError(f"confidence must be an integer 0-10, got {confidence!r}")
    return confidence / 10.0


@dataclass(frozen=True, slots=True)
class ReliabilityRow:
    """Forecasts stated at one confidence and how many of them landed."""

    confidence: int
    forecasts: int
    landed: int

    @property
    def rate(self) -> float:
        return self.landed / self.forecasts


@dataclass(frozen=True, slots=True)
class Calibration:
    """Brier score, reliability table and over-confidence verdict of a set of forecasts.

    ``expected_brier`` is the Brier score a perfectly calibrated forecaster stating the same
    confidences would expect (mean of p(1 - p)). ``overconfident`` is None below
    MIN_CALIBRATION_FORECASTS forecasts.
    """

    forecasts: int
    brier: float | None
    expected_brier: float | None
    rows: tuple[ReliabilityRow, ...]
    z: float | None
    overconfident: bool | None

    def row(self, confidence: int) -> ReliabilityRow | None:
        return next((r for r in self.rows if r.confidence == confidence), None)

    def as_dict(self) -> dict[str, object]:
        return {
            "forecasts": self.forecasts,
            "brier": self.brier,
            "expected_brier": self.expected_brier,
            "z": self.z,
            "overconfident": self.overconfident,
            "rows": [
                {"confidence": r.confidence, "forecasts": r.forecasts, "landed": r.landed}
                for r in self.rows
            ],
        }


def calibration(forecasts: Iterable[tuple[int, bool]]) -> Calibration:
    """Score (confidence 0-10, landed) pairs.

    Over-confidence is a one-sided test that the stated probabilities exceed what landed:
    z = sum(p - o) / sqrt(sum p(1 - p)) >= 1.645 (5%), computed when there are at least
    MIN_CALIBRATION_FORECASTS forecasts.
    """
    pairs = [(confidence_probability(c), bool(o), c) for c, o in forecasts]
    if not pairs:
        return Calibration(0, None, None, (), None, None)
    p = np.array([a for a, _, _ in pairs], dtype=np.float64)
    o = np.array([b for _, b, _ in pairs], dtype=np.float64)
    brier = float(np.mean((p - o) ** 2))
    expected = float(np.mean(p * (1.0 - p)))
    counts = np.bincount([c for _, _, c in pairs], minlength=11)
    landed = np.bincount([c for _, _, c in pairs], weights=o, minlength=11)
    rows = tuple(
        ReliabilityRow(c, int(counts[c]), round(float(landed[c]))) for c in range(11) if counts[c]
    )
    z: float | None = None
    flag: bool | None = None
    if len(pairs) >= MIN_CALIBRATION_FORECASTS:
        spread = float(np.sum(p * (1.0 - p)))
        excess = float(np.sum(p - o))
        # Only 0s and 10s: any miss of a 10 is over-confidence, no spread to test against.
        z = excess / math.sqrt(spread) if spread > 0.0 else (math.inf if excess > 0 else 0.0)
        flag = z >= OVERCONFIDENCE_Z
    return Calibration(len(pairs), brier, expected, rows, z, flag)


# --------------------------------------------------------------------------- KPIs


@dataclass(frozen=True, slots=True)
class BusinessAsUsual:
    """Where a KPI's own trend takes it by the cycle's end, and whether that meets a target."""

    probability: float | None
    projected: float | None
    low: float | None
    high: float | None
    easy: bool
    reason: str = ""


def business_as_usual(
    points: Iterable[tuple[float, float]], x_end: float, target: float, upwards: bool
) -> BusinessAsUsual:
    """Would the KPI reach ``target`` at ``x_end`` on its own trend (probability >= 0.8)?

    ``points`` are the KPI's review periods before the cycle starts (x in any unit that
    ``x_end`` shares); ``upwards``: reaching means at least the target, else at most.
    """
    prediction = predict(points, x_end)
    if prediction is None:
        return BusinessAsUsual(None, None, None, None, False, reason="Too little KPI history.")
    p = (
        prediction.probability_at_least(target)
        if upwards
        else prediction.probability_at_most(target)
    )
    low, high = prediction.interval()
    return BusinessAsUsual(p, prediction.mean, low, high, p >= BAU_PROBABILITY)


@dataclass(frozen=True, slots=True)
class KpiMove:
    """The verdict of "did it move the KPI?": moved, already_heading or not_enough_data."""

    verdict: str
    p_value: float | None = None
    level_change: float | None = None
    slope_change: float | None = None
    reason: str = ""
    #: What the test was run on: "levels" (the values) or "changes" (a wandering KPI).
    tested: str = ""


VERDICTS: Final = ("moved", "already_heading", "not_enough_data")


def _whiten(z: _Floats, rho: _Floats) -> _Floats:
    """Prais-Winsten transform along the last axis (``rho`` broadcast against the rest):
    AR(1) errors become independent."""
    out = np.empty_like(z)
    out[..., 0] = z[..., 0] * np.sqrt(1.0 - rho * rho)
    out[..., 1:] = z[..., 1:] - rho[..., None] * z[..., :-1]
    return out


def _departure(after: int) -> _Floats:
    """Weights of the last two coefficients giving the mean departure over the cycle.

    For both designs of ``moved_the_kpi`` the departure from the prior course ``j``
    periods into the cycle is c + d j (levels: the shift plus the slope change; changes:
    the jump plus the shifted mean change, accumulated), so its mean over the ``after``
    periods of the cycle is c + d (after - 1) / 2.
    """
    return np.array([1.0, (after - 1) / 2.0])


def _gls_stat(
    ys: _Floats, design: _Floats, first_after: int, upwards: bool | None, mean_departure: bool
) -> _Floats:
    """The change statistic of the last two columns of ``design`` for each row of ``ys``.

    Each row gets its own AR(1) coefficient, estimated from the residuals of the
    no-change columns fitted before ``first_after`` (bias-corrected, at most
    WANDERING_RHO), and is fitted by GLS after the Prais-Winsten transform with it.

    ``mean_departure``: the t statistic of the mean departure over the cycle
    (``_departure``), signed towards ``upwards`` (one-sided), or its absolute value when
    the direction is unknown. Otherwise the larger of the two coefficients' own t
    statistics, each signed towards ``upwards`` (absolute values when the direction is
    unknown): whichever of the two changes happened counts in full, and the bootstrap
    gives the maximum its own null distribution. Larger is more evidence of a change in
    every case.
    """
    null = design[:first_after, :-2]
    projection = null @ np.linalg.pinv(null)
    e = ys[:, :first_after] - ys[:, :first_after] @ projection.T
    num = np.sum(e[:, 1:] * e[:, :-1], axis=1)
    den = np.maximum(np.sum(e[:, :-1] ** 2, axis=1), 1e-300)
    rho = num / den
    rho = np.clip(rho + (2.0 + 4.0 * rho) / first_after, -0.9, WANDERING_RHO)
    yw = _whiten(ys, rho)  # (b, n)
    xw = np.swapaxes(
        _whiten(np.broadcast_to(design.T, (ys.shape[0], *design.T.shape)), rho[:, None]), 1, 2
    )  # (b, n, k)
    xtx_inv = np.linalg.inv(np.swapaxes(xw, 1, 2) @ xw)
    beta = (xtx_inv @ (np.swapaxes(xw, 1, 2) @ yw[:, :, None]))[:, :, 0]
    resid = yw - (xw @ beta[:, :, None])[:, :, 0]
    n, k = design.shape
    s2 = np.maximum(np.sum(resid * resid, axis=1) / (n - k), 1e-300)
    b = beta[:, -2:]
    cov = xtx_inv[:, -2:, -2:]
    sign = 1.0 if upwards is None or upwards else -1.0
    if mean_departure:
        weights = _departure(n - first_after)
        se = np.sqrt(np.einsum("i,bij,j->b", weights, cov, weights) * s2)
        t = (b @ weights) / se
        result: _Floats = np.abs(t) if upwards is None else sign * t
        return result
    each = b / np.sqrt(np.diagonal(cov, axis1=1, axis2=2) * s2[:, None])
    largest: _Floats = (np.abs(each) if upwards is None else sign * each).max(axis=1)
    return largest


def _ar1(e: _Floats) -> float:
    """Lag-1 autocorrelation of residuals ``e``, bias-corrected ((2 + 4 rho) / n)."""
    denom = float(np.sum(e[:-1] ** 2))
    if denom == 0.0:
        return 0.0
    rho = float(np.sum(e[1:] * e[:-1])) / denom
    return min(max(rho + (2.0 + 4.0 * rho) / e.size, -0.9), 1.0)


def _change_test(
    y: _Floats,
    design: _Floats,
    first_after: int,
    rng: np.random.Generator,
    upwards: bool | None,
    mean_departure: bool,
) -> float:
    """Bootstrap p-value of the last two columns of ``design`` (the change) being zero.

    The no-change model (the other columns) with AR(1) errors is fitted to the periods
    before the change only, so an effect inflates neither the noise nor its
    autocorrelation. The statistic (``_gls_stat``) is judged against a sieve bootstrap of
    the no-change model: innovations resampled from the fitted ones, the autocorrelation
    re-estimated in every bootstrap series as in the data.

    On the changes (``mean_departure`` False: the history was read as a random walk), the
    p-value is that of the whole two-branch procedure under the no-change walk: a
    bootstrap walk whose history ``moved_the_kpi`` would have read as stationary counts as
    the levels test would judge it (against ``_levels_critical``), not by the changes
    statistic. Without that, the few walks misread as stationary, whose wander the levels
    test reads as a departure, raise the procedure's false positives on walks above the
    level (docs/scoring.md).
    """
    n = y.size
    null = design[:, :-2]
    beta0, *_ = np.linalg.lstsq(null[:first_after], y[:first_after], rcond=None)
    e = y[:first_after] - null[:first_after] @ beta0
    rho = min(_ar1(e), WANDERING_RHO)
    innovations = e[1:] - rho * e[:-1]
    innovations = innovations - innovations.mean()
    if not np.any(innovations):
        return 1.0
    s_obs = float(_gls_stat(y[None, :], design, first_after, upwards, mean_departure)[0])
    draws = rng.choice(innovations, size=(BOOTSTRAP_SAMPLES, n))
    errors = np.empty_like(draws)
    errors[:, 0] = draws[:, 0] / math.sqrt(1.0 - rho * rho)
    for k in range(1, n):
        errors[:, k] = rho * errors[:, k - 1] + draws[:, k]
    boot = errors + (null @ beta0)[None, :]
    s_boot = _gls_stat(boot, design, first_after, upwards, mean_departure)
    exceed = s_boot >= s_obs
    if mean_departure:
        return float((1 + np.sum(exceed)) / (BOOTSTRAP_SAMPLES + 1))
    # The changes of a wandering KPI: a bootstrap walk whose history the pre-test would
    # have read as stationary would have been tested on its levels, where a walk's wander
    # reads as a departure; it counts as the levels test would judge it, so the p-value
    # is that of the whole two-branch procedure under the no-change walk.
    misread = _stationary_looking(boot[:, :first_after])
    hits = int(np.sum(exceed & ~misread))
    if np.any(misread):
        levels = np.concatenate(
            [np.zeros((int(np.sum(misread)), 1)), np.cumsum(boot[misread], axis=1)], axis=1
        )
        before, after = first_after + 1, levels.shape[1] - first_after - 1
        t_lev = _gls_stat(levels, _segmented(before + after, before), before, upwards, True)
        hits += int(np.sum(t_lev >= _levels_critical(before, after, upwards is None)))
    return float((1 + hits) / (BOOTSTRAP_SAMPLES + 1))


def _segmented(n: int, first_after: int) -> _Floats:
    """Design of the levels: intercept, trend, level change and slope change at first_after."""
    t = np.arange(n, dtype=np.float64)
    post = (t >= first_after).astype(np.float64)
    return np.column_stack([np.ones(n), t, post, (t - first_after) * post])


@functools.lru_cache(maxsize=256)
def _levels_critical(before: int, after: int, two_sided: bool) -> float:
    """The levels statistic's 1 - MOVED_ALPHA quantile under no change, AR(1) noise at
    the pre-test's boundary (autocorrelation WANDERING_RHO, where the walks it misreads
    sit): how the levels test judges a stationary-looking series, computed once per
    shape (seeded, Gaussian)."""
    rng = np.random.default_rng(before * 1000 + after)
    n = before + after
    rho = WANDERING_RHO
    draws = rng.standard_normal((LEVELS_CRITICAL_SAMPLES, n))
    e = np.empty_like(draws)
    e[:, 0] = draws[:, 0] / math.sqrt(1.0 - rho * rho)
    for k in range(1, n):
        e[:, k] = rho * e[:, k - 1] + draws[:, k]
    stat = _gls_stat(e, _segmented(n, before), before, None if two_sided else True, True)
    return float(np.quantile(stat, 1.0 - MOVED_ALPHA))


def _stationary_looking(changes: _Floats) -> npt.NDArray[np.bool_]:
    """Which rows of history changes add up to a history that ``moved_the_kpi`` would
    test on its levels (corrected autocorrelation of the detrended levels < WANDERING_RHO)."""
    levels = np.concatenate([np.zeros((changes.shape[0], 1)), np.cumsum(changes, axis=1)], axis=1)
    m = levels.shape[1]
    centred = np.arange(m, dtype=np.float64) - (m - 1) / 2.0
    slope = levels @ centred / float(centred @ centred)
    e = levels - levels.mean(axis=1, keepdims=True) - slope[:, None] * centred
    den = np.sum(e[:, :-1] ** 2, axis=1)
    rho = np.sum(e[:, 1:] * e[:, :-1], axis=1) / np.where(den > 0.0, den, 1.0)
    rho = rho + (2.0 + 4.0 * rho) / m
    looks: npt.NDArray[np.bool_] = rho < WANDERING_RHO
    return looks


def moved_the_kpi(
    values: Sequence[float], first_after: int, seed: int = 0, upwards: bool | None = None
) -> KpiMove:
    """Interrupted time series: did the KPI depart from its prior course from ``first_after`` on?

    ``values`` are one value per review period, oldest first, with the cycle starting at
    index ``first_after``; ``upwards`` is the way the key result wants the KPI to go (True
    up, False down, None unknown: then both ways count). Segmented regression y = a + b t
    + c [t >= t0] + d (t - t0) [t >= t0], the no-change model fitted before t0 with AR(1)
    errors, tested by ``_change_test`` (sieve bootstrap). The statistic is the GLS t
    statistic of the mean departure from the projected prior trend over the cycle,
    c + d (after - 1) / 2: one number that a change of level or of slope moves, one-sided
    towards ``upwards``. A KPI whose history wanders like a random walk (corrected
    autocorrelation of its detrended history >= WANDERING_RHO) is tested on its
    period-over-period changes instead, where a level change is one jump at t0 and a slope
    change a shift of the mean change, by the larger of their two one-sided t statistics
    (a walk's own wander swamps the mean departure; see docs/scoring.md), and its p-value
    is that of the whole procedure under a no-change walk, the walks the pre-test would
    misread as stationary included (``_change_test``). p < 0.05 -> moved, else
    already_heading. Deterministic for a given ``seed``.
    """
    y = np.asarray(values, dtype=np.float64)
    n = y.size
    before, after = first_after, n - first_after
    if before < MIN_PERIODS_BEFORE or after < MIN_PERIODS_AFTER:
        return KpiMove(
            "not_enough_data",
            reason=f"{before} periods before the cycle and {after} in it; "
            f"the test needs {MIN_PERIODS_BEFORE} and {MIN_PERIODS_AFTER}.",
        )
    design = _segmented(n, first_after)
    beta_full, *_ = np.linalg.lstsq(design, y, rcond=None)
    level, slope = float(beta_full[2]), float(beta_full[3])
    rng = np.random.default_rng(seed)
    d = np.diff(y)
    # The pre-test is the one the changes bootstrap imitates (_stationary_looking).
    if not _stationary_looking(d[None, : first_after - 1])[0]:
        # Changes d_t = y_t - y_(t-1), t >= 1: d = b + c [t = t0] + d [t > t0] + noise.
        td = np.arange(1, n, dtype=np.float64)
        changes = np.column_stack(
            [np.ones(n - 1), (td == first_after).astype(np.float64), (td > first_after) * 1.0]
        )
        p_value = _change_test(d, changes, first_after - 1, rng, upwards, mean_departure=False)
        tested = "changes"
    else:
        p_value = _change_test(y, design, first_after, rng, upwards, mean_departure=True)
        tested = "levels"
    verdict = "moved" if p_value < MOVED_ALPHA else "already_heading"
    return KpiMove(verdict, p_value=p_value, level_change=level, slope_change=slope, tested=tested)


@dataclass(frozen=True, slots=True)
class CoMovement:
    """Whether two series still move together: Spearman correlation of their changes."""

    pairs: int
    rho: float | None
    p_value: float | None
    decayed: bool | None


def co_movement(outcome: Sequence[float], kpi: Sequence[float]) -> CoMovement:
    """Spearman correlation of the period-over-period changes of two aligned series.

    Uses the last CO_MOVEMENT_WINDOW paired changes; the link has decayed when the
    correlation is not significantly positive (one-sided p >= 0.05). None below
    MIN_CO_MOVEMENT pairs.
    """
    a = np.diff(np.asarray(outcome, dtype=np.float64))[-CO_MOVEMENT_WINDOW:]
    b = np.diff(np.asarray(kpi, dtype=np.float64))[-CO_MOVEMENT_WINDOW:]
    if a.size != b.size:
        raise ValueError("the two series must cover the same periods")
    if a.size < MIN_CO_MOVEMENT:
        return CoMovement(int(a.size), None, None, None)
    if np.all(a == a[0]) or np.all(b == b[0]):
        return CoMovement(int(a.size), 0.0, 1.0, True)
    result = stats.spearmanr(a, b, alternative="greater")
    rho, p = float(result.statistic), float(result.pvalue)
    return CoMovement(int(a.size), rho, p, p >= CO_MOVEMENT_ALPHA)
