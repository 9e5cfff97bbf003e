"""Pure KPI core: health, trend, SPC anomalies and the KPI/key-result suggestions.

No Django here: the database layer and the YAML layer both turn their rows into `Kpi` and
`Point` values and call these functions. docs/kpis.md states every rule and boundary.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, NamedTuple, Protocol, SupportsFloat

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

__all__ = [
    "CADENCES",
    "DIRECTIONS",
    "HEALTHS",
    "TRENDS",
    "Anomaly",
    "Kpi",
    "KpiEvaluation",
    "MannKendall",
    "Point",
    "Step",
    "anomalies",
    "deserves_promotion",
    "evaluate",
    "health",
    "health_of_value",
    "mann_kendall",
    "may_return_to_monitoring",
    "possible_gaming",
    "review_periods",
    "theil_sen",
    "trend",
]

DIRECTIONS: Final = ("up", "down")
CADENCES: Final = ("weekly", "monthly", "quarterly")
HEALTHS: Final = ("healthy", "warning", "critical", "stale", "no_data")
TRENDS: Final = ("improving", "stable", "deteriorating")

#: Nominal length of one review period, in days; a KPI is stale past 1.5 of these.
CADENCE_DAYS: Final = {"weekly": 7, "monthly": 30, "quarterly": 91}
STALE_AFTER: Final = {c: timedelta(days=1.5 * d) for c, d in CADENCE_DAYS.items()}
#: Mann-Kendall / Theil-Sen look at the review periods of this calendar window only
#: (one year of weeks, two years of months, three years of quarters).
TREND_WINDOW: Final = {"weekly": 52, "monthly": 24, "quarterly": 12}
#: Fewest review periods in the window for the Mann-Kendall test to run at all.
MIN_TREND_PERIODS: Final = 4
#: Two-sided significance level of the trend test ("at 95%").
ALPHA: Final = 0.05
#: Consecutive moves in one direction that decide the trend on their own.
STREAK: Final = 3
#: SPC: each period is judged against up to this many periods just before it...
BASELINE_PERIODS: Final = 20
#: ...and only once at least this many exist (fewer give a meaningless sigma).
MIN_BASELINE_PERIODS: Final = 8
SIGMAS: Final = 3.0
RUN_LENGTH: Final = 8

_DAY: Final = 86_400
_WEEK: Final = 7 * _DAY
# 1970-01-01 was a Thursday: ISO weeks (Monday start) begin 3 days before epoch + k weeks.
_WEEK_OFFSET: Final = 3 * _DAY

_Floats = npt.NDArray[np.float64]
_Ints = npt.NDArray[np.int64]
_Bools = npt.NDArray[np.bool_]


def _aware(at: datetime, what: str) -> datetime:
    """Return `at` unchanged; raise ValueError when it is naive (no usable UTC offset)."""
    if not isinstance(at, datetime):
        raise TypeError(f"{what} must be a datetime, got {type(at).__name__}")
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (UTC), got naive datetime {at!r}")
    return at


def _finite(value: object, what: str) -> float:
    """Coerce a number (int, float, Decimal) to a finite float; NaN and infinities are refused."""
    # bool is an int, but True as a measurement is a bug upstream, not the number 1.
    if isinstance(value, bool) or not isinstance(value, SupportsFloat):
        raise TypeError(f"{what} must be a number, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{what} must be a finite number, got {number!r}")
    return number


def _optional_finite(value: object, what: str) -> float | None:
    return None if value is None else _finite(value, what)


@dataclass(frozen=True, slots=True)
class Kpi:
    """What the core needs of a KPI card: direction, thresholds and review cadence.

    Thresholds may be Decimals (database) or ints (YAML); they are stored as floats. Any of
    them may be None: a missing warning means no warning band, a missing critical no critical
    band. `target` never decides health (it is the target side of warning by definition).
    """

    direction: str
    target: float | None
    warning: float | None
    critical: float | None
    cadence: str
    #: Targets that change by period: from each step's moment on, its thresholds are in
    #: force (until the next step); before the first step, the card's own. Empty: fixed.
    schedule: tuple[Step, ...] = ()

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, got {self.direction!r}")
        if self.cadence not in CADENCES:
            raise ValueError(f"cadence must be one of {CADENCES}, got {self.cadence!r}")
        for name in ("target", "warning", "critical"):
            # object.__setattr__: the dataclass is frozen, coercion happens once, here.
            object.__setattr__(self, name, _optional_finite(getattr(self, name), name))
        steps = tuple(sorted(self.schedule, key=lambda s: s.starts_at))
        if len({s.starts_at for s in steps}) != len(steps):
            raise ValueError("two steps of the target schedule start at the same moment")
        object.__setattr__(self, "schedule", steps)

    def at(self, moment: datetime) -> Kpi:
        """This card with the thresholds in force at `moment` (and no schedule)."""
        if not self.schedule:
            return self
        step: Step | None = None
        for candidate in self.schedule:
            if candidate.starts_at > moment:
                break
            step = candidate
        if step is None:
            return Kpi(self.direction, self.target, self.warning, self.critical, self.cadence)
        return Kpi(self.direction, step.target, step.warning, step.critical, self.cadence)


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a target schedule: the thresholds in force from `starts_at` on."""

    starts_at: datetime
    target: float | None
    warning: float | None
    critical: float | None

    def __post_init__(self) -> None:
        object.__setattr__(self, "starts_at", _aware(self.starts_at, "Step.starts_at"))
        for name in ("target", "warning", "critical"):
            object.__setattr__(self, name, _optional_finite(getattr(self, name), name))


