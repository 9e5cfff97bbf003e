"""Incremental KPI evaluation: what `health.evaluate` says, from a bounded state plus new points.

Pure, no Django. Everything `evaluate` says depends only on the KPI's review periods (the
latest point of each calendar period): health on the last one, the trend on the periods of
the trend window and on the streaks ending at the last one, anomalies on each period and
the 20 before it. So a KPI's state keeps:

- the last `TAIL` periods (enough for the longest trend window, 52 weeks, plus the context
  of the control-chart rules);
- the streaks (wrong way, right way, healthy) ending at the tail's first period, so the
  streaks at the end can be carried however long they run;
- the anomalies of the periods older than the tail's `CONTEXT`-th (they can no longer
  change while only later periods do);
- the moment it was evaluated at (`horizon`), and whether measurements after it exist.

New or replaced points then cost what they touch: `advance` folds them into the state, or
answers None when they reach into periods the state no longer holds (a back-fill of old
history, thresholds changed, a measurement in the future): the caller then evaluates from
the whole history (`from_points`), which also gives the new state. `evaluation` of a state
equals `health.evaluate` of the whole history, field by field (a property test checks it),
except the review periods, of which it keeps the last `TAIL`.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import numpy as np

from headway.kpis import health as core

#: Periods kept: the weekly trend window (52) and the control-chart context, with room.
TAIL: Final = 80
#: Periods of context a period's anomaly flags need: 20 of baseline for each of the 8 of a run.
CONTEXT: Final = core.BASELINE_PERIODS + core.RUN_LENGTH - 1
#: Version of the stored form: a state of another version is rebuilt from the history.
FORMAT: Final = 1

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO: Final = timedelta(microseconds=1)


def _to_micros(at: datetime) -> int:
    return (at - _EPOCH) // _MICRO


def _from_micros(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def fingerprint(kpi: core.Kpi) -> list[Any]:
    """What of the card the state depends on; a state of another card is rebuilt."""
    card: list[Any] = [kpi.direction, kpi.target, kpi.warning, kpi.critical, kpi.cadence]
    if kpi.schedule:  # a changed schedule is another card (absent: the states stored before)
        card.append(
            [[s.starts_at.isoformat(), s.target, s.warning, s.critical] for s in kpi.schedule]
        )
    return card


@dataclass(frozen=True, slots=True)
class Evaluation:
    """What `health.evaluate` says of health, trend and streaks, as derived from a state.

    The anomalies are `anomalies(state)`, the review periods the state keeps `periods(state)`.
    """

    health: str
    trend: str
    latest: core.Point | None
    slope_per_period: float | None
    p_value: float | None
    wrong_way_streak: int
    right_way_streak: int
    healthy_streak: int


@dataclass(frozen=True, slots=True)
class State:
    """A KPI's evaluation state (see the module docstring). Times in integer microseconds."""

    card: list[Any]
    horizon: int
    later: bool
    complete: bool  # the tail is the whole history (no period before it)
    keys: list[int] = field(default_factory=list)
    moments: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    base: tuple[int, int, int] = (0, 0, 0)  # wrong, right, healthy streaks ending at keys[0]
    frozen: list[tuple[int, float, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "card": self.card,
            "horizon": self.horizon,
            "later": self.later,
            "complete": self.complete,
            "keys": self.keys,
            "moments": self.moments,
            "values": self.values,
            "base": list(self.base),
            "frozen": [list(a) for a in self.frozen],
        }

    @classmethod
    def from_json(cls, data: Any) -> State | None:
        """The state stored as `data`, or None when there is none usable."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return None
        try:
            return cls(
                card=list(data["card"]),
                horizon=int(data["horizon"]),
                later=bool(data["later"]),
                complete=bool(data["complete"]),
                keys=[int(k) for k in data["keys"]],
                moments=[int(m) for m in data["moments"]],
                values=[float(v) for v in data["values"]],
                base=(int(data["base"][0]), int(data["base"][1]), int(data["base"][2])),
                frozen=[(int(a), float(b), str(c)) for a, b, c in data["frozen"]],
            )
        except (KeyError, TypeError, ValueError, IndexError):
            return None


def _step(
    kpi: core.Kpi,
    base: tuple[int, int, int],
    prev: tuple[int, float],
    cur: tuple[int, float],
    cur_us: int,
) -> tuple[int, int, int]:
    """The streaks ending at period `cur` from those ending at the period `prev` before it."""
    adjacent = cur[0] - prev[0] == 1
    move = cur[1] - prev[1]
    up = kpi.direction == "up"
    worse = adjacent and (move < 0 if up else move > 0)
    better = adjacent and (move > 0 if up else move < 0)
    ok = core.health_of_value(kpi, cur[1], _from_micros(cur_us)) == "healthy"
    healthy = 0 if not ok else (base[2] + 1 if adjacent else 1)
    return (base[0] + 1 if worse else 0, base[1] + 1 if better else 0, healthy)


def _flags(values: Sequence[float]) -> tuple[list[bool], list[bool]]:
    beyond, run = core._anomaly_flags(np.asarray(values, dtype=np.float64))
    return beyond.tolist(), run.tolist()


def _anomaly_list(
    moments: Sequence[int],
    values: Sequence[float],
    beyond: list[bool],
    run: list[bool],
    lo: int,
    hi: int,
) -> list[tuple[int, float, str]]:
    found: list[tuple[int, float, str]] = []
    for i in range(lo, min(hi, len(values))):
        if beyond[i]:
            found.append((moments[i], values[i], "beyond-3-sigma"))
        if run[i]:
            found.append((moments[i], values[i], "run-of-8"))
    return found


def from_points(
    kpi: core.Kpi, points: Sequence[core.Point], at: datetime
) -> tuple[core.KpiEvaluation, State]:
    """The full evaluation of every point (those after `at` ignored) and the state it leaves."""
    evaluation = core.evaluate(kpi, points, at)
    at_us = _to_micros(at)
    later = any(p.at > at for p in points)
    periods = evaluation.periods
    keys_all = (
        core._bucket(np.array([p.at.timestamp() for p in periods]), kpi.cadence).tolist()
        if periods
        else []
    )
    start = max(0, len(periods) - TAIL)
    tail = periods[start:]
    values_all = [p.value for p in periods]
    base = (0, 0, 0)
    frozen: list[tuple[int, float, str]] = []
    if start:
        keys_arr = np.array(keys_all[: start + 1], dtype=np.int64)
        vals_arr = np.array(values_all[: start + 1], dtype=np.float64)
        wrong, right = core._streaks(kpi, keys_arr, vals_arr)
        ok = core._healthy_mask(
            kpi, vals_arr, np.array([p.at.timestamp() for p in periods[: start + 1]])
        )
        adjacent = np.ones(keys_arr.shape, dtype=np.bool_)
        adjacent[1:] = np.diff(keys_arr) == 1
        base = (wrong, right, core._healthy_run(ok, adjacent))
        frozen = [
            (_to_micros(a.at), a.value, a.rule)
            for a in evaluation.anomalies
            if a.at < periods[start + CONTEXT].at
        ] if start + CONTEXT < len(periods) else []  # fmt: skip
    state = State(
        card=fingerprint(kpi),
        horizon=at_us,
        later=later,
        complete=start == 0,
        keys=keys_all[start:],
        moments=[_to_micros(p.at) for p in tail],
        values=[p.value for p in tail],
        base=base,
        frozen=frozen,
    )
    return evaluation, state


def advance(
    kpi: core.Kpi, state: State, points: Iterable[tuple[datetime, float]], at: datetime
) -> State | None:
    """The state once `points` (new or replaced measurements, as (moment, value)) are stored,
    evaluated at `at`.

    None when the state cannot answer: another card, an earlier `at`, measurements after
    the horizon, or a point reaching into periods before the tail's context.
    """
    at_us = _to_micros(at)
    if state.card != fingerprint(kpi) or at_us < state.horizon or state.later:
        return None
    given = sorted(points)
    if given and given[-1][0] > at:
        return None
    keys, moments, values = list(state.keys), list(state.moments), list(state.values)
    touched = len(keys)  # the earliest position changed
    buckets = (
        core._bucket(np.array([when.timestamp() for when, _v in given]), kpi.cadence).tolist()
        if given
        else []
    )
    # Of several points in one period only the latest can matter (they come sorted).
    latest: dict[int, tuple[datetime, float]] = dict(zip(buckets, given, strict=True))
    for key, (when, value) in latest.items():
        us = _to_micros(when)
        i = bisect.bisect_left(keys, key)
        if i < len(keys) and keys[i] == key:
            if us < moments[i]:
                continue  # an earlier point of the period: the period keeps its latest
            moments[i], values[i] = us, value
        else:
            keys.insert(i, key)
            moments.insert(i, us)
            values.insert(i, value)
        touched = min(touched, i)
        if not state.complete and touched < CONTEXT:
            return None
    base, frozen, complete = state.base, list(state.frozen), state.complete
    drop = len(keys) - TAIL
    if drop > 0:
        beyond, run = _flags(values)
        lo = 0 if complete else CONTEXT
        frozen += _anomaly_list(moments, values, beyond, run, lo, drop + CONTEXT)
        if complete:
            first = core.health_of_value(kpi, values[0], _from_micros(moments[0]))
            base = (0, 0, 1 if first == "healthy" else 0)
        for i in range(drop):
            base = _step(
                kpi, base, (keys[i], values[i]), (keys[i + 1], values[i + 1]), moments[i + 1]
            )
        keys, moments, values = keys[drop:], moments[drop:], values[drop:]
        complete = False
    return replace(
        state,
        horizon=at_us,
        complete=complete,
        keys=keys,
        moments=moments,
        values=values,
        base=base,
        frozen=frozen,
    )


def periods(state: State) -> tuple[core.Point, ...]:
    """The review periods the state keeps (the last `TAIL` of the KPI's), oldest first."""
    return tuple(
        core.Point(at=_from_micros(us), value=v)
        for us, v in zip(state.moments, state.values, strict=True)
    )


def evaluation(kpi: core.Kpi, state: State, at: datetime) -> Evaluation:
    """What `health.evaluate` of the whole history says at `at` (>= the state's horizon)."""
    at = core._aware(at, "at")
    keys = np.array(state.keys, dtype=np.int64)
    values = np.array(state.values, dtype=np.float64)
    latest = (
        core.Point(at=_from_micros(state.moments[-1]), value=state.values[-1])
        if state.moments
        else None
    )
    health = core._health_of_latest(kpi, latest, at)
    n = len(state.keys)
    wrong, right = core._streaks(kpi, keys, values)
    if not state.complete:
        # Streaks running over the whole tail carry on into the periods before it.
        wrong += state.base[0] if wrong == n - 1 else 0
        right += state.base[1] if right == n - 1 else 0
    verdict, slope, p_value, wrong, right = core._trend(kpi, keys, values, (wrong, right))
    healthy_streak = 0
    if health == "healthy":
        ok = core._healthy_mask(kpi, values, np.array(state.moments, dtype=np.float64) / 1e6)
        adjacent = np.ones(keys.shape, dtype=np.bool_)
        adjacent[1:] = np.diff(keys) == 1
        healthy_streak = core._healthy_run(ok, adjacent)
        if not state.complete and healthy_streak == n:
            healthy_streak = n - 1 + state.base[2]
    return Evaluation(
        health=health,
        trend=verdict,
        latest=latest,
        slope_per_period=slope,
        p_value=p_value,
        wrong_way_streak=wrong,
        right_way_streak=right,
        healthy_streak=healthy_streak,
    )


def anomalies(state: State) -> tuple[core.Anomaly, ...]:
    """The SPC anomalies of every review period of the KPI, as `health.evaluate` finds them."""
    beyond, run = _flags(state.values)
    lo = 0 if state.complete else CONTEXT
    found = list(state.frozen) + _anomaly_list(
        state.moments, state.values, beyond, run, lo, len(state.values)
    )
    return tuple(core.Anomaly(_from_micros(us), v, rule) for us, v, rule in found)
