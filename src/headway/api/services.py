"""The API's writes: keys and e-mails turned into rows, `If-Match`, then the domain action.

Every write goes through the same action the web pages call (`teams.actions`,
`okrs.actions`, `kpis.actions`), which checks the caller's rights (PRODUCT.md section 6),
validates (field errors as Django ValidationError) and bumps versions. For versioned
resources `If-Match` is checked here against the locked row, in the action's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model

from headway.api.errors import PreconditionFailed
from headway.kpis import actions as kpi_actions
from headway.kpis.actions import promote_kpi
from headway.kpis.models import Kpi
from headway.okrs import actions as okr_actions
from headway.okrs.actions import (
    align_objective,
    close_cycle,
    recalibrate_key_result,
    record_checkin,
    reopen_cycle,
)
from headway.okrs.models import CheckIn, Cycle, CycleState, KeyResult, Objective
from headway.teams import actions as team_actions
from headway.teams.access import Access, require
from headway.teams.models import Person, Team

Data = Mapping[str, Any]


# Versions ---------------------------------------------------------------------------------


def check_version(current: int, if_match: str | None) -> None:
    """Raise PreconditionFailed unless `If-Match` (when given) names the current version.

    Accepts `"3"`, `3`, a comma-separated list, or `*`; weak tags (`W/"3"`) never match.
    """
    if if_match is None:
        return
    for raw in if_match.split(","):
        tag = raw.strip()
        if tag == "*":
            return
        if tag.startswith("W/"):
            continue
        if tag.strip('"') == str(current):
            return
    raise PreconditionFailed(
        f"If-Match {if_match.strip()[:50]!r} does not match the current version "
        f'"{current}": someone changed it meanwhile. Fetch it again and reapply your change.'
    )


def _locked[M: Model](instance: M) -> M:
    locked: M = type(instance)._default_manager.select_for_update().get(pk=instance.pk)
    return locked


# References by key --------------------------------------------------------------------------


def _team(key: str, field: str = "team") -> Team:
    found = Team.objects.filter(key=key).first()
    if found is None:
        raise ValidationError({field: f"No team {key!r}."})
    return found


def _cycle(key: str) -> Cycle:
    found = Cycle.objects.filter(key=key).first()
    if found is None:
        raise ValidationError({"cycle": f"No cycle {key!r}."})
    return found


def _person(email: str | None, field: str = "owner") -> Person | None:
    if email is None:
        return None
    found = Person.objects.filter(email=email.strip().lower()).first()
    if found is None:
        raise ValidationError({field: f"No person with e-mail {email!r}."})
    return found


def _kpi(key: str | None, field: str = "kpi") -> Kpi | None:
    if key is None:
        return None
    found = Kpi.objects.filter(key=key).first()
    if found is None:
        raise ValidationError({field: f"No KPI {key!r}."})
    return found


def _kpis(keys: list[str]) -> list[Kpi]:
    found = {k.key: k for k in Kpi.objects.filter(key__in=keys)}
    missing = [key for key in keys if key not in found]
    if missing:
        raise ValidationError({"counter_kpis": f"No KPI {', '.join(map(repr, missing))}."})
    return [found[key] for key in dict.fromkeys(keys)]


def _visible_objective(key: str, access: Access, field: str = "parent") -> Objective:
    found = Objective.objects.select_related("cycle").filter(key=key).first()
    if found is None or not access.can_see_objective(found):
        raise ValidationError({field: f"No objective {key!r}."})
    return found


# Teams and people ---------------------------------------------------------------------------


@transaction.atomic
def create_team(*, by: Person, data: Data) -> Team:
    return team_actions.create_team(
        by=by,
        key=data["key"],
        name=data["name"],
        kind=data.get("kind", "team"),
        parent=_team(data["parent"], "parent") if data.get("parent") else None,
        checkin_cadence_days=data.get("checkin_cadence_days", 7),
    )


@transaction.atomic
def update_team(*, by: Person, team: Team, data: Data) -> Team:
    changes = {
        field: data[field]
        for field in ("name", "kind", "checkin_cadence_days")
        if data.get(field) is not None
    }
    if "parent" in data:
        changes["parent"] = _team(data["parent"], "parent") if data["parent"] else None
    return team_actions.update_team(by=by, team=team, **changes)


def delete_team(*, by: Person, team: Team) -> None:
    """Delete a team with no sub-teams, objectives or KPIs (else ProtectedError: 409)."""
    team_actions.delete_team(by=by, team=team)


def _memberships(entries: list[Mapping[str, str]]) -> list[tuple[Team, str]]:
    keys = [entry["team"] for entry in entries]
    teams = {t.key: t for t in Team.objects.filter(key__in=keys)}
    unknown = [key for key in dict.fromkeys(keys) if key not in teams]
    if unknown:
        raise ValidationError({"memberships": f"No team {', '.join(map(repr, unknown))}."})
    return [(teams[entry["team"]], entry.get("role", "member")) for entry in entries]


@transaction.atomic
def create_person(*, by: Person, data: Data) -> Person:
    """Invite a person: no password yet (they set one through the sign-in page's reset)."""
    return team_actions.invite_person(
        by=by,
        email=data["email"],
        name=data.get("name", ""),
        is_active=data.get("is_active", True),
        memberships=_memberships(list(data.get("memberships") or [])),
    )


@transaction.atomic
def update_person(*, by: Person, person: Person, data: Data) -> Person:
    memberships = data.get("memberships")
    return team_actions.update_person(
        by=by,
        person=person,
        name=data.get("name"),
        is_active=data.get("is_active"),
        memberships=None if memberships is None else _memberships(list(memberships)),
    )


# Cycles -------------------------------------------------------------------------------------


def create_cycle(*, by: Person, data: Data) -> Cycle:
    return okr_actions.create_cycle(
        by=by,
        key=data["key"],
        name=data.get("name", ""),
        start=data["start"],
        end=data["end"],
        state=data.get("state", CycleState.PLANNING),
    )


def update_cycle(*, by: Person, cycle: Cycle, data: Data) -> Cycle:
    changes = {field: data[field] for field in ("start", "end", "state") if data.get(field)}
    if data.get("name") is not None:
        changes["name"] = data["name"]
    return okr_actions.update_cycle(by=by, cycle=cycle, **changes)


def close(*, by: Person, cycle: Cycle, reflections: Mapping[str, str]) -> Cycle:
    return close_cycle(cycle=cycle, by=by, reflections=reflections)


def reopen(*, by: Person, cycle: Cycle) -> Cycle:
    return reopen_cycle(cycle=cycle, by=by)


# Objectives ---------------------------------------------------------------------------------


@transaction.atomic
def create_objective(*, by: Person, data: Data) -> Objective:
    access = Access.for_person(by)
    team = _team(data["team"])
    require(access.can_create_in(team.pk), f"Only members of {team} may create its objectives.")
    parent = _visible_objective(data["parent"], access) if data.get("parent") else None
    return okr_actions.create_objective(
        by=by,
        cycle=_cycle(data["cycle"]),
        team=team,
        parent=parent,
        key=data["key"],
        title=data["title"],
        owner=_person(data.get("owner")),
        description=data.get("description", ""),
        type=data.get("type", "aspirational"),
        visibility=data.get("visibility", "public"),
    )


@transaction.atomic
def update_objective(
    *, by: Person, objective: Objective, data: Data, if_match: str | None
) -> Objective:
    check_version(_locked(objective).version, if_match)
    changes = {
        field: data[field]
        for field in ("title", "description", "type", "visibility", "reflection")
        if data.get(field) is not None
    }
    if "owner" in data:
        changes["owner"] = _person(data["owner"])
    return okr_actions.update_objective(by=by, objective=objective, **changes)


@transaction.atomic
def delete_objective(*, by: Person, objective: Objective, if_match: str | None) -> None:
    check_version(_locked(objective).version, if_match)
    okr_actions.delete_objective(by=by, objective=objective)


@transaction.atomic
def align(
    *, by: Person, objective: Objective, parent_key: str | None, if_match: str | None
) -> Objective:
    objective = _locked(objective)
    check_version(objective.version, if_match)
    access = Access.for_person(by)
    parent = _visible_objective(parent_key, access) if parent_key else None
    return align_objective(objective=objective, parent=parent, by=by)


# Key results --------------------------------------------------------------------------------


@transaction.atomic
def create_key_result(*, by: Person, objective: Objective, data: Data) -> KeyResult:
    access = Access.for_person(by)
    require(
        access.can_create_in(objective.team_id) or access.can_edit_objective(objective),
        "Only members of the team and the objective's owner may add key results.",
    )
    if objective.key_results.filter(key=data["key"]).exists():
        raise ValidationError({"key": f"“{objective}” already has a key result {data['key']!r}."})
    return okr_actions.create_key_result(
        by=by,
        objective=objective,
        counter_kpis=_kpis(list(data.get("counter_kpis") or [])),
        key=data["key"],
        title=data["title"],
        kind=data.get("kind", "increase"),
        owner=_person(data.get("owner")),
        unit=data.get("unit", ""),
        start=data.get("start"),
        target=data.get("target"),
        weight=data.get("weight", 1.0),
        due=data.get("due"),
        position=data.get("position"),
        kpi=_kpi(data.get("kpi")),
    )


@transaction.atomic
def update_key_result(
    *, by: Person, key_result: KeyResult, data: Data, if_match: str | None
) -> KeyResult:
    check_version(_locked(key_result).version, if_match)
    # start and target may be cleared with null; the other fields ignore a null.
    changes = {
        f: data[f]
        for f in ("title", "kind", "start", "target", "unit", "weight", "position", "due")
        if f in data and (data[f] is not None or f in {"start", "target", "due"})
    }
    if "owner" in data:
        changes["owner"] = _person(data["owner"])
    if "kpi" in data:
        changes["kpi"] = _kpi(data["kpi"])
    counters = data.get("counter_kpis")
    return okr_actions.update_key_result(
        by=by,
        key_result=key_result,
        counter_kpis=None if counters is None else _kpis(list(counters)),
        **changes,
    )


@transaction.atomic
def delete_key_result(*, by: Person, key_result: KeyResult, if_match: str | None) -> None:
    check_version(_locked(key_result).version, if_match)
    okr_actions.delete_key_result(by=by, key_result=key_result)


@transaction.atomic
def recalibrate(
    *, by: Person, key_result: KeyResult, data: Data, if_match: str | None
) -> KeyResult:
    check_version(_locked(key_result).version, if_match)
    return recalibrate_key_result(
        key_result=key_result,
        by=by,
        reason=data["reason"],
        title=data.get("title"),
        start=data.get("start"),
        target=data.get("target"),
    )


def check_in(*, by: Person, key_result: KeyResult, data: Data) -> CheckIn:
    at: datetime | None = data.get("at")
    return record_checkin(
        key_result=key_result,
        by=by,
        value=data.get("value"),
        done=data.get("done"),
        confidence=data.get("confidence"),
        comment=data.get("comment") or "",
        at=at,
    )


# KPIs ---------------------------------------------------------------------------------------

KPI_FIELDS = (
    "name", "unit", "definition", "why", "how", "direction", "target", "warning",
    "critical", "benchmark", "cadence", "tier",
)  # fmt: skip
# A PATCH clears these with an explicit null; the other fields ignore one.
CLEARABLE = frozenset({"target", "warning", "critical", "benchmark", "owner"})


@transaction.atomic
def create_kpi(*, by: Person, data: Data) -> Kpi:
    fields = {field: data[field] for field in KPI_FIELDS if data.get(field) is not None}
    return kpi_actions.create_kpi(
        by=by, team=_team(data["team"]), key=data["key"], owner=_person(data.get("owner")), **fields
    )


@transaction.atomic
def update_kpi(*, by: Person, kpi: Kpi, data: Data, if_match: str | None) -> Kpi:
    check_version(_locked(kpi).version, if_match)
    changes = {
        field: data[field]
        for field in KPI_FIELDS
        if field in data and (data[field] is not None or field in CLEARABLE)
    }
    if "owner" in data:
        changes["owner"] = _person(data["owner"])
    return kpi_actions.update_kpi(by=by, kpi=kpi, **changes)


def promote(*, by: Person, kpi: Kpi, data: Data) -> KeyResult:
    objective = _visible_objective(data["objective"], Access.for_person(by), "objective")
    return promote_kpi(
        kpi=kpi, objective=objective, by=by, target=data.get("target"), title=data.get("title")
    )
