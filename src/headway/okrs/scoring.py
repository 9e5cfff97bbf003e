"""Pure OKR scoring: key-result scores, objective roll-ups, pace, status and forecasts.

Nothing here touches Django or the database: the DB layer and the YAML layer both build
the dataclasses below and call :func:`evaluate`. The rules follow PRODUCT.md section 2;
``docs/scoring.md`` lists every choice made where the product brief is silent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

__all__ = [
    "GRADE_BANDS",
    "KR_KINDS",
    "OBJECTIVE_TYPES",
    "STATUSES",
    "TOLERANCE",
    "AlignmentCycleError",
    "CheckIn",
    "Cycle",
    "Evaluation",
    "KeyResult",
    "KeyResultResult",
    "Objective",
    "ObjectiveResult",
    "evaluate",
    "evaluate_objective",
    "expected_progress",
    "grade_band",
    "kr_forecast",
    "kr_score",
    "status_for",
]

KR_KINDS = ("increase", "decrease", "above", "below", "milestone", "objectives")
OBJECTIVE_TYPES = ("aspirational", "committed")
STATUSES = ("achieved", "on_track", "at_risk", "off_track", "no_data")
GRADE_BANDS = ("red", "yellow", "green")

# Scores and pace are ratios of floats, so a score that is mathematically exactly on a
# boundary (0.3 against 0.4 - 0.1 = 0.30000000000000004) must not fall to the worse side.
TOLERANCE = 1e-9

_ON_TRACK_MARGIN = 0.10
_AT_RISK_MARGIN = 0.25
_YELLOW_FROM = 0.4
_GREEN_FROM = 0.7
_CONFIDENCE_RANGE = range(11)
_DAY = timedelta(days=1)


class AlignmentCycleError(ValueError):
    """Objectives whose ``parent`` links form a loop, so no roll-up can be computed.

    ``keys`` holds the objective keys of the loop in parent order, starting anywhere on it.
    """

    def __init__(self, keys: Sequence[str]) -> None:
        self.keys: tuple[str, ...] = tuple(keys)
        loop = " -> ".join((*self.keys, self.keys[0])) if self.keys else "?"
        super().__init__(f"objective alignment loop: {loop}")


def _require_aware(moment: object, what: str) -> datetime:
    if not isinstance(moment, datetime):
        raise TypeError(f"{what} must be a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (UTC), got naive {moment.isoformat()}")
    return moment


def _require_finite(value: float | None, what: str) -> None:
    if value is not None and not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {value!r}")


@dataclass(frozen=True, slots=True)
class Cycle:
    """A time box running from ``start`` 00:00 UTC to the end of ``end`` (inclusive).

    ``end`` before ``start`` is rejected; a one-day cycle is the shortest possible.
    """

    key: str
    start: date
    end: date

    def __post_init__(self) -> None:
        for name, day in (("start", self.start), ("end", self.end)):
            # A datetime is a date too; accepting one would silently drop its time of day.
            if isinstance(day, datetime) or not isinstance(day, date):
                raise TypeError(f"cycle {self.key!r}: {name} must be a date, not {day!r}")
        if self.end < self.start:
            raise ValueError(f"cycle {self.key!r}: end {self.end} is before start {self.start}")

    @property
    def starts_at(self) -> datetime:
        """The first instant of the cycle: ``start`` at 00:00 UTC."""
        return datetime.combine(self.start, time(), tzinfo=UTC)

    @property
    def ends_at(self) -> datetime:
        """The first instant after the cycle: the day after ``end`` at 00:00 UTC."""
        return datetime.combine(self.end + _DAY, time(), tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class CheckIn:
    """One observation of a key result; any of value, done and confidence may be missing.

    ``at`` must be timezone-aware; ``value`` finite; ``confidence`` an integer 0-10.
    """

    at: datetime
    value: float | None = None
    done: bool | None = None
    confidence: int | None = None

    def __post_init__(self) -> None:
        _require_aware(self.at, "check-in time")
        _require_finite(self.value, "check-in value")
        if self.confidence is not None and (
            isinstance(self.confidence, bool) or self.confidence not in _CONFIDENCE_RANGE
        ):
            raise ValueError(f"confidence must be an integer 0-10, got {self.confidence!r}")


@dataclass(frozen=True, slots=True)
class KeyResult:
    """A key result with its check-in history (unordered; sorted by time when scored).

    An ``increase``/``decrease`` without ``start`` and ``target``, or an ``above``/``below``
    without ``target``, is not measurable: it scores 0.0 with status ``no_data`` and no
    forecast (the coach's ``kr-not-measurable`` says why). ``weight`` must be finite and
    not negative. A ``milestone`` reads the
    ``done`` of its check-ins; a KPI-linked key result gets the measurements as check-ins.
    """

    key: str
    kind: str
    start: float | None = None
    target: float | None = None
    weight: float = 1.0
    checkins: tuple[CheckIn, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KR_KINDS:
            raise ValueError(f"key result {self.key!r}: unknown kind {self.kind!r}")
        _require_finite(self.start, f"key result {self.key!r}: start")
        _require_finite(self.target, f"key result {self.key!r}: target")
        _require_finite(self.weight, f"key result {self.key!r}: weight")
        if self.weight < 0:
            raise ValueError(f"key result {self.key!r}: weight must not be negative")
        # Callers often hold lists; a tuple keeps the frozen dataclass honest.
        object.__setattr__(self, "checkins", tuple(self.checkins))


@dataclass(frozen=True, slots=True)
class Objective:
    """An objective of one cycle; ``parent`` is the key of the objective it aligns to.

    ``type`` is ``aspirational`` or ``committed``; it labels the objective and does not
    change how it is scored.
    """

    key: str
    team: str | None
    cycle: str
    key_results: tuple[KeyResult, ...]
    parent: str | None = None
    type: str = "aspirational"

    def __post_init__(self) -> None:
        if self.type not in OBJECTIVE_TYPES:
            raise ValueError(f"objective {self.key!r}: unknown type {self.type!r}")
        object.__setattr__(self, "key_results", tuple(self.key_results))
        seen: set[str] = set()
        for kr in self.key_results:
            if kr.key in seen:
                raise ValueError(f"objective {self.key!r}: duplicate key result {kr.key!r}")
            seen.add(kr.key)


@dataclass(frozen=True, slots=True)
class KeyResultResult:
    """The state of one key result at one moment.

    ``current`` is the value the score was computed from (``start`` for an increase or
    decrease with no check-in yet) and None for milestones, roll-ups and missing values.
    """

    score: float
    status: str
    forecast: float | None
    current: float | None
    expected: float
    last_checkin_at: datetime | None
    confidence: int | None
    has_data: bool = True


@dataclass(frozen=True, slots=True)
class ObjectiveResult:
    """The state of one objective at one moment (``has_data``: any key result has data)."""

    score: float
    status: str
    grade_band: str
    forecast: float | None
    expected: float
    has_data: bool = True


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Everything :func:`evaluate` computed for one cycle at one moment.

    ``key_results`` is keyed by ``(objective key, key-result key)``; ``teams`` holds only
    teams that own at least one objective in the cycle.
    """

    key_results: dict[tuple[str, str], KeyResultResult]
    objectives: dict[str, ObjectiveResult]
    teams: dict[str, float]


def _clamp01(x: float) -> float:
    return 0.0 if x < 0.0 else 1.0 if x > 1.0 else x


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)