@dataclass(frozen=True, slots=True)
class Point:
    """One measurement: a timezone-aware instant and a finite value.

    A naive `at` raises ValueError; an aware non-UTC `at` is converted to UTC (period
    boundaries are UTC). The value is coerced to float; NaN or infinity raises ValueError.
    """

    at: datetime
    value: float

    def __post_init__(self) -> None:
        at = _aware(self.at, "Point.at")
        if at.tzinfo is not UTC:
            object.__setattr__(self, "at", at.astimezone(UTC))
        if type(self.value) is not float or not math.isfinite(self.value):
            object.__setattr__(self, "value", _finite(self.value, "Point.value"))


@dataclass(frozen=True, slots=True)
class Anomaly:
    """A review period flagged by an SPC rule: "beyond-3-sigma" or "run-of-8"."""

    at: datetime
    value: float
    rule: str


@dataclass(frozen=True, slots=True)
class KpiEvaluation:
    """Everything Headway says about one KPI at one moment (see `evaluate`)."""

    health: str
    trend: str
    latest: Point | None
    periods: tuple[Point, ...]
    anomalies: tuple[Anomaly, ...]
    slope_per_period: float | None
    p_value: float | None
    wrong_way_streak: int
    right_way_streak: int
    healthy_streak: int


class MannKendall(NamedTuple):
    """Mann-Kendall statistic S, its tie-corrected variance, Z and the two-sided p-value."""

    s: int
    var_s: float
    z: float
    p_value: float


# --------------------------------------------------------------------------- thresholds


def health_of_value(kpi: Kpi, value: float, at: datetime | None = None) -> str:
    """Health of one value by thresholds alone: reaching a threshold triggers its band.

    `up`: critical when value <= critical, else warning when value <= warning, else healthy.
    `down`: critical when value >= critical, else warning when value >= warning, else
    healthy. A missing threshold has no band; with warning past critical (misconfigured) the
    critical test runs first, so the warning band is empty rather than overlapping. With a
    target schedule the thresholds are those in force at `at`, when the value was measured.
    """
    if kpi.schedule:
        if at is None:
            raise ValueError("a KPI with a target schedule needs the moment of the value")
        kpi = kpi.at(at)
    v = _finite(value, "value")
    if kpi.direction == "up":
        if kpi.critical is not None and v <= kpi.critical:
            return "critical"
        if kpi.warning is not None and v <= kpi.warning:
            return "warning"
        return "healthy"
    if kpi.critical is not None and v >= kpi.critical:
        return "critical"
    if kpi.warning is not None and v >= kpi.warning:
        return "warning"
    return "healthy"


