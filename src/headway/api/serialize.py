"""Turning models and scores into the API's response dictionaries (no queries of their own:
callers select or prefetch what is read here)."""

from __future__ import annotations

from typing import Any

from headway.api.models import ApiToken
from headway.kpis.models import Kpi, KpiReview, Measurement
from headway.okrs.models import CheckIn, Cycle, KeyResult, Objective
from headway.okrs.scoring import KeyResultResult, ObjectiveResult
from headway.teams.access import Access
from headway.teams.models import Person, Team


def email(person: Person | None) -> str | None:
    return person.email if person is not None else None


def etag(version: int) -> str:
    return f'"{version}"'


def team(t: Team) -> dict[str, Any]:
    return {
        "key": t.key,
        "name": t.name,
        "kind": t.kind,
        "parent": t.parent.key if t.parent is not None else None,
        "checkin_cadence_days": t.checkin_cadence_days,
        "created_at": t.created_at,
    }


def person(p: Person) -> dict[str, Any]:
    """Needs `memberships` prefetched with their team."""
    return {
        "email": p.email,
        "name": p.name,
        "is_active": p.is_active,
        "date_joined": p.date_joined,
        "memberships": [
            {"team": m.team.key, "role": m.role}
            for m in sorted(p.memberships.all(), key=lambda m: m.team.key)
        ],
    }


def cycle(c: Cycle) -> dict[str, Any]:
    return {
        "key": c.key,
        "name": c.name,
        "start": c.start,
        "end": c.end,
        "state": c.state,
        "closed_at": c.closed_at,
        "closed_by": email(c.closed_by),
    }


def objective(o: Objective, access: Access) -> dict[str, Any]:
    """Needs cycle, team, owner and parent selected. A parent the caller may not see is None."""
    parent = o.parent
    return {
        "key": o.key,
        "title": o.title,
        "description": o.description,
        "cycle": o.cycle.key,
        "team": o.team.key,
        "owner": email(o.owner),
        "type": o.type,
        "visibility": o.visibility,
        "parent": parent.key if parent is not None and access.can_see_objective(parent) else None,
        "grade": o.grade,
        "reflection": o.reflection,
        "version": o.version,
        "created_at": o.created_at,
        "updated_at": o.updated_at,
    }


def objective_result(result: ObjectiveResult) -> dict[str, Any]:
    return {
        "score": result.score,
        "status": result.status,
        "grade_band": result.grade_band,
        "forecast": result.forecast,
        "expected": result.expected,
    }


def key_result(kr: KeyResult, counter_kpis: list[str]) -> dict[str, Any]:
    """Needs objective (with cycle), owner and kpi selected."""
    return {
        "key": kr.key,
        "objective": kr.objective.key,
        "title": kr.title,
        "kind": kr.kind,
        "owner": email(kr.owner),
        "unit": kr.unit,
        "start": kr.start,
        "target": kr.target,
        "weight": kr.weight,
        "due": kr.due,
        "due_date": kr.due_date,
        "position": kr.position,
        "kpi": kr.kpi.key if kr.kpi is not None else None,
        "counter_kpis": counter_kpis,
        "current": kr.current,
        "done": kr.done,
        "grade": kr.grade,
        "version": kr.version,
        "created_at": kr.created_at,
        "updated_at": kr.updated_at,
    }


def key_result_result(result: KeyResultResult) -> dict[str, Any]:
    return {
        "score": result.score,
        "status": result.status,
        "forecast": result.forecast,
        "expected": result.expected,
        "current": result.current,
        "confidence": result.confidence,
        "last_checkin_at": result.last_checkin_at,
    }


def checkin(c: CheckIn) -> dict[str, Any]:
    return {
        "id": c.pk,
        "at": c.at,
        "value": c.value,
        "done": c.done,
        "confidence": c.confidence,
        "comment": c.comment,
        "author": email(c.author),
        "created_at": c.created_at,
    }


def kpi(k: Kpi) -> dict[str, Any]:
    """Needs team, owner and replaced_by selected."""
    return {
        "key": k.key,
        "name": k.name,
        "unit": k.unit,
        "definition": k.definition,
        "why": k.why,
        "how": k.how,
        "team": k.team.key,
        "owner": email(k.owner),
        "direction": k.direction,
        "target": k.target,
        "warning": k.warning,
        "critical": k.critical,
        "benchmark": k.benchmark,
        "cadence": k.cadence,
        "tier": k.tier,
        "health": k.health,
        "trend": k.trend,
        "latest_value": k.latest_value,
        "latest_at": k.latest_at,
        "evaluated_at": k.evaluated_at,
        "retired_at": k.retired_at,
        "replaced_by": k.replaced_by.key if k.replaced_by is not None else None,
        "review_due_at": None if k.is_retired else k.selection_review_due,
        "review_flag": k.selection_flag,
        "version": k.version,
        "created_at": k.created_at,
        "updated_at": k.updated_at,
    }


def kpi_review(r: KpiReview) -> dict[str, Any]:
    """Needs kpi, by and replacement selected."""
    return {
        "kpi": r.kpi.key,
        "at": r.at,
        "by": email(r.by),
        "decision": r.decision,
        "reason": r.reason,
        "flag": r.flag,
        "changes": r.changes,
        "replacement": r.replacement.key if r.replacement is not None else None,
    }


def measurement(m: Measurement) -> dict[str, Any]:
    return {
        "at": m.at,
        "value": m.value,
        "source": m.source,
        "note": m.note,
        "updated_at": m.updated_at,
    }


def token(t: ApiToken) -> dict[str, Any]:
    return {
        "id": t.pk,
        "name": t.name,
        "scope": t.scope,
        "prefix": t.prefix,
        "created_at": t.created_at,
        "last_used_at": t.last_used_at,
        "revoked_at": t.revoked_at,
    }
