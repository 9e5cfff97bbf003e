"""Objectives, their key results and check-ins. Private objectives are 404 outside their team."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status
from ninja.params.functions import Header as HeaderParam

from headway.api import lookups
from headway.api import serialize as ser
from headway.api.auth import access_of, caller
from headway.api.errors import BadRequest
from headway.api.routes.common import (
    IF_MATCH_HELP,
    LIST,
    READ,
    VERSIONED,
    WRITE,
    page,
    responses,
    with_etag,
)
from headway.api.schemas import (
    AlignIn,
    CheckInIn,
    CheckInOut,
    KeyResultDetail,
    KeyResultIn,
    KeyResultPatch,
    ObjectiveDetail,
    ObjectiveFilters,
    ObjectiveIn,
    ObjectiveOut,
    ObjectivePatch,
    Page,
    PageParams,
    RecalibrateIn,
)
from headway.okrs import actions
from headway.okrs.models import CheckIn, Cycle, KeyResult, Objective
from headway.okrs.scoring import expected_progress, status_for
from headway.okrs.stored import display_moment, stored_tree
from headway.okrs.tree import CycleTree, core_cycle
from headway.teams.models import Person, Team

router = Router()
OBJ = ["objectives"]
KR = ["key results"]


def _counter_kpis(key_result_ids: list[int]) -> dict[int, list[str]]:
    """Counter-KPI keys of each key result (one query)."""
    found: dict[int, list[str]] = defaultdict(list)
    through = KeyResult.counter_kpis.through
    for kr_id, kpi_key in (
        through.objects.filter(keyresult_id__in=key_result_ids)
        .order_by("kpi__key")
        .values_list("keyresult_id", "kpi__key")
    ):
        found[kr_id].append(kpi_key)
    return found


def _kr_detail(kr: KeyResult, tree: CycleTree, counters: dict[int, list[str]]) -> dict[str, Any]:
    result = tree.key_result_result(kr)
    return {
        **ser.key_result(kr, counters.get(kr.pk, [])),
        "score": result.score,
        "status": result.status,
        "forecast": result.forecast,
        "expected": result.expected,
        "confidence": result.confidence,
        "last_checkin_at": result.last_checkin_at,
    }


def _scored(objective: Objective) -> tuple[CycleTree, Objective]:
    """This objective with its key results and stored scores, as a one-objective tree."""
    tree = stored_tree(objective.cycle, objectives=Objective.objects.filter(pk=objective.pk))
    return tree, tree.objectives[0]


def _detail(request: HttpRequest, key: str) -> tuple[dict[str, Any], int]:
    access = access_of(request)
    objective = lookups.objective(key, access)
    tree, node = _scored(objective)
    key_results: list[KeyResult] = node.key_results_list  # type: ignore[attr-defined]
    counters = _counter_kpis([kr.pk for kr in key_results])
    body = {
        **ser.objective(objective, access),
        "contributors": actions.contributor_keys(objective),
        **ser.objective_result(tree.objective_result(node)),
        "key_results": [_kr_detail(kr, tree, counters) for kr in key_results],
    }
    return body, objective.version


def key_result_body(
    request: HttpRequest, objective_key: str, kr_key: str
) -> tuple[dict[str, Any], int]:
    access = access_of(request)
    kr = lookups.key_result(objective_key, kr_key, access)
    tree, node = _scored(kr.objective)
    scored = next(k for k in node.key_results_list if k.pk == kr.pk)  # type: ignore[attr-defined]
    return _kr_detail(scored, tree, _counter_kpis([kr.pk])), kr.version


# Objectives -----------------------------------------------------------------------------------


@router.get(
    "/objectives", response=responses({200: Page[ObjectiveOut]}, *LIST), tags=OBJ,
    summary="List objectives",
)  # fmt: skip
def list_objectives(
    request: HttpRequest, filters: Query[ObjectiveFilters], params: Query[PageParams]
) -> dict[str, Any]:
    """Objectives you may see (public ones, and your teams' private ones), latest cycle first.

    Filter by team, cycle, owner (e-mail) and status (with `cycle`: status is computed
    within a cycle, at this moment).
    """
    access = access_of(request)
    objectives = lookups.visible_objectives(access)
    errors: dict[str, list[str]] = {}
    if filters.team is not None:
        team = Team.objects.filter(key=filters.team).first()
        if team is None:
            errors["team"] = [f"No team {filters.team!r}."]
        objectives = objectives.filter(team=team)
    if filters.owner is not None:
        owner = Person.objects.filter(email=filters.owner.strip().lower()).first()
        if owner is None:
            errors["owner"] = [f"No person with e-mail {filters.owner!r}."]
        objectives = objectives.filter(owner=owner)
    cycle = None
    if filters.cycle is not None:
        cycle = Cycle.objects.filter(key=filters.cycle).first()
        if cycle is None:
            errors["cycle"] = [f"No cycle {filters.cycle!r}."]
        objectives = objectives.filter(cycle=cycle)
    if filters.status is not None and filters.cycle is None:
        errors["status"] = ["Filter by status within one cycle: give `cycle` too."]
    if errors:
        raise BadRequest("Some filters are invalid.", fields=errors)
    if filters.status is not None and cycle is not None:
        expected = expected_progress(core_cycle(cycle), display_moment(cycle))
        keys = [
            key
            for key, score, has_data in Objective.objects.filter(cycle=cycle).values_list(
                "key", "score", "has_data"
            )
            if status_for(score, expected, has_data) == filters.status
        ]
        objectives = objectives.filter(key__in=keys)
    objectives = objectives.select_related("cycle", "team", "owner", "parent").order_by(
        "-cycle__start", "cycle__key", "key"
    )
    count, items = lookups.paginate(objectives, params.limit, params.offset)
    return page(count, params.limit, params.offset, [ser.objective(o, access) for o in items])


@router.get(
    "/objectives/{key}", response=responses({200: ObjectiveDetail}, *READ), tags=OBJ,
    summary="Get an objective",
)  # fmt: skip
def get_objective(request: HttpRequest, key: str, response: HttpResponse) -> dict[str, Any]:
    """With its key results and scores now. The ETag header carries the version."""
    body, version = _detail(request, key)
    with_etag(response, version)
    return body


@router.post(
    "/objectives", response=responses({201: ObjectiveDetail}, *WRITE), tags=OBJ,
    summary="Create an objective",
)  # fmt: skip
def create_objective(
    request: HttpRequest, payload: ObjectiveIn, response: HttpResponse
) -> Status[dict[str, Any]]:
    """Members of the team (and leads, admins). `parent` must be in the same cycle or a
    spanning one."""
    objective = actions.create_objective(
        by=caller(request),
        cycle=lookups.cycle_ref(payload.cycle),
        team=lookups.team_ref(payload.team),
        parent=lookups.objective_ref(payload.parent) if payload.parent else None,
        key=payload.key,
        title=payload.title,
        owner=lookups.person_ref(payload.owner),
        description=payload.description,
        type=payload.type,
        visibility=payload.visibility,
        contributors=payload.contributors,
    )
    body, version = _detail(request, objective.key)
    with_etag(response, version)
    return Status(201, body)


@router.patch(
    "/objectives/{key}", response=responses({200: ObjectiveDetail}, *VERSIONED), tags=OBJ,
    summary="Update an objective",
)  # fmt: skip
def update_objective(
    request: HttpRequest,
    key: str,
    payload: ObjectivePatch,
    response: HttpResponse,
    if_match: str | None = HeaderParam(None, alias="If-Match", description=IF_MATCH_HELP),
) -> dict[str, Any]:
    """Leads of the team and the owner (contributing teams do not edit it). Only the fields
    sent change; the version goes up. `contributors` replaces the contributing teams.
    Re-align with the align operation."""
    data = payload.model_dump(exclude_unset=True)
    changes = {
        field: data[field]
        for field in ("title", "description", "type", "visibility", "reflection")
        if data.get(field) is not None
    }
    if "owner" in data:
        changes["owner"] = lookups.person_ref(data["owner"])
    actions.update_objective(
        by=caller(request),
        objective=lookups.objective(key, access_of(request)),
        version=if_match,
        contributors=data.get("contributors"),
        **changes,
    )
    body, version = _detail(request, key)
    with_etag(response, version)
    return body


@router.delete(
    "/objectives/{key}", response=responses({204: None}, *VERSIONED), tags=OBJ,
    summary="Delete an objective",
)  # fmt: skip
def delete_objective(
    request: HttpRequest,
    key: str,
    if_match: str | None = HeaderParam(None, alias="If-Match", description=IF_MATCH_HELP),
) -> Status[None]:
    """Leads of the team and the owner; its key results go with it, objectives aligned to
    it become unaligned."""
    actions.delete_objective(
        by=caller(request), objective=lookups.objective(key, access_of(request)), version=if_match
    )
    return Status(204, None)


@router.post(
    "/objectives/{key}/align", response=responses({200: ObjectiveDetail}, *VERSIONED), tags=OBJ,
    summary="Align an objective",
)  # fmt: skip
def align_objective(
    request: HttpRequest,
    key: str,
    payload: AlignIn,
    response: HttpResponse,
    if_match: str | None = HeaderParam(None, alias="If-Match", description=IF_MATCH_HELP),
) -> dict[str, Any]:
    """Leads and admins of the team: set (or clear, with null) the objective it aligns to.
    Loops and parents in a cycle that does not span this one are refused."""
    actions.align_objective(
        by=caller(request),
        objective=lookups.objective(key, access_of(request)),
        parent=lookups.objective_ref(payload.parent) if payload.parent else None,
        version=if_match,
    )
    body, version = _detail(request, key)
    with_etag(response, version)
    return body


# Key results ----------------------------------------------------------------------------------


@router.post(
    "/objectives/{key}/key-results", response=responses({201: KeyResultDetail}, *WRITE),
    tags=KR, summary="Add a key result",
)  # fmt: skip
def create_key_result(
    request: HttpRequest, key: str, payload: KeyResultIn, response: HttpResponse
) -> Status[dict[str, Any]]:
    """Members of the team and the objective's owner. A `kpi` link feeds the value from
    the KPI's measurements."""
    objective = lookups.objective(key, access_of(request))
    kr = actions.create_key_result(
        by=caller(request),
        objective=objective,
        counter_kpis=lookups.kpi_refs(list(payload.counter_kpis or [])),
        key=payload.key,
        title=payload.title,
        kind=payload.kind,
        owner=lookups.person_ref(payload.owner),
        unit=payload.unit,
        start=payload.start,
        target=payload.target,
        weight=payload.weight,
        due=payload.due,
        position=payload.position,
        kpi=lookups.kpi_ref(payload.kpi),
    )
    body, version = key_result_body(request, key, kr.key)
    with_etag(response, version)
    return Status(201, body)


@router.get(
    "/objectives/{key}/key-results/{kr_key}", response=responses({200: KeyResultDetail}, *READ),
    tags=KR, summary="Get a key result",
)  # fmt: skip
def get_key_result(
    request: HttpRequest, key: str, kr_key: str, response: HttpResponse
) -> dict[str, Any]:
    """With its score now. The ETag header carries the version."""
    body, version = key_result_body(request, key, kr_key)
    with_etag(response, version)
    return body


@router.patch(
    "/objectives/{key}/key-results/{kr_key}",
    response=responses({200: KeyResultDetail}, *VERSIONED), tags=KR,
    summary="Update a key result",
)  # fmt: skip
def update_key_result(
    request: HttpRequest,
    key: str,
    kr_key: str,
    payload: KeyResultPatch,
    response: HttpResponse,
    if_match: str | None = HeaderParam(None, alias="If-Match", description=IF_MATCH_HELP),
) -> dict[str, Any]:
    """Leads, the objective's and the key result's owners. Title, kind, start and target
    change freely only while the cycle is in planning; afterwards use recalibrate."""
    data = payload.model_dump(exclude_unset=True)
    # start and target may be cleared with null; the other fields ignore a null.
    changes: dict[str, Any] = {
        f: data[f]
        for f in ("title", "kind", "start", "target", "unit", "weight", "position", "due")
        if f in data and (data[f] is not None or f in {"start", "target", "due"})
    }
    if "owner" in data:
        changes["owner"] = lookups.person_ref(data["owner"])
    if "kpi" in data:
        changes["kpi"] = lookups.kpi_ref(data["kpi"])
    counters = data.get("counter_kpis")
    actions.update_key_result(
        by=caller(request),
        key_result=lookups.key_result(key, kr_key, access_of(request)),
        counter_kpis=None if counters is None else lookups.kpi_refs(list(counters)),
        version=if_match,
        **changes,
    )
    body, version = key_result_body(request, key, kr_key)
    with_etag(response, version)
    return body


@router.delete(
    "/objectives/{key}/key-results/{kr_key}", response=responses({204: None}, *VERSIONED),
    tags=KR, summary="Delete a key result",
)  # fmt: skip
def delete_key_result(
    request: HttpRequest,
    key: str,
    kr_key: str,
    if_match: str | None = HeaderParam(None, alias="If-Match", description=IF_MATCH_HELP),
) -> Status[None]:
    """Leads of the team and the objective's owner."""
    actions.delete_key_result(
        by=caller(request),
        key_result=lookups.key_result(key, kr_key, access_of(request)),
        version=if_match,
    )
    return Status(204, None)


@router.post(
    "/objectives/{key}/key-results/{kr_key}/recalibrate",
    response=responses({200: KeyResultDetail}, *VERSIONED), tags=KR,
    summary="Recalibrate a key result",
)  # fmt: skip
def recalibrate_key_result(
    request: HttpRequest,
    key: str,
    kr_key: str,
    payload: RecalibrateIn,
    response: HttpResponse,
    if_match: str | None = HeaderParam(None, alias="If-Match", description=IF_MATCH_HELP),
) -> dict[str, Any]:
    """Leads and admins of the team: change title, start or target mid-cycle, with a
    reason kept in the history."""
    actions.recalibrate_key_result(
        by=caller(request),
        key_result=lookups.key_result(key, kr_key, access_of(request)),
        reason=payload.reason,
        title=payload.title,
        start=payload.start,
        target=payload.target,
        version=if_match,
    )
    body, version = key_result_body(request, key, kr_key)
    with_etag(response, version)
    return body


@router.get(
    "/objectives/{key}/key-results/{kr_key}/checkins",
    response=responses({200: Page[CheckInOut]}, *READ), tags=KR, summary="List check-ins",
)  # fmt: skip
def list_checkins(
    request: HttpRequest, key: str, kr_key: str, params: Query[PageParams]
) -> dict[str, Any]:
    """The key result's check-ins, latest first."""
    kr = lookups.key_result(key, kr_key, access_of(request))
    checkins = (
        CheckIn.objects.filter(key_result=kr).select_related("author").order_by("-at", "-ordinal")
    )
    count, items = lookups.paginate(checkins, params.limit, params.offset)
    return page(count, params.limit, params.offset, [ser.checkin(c) for c in items])


@router.post(
    "/objectives/{key}/key-results/{kr_key}/checkins",
    response=responses({201: CheckInOut}, *WRITE), tags=KR, summary="Check in",
)  # fmt: skip
def create_checkin(
    request: HttpRequest, key: str, kr_key: str, payload: CheckInIn
) -> Status[dict[str, Any]]:
    """Members of the team and the owners: a value (or `done` for a milestone), a
    confidence 0-10 (default: the previous one) and a comment. Check-ins are never edited."""
    checkin = actions.record_checkin(
        by=caller(request),
        key_result=lookups.key_result(key, kr_key, access_of(request)),
        value=payload.value,
        done=payload.done,
        confidence=payload.confidence,
        comment=payload.comment or "",
        at=payload.at,
    )
    return Status(201, ser.checkin(checkin))