def _thresholds(kpi: Kpi, name: str, ts: _Floats | None, size: int) -> _Floats:
    """The threshold `name` in force at each timestamp (NaN where there is none)."""
    base = getattr(kpi, name)
    if not kpi.schedule:
        return np.full(size, np.nan if base is None else base)
    if ts is None:
        raise ValueError("a KPI with a target schedule needs the moments of its values")
    starts = np.array([s.starts_at.timestamp() for s in kpi.schedule], dtype=np.float64)
    levels = np.array(
        [np.nan if base is None else base]
        + [np.nan if (v := getattr(s, name)) is None else v for s in kpi.schedule],
        dtype=np.float64,
    )
    found: _Floats = levels[np.searchsorted(starts, ts, side="right")]
    return found


def _healthy_mask(kpi: Kpi, values: _Floats, ts: _Floats | None = None) -> _Bools:
    """Vectorised `health_of_value(kpi, v, at) == "healthy"` (same boundaries); `ts` are
    the values' timestamps in seconds, needed when the KPI has a target schedule."""
    mask = np.ones(values.shape, dtype=np.bool_)
    for name in ("critical", "warning"):
        threshold = _thresholds(kpi, name, ts, values.size)
        with np.errstate(invalid="ignore"):
            beyond = values > threshold if kpi.direction == "up" else values < threshold
        mask &= beyond | np.isnan(threshold)
    return mask


# --------------------------------------------------------------------------- periods


def _arrays(points: Sequence[Point]) -> tuple[_Floats, _Floats]:
    """Epoch seconds and values of `points`, in the order given."""
    n = len(points)
    # Point guarantees aware datetimes, so timestamp() is the absolute instant; its float is
    # correctly rounded from integer microseconds, hence monotonic and distinct per microsecond.
    ts = np.fromiter((p.at.timestamp() for p in points), dtype=np.float64, count=n)
    vs = np.fromiter((p.value for p in points), dtype=np.float64, count=n)
    return ts, vs


def _bucket(ts: _Floats, cadence: str) -> _Ints:
    """Index of the UTC calendar period (ISO week, month, quarter) holding each timestamp."""
    if cadence == "weekly":
        return np.floor((ts + _WEEK_OFFSET) / _WEEK).astype(np.int64)
    if cadence not in ("monthly", "quarterly"):
        raise ValueError(f"cadence must be one of {CADENCES}, got {cadence!r}")
    months = np.floor(ts).astype(np.int64).astype("datetime64[s]").astype("datetime64[M]")
    index = months.astype(np.int64)
    return index if cadence == "monthly" else np.floor_divide(index, 3)


def _bucket_start(key: int, cadence: str) -> float:
    """Epoch seconds at which calendar period `key` (see `_bucket`) begins."""
    if cadence == "weekly":
        return float(key * _WEEK - _WEEK_OFFSET)
    month = key if cadence == "monthly" else key * 3
    return float(np.datetime64(month, "M").astype("datetime64[s]").astype(np.int64))


def _order_until(ts: _Floats, at_ts: float | None) -> _Ints:
    """Indices of the points at or before `at_ts`, by time; equal times keep the given order."""
    if at_ts is None:
        return np.argsort(ts, kind="stable")
    idx = np.flatnonzero(ts <= at_ts)
    return idx[np.argsort(ts[idx], kind="stable")]


def _periods(
    points: Sequence[Point], cadence: str, at: datetime | None
) -> tuple[tuple[Point, ...], _Ints, _Floats]:
    """Latest point of each period (up to `at`), with the period keys and values as arrays."""
    if cadence not in CADENCES:
        raise ValueError(f"cadence must be one of {CADENCES}, got {cadence!r}")
    at_ts = None if at is None else _aware(at, "at").timestamp()
    if not points:
        return (), np.empty(0, np.int64), np.empty(0, np.float64)
    ts, vs = _arrays(points)
    order = _order_until(ts, at_ts)
    keys = _bucket(ts[order], cadence)
    # Sorted stably, the last index of each run of equal keys is the period's latest point,
    # and among equal timestamps the one given last: "last one given wins".
    last = np.ones(keys.shape, dtype=np.bool_)
    last[:-1] = keys[1:] != keys[:-1]
    chosen = order[last]
    return tuple(points[i] for i in chosen.tolist()), keys[last], vs[chosen]


