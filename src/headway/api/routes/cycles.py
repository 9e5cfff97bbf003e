"""Cycles: read by everyone, managed by admins; closing, reopening; the tree and scores."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from headway.api import lookups, services
from headway.api import serialize as ser
from headway.api.auth import access_of, caller
from headway.api.errors import BadRequest
from headway.api.routes.common import LIST, READ, WRITE, moment, page, responses
from headway.api.schemas import (
    AtParams,
    CloseIn,
    CycleIn,
    CycleOut,
    CyclePatch,
    Page,
    PageParams,
    ScoresOut,
    TreeOut,
    TreeParams,
)
from headway.okrs.models import Cycle, Objective
from headway.okrs.scoring import expected_progress
from headway.okrs.stored import stored_tree
from headway.okrs.tree import CycleTree, core_cycle
from headway.teams.models import Team, team_subtree

router = Router(tags=["cycles"])


@router.get("/cycles", response=responses({200: Page[CycleOut]}, *LIST), summary="List cycles")
def list_cycles(request: HttpRequest, params: Query[PageParams]) -> dict[str, object]:
    """Every cycle, the latest first."""
    cycles = Cycle.objects.select_related("closed_by").order_by("-start", "key")
    count, items = lookups.paginate(cycles, params.limit, params.offset)
    return page(count, params.limit, params.offset, [ser.cycle(c) for c in items])


@router.get("/cycles/{key}", response=responses({200: CycleOut}, *READ), summary="Get a cycle")
def get_cycle(request: HttpRequest, key: str) -> dict[str, object]:
    return ser.cycle(lookups.cycle(key))


@router.post("/cycles", response=responses({201: CycleOut}, *WRITE), summary="Create a cycle")
def create_cycle(request: HttpRequest, payload: CycleIn) -> Status[dict[str, object]]:
    """Admins only."""
    cycle = services.create_cycle(by=caller(request), data=payload.model_dump())
    return Status(201, ser.cycle(lookups.cycle(cycle.key)))


@router.patch(
    "/cycles/{key}", response=responses({200: CycleOut}, *WRITE), summary="Update a cycle"
)
def update_cycle(request: HttpRequest, key: str, payload: CyclePatch) -> dict[str, object]:
    """Admins only: name, dates, and planning → active. Close and reopen have their own
    operations; a closed cycle keeps its dates until reopened."""
    cycle = services.update_cycle(
        by=caller(request), cycle=lookups.cycle(key), data=payload.model_dump(exclude_unset=True)
    )
    return ser.cycle(lookups.cycle(cycle.key))


@router.post(
    "/cycles/{key}/close", response=responses({200: CycleOut}, *WRITE), summary="Close a cycle"
)
def close_cycle(request: HttpRequest, key: str, payload: CloseIn) -> dict[str, object]:
    """Admins only. Freezes every score as a grade; committed objectives below 1.0 need a
    reflection (given here by objective key, or written before)."""
    cycle = services.close(
        by=caller(request), cycle=lookups.cycle(key), reflections=payload.reflections
    )
    return ser.cycle(lookups.cycle(cycle.key))


@router.post(
    "/cycles/{key}/reopen", response=responses({200: CycleOut}, *WRITE), summary="Reopen a cycle"
)
def reopen_cycle(request: HttpRequest, key: str) -> dict[str, object]:
    """Admins only. Grades stay until the next close replaces them."""
    cycle = services.reopen(by=caller(request), cycle=lookups.cycle(key))
    return ser.cycle(lookups.cycle(cycle.key))


def _visible_tree(
    request: HttpRequest, key: str, params: AtParams, team: str | None = None
) -> tuple[CycleTree, list[Objective]]:
    """The objectives one may see (of `team` and below), stored scores unless `at` is given.

    Team scores stay those of the whole cycle (of the teams asked for).
    """
    cycle = lookups.cycle(key)
    access = access_of(request)
    team_ids = None
    if team is not None:
        teams = list(Team.objects.all())
        team_ids = team_subtree(teams, team)
        if not team_ids:
            raise BadRequest("No such team.", fields={"team": [f"No team {team!r}."]})
    at = moment(params.at)
    if at is None:
        query = Objective.objects.filter(access.objective_condition())
        if team_ids is not None:
            query = query.filter(team_id__in=team_ids)
        tree = stored_tree(cycle, objectives=query)
        everyone = Objective.objects.filter(cycle=cycle)
        if team_ids is not None:
            everyone = everyone.filter(team_id__in=team_ids)
        scores: dict[str, list[float]] = defaultdict(list)
        for team_key, score in everyone.values_list("team__key", "score"):
            scores[team_key].append(score)
        tree.evaluation.teams.clear()
        tree.evaluation.teams.update({k: sum(v) / len(v) for k, v in scores.items()})
        return tree, tree.objectives
    tree = cycle.tree(at=at)
    visible = [
        o
        for o in tree.objectives
        if access.can_see_objective(o) and (team_ids is None or o.team_id in team_ids)
    ]
    if team_ids is not None:
        keys = {t.key for t in teams if t.pk in team_ids}
        for gone in set(tree.evaluation.teams) - keys:
            del tree.evaluation.teams[gone]
    return tree, visible


@router.get(
    "/cycles/{key}/tree", response=responses({200: TreeOut}, *READ), summary="Alignment tree"
)
def cycle_tree(request: HttpRequest, key: str, params: Query[TreeParams]) -> dict[str, Any]:
    """The cycle's objectives nested by alignment, with key results and scores at `at`.

    Objectives aligned to one you may not see (or, with `team`, of a team outside it)
    appear at the top level.
    """
    tree, visible = _visible_tree(request, key, params, params.team)
    shown = {o.pk for o in visible}
    children: dict[int | None, list[Objective]] = defaultdict(list)
    for objective in visible:
        parent = objective.parent_id if objective.parent_id in shown else None
        children[parent].append(objective)

    def node(objective: Objective, path: frozenset[int]) -> dict[str, Any]:
        result = tree.objective_result(objective)
        key_results = []
        for kr in tree.key_results_of(objective):
            kr_result = tree.key_result_result(kr)
            key_results.append(
                {
                    "key": kr.key,
                    "title": kr.title,
                    "kind": kr.kind,
                    "unit": kr.unit,
                    "start": kr.start,
                    "target": kr.target,
                    "current": kr_result.current,
                    "weight": kr.weight,
                    "kpi": kr.kpi.key if kr.kpi is not None else None,
                    "score": kr_result.score,
                    "status": kr_result.status,
                    "forecast": kr_result.forecast,
                    "confidence": kr_result.confidence,
                    "last_checkin_at": kr_result.last_checkin_at,
                }
            )
        return {
            "key": objective.key,
            "title": objective.title,
            "team": objective.team.key,
            "owner": ser.email(objective.owner),
            "type": objective.type,
            "visibility": objective.visibility,
            "grade": objective.grade,
            **ser.objective_result(result),
            "key_results": key_results,
            "children": [
                node(child, path | {child.pk})
                for child in children.get(objective.pk, [])
                if child.pk not in path
            ],
        }

    return {
        "cycle": ser.cycle(tree.cycle),
        "at": tree.at,
        "expected": expected_progress(core_cycle(tree.cycle), tree.at),
        "teams": dict(tree.evaluation.teams),
        "objectives": [node(o, frozenset({o.pk})) for o in children.get(None, [])],
    }


@router.get(
    "/cycles/{key}/scores", response=responses({200: ScoresOut}, *READ), summary="Cycle scores"
)
def cycle_scores(request: HttpRequest, key: str, params: Query[AtParams]) -> dict[str, Any]:
    """Scores of the cycle's objectives, key results and teams at `at` (default now).

    Key results are keyed `<objective>/<key result>`; a team's score is the mean over its
    own objectives in the cycle.
    """
    tree, visible = _visible_tree(request, key, params)
    objectives = {o.key: ser.objective_result(tree.objective_result(o)) for o in visible}
    key_results = {
        f"{o.key}/{kr.key}": ser.key_result_result(tree.key_result_result(kr))
        for o in visible
        for kr in tree.key_results_of(o)
    }
    return {
        "cycle": tree.cycle.key,
        "at": tree.at,
        "objectives": objectives,
        "key_results": key_results,
        "teams": {team: {"score": score} for team, score in tree.evaluation.teams.items()},
    }