def _weighted_mean(values: Sequence[float], weights: Sequence[float]) -> float:
    """Weighted mean of a non-empty sequence; all-zero weights give the plain mean."""
    top = max(weights)
    if top <= 0.0:
        return _mean(values)
    # Dividing by the largest weight first keeps huge weights from overflowing the sums.
    scaled = [w / top for w in weights]
    return math.fsum(v * w for v, w in zip(values, scaled, strict=True)) / math.fsum(scaled)


def expected_progress(cycle: Cycle, at: datetime) -> float:
    """Fraction of ``cycle`` elapsed at ``at``: 0.0 up to its start, 1.0 from its end on.

    Raises ValueError for a naive ``at``.
    """
    _require_aware(at, "at")
    if at <= cycle.starts_at:
        return 0.0
    if at >= cycle.ends_at:
        return 1.0
    return (at - cycle.starts_at) / (cycle.ends_at - cycle.starts_at)


def grade_band(score: float) -> str:
    """``red`` below 0.4, ``yellow`` from 0.4 to below 0.7, ``green`` from 0.7 (unrounded).

    A score within TOLERANCE below a boundary counts as on it (float noise, not rounding).
    """
    if score >= _GREEN_FROM - TOLERANCE:
        return "green"
    if score >= _YELLOW_FROM - TOLERANCE:
        return "yellow"
    return "red"