def review_periods(points: Sequence[Point], cadence: str, at: datetime) -> tuple[Point, ...]:
    """The latest measurement of each review period up to `at`, oldest first.

    Periods are UTC ISO weeks (Monday start), calendar months or calendar quarters. Points
    after `at` are ignored; of equal timestamps the one given last wins; periods with no
    measurement are simply absent (no interpolation). Naive `at` raises ValueError.
    """
    return _periods(points, cadence, at)[0]


# --------------------------------------------------------------------------- health


def _health_of_latest(kpi: Kpi, latest: Point | None, at: datetime) -> str:
    if latest is None:
        return "no_data"
    # Exact timedelta arithmetic: the boundary (10.5 days for weekly) is still fresh.
    if at - latest.at > STALE_AFTER[kpi.cadence]:
        return "stale"
    return health_of_value(kpi, latest.value, latest.at)


def health(kpi: Kpi, points: Sequence[Point], at: datetime) -> str:
    """Health from the latest measurement at or before `at`.

    No such measurement: `no_data`. Older than 1.5 x cadence (weekly 10.5 days, monthly 45,
    quarterly 136.5; exactly at the limit is still fresh): `stale`. Else `health_of_value`.
    """
    at = _aware(at, "at")
    if not points:
        return "no_data"
    ts, _ = _arrays(points)
    order = _order_until(ts, at.timestamp())
    latest = points[int(order[-1])] if order.size else None
    return _health_of_latest(kpi, latest, at)


# --------------------------------------------------------------------------- trend


def mann_kendall(values: Sequence[float] | _Floats) -> MannKendall:
    """Mann-Kendall test of a series in time order, tie-corrected, normal approximation.

    S = sum of sign(x_j - x_i) over i < j; Var(S) = [n(n-1)(2n+5) - sum t(t-1)(2t+5)] / 18
    over groups of t tied values; Z = (S - sign S) / sqrt(Var S) (continuity correction);
    p = erfc(|Z| / sqrt 2), two-sided. Fewer than 2 values or all ties: S = 0, Z = 0, p = 1.
    """
    x = np.asarray(values, dtype=np.float64)
    n = x.size
    if n < 2:
        return MannKendall(0, 0.0, 0.0, 1.0)
    i, j = np.triu_indices(n, k=1)
    s = int(np.sign(x[j] - x[i]).sum())
    _, counts = np.unique(x, return_counts=True)
    t = counts[counts > 1].astype(np.float64)
    var_s = (n * (n - 1) * (2 * n + 5) - float((t * (t - 1) * (2 * t + 5)).sum())) / 18.0
    if var_s <= 0.0 or s == 0:
        return MannKendall(s, max(var_s, 0.0), 0.0, 1.0)
    z = (s - math.copysign(1.0, s)) / math.sqrt(var_s)
    return MannKendall(s, var_s, z, math.erfc(abs(z) / math.sqrt(2.0)))


def theil_sen(x: Sequence[float] | _Floats, y: Sequence[float] | _Floats) -> float | None:
    """Theil-Sen slope: the median of (y_j - y_i) / (x_j - x_i) over pairs with x_i != x_j.

    None when no such pair exists (fewer than two distinct x).
    """
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    i, j = np.triu_indices(xs.size, k=1)
    dx = xs[j] - xs[i]
    keep = dx != 0
    if not keep.any():
        return None
    return float(np.median((ys[j] - ys[i])[keep] / dx[keep]))


def _streaks(kpi: Kpi, keys: _Ints, values: _Floats) -> tuple[int, int]:
    """Trailing counts of consecutive-period moves in the wrong and in the right direction."""
    if values.size < 2:
        return 0, 0
    step = np.diff(values)
    # A missing review period breaks a streak: "3 periods running" means consecutive periods.
    adjacent = np.diff(keys) == 1
    worse = (step < 0 if kpi.direction == "up" else step > 0) & adjacent
    better = (step > 0 if kpi.direction == "up" else step < 0) & adjacent
    return _trailing(worse), _trailing(better)


def _trailing(flags: _Bools) -> int:
    """Number of True values at the end of `flags`."""
    breaks = np.flatnonzero(~flags)
    return int(flags.size if breaks.size == 0 else flags.size - 1 - breaks[-1])


