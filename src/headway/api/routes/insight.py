"""Insight across cycles (read only): forecasts, calibration, team history, KPI moves.

The numbers come from `okrs.insight` through `okrs.insight_db`; docs/scoring.md ("Insight
across cycles") states each method and docs/api.md each operation.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema

from headway.api import lookups
from headway.api.auth import access_of
from headway.api.routes.common import READ, responses
from headway.api.schemas import PageParams
from headway.okrs import insight_db
from headway.okrs.models import KeyResult, Objective
from headway.okrs.stored import display_moment

router = Router()
INSIGHT = ["insight"]


class ProbabilityOut(Schema):
    key: str
    probability: float | None
    low: float | None
    high: float | None
    score_low: float | None
    score_high: float | None
    points: int
    reason: str


class ForecastOut(Schema):
    objective: str
    at: str
    level: float
    key_results: list[ProbabilityOut]


class ReliabilityOut(Schema):
    confidence: int
    forecasts: int
    landed: int


class CalibrationOut(Schema):
    forecasts: int
    brier: float | None
    expected_brier: float | None
    z: float | None
    overconfident: bool | None
    rows: list[ReliabilityOut]


class CalibrationFilters(Schema):
    person: str | None = None
    team: str | None = None


class TypeGrades(Schema):
    objectives: int
    mean: float | None


class CycleHistoryOut(Schema):
    cycle: str
    start: str
    end: str
    objectives: int
    mean: float | None
    bands: dict[str, int]
    committed: TypeGrades
    aspirational: TypeGrades
    unfinished: int
    carried_over: int
    carried_over_rate: float | None


class TeamHistoryOut(Schema):
    team: str
    cycles: list[CycleHistoryOut]
    calibration: CalibrationOut


class KpiMoveOut(Schema):
    objective: str
    key_result: str
    kpi: str | None
    achieved: bool
    verdict: str
    label: str
    p_value: float | None
    level_change: float | None
    slope_change: float | None
    periods_before: int
    periods_after: int
    reason: str


class KpiMovesOut(Schema):
    cycle: str
    count: int
    limit: int
    offset: int
    items: list[KpiMoveOut]


@router.get(
    "/objectives/{key}/forecast", response=responses({200: ForecastOut}, *READ), tags=INSIGHT,
    summary="Probabilistic forecast of an objective's key results",
)  # fmt: skip
def objective_forecast(request: HttpRequest, key: str) -> dict[str, Any]:
    """For each numeric key result: the probability of reaching its target by the cycle's
    end and the 80% interval of its end value (and score). Too little history gives
    `probability: null` and a `reason`."""
    objective = lookups.objective(key, access_of(request))
    at = display_moment(objective.cycle)
    forecasts = insight_db.objective_forecasts(objective, at)
    return {
        "objective": objective.key,
        "at": at.isoformat(),
        "level": 0.8,
        "key_results": [{"key": k, **p.as_dict()} for k, p in forecasts.items()],
    }


@router.get(
    "/calibration", response=responses({200: CalibrationOut}, *READ), tags=INSIGHT,
    summary="Calibration of check-in confidence",
)  # fmt: skip
def get_calibration(request: HttpRequest, filters: Query[CalibrationFilters]) -> dict[str, Any]:
    """Check-in confidences (0-10 read as 0-100%) of closed cycles against whether the key
    result landed (graded 1.0): Brier score, reliability table and over-confidence, for a
    `person` (e-mail), a `team` (key) or the organisation."""
    person = lookups.person(filters.person) if filters.person else None
    team = lookups.team(filters.team) if filters.team else None
    return insight_db.calibration(person=person, team=team).as_dict()


@router.get(
    "/teams/{key}/history", response=responses({200: TeamHistoryOut}, *READ), tags=INSIGHT,
    summary="A team's history across closed cycles",
)  # fmt: skip
def team_history(request: HttpRequest, key: str) -> dict[str, Any]:
    """Per closed cycle: grades, their bands, committed vs aspirational, carried-over rate;
    and the team's calibration. Private objectives count only for those who may see them."""
    team = lookups.team(key)
    access = access_of(request)
    return {
        "team": team.key,
        "cycles": [
            h.as_dict() for h in insight_db.team_history(team, access.objective_condition())
        ],
        "calibration": insight_db.calibration(team=team).as_dict(),
    }


@router.get(
    "/cycles/{key}/kpi-moves", response=responses({200: KpiMovesOut}, *READ), tags=INSIGHT,
    summary="Did the achieved key results move their KPIs?",
)  # fmt: skip
def kpi_moves(request: HttpRequest, key: str, params: Query[PageParams]) -> dict[str, Any]:
    """For each key result linked to a KPI (of the objectives you may see): moved the KPI,
    the KPI was already heading there (achieved) or kept its course (fell short), or not
    enough data. Paginated by objective and key result: each needs its KPI's history."""
    cycle = lookups.cycle(key)
    access = access_of(request)
    linked = KeyResult.objects.filter(
        objective__in=Objective.objects.filter(access.objective_condition(), cycle=cycle),
        kpi__isnull=False,
    ).order_by("objective__key", "position", "id")
    count, window = lookups.paginate(
        linked.select_related("objective", "kpi"), params.limit, params.offset
    )
    moves = insight_db.kpi_moves(cycle, list(window))
    return {
        "cycle": cycle.key,
        "count": count,
        "limit": params.limit,
        "offset": params.offset,
        "items": [row.as_dict() for row in moves.values()],
    }