def status_for(score: float, expected: float, has_data: bool = True) -> str:
    """Status of a score against the expected pace.

    ``achieved`` at 1.0 takes precedence, then ``no_data`` without data, then
    ``on_track`` (at most 0.10 behind), ``at_risk`` (at most 0.25 behind), ``off_track``.
    Comparisons allow TOLERANCE so exact boundaries land on the better side. Expected
    progress is 0 before the cycle and 1 after it, so no separate cycle state is needed.
    """
    if math.isnan(score) or math.isnan(expected):
        raise ValueError("score and expected must be numbers, got NaN")
    if score >= 1.0 - TOLERANCE:
        return "achieved"
    if not has_data:
        return "no_data"
    if score >= expected - _ON_TRACK_MARGIN - TOLERANCE:
        return "on_track"
    if score >= expected - _AT_RISK_MARGIN - TOLERANCE:
        return "at_risk"
    return "off_track"


def _visible(kr: KeyResult, at: datetime) -> list[CheckIn]:
    """Check-ins at or before ``at``, oldest first; equal times keep their given order."""
    return sorted((c for c in kr.checkins if c.at <= at), key=lambda c: c.at)


def _latest_value(checkins: Sequence[CheckIn]) -> float | None:
    return next((c.value for c in reversed(checkins) if c.value is not None), None)


def _latest_done(checkins: Sequence[CheckIn]) -> bool | None:
    return next((c.done for c in reversed(checkins) if c.done is not None), None)


def _progress(start: float, target: float, value: float) -> float:
    """``clamp((value - start) / (target - start), 0, 1)`` for ``start != target``."""
    num = value - start
    den = target - start
    if math.isinf(num) or math.isinf(den):
        # Differences of huge finite values overflow; halving first keeps the ratio exact
        # enough and finite (only values near the float maximum take this path).
        num = value / 2 - start / 2
        den = target / 2 - start / 2
    return _clamp01(num / den)


def _value_score(kr: KeyResult, value: float) -> float:
    """Score of a numeric key result whose current value is ``value``."""
    target = kr.target
    assert target is not None  # guaranteed by KeyResult for every numeric kind
    if kr.kind == "above":
        return 1.0 if value >= target else 0.0
    if kr.kind == "below":
        return 1.0 if value <= target else 0.0
    start = kr.start
    assert start is not None
    if start == target:
        # No distance to travel: reaching or passing the target in the kind's direction
        # is done, anything short of it is not.
        reached = value >= target if kr.kind == "increase" else value <= target
        return 1.0 if reached else 0.0
    return _progress(start, target, value)


def _measurable(kr: KeyResult) -> bool:
    """Whether a numeric key result has the numbers its kind needs to be scored."""
    if kr.kind in ("increase", "decrease"):
        return kr.start is not None and kr.target is not None
    return kr.target is not None


def _own_score(kr: KeyResult, checkins: Sequence[CheckIn]) -> tuple[float, bool, float | None]:
    """Score, has-data flag and current value of a non-roll-up key result."""
    if kr.kind == "milestone":
        done = _latest_done(checkins)
        return (1.0 if done else 0.0), done is not None, None
    if not _measurable(kr):
        return 0.0, False, _latest_value(checkins)
    value = _latest_value(checkins)
    if value is not None:
        return _value_score(kr, value), True, value
    if kr.kind in ("above", "below"):
        return 0.0, False, None
    # PRODUCT.md: no check-in yet → current = start. Scored as 0 even when start == target,
    # so a key result can never be "achieved" before anyone measured it.
    return 0.0, False, kr.start