def _trend(
    kpi: Kpi, keys: _Ints, values: _Floats, streaks: tuple[int, int] | None = None
) -> tuple[str, float | None, float | None, int, int]:
    """Trend, slope per period, p-value and the two streaks from period keys and values.

    `streaks` (wrong, right) replaces those of `values` when the periods are only the end
    of the series (kpis.incremental carries them from before).
    """
    wrong, right = _streaks(kpi, keys, values) if streaks is None else streaks
    slope: float | None = None
    p_value: float | None = None
    s = 0
    if keys.size:
        # Calendar window: a gap does not stretch the window further back in time.
        window = keys > keys[-1] - TREND_WINDOW[kpi.cadence]
        wk, wv = keys[window], values[window]
        if wk.size >= 2:
            # x = period index, so the slope is per calendar period even across gaps.
            slope = theil_sen(wk.astype(np.float64), wv)
        if wk.size >= MIN_TREND_PERIODS:
            mk = mann_kendall(wv)
            s, p_value = mk.s, mk.p_value
    # The recent streak wins over the test: it says what is happening now.
    if wrong >= STREAK:
        verdict = "deteriorating"
    elif right >= STREAK:
        verdict = "improving"
    elif p_value is not None and p_value < ALPHA and s != 0:
        rising = s > 0
        verdict = "improving" if rising == (kpi.direction == "up") else "deteriorating"
    else:
        verdict = "stable"
    return verdict, slope, p_value, wrong, right


def trend(kpi: Kpi, periods: Sequence[Point]) -> tuple[str, float | None, float | None]:
    """Trend of review periods as (trend, Theil-Sen slope per period, Mann-Kendall p-value).

    `deteriorating` when the last 3 moves between consecutive periods were all strictly the
    wrong way, or when Mann-Kendall over the window (52 weeks / 24 months / 12 quarters) is
    significant (two-sided p < 0.05) the wrong way; `improving` likewise; else `stable`. A
    streak beats a disagreeing test. Points are re-grouped by the KPI's cadence (the latest
    per period), so raw measurements work too. Slope needs 2 periods, p-value 4, else None.
    """
    _, keys, values = _periods(periods, kpi.cadence, None)
    verdict, slope, p_value, _, _ = _trend(kpi, keys, values)
    return verdict, slope, p_value


# --------------------------------------------------------------------------- anomalies


def _anomaly_flags(values: _Floats) -> tuple[_Bools, _Bools]:
    """Beyond-3-sigma and run-of-8 flags, each period judged against the periods before it."""
    n = values.size
    beyond = np.zeros(n, dtype=np.bool_)
    run = np.zeros(n, dtype=np.bool_)
    if n <= MIN_BASELINE_PERIODS:
        return beyond, run
    # Row i holds the BASELINE_PERIODS values before period i (NaN where none exist).
    padded = np.concatenate([np.full(BASELINE_PERIODS, np.nan), values[:-1]])
    windows = sliding_window_view(padded, BASELINE_PERIODS)
    present = ~np.isnan(windows)
    count = present.sum(axis=1)
    judged = count >= MIN_BASELINE_PERIODS
    # Centre each window on the value just before the judged point: a constant baseline then
    # gives deviations of exactly 0, hence sigma exactly 0 rather than rounding noise.
    ref = np.concatenate([[0.0], values[:-1]])
    dev = np.where(present, windows - ref[:, None], 0.0)
    safe = np.maximum(count, 2)
    mean_dev = dev.sum(axis=1) / np.maximum(count, 1)
    resid = np.where(present, dev - mean_dev[:, None], 0.0)
    sigma = np.sqrt((resid * resid).sum(axis=1) / (safe - 1))  # sample sd (n - 1)
    distance = (values - ref) - mean_dev
    # With sigma = 0 any departure from a constant baseline is flagged (it is infinitely
    # many sigmas away); a value equal to it is not.
    beyond = judged & (np.abs(distance) > SIGMAS * sigma)
    side = np.where(judged, np.sign(distance), 0.0)
    # Run lengths of equal non-zero sides; a point on the mean (side 0) ends a run.
    starts = np.ones(n, dtype=np.bool_)
    starts[1:] = (side[1:] != side[:-1]) | (side[1:] == 0)
    start_index = np.maximum.accumulate(np.where(starts, np.arange(n), 0))
    length = np.arange(n) - start_index + 1
    run = (side != 0) & (length >= RUN_LENGTH)
    return beyond, run


