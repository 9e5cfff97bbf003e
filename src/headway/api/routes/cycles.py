"""Cycles: read by everyone, managed by admins; closing, reopening; the tree and scores."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.db import connection
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status

from headway.api import bulk, lookups, readversion
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
from headway.api.tree import (
    ObjectiveRow,
    fresh_rows,
    json_response,
    scores_body,
    scores_head,
    scores_tail,
    stored_rows,
    tree_body,
    tree_head,
    tree_tail,
)
from headway.okrs import actions, stored
from headway.okrs.models import Cycle, Objective, ObjectiveContributor
from headway.okrs.scoring import expected_progress
from headway.okrs.stored import display_moment
from headway.okrs.tree import core_cycle
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
    cycle = actions.create_cycle(
        by=caller(request),
        key=payload.key,
        name=payload.name,
        start=payload.start,
        end=payload.end,
        state=payload.state,
    )
    return Status(201, ser.cycle(lookups.cycle(cycle.key)))


@router.patch(
    "/cycles/{key}", response=responses({200: CycleOut}, *WRITE), summary="Update a cycle"
)
def update_cycle(request: HttpRequest, key: str, payload: CyclePatch) -> dict[str, object]:
    """Admins only: name, dates, and planning → active. Close and reopen have their own
    operations; a closed cycle keeps its dates until reopened."""
    data = payload.model_dump(exclude_unset=True)
    changes = {field: data[field] for field in ("start", "end", "state") if data.get(field)}
    if data.get("name") is not None:
        changes["name"] = data["name"]
    cycle = actions.update_cycle(by=caller(request), cycle=lookups.cycle(key), **changes)
    return ser.cycle(lookups.cycle(cycle.key))


@router.post(
    "/cycles/{key}/close", response=responses({200: CycleOut}, *WRITE), summary="Close a cycle"
)
def close_cycle(request: HttpRequest, key: str, payload: CloseIn) -> dict[str, object]:
    """Admins only. Freezes every score as a grade; committed objectives below 1.0 need a
    reflection (given here by objective key, or written before)."""
    cycle = actions.close_cycle(
        by=caller(request), cycle=lookups.cycle(key), reflections=payload.reflections
    )
    return ser.cycle(lookups.cycle(cycle.key))


@router.post(
    "/cycles/{key}/reopen", response=responses({200: CycleOut}, *WRITE), summary="Reopen a cycle"
)
def reopen_cycle(request: HttpRequest, key: str) -> dict[str, object]:
    """Admins only. Grades stay until the next close replaces them."""
    cycle = actions.reopen_cycle(by=caller(request), cycle=lookups.cycle(key))
    return ser.cycle(lookups.cycle(cycle.key))


def _team_ids(team: str | None) -> tuple[set[int] | None, list[Team]]:
    """Ids of `team` and the teams below it (None: every team), and all teams."""
    if team is None:
        return None, []
    teams = list(Team.objects.all())
    team_ids = team_subtree(teams, team)
    if not team_ids:
        raise BadRequest("No such team.", fields={"team": [f"No team {team!r}."]})
    return team_ids, teams


def _stored_team_scores(cycle: Cycle, team_ids: set[int] | None) -> dict[str, float]:
    """Team scores of the whole cycle (of the teams asked for), private objectives included."""
    everyone = Objective.objects.filter(cycle=cycle)
    if team_ids is not None:
        everyone = everyone.filter(team_id__in=team_ids)
    scores: dict[str, list[float]] = defaultdict(list)
    for team_key, score in everyone.values_list("team__key", "score"):
        scores[team_key].append(score)
    return {k: sum(v) / len(v) for k, v in scores.items()}


def _stored_body(request: HttpRequest, key: str, what: str, team: str | None) -> bytes:
    """The tree or scores body of the stored scores, judged now: kept per reader (`bulk`).

    The objectives one may see (of `team` and below); team scores over every objective of
    the teams asked for.
    """
    cycle = lookups.cycle(key)
    access = access_of(request)
    team_ids, _teams = _team_ids(team)
    at = display_moment(cycle)
    expected = expected_progress(core_cycle(cycle), at)
    head = tree_head(cycle, at) if what == "tree" else scores_head(cycle, at)
    condition = access.objective_condition()
    version = readversion.current(connection)
    kept_key = (
        bulk.Key(version, what, cycle.pk, team, access.condition_key())
        if version is not None
        else None
    )
    template = bulk.KEPT.get(kept_key) if kept_key is not None else None
    if template is None:
        query = Objective.objects.filter(condition, cycle=cycle)
        if team_ids is not None:
            # A team's tree holds the objectives it contributes to (shared), which count
            # for their own teams' scores only.
            shared = ObjectiveContributor.objects.filter(team_id__in=list(team_ids))
            query = query.filter(Q(team_id__in=team_ids) | Q(pk__in=shared.values("objective_id")))
        rows = stored_rows(query, expected)
        teams = _stored_team_scores(cycle, team_ids)
        marks = bulk.Marks()
        tail = (
            tree_tail(rows, teams, marks.status)
            if what == "tree"
            else scores_tail(rows, teams, marks.status, marks.expected)
        )
        template = bulk.Template.of(tail, marks)
        # Kept only if nothing was written while it was read: then it is of `version`.
        if kept_key is not None and readversion.current(connection) == version:
            bulk.KEPT.put(kept_key, template)
    return template.render(head, expected)


def _rows_at(
    request: HttpRequest, key: str, at: datetime, team: str | None = None
) -> tuple[Cycle, list[ObjectiveRow], dict[str, float]]:
    """The objectives one may see (of `team` and below) and the team scores, the cycle
    scored afresh at `at`."""
    cycle = lookups.cycle(key)
    access = access_of(request)
    team_ids, teams = _team_ids(team)
    tree = stored.cycle_tree(cycle, at=at)
    shared_ids = (
        set(
            ObjectiveContributor.objects.filter(
                team_id__in=list(team_ids), objective__cycle=cycle
            ).values_list("objective_id", flat=True)
        )
        if team_ids is not None
        else set()
    )
    visible = [
        o
        for o in tree.objectives
        if access.can_see_objective(o)
        and (team_ids is None or o.team_id in team_ids or o.pk in shared_ids)
    ]
    scores = dict(tree.evaluation.teams)
    if team_ids is not None:
        keys = {t.key for t in teams if t.pk in team_ids}
        scores = {k: v for k, v in scores.items() if k in keys}
    return cycle, fresh_rows(tree, visible), scores


@router.get(
    "/cycles/{key}/tree", response=responses({200: TreeOut}, *READ), summary="Alignment tree"
)
def cycle_tree(request: HttpRequest, key: str, params: Query[TreeParams]) -> HttpResponse:
    """The cycle's objectives nested by alignment, with key results and scores at `at`.

    Objectives aligned to one you may not see (or, with `team`, of a team outside it)
    appear at the top level.
    """
    at = moment(params.at)
    if at is None:
        return json_response(_stored_body(request, key, "tree", params.team))
    cycle, rows, teams = _rows_at(request, key, at, params.team)
    return json_response(tree_body(cycle, rows, at=at, teams=teams))


@router.get(
    "/cycles/{key}/scores", response=responses({200: ScoresOut}, *READ), summary="Cycle scores"
)
def cycle_scores(request: HttpRequest, key: str, params: Query[AtParams]) -> HttpResponse:
    """Scores of the cycle's objectives, key results and teams at `at` (default now).

    Key results are keyed `<objective>/<key result>`; a team's score is the mean over its
    own objectives in the cycle.
    """
    at = moment(params.at)
    if at is None:
        return json_response(_stored_body(request, key, "scores", None))
    cycle, rows, teams = _rows_at(request, key, at)
    return json_response(scores_body(cycle, rows, at=at, teams=teams))