def kr_score(kr: KeyResult, at: datetime, child_scores: Sequence[float] = ()) -> float:
    """Score in [0, 1] of ``kr`` from its check-ins at or before ``at``.

    For an ``objectives`` key result pass the scores of the objectives aligned to its
    objective (equal weights; none → 0.0); other kinds take no ``child_scores``.
    Raises ValueError for a naive ``at`` or child scores given to another kind.
    """
    _require_aware(at, "at")
    if kr.kind == "objectives":
        return _clamp01(_mean(child_scores)) if child_scores else 0.0
    if child_scores:
        raise ValueError(f"key result {kr.key!r} of kind {kr.kind} has no child objectives")
    return _own_score(kr, _visible(kr, at))[0]


def _trend_at(points: Sequence[tuple[float, float]], x_end: float) -> float:
    """Least-squares line through ``points`` evaluated at ``x_end``; flat if all x are equal.

    The result may be infinite for values near the float maximum, never NaN.
    """
    n = len(points)
    # Fitting y / max|y| keeps every intermediate sum finite for any finite values.
    scale = max(abs(y) for _, y in points)
    if scale == 0.0:
        return 0.0
    ys = [y / scale for _, y in points]
    x_mean = math.fsum(x for x, _ in points) / n
    y_mean = math.fsum(ys) / n
    sxx = math.fsum((x - x_mean) ** 2 for x, _ in points)
    if sxx == 0.0:
        return y_mean * scale
    sxy = math.fsum((x - x_mean) * (y - y_mean) for (x, _), y in zip(points, ys, strict=True))
    return (y_mean + sxy / sxx * (x_end - x_mean)) * scale


def _forecast_own(kr: KeyResult, cycle: Cycle, checkins: Sequence[CheckIn]) -> float | None:
    if kr.kind == "milestone":
        done = _latest_done(checkins)
        # A milestone has no trend: it is done or it is not.
        return None if done is None else (1.0 if done else 0.0)
    if not _measurable(kr):
        return None
    origin = cycle.starts_at
    points = [((c.at - origin) / _DAY, c.value) for c in checkins if c.value is not None]
    if not points:
        return None
    if kr.start is not None:
        # The start value is where the key result stood when the cycle began.
        points.append((0.0, kr.start))
    # An infinite projection (values near the float maximum) still scores as 0 or 1.
    return _value_score(kr, _trend_at(points, (cycle.ends_at - origin) / _DAY))


def kr_forecast(
    kr: KeyResult,
    cycle: Cycle,
    at: datetime,
    child_forecasts: Sequence[float | None] = (),
) -> float | None:
    """Projected score of ``kr`` at the end of ``cycle``, from check-ins at or before ``at``.

    Numeric kinds fit a least-squares line to the check-in values over time (plus the
    point (cycle start, ``start``) when the key result has a start), evaluate it at the
    cycle's end and score that value by the kind's rule; no value check-in → None.
    A milestone forecasts its current score; an ``objectives`` key result the mean of
    its children's forecasts that are not None (None when there are none).
    """
    _require_aware(at, "at")
    if kr.kind == "objectives":
        known = [f for f in child_forecasts if f is not None]
        return _clamp01(_mean(known)) if known else None
    if child_forecasts:
        raise ValueError(f"key result {kr.key!r} of kind {kr.kind} has no child objectives")
    return _forecast_own(kr, cycle, _visible(kr, at))


def _alignment_order(objectives: Sequence[Objective]) -> list[Objective]:
    """Objectives ordered deepest first, so every child comes before its parent.

    Raises AlignmentCycleError when ``parent`` links loop; parents outside the set are
    treated as absent.
    """
    by_key = {o.key: o for o in objectives}
    depth: dict[str, int] = {}
    for obj in objectives:
        # Walk up until a node of known depth or a root; iterative, so any depth works.
        path: list[str] = []
        on_path: dict[str, int] = {}
        node: str | None = obj.key
        while node is not None and node not in depth:
            if node in on_path:
                raise AlignmentCycleError(path[on_path[node] :])
            on_path[node] = len(path)
            path.append(node)
            parent = by_key[node].parent
            node = parent if parent in by_key else None
        base = -1 if node is None else depth[node]
        for offset, key in enumerate(reversed(path), start=1):
            depth[key] = base + offset
    return sorted(objectives, key=lambda o: -depth[o.key])