def _anomalies_of(periods: Sequence[Point], values: _Floats) -> tuple[Anomaly, ...]:
    beyond, run = _anomaly_flags(values)
    found: list[Anomaly] = []
    for i in np.flatnonzero(beyond | run).tolist():
        p = periods[i]
        if beyond[i]:
            found.append(Anomaly(p.at, p.value, "beyond-3-sigma"))
        if run[i]:
            found.append(Anomaly(p.at, p.value, "run-of-8"))
    return tuple(found)


def anomalies(periods: Sequence[Point]) -> tuple[Anomaly, ...]:
    """SPC signals over review periods in time order (re-sorted by time if needed).

    Each period is judged against the up to 20 periods just before it, once at least 8 exist:
    `beyond-3-sigma` when |value - mean| > 3 sample sd (with sd 0, any departure);
    `run-of-8` on the 8th and later of consecutive periods strictly on one side of their
    baseline mean. A period flagged by both rules yields two anomalies. Fewer than 9 periods,
    constant series and duplicates never crash nor yield NaN.
    """
    if not periods:
        return ()
    ts, vs = _arrays(periods)
    order = np.argsort(ts, kind="stable")
    ordered = [periods[i] for i in order.tolist()]
    return _anomalies_of(ordered, vs[order])


# --------------------------------------------------------------------------- evaluate


def evaluate(kpi: Kpi, points: Sequence[Point], at: datetime) -> KpiEvaluation:
    """Health, trend, anomalies and streaks of a KPI at `at` (points after `at` ignored).

    `healthy_streak` counts trailing consecutive review periods whose value is healthy, and
    is 0 unless the KPI is healthy now (a stale KPI has no healthy streak). No points: health
    `no_data`, trend `stable`, everything else empty, None or 0.
    """
    at = _aware(at, "at")
    periods, keys, values = _periods(points, kpi.cadence, at)
    latest = periods[-1] if periods else None
    state = _health_of_latest(kpi, latest, at)
    verdict, slope, p_value, wrong, right = _trend(kpi, keys, values)
    healthy_streak = 0
    if state == "healthy":
        ok = _healthy_mask(kpi, values, np.array([p.at.timestamp() for p in periods]))
        adjacent = np.ones(keys.shape, dtype=np.bool_)
        adjacent[1:] = np.diff(keys) == 1
        healthy_streak = _healthy_run(ok, adjacent)
    return KpiEvaluation(
        health=state,
        trend=verdict,
        latest=latest,
        periods=periods,
        anomalies=_anomalies_of(periods, values),
        slope_per_period=slope,
        p_value=p_value,
        wrong_way_streak=wrong,
        right_way_streak=right,
        healthy_streak=healthy_streak,
    )


def _healthy_run(ok: _Bools, adjacent: _Bools) -> int:
    """Trailing healthy periods, stopping at an unhealthy one or at a missing period."""
    if not ok.size or not ok[-1]:
        return 0
    # The streak goes back over healthy periods while each follows the previous directly.
    links = ok[:-1] & adjacent[1:]
    return 1 + _trailing(links)


# --------------------------------------------------------------------------- suggestions


class PromotionFacts(Protocol):
    """What the promotion rule reads: an evaluation, or a KPI row's stored copy of one."""

    @property
    def health(self) -> str: ...
    @property
    def trend(self) -> str: ...
    @property
    def wrong_way_streak(self) -> int: ...


class MonitoringFacts(Protocol):
    """What the back-to-monitoring rule reads: an evaluation, or a KPI row's stored copy."""

    @property
    def health(self) -> str: ...
    @property
    def healthy_streak(self) -> int: ...


#: Review periods running that make a suggestion: deteriorating ones for promotion, healthy
#: ones for going back to monitoring. The queryset forms (`Kpi.objects.deserving_promotion`,
#: `kpis.queries.key_results_back_to_monitoring`) use these too.
PROMOTION_STREAK: Final = 3
MONITORING_STREAK: Final = 3


