"""Writes of the API that no existing action covers: plain create, update and delete.

Each function checks the caller's rights with Access (PRODUCT.md section 6), validates with
full_clean (field errors as Django ValidationError), runs in one transaction and, for
versioned resources, checks `If-Match` against the locked row and bumps `version`.
Workflows with an action of their own (check-ins, recalibration, alignment, closing and
reopening cycles, promotion, measurements) are called through that action.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Model

from headway.api.errors import PreconditionFailed
from headway.kpis.actions import promote_kpi, refresh_kpis
from headway.kpis.models import Kpi
from headway.okrs import actions as okr_actions
from headway.okrs import stored
from headway.okrs.actions import (
    align_objective,
    close_cycle,
    recalibrate_key_result,
    record_checkin,
    reopen_cycle,
)
from headway.okrs.models import CheckIn, Cycle, CycleState, KeyResult, Objective
from headway.teams.access import Access, require
from headway.teams.models import Membership, Person, Team

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


def _save(instance: Model, by: Person, *, reason: str | None = None) -> None:
    instance.full_clean()
    instance._history_user = by  # type: ignore[attr-defined]
    if reason:
        instance._change_reason = reason  # type: ignore[attr-defined]
    instance.save()


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


# Teams --------------------------------------------------------------------------------------


def _check_team_parent(team: Team, parent: Team | None) -> None:
    if parent is None or team.pk is None:
        return
    parents = dict(Team.objects.values_list("id", "parent_id"))
    node: int | None = parent.pk
    while node is not None:
        if node == team.pk:
            raise ValidationError({"parent": f"{parent} is below {team}: that would loop."})
        node = parents.get(node)


@transaction.atomic
def create_team(*, by: Person, data: Data) -> Team:
    require(Access.for_person(by).can_manage(), "Only admins may manage teams.")
    parent = _team(data["parent"], "parent") if data.get("parent") else None
    team = Team(
        key=data["key"],
        name=data["name"],
        kind=data.get("kind", "team"),
        parent=parent,
        checkin_cadence_days=data.get("checkin_cadence_days", 7),
    )
    _save(team, by)
    return team


@transaction.atomic
def update_team(*, by: Person, team: Team, data: Data) -> Team:
    require(Access.for_person(by).can_manage(), "Only admins may manage teams.")
    team = _locked(team)
    if "parent" in data:
        team.parent = _team(data["parent"], "parent") if data["parent"] else None
        _check_team_parent(team, team.parent)
    for field in ("name", "kind", "checkin_cadence_days"):
        if data.get(field) is not None:
            setattr(team, field, data[field])
    _save(team, by)
    return team


@transaction.atomic
def delete_team(*, by: Person, team: Team) -> None:
    """Delete a team with no sub-teams, objectives or KPIs (else ProtectedError: 409)."""
    require(Access.for_person(by).can_manage(), "Only admins may manage teams.")
    team.delete()


# People -------------------------------------------------------------------------------------


def _memberships(entries: list[Mapping[str, str]]) -> list[tuple[Team, str]]:
    keys = [entry["team"] for entry in entries]
    teams = {t.key: t for t in Team.objects.filter(key__in=keys)}
    errors = [f"no team {key!r}" for key in keys if key not in teams]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        errors.append(f"listed twice: {', '.join(duplicates)}")
    if errors:
        raise ValidationError({"memberships": "; ".join(errors).capitalize() + "."})
    return [(teams[entry["team"]], entry.get("role", "member")) for entry in entries]


def _set_memberships(person: Person, memberships: list[tuple[Team, str]]) -> None:
    Membership.objects.filter(person=person).delete()
    Membership.objects.bulk_create(
        Membership(person=person, team=team, role=role) for team, role in memberships
    )


@transaction.atomic
def create_person(*, by: Person, data: Data) -> Person:
    """Invite a person: no password yet (they set one through the sign-in page's reset)."""
    require(Access.for_person(by).can_manage(), "Only admins may manage people.")
    email = data["email"].strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": f"{data['email']!r} is not a valid e-mail."}) from None
    if Person.objects.filter(email=email).exists():
        raise ValidationError({"email": f"{email} already exists."})
    memberships = _memberships(list(data.get("memberships") or []))
    person = Person(email=email, name=data.get("name", ""), is_active=data.get("is_active", True))
    person.set_unusable_password()
    person.full_clean()
    person.save()
    _set_memberships(person, memberships)
    return person


@transaction.atomic
def update_person(*, by: Person, person: Person, data: Data) -> Person:
    require(Access.for_person(by).can_manage(), "Only admins may manage people.")
    person = _locked(person)
    if data.get("name") is not None:
        person.name = data["name"]
    if data.get("is_active") is not None:
        person.is_active = data["is_active"]
    person.full_clean(exclude=["password"])
    person.save()
    if data.get("memberships") is not None:
        _set_memberships(person, _memberships(list(data["memberships"])))
    return person


# Cycles -------------------------------------------------------------------------------------


@transaction.atomic
def create_cycle(*, by: Person, data: Data) -> Cycle:
    require(Access.for_person(by).can_manage(), "Only admins may manage cycles.")
    cycle = Cycle(
        key=data["key"],
        name=data.get("name", ""),
        start=data["start"],
        end=data["end"],
        state=data.get("state", CycleState.PLANNING),
    )
    _check_dates(cycle)
    _save(cycle, by)
    return cycle


def _check_dates(cycle: Cycle) -> None:
    if cycle.start and cycle.end and cycle.end < cycle.start:
        raise ValidationError({"end": "The cycle cannot end before it starts."})


@transaction.atomic
def update_cycle(*, by: Person, cycle: Cycle, data: Data) -> Cycle:
    require(Access.for_person(by).can_manage(), "Only admins may manage cycles.")
    cycle = _locked(cycle)
    changes = {field: data[field] for field in ("start", "end", "state") if data.get(field)}
    if cycle.is_closed and any(getattr(cycle, f) != v for f, v in changes.items()):
        raise ValidationError(
            f"The cycle {cycle} is closed: reopen it before changing its dates or state."
        )
    if data.get("name") is not None:
        cycle.name = data["name"]
    dates_moved = any(getattr(cycle, f) != changes[f] for f in ("start", "end") if f in changes)
    for field, value in changes.items():
        setattr(cycle, field, value)
    _check_dates(cycle)
    _save(cycle, by)
    if dates_moved:
        # Forecasts and KPI-fed key results depend on the cycle's window.
        stored.rescore_cycle(cycle)
    return cycle


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

EVALUATED = ("direction", "target", "warning", "critical", "cadence")
KPI_FIELDS = (
    "name", "unit", "definition", "why", "how", "direction", "target", "warning",
    "critical", "benchmark", "cadence", "tier",
)  # fmt: skip


@transaction.atomic
def create_kpi(*, by: Person, data: Data) -> Kpi:
    team = _team(data["team"])
    require(
        Access.for_person(by).can_create_in(team.pk),
        f"Only members of {team} may create its KPIs.",
    )
    kpi = Kpi(key=data["key"], team=team, owner=_person(data.get("owner")))
    for field in KPI_FIELDS:
        if field in data and data[field] is not None:
            setattr(kpi, field, data[field])
    _save(kpi, by)
    return kpi


@transaction.atomic
def update_kpi(*, by: Person, kpi: Kpi, data: Data, if_match: str | None) -> Kpi:
    kpi = _locked(kpi)
    check_version(kpi.version, if_match)
    require(
        Access.for_person(by).can_edit_kpi(kpi),
        "Only leads of the team and the owner may edit this KPI.",
    )
    before = {field: getattr(kpi, field) for field in EVALUATED}
    nullable = {"target", "warning", "critical", "benchmark"}
    for field in KPI_FIELDS:
        if field in data and (data[field] is not None or field in nullable):
            setattr(kpi, field, data[field])
    if "owner" in data:
        kpi.owner = _person(data["owner"])
    kpi.version += 1
    _save(kpi, by)
    if any(getattr(kpi, field) != value for field, value in before.items()):
        refresh_kpis(kpi_ids=[kpi.pk])
        kpi.refresh_from_db()
    return kpi


def promote(*, by: Person, kpi: Kpi, data: Data) -> KeyResult:
    objective = _visible_objective(data["objective"], Access.for_person(by), "objective")
    return promote_kpi(
        kpi=kpi, objective=objective, by=by, target=data.get("target"), title=data.get("title")
    )