def evaluate_objective(
    obj: Objective, cycle: Cycle, at: datetime, children: Sequence[ObjectiveResult] = ()
) -> tuple[ObjectiveResult, dict[str, KeyResultResult]]:
    """Score one objective and its key results at ``at``, given its aligned children's results.

    ``children`` feed the ``objectives`` key results (their scores, forecasts and whether
    they have data); :func:`evaluate` passes them deepest first, and the database passes
    stored results when it rescores one branch. Raises ValueError for a naive ``at``.
    """
    _require_aware(at, "at")
    expected = expected_progress(cycle, at)
    kr_results: dict[str, KeyResultResult] = {}
    scores: list[float] = []
    forecasts: list[float | None] = []
    has_data_flags: list[bool] = []
    for kr in obj.key_results:
        visible = _visible(kr, at)
        if kr.kind == "objectives":
            score = kr_score(kr, at, [child.score for child in children])
            forecast = kr_forecast(kr, cycle, at, [child.forecast for child in children])
            has_data = any(child.has_data for child in children)
            current = None
        else:
            score, has_data, current = _own_score(kr, visible)
            forecast = _forecast_own(kr, cycle, visible)
        confidence = next(
            (c.confidence for c in reversed(visible) if c.confidence is not None), None
        )
        kr_results[kr.key] = KeyResultResult(
            score=score,
            status=status_for(score, expected, has_data),
            forecast=forecast,
            current=current,
            expected=expected,
            last_checkin_at=visible[-1].at if visible else None,
            confidence=confidence,
            has_data=has_data,
        )
        scores.append(score)
        forecasts.append(forecast)
        has_data_flags.append(has_data)

    weights = [kr.weight for kr in obj.key_results]
    score = _clamp01(_weighted_mean(scores, weights)) if scores else 0.0
    with_forecast = [(f, w) for f, w in zip(forecasts, weights, strict=True) if f is not None]
    obj_forecast = (
        _clamp01(_weighted_mean([f for f, _ in with_forecast], [w for _, w in with_forecast]))
        if with_forecast
        else None
    )
    has_data = any(has_data_flags)
    result = ObjectiveResult(
        score=score,
        status=status_for(score, expected, has_data),
        grade_band=grade_band(score),
        forecast=obj_forecast,
        expected=expected,
        has_data=has_data,
    )
    return result, kr_results


def evaluate(objectives: Sequence[Objective], cycle: Cycle, at: datetime) -> Evaluation:
    """Score every objective of ``cycle`` (and its key results and teams) at ``at``.

    Objectives of other cycles are ignored, also as roll-up children. Raises ValueError
    for a naive ``at`` or duplicate objective keys, AlignmentCycleError for a parent loop.
    """
    _require_aware(at, "at")
    mine = [o for o in objectives if o.cycle == cycle.key]
    seen: set[str] = set()
    for obj in mine:
        if obj.key in seen:
            raise ValueError(f"duplicate objective key {obj.key!r} in cycle {cycle.key!r}")
        seen.add(obj.key)

    children: dict[str, list[str]] = {}
    for obj in mine:
        if obj.parent is not None and obj.parent in seen:
            children.setdefault(obj.parent, []).append(obj.key)

    kr_results: dict[tuple[str, str], KeyResultResult] = {}
    obj_results: dict[str, ObjectiveResult] = {}
    for obj in _alignment_order(mine):
        result, krs = evaluate_objective(
            obj, cycle, at, [obj_results[k] for k in children.get(obj.key, [])]
        )
        obj_results[obj.key] = result
        kr_results.update(((obj.key, key), kr_result) for key, kr_result in krs.items())

    team_scores: dict[str, list[float]] = {}
    for obj in mine:
        if obj.team is not None:
            team_scores.setdefault(obj.team, []).append(obj_results[obj.key].score)
    teams = {team: _clamp01(_mean(values)) for team, values in team_scores.items()}
    # Report in the caller's order rather than the deepest-first evaluation order.
    return Evaluation(
        key_results={
            (obj.key, kr.key): kr_results[(obj.key, kr.key)]
            for obj in mine
            for kr in obj.key_results
        },
        objectives={obj.key: obj_results[obj.key] for obj in mine},
        teams=teams,
    )