def deserves_promotion(ev: PromotionFacts) -> bool:
    """Whether to suggest making the KPI a key result: critical, or deteriorating 3 periods.

    Deteriorating counts only with `wrong_way_streak >= 3` (a significant test alone is not
    3 periods). A stale or no-data KPI is never promoted: old data should trigger a review,
    not a new key result. The one home of this rule: the notifier and the pages ask it too.
    """
    if ev.health in ("stale", "no_data"):
        return False
    return ev.health == "critical" or (
        ev.trend == "deteriorating" and ev.wrong_way_streak >= PROMOTION_STREAK
    )


def may_return_to_monitoring(kr_achieved: bool, ev: MonitoringFacts) -> bool:
    """Whether a promoted KPI may go back to monitoring: key result achieved, 3 healthy periods.

    `healthy_streak` is already 0 for a KPI not healthy now (stale included). The one home
    of this rule: `kpis.queries.achieved_while_healthy` asks it for each linked key result.
    """
    return kr_achieved and ev.health == "healthy" and ev.healthy_streak >= MONITORING_STREAK


def _value_as_of(points: Sequence[Point], ts: _Floats, limit: float, strict: bool) -> float | None:
    """Value of the latest point before (`strict`) or at `limit`; equal times: last given."""
    mask = ts < limit if strict else ts <= limit
    idx = np.flatnonzero(mask)
    if not idx.size:
        return None
    best = idx[np.argsort(ts[idx], kind="stable")][-1]
    return points[int(best)].value


def _change_over_span(
    points: Sequence[Point], start: float, end: float
) -> tuple[float, float] | None:
    """(value just before `start`, value as of `end`), or None when either is unknown."""
    if not points:
        return None
    ts, _ = _arrays(points)
    before = _value_as_of(points, ts, start, strict=True)
    now = _value_as_of(points, ts, end, strict=False)
    return None if before is None or now is None else (before, now)


def possible_gaming(
    kr_values: Sequence[Point],
    kr_better: str,
    counter: Iterable[tuple[Kpi, Sequence[Point]]],
    at: datetime,
    cadence: str,
) -> bool:
    """Whether the key result improved over the last 3 periods while a counter-KPI worsened.

    The span is the review period holding `at` and the 2 before it (of `cadence`, for all
    series alike). A series "moved" when its value as of `at` differs strictly from its value
    just before the span starts (the latest measurement before the span). A series with no
    measurement before the span, or none at all, cannot have moved. `kr_better` is "up" or
    "down"; each counter-KPI's own direction says which way is worse.
    """
    if kr_better not in DIRECTIONS:
        raise ValueError(f"kr_better must be one of {DIRECTIONS}, got {kr_better!r}")
    if cadence not in CADENCES:
        raise ValueError(f"cadence must be one of {CADENCES}, got {cadence!r}")
    end = _aware(at, "at").timestamp()
    current = int(_bucket(np.array([end]), cadence)[0])
    start = _bucket_start(current - (STREAK - 1), cadence)
    kr = _change_over_span(kr_values, start, end)
    if kr is None:
        return False
    improved = kr[1] > kr[0] if kr_better == "up" else kr[1] < kr[0]
    if not improved:
        return False
    for kpi, points in counter:
        moved = _change_over_span(points, start, end)
        if moved is None:
            continue
        if moved[1] < moved[0] if kpi.direction == "up" else moved[1] > moved[0]:
            return True
    return False


def target_gap(value: float | None, target: float | None, direction: str) -> float | None:
    """How far a value falls short of the target, as a fraction of the target (0.12 = 12%).

    0.0 when it is at or beyond the target in the KPI's direction; None when there is no
    value or target, or the target is 0 (a share of nothing means nothing). Health follows
    the thresholds (warning, critical); this says how far from the *target* it is, so a
    card can read "Healthy · 12% off target".
    """
    if value is None or target is None or target == 0:
        return None
    if not (math.isfinite(value) and math.isfinite(target)):
        return None
    short = target - value if direction == "up" else value - target
    return max(0.0, short / abs(target))
