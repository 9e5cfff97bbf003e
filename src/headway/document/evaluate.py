"""Score a document at one moment: what `headway score` prints, with no database.

The numbers come from the same pure cores as the database layer (`okrs.scoring` and
`kpis.health`), fed exactly as `okrs.tree.load_cycle_tree` and `Kpi.evaluate` feed them,
so a file and the database it is imported into score the same.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from headway.document.schema import (
    Cycle,
    Document,
    KeyResult,
    Kpi,
    Objective,
    measurement_points,
)
from headway.kpis import health, schedule
from headway.okrs import scoring

__all__ = [
    "DEFAULT_CADENCE",
    "CycleSelectionError",
    "core_kpi",
    "core_objectives",
    "score_document",
    "select_cycle",
]

#: Health needs a review period; a KPI without a cadence is judged monthly (as in the DB).
DEFAULT_CADENCE = "monthly"


class CycleSelectionError(ValueError):
    """No cycle (or no such cycle) to score: an unknown ``--cycle`` or none containing ``at``."""


def _aware(at: datetime) -> datetime:
    # A moment without a zone is UTC, as everywhere in the format.
    return at.replace(tzinfo=UTC) if at.tzinfo is None or at.utcoffset() is None else at


def select_cycle(doc: Document, at: datetime, cycle_key: str | None = None) -> Cycle:
    """The cycle named ``cycle_key``, else the one containing ``at``.

    When several contain ``at`` (a quarter inside a year), the shortest wins; among equally
    long ones the one that starts latest, then the first in the document. Raises
    CycleSelectionError when the key is unknown or no cycle contains ``at``.
    """
    at = _aware(at)
    if cycle_key is not None:
        cycle = doc.cycles_by_key.get(cycle_key)
        if cycle is None:
            known = ", ".join(c.key for c in doc.cycles) or "none"
            raise CycleSelectionError(f"no cycle {cycle_key!r} in the document (cycles: {known})")
        return cycle
    containing = [c for c in doc.cycles if c.contains(at)]
    if not containing:
        spans = ", ".join(f"{c.key} ({c.start} to {c.end})" for c in doc.cycles) or "none"
        raise CycleSelectionError(
            f"no cycle contains {at.isoformat()}; pick one with --cycle (cycles: {spans})"
        )
    return min(containing, key=lambda c: ((c.end - c.start).days, -c.start.toordinal()))


def _core_cycle(cycle: Cycle) -> scoring.Cycle:
    return scoring.Cycle(key=cycle.key, start=cycle.start, end=cycle.end)


def _measurement_checkins(kpi: Kpi | None, cycle: Cycle, at: datetime) -> list[scoring.CheckIn]:
    """A linked KPI's measurements from the cycle's start up to ``at``, as check-ins."""
    if kpi is None:
        return []
    window_start = cycle.starts_at
    return [
        scoring.CheckIn(at=moment, value=value)
        for moment, value in sorted(measurement_points(kpi.measurements), key=lambda p: p[0])
        if window_start <= moment <= at
    ]


def _core_key_result(
    kr: KeyResult, cycle: Cycle, at: datetime, kpis: dict[str, Kpi]
) -> scoring.KeyResult:
    checkins = [
        scoring.CheckIn(at=c.at, value=c.value, done=c.done, confidence=c.confidence)
        for c in sorted(kr.checkins, key=lambda c: c.at)
        if c.at <= at
    ]
    if kr.kind == "milestone" and kr.done and all(c.done is None for c in kr.checkins):
        # `done: true` written on the key result with no check-in saying so: done since the
        # cycle's start (the importer records it as a check-in at that moment).
        checkins.insert(0, scoring.CheckIn(at=cycle.starts_at, done=True))
    checkins += _measurement_checkins(kpis.get(kr.kpi) if kr.kpi else None, cycle, at)
    return scoring.KeyResult(
        key=kr.key,
        kind=kr.kind,
        start=kr.start,
        target=kr.target,
        weight=kr.weight,
        checkins=tuple(checkins),
    )


def core_objectives(doc: Document, cycle: Cycle, at: datetime) -> list[scoring.Objective]:
    """The cycle's objectives as the scoring core sees them at ``at``.

    Mirrors the database layer: check-ins up to ``at``; a KPI-linked key result also gets
    the KPI's measurements with cycle start (00:00 UTC) <= measured at <= ``at``; a parent
    in another cycle counts as no parent.
    """
    at = _aware(at)
    mine = [o for o in doc.objectives if o.cycle == cycle.key]
    keys = {o.key for o in mine}
    return [_core_objective(o, cycle, at, doc.kpis_by_key, keys) for o in mine]


def _core_objective(
    objective: Objective, cycle: Cycle, at: datetime, kpis: dict[str, Kpi], keys: set[str]
) -> scoring.Objective:
    return scoring.Objective(
        key=objective.key,
        team=objective.team,
        cycle=cycle.key,
        parent=objective.parent if objective.parent in keys else None,
        type=objective.type,
        key_results=tuple(_core_key_result(kr, cycle, at, kpis) for kr in objective.key_results),
    )


def core_kpi(kpi: Kpi) -> health.Kpi:
    """The KPI card as the health core sees it (no cadence: judged monthly)."""
    return health.Kpi(
        direction=kpi.direction,
        target=kpi.target,
        warning=kpi.warning,
        critical=kpi.critical,
        cadence=kpi.cadence or DEFAULT_CADENCE,
        schedule=schedule.core_steps(schedule_of(kpi)),
    )


def schedule_of(kpi: Kpi) -> list[dict[str, Any]]:
    """A file's target schedule in the card's stored form (kpis.schedule)."""
    return [
        {"from": s.starts.isoformat(), "target": s.target, "warning": s.warning,
         "critical": s.critical}
        for s in sorted(kpi.target_schedule, key=lambda s: s.starts)
    ]  # fmt: skip


def _kpi_entry(kpi: Kpi, at: datetime) -> dict[str, Any]:
    points = [
        health.Point(at=moment, value=value)
        for moment, value in measurement_points(kpi.measurements)
        if moment <= at
    ]
    ev = health.evaluate(core_kpi(kpi), points, at)
    latest = (
        None if ev.latest is None else {"at": ev.latest.at.isoformat(), "value": ev.latest.value}
    )
    return {
        "health": ev.health,
        "trend": ev.trend,
        "latest": latest,
        "wrong_way_streak": ev.wrong_way_streak,
        "right_way_streak": ev.right_way_streak,
        "healthy_streak": ev.healthy_streak,
        "slope_per_period": ev.slope_per_period,
        "p_value": ev.p_value,
        "anomalies": [
            {"at": a.at.isoformat(), "value": a.value, "rule": a.rule} for a in ev.anomalies
        ],
        "deserves_promotion": health.deserves_promotion(ev),
        "team": kpi.team,
    }


def score_document(doc: Document, at: datetime, cycle_key: str | None = None) -> dict[str, Any]:
    """Scores of one cycle and the health of every KPI at ``at``, as plain JSON data.

    ``{"at", "cycle", "key_results": {"<objective>/<kr>": {...}}, "objectives": {...},
    "teams": {...}, "kpis": {...}}`` (PRODUCT.md Appendix A); a naive ``at`` is UTC.
    Raises CycleSelectionError when no cycle can be chosen (see :func:`select_cycle`).
    """
    at = _aware(at).astimezone(UTC)
    cycle = select_cycle(doc, at, cycle_key)
    objectives = core_objectives(doc, cycle, at)
    evaluation = scoring.evaluate(objectives, _core_cycle(cycle), at)

    key_results: dict[str, dict[str, Any]] = {}
    for (objective_key, kr_key), kr in evaluation.key_results.items():
        key_results[f"{objective_key}/{kr_key}"] = {
            "score": kr.score,
            "status": kr.status,
            "forecast": kr.forecast,
            "current": kr.current,
            "expected": kr.expected,
            "confidence": kr.confidence,
        }
    team_of = {o.key: o.team for o in objectives}
    result_objectives = {
        key: {
            "score": o.score,
            "status": o.status,
            "grade_band": o.grade_band,
            "forecast": o.forecast,
            "expected": o.expected,
            "team": team_of[key],
        }
        for key, o in evaluation.objectives.items()
    }
    counts: dict[str, int] = {}
    for o in objectives:
        if o.team is not None:
            counts[o.team] = counts.get(o.team, 0) + 1
    teams = {
        team: {"score": score, "objectives": counts[team]}
        for team, score in evaluation.teams.items()
    }
    return {
        "at": at.isoformat(),
        "cycle": cycle.key,
        "key_results": key_results,
        "objectives": result_objectives,
        "teams": teams,
        "kpis": {kpi.key: _kpi_entry(kpi, at) for kpi in doc.kpis},
    }
