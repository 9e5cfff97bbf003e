"""A cycle's tree and scores as JSON straight from rows: the API's bulk reads of a cycle.

A big cycle is tens of thousands of objectives and key results. Building a model instance
per row, then validating the answer against its schema node by node, cost seconds; these
reads take plain rows (`values()`) of the stored scores, or a tree scored afresh at a given
moment, into small records and render JSON themselves. The output is `TreeOut` and
`ScoresOut` to the letter; `tests/test_api_tree.py` holds it to the schemas.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from django.db.models import QuerySet
from django.http import HttpResponse
from ninja.responses import NinjaJSONEncoder

from headway.api import serialize as ser
from headway.okrs import scoring
from headway.okrs.models import Cycle, KeyResult, Objective
from headway.okrs.stored import stored_key_result_result, stored_objective_result
from headway.okrs.tree import CycleTree, core_cycle


@dataclass(frozen=True, slots=True)
class KeyResultRow:
    key: str
    title: str
    kind: str
    unit: str
    start: float | None
    target: float | None
    weight: float
    kpi: str | None
    result: scoring.KeyResultResult


@dataclass(frozen=True, slots=True)
class ObjectiveRow:
    id: int
    parent_id: int | None
    key: str
    title: str
    team: str
    owner: str | None
    type: str
    visibility: str
    grade: float | None
    result: scoring.ObjectiveResult
    key_results: list[KeyResultRow]


OBJECTIVE_COLUMNS = (
    "id",
    "parent_id",
    "key",
    "title",
    "team__key",
    "owner__email",
    "type",
    "visibility",
    "grade",
    "score",
    "forecast",
    "has_data",
)
KEY_RESULT_COLUMNS = (
    "objective_id",
    "key",
    "title",
    "kind",
    "unit",
    "start",
    "target",
    "scored_value",
    "weight",
    "kpi__key",
    "score",
    "forecast",
    "confidence",
    "last_checkin_at",
    "has_data",
)


def stored_rows(objectives: QuerySet[Objective], expected: float) -> list[ObjectiveRow]:
    """`objectives` (of one cycle) with their key results and stored scores, in 2 queries.

    Statuses are judged at `expected` progress; the order is that of the pages (team name,
    key; key results by position).
    """
    key_results: dict[int, list[KeyResultRow]] = defaultdict(list)
    for kr in (
        KeyResult.objects.filter(objective__in=objectives.values("pk"))
        .order_by("objective_id", "position", "id")
        .values(*KEY_RESULT_COLUMNS)
    ):
        kr_result = stored_key_result_result(
            score=kr["score"],
            forecast=kr["forecast"],
            has_data=kr["has_data"],
            current=kr["scored_value"],
            last_checkin_at=kr["last_checkin_at"],
            confidence=kr["confidence"],
            expected=expected,
        )
        key_results[kr["objective_id"]].append(
            KeyResultRow(
                key=kr["key"],
                title=kr["title"],
                kind=kr["kind"],
                unit=kr["unit"],
                start=kr["start"],
                target=kr["target"],
                weight=kr["weight"],
                kpi=kr["kpi__key"],
                result=kr_result,
            )
        )
    rows = []
    for o in objectives.order_by("team__name", "key").values(*OBJECTIVE_COLUMNS):
        result = stored_objective_result(
            score=o["score"], forecast=o["forecast"], has_data=o["has_data"], expected=expected
        )
        rows.append(
            ObjectiveRow(
                id=o["id"],
                parent_id=o["parent_id"],
                key=o["key"],
                title=o["title"],
                team=o["team__key"],
                owner=o["owner__email"],
                type=o["type"],
                visibility=o["visibility"],
                grade=o["grade"],
                result=result,
                key_results=key_results.get(o["id"], []),
            )
        )
    return rows


def fresh_rows(tree: CycleTree, objectives: list[Objective]) -> list[ObjectiveRow]:
    """The same records from a tree scored afresh (`stored.cycle_tree(at=…)`), for `objectives`."""
    return [
        ObjectiveRow(
            id=o.pk,
            parent_id=o.parent_id,
            key=o.key,
            title=o.title,
            team=o.team.key,
            owner=ser.email(o.owner),
            type=o.type,
            visibility=o.visibility,
            grade=o.grade,
            result=tree.objective_result(o),
            key_results=[
                KeyResultRow(
                    key=kr.key,
                    title=kr.title,
                    kind=kr.kind,
                    unit=kr.unit,
                    start=kr.start,
                    target=kr.target,
                    weight=kr.weight,
                    kpi=kr.kpi.key if kr.kpi is not None else None,
                    result=tree.key_result_result(kr),
                )
                for kr in tree.key_results_of(o)
            ],
        )
        for o in objectives
    ]


def nest(objectives: list[tuple[int, int | None, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Nest (id, parent id, node) triples, in display order, into each node's `children`.

    A node whose parent is not among them stands at the top (and is returned); nodes in a
    loop with no way up to the top are left out rather than recursed into forever.
    """
    shown = {pk for pk, _, _ in objectives}
    below: dict[int | None, list[int]] = defaultdict(list)
    nodes = {}
    for pk, parent, node in objectives:
        nodes[pk] = node
        below[parent if parent in shown else None].append(pk)
    top = below.get(None, [])
    stack = list(top)
    placed = set(top)
    while stack:
        pk = stack.pop()
        for child in below.get(pk, []):
            if child not in placed:
                placed.add(child)
                nodes[pk]["children"].append(nodes[child])
                stack.append(child)
    return [nodes[pk] for pk in top]


def _own_status(result: scoring.ObjectiveResult | scoring.KeyResultResult) -> object:
    return result.status


def _own_expected(result: scoring.ObjectiveResult | scoring.KeyResultResult) -> object:
    return result.expected


# What a body writes for a result's status and expected progress: the result's own, or a
# mark that `bulk.Template` fills in at the moment of reading.
Fill = Callable[[scoring.ObjectiveResult | scoring.KeyResultResult], object]


def _tree_key_result(kr: KeyResultRow, status: Fill) -> dict[str, Any]:
    r = kr.result
    return {
        "key": kr.key,
        "title": kr.title,
        "kind": kr.kind,
        "unit": kr.unit,
        "start": kr.start,
        "target": kr.target,
        "current": r.current,
        "weight": kr.weight,
        "kpi": kr.kpi,
        "score": r.score,
        "status": status(r),
        "forecast": r.forecast,
        "confidence": r.confidence,
        "last_checkin_at": r.last_checkin_at,
    }


def tree_head(cycle: Cycle, at: datetime) -> dict[str, Any]:
    """`TreeOut`'s fields that are read afresh every time: the cycle and the moment."""
    return {
        "cycle": ser.cycle(cycle),
        "at": at,
        "expected": scoring.expected_progress(core_cycle(cycle), at),
    }


def tree_tail(
    rows: list[ObjectiveRow], teams: dict[str, float], status: Fill = _own_status
) -> dict[str, Any]:
    """`TreeOut`'s other fields: the team scores and the rows nested by alignment."""
    nodes = [
        (
            row.id,
            row.parent_id,
            {
                "key": row.key,
                "title": row.title,
                "team": row.team,
                "owner": row.owner,
                "type": row.type,
                "visibility": row.visibility,
                "grade": row.grade,
                "score": row.result.score,
                "status": status(row.result),
                "grade_band": row.result.grade_band,
                "forecast": row.result.forecast,
                "key_results": [_tree_key_result(kr, status) for kr in row.key_results],
                "children": [],
            },
        )
        for row in rows
    ]
    return {"teams": teams, "objectives": nest(nodes)}


def tree_body(
    cycle: Cycle, rows: list[ObjectiveRow], *, at: datetime, teams: dict[str, float]
) -> dict[str, Any]:
    """`TreeOut`: the rows nested by alignment, with the team scores `teams`."""
    return tree_head(cycle, at) | tree_tail(rows, teams)


def scores_head(cycle: Cycle, at: datetime) -> dict[str, Any]:
    """`ScoresOut`'s fields that are read afresh every time."""
    return {"cycle": cycle.key, "at": at}


def scores_tail(
    rows: list[ObjectiveRow],
    teams: dict[str, float],
    status: Fill = _own_status,
    expected: Fill = _own_expected,
) -> dict[str, Any]:
    """`ScoresOut`'s other fields: objectives by key, key results by
    `<objective>/<key result>` (as `ser.objective_result` and `ser.key_result_result`), teams."""
    return {
        "objectives": {
            row.key: {
                "score": row.result.score,
                "status": status(row.result),
                "grade_band": row.result.grade_band,
                "forecast": row.result.forecast,
                "expected": expected(row.result),
            }
            for row in rows
        },
        "key_results": {
            f"{row.key}/{kr.key}": {
                "score": kr.result.score,
                "status": status(kr.result),
                "forecast": kr.result.forecast,
                "expected": expected(kr.result),
                "current": kr.result.current,
                "confidence": kr.result.confidence,
                "last_checkin_at": kr.result.last_checkin_at,
            }
            for row in rows
            for kr in row.key_results
        },
        "teams": {team: {"score": score} for team, score in teams.items()},
    }


def scores_body(
    cycle: Cycle, rows: list[ObjectiveRow], *, at: datetime, teams: dict[str, float]
) -> dict[str, Any]:
    """`ScoresOut`: objectives by key, key results by `<objective>/<key result>`, teams."""
    return scores_head(cycle, at) | scores_tail(rows, teams)


_NINJA_DEFAULT = NinjaJSONEncoder().default


def _default(value: object) -> object:
    """What orjson leaves to us, written as the API's own encoder writes it."""
    if type(value) is datetime:
        # DjangoJSONEncoder's form (`2027-02-01T09:00:00.123Z`: milliseconds, cut, not
        # rounded), without its chain of isinstance checks: 20,000 key results have one.
        text = value.isoformat(timespec="milliseconds" if value.microsecond else "seconds")
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    return _NINJA_DEFAULT(value)


def dumps(body: object) -> bytes:
    """`body` as JSON, with orjson (a tenth of `json.dumps`' time on a whole cycle).

    Datetimes, dates and anything else orjson does not know go through the API's own
    encoder's rules, so they read as before (`2027-02-01T09:00:00Z`, milliseconds at most).
    """
    return orjson.dumps(body, default=_default, option=orjson.OPT_PASSTHROUGH_DATETIME)


def json_response(body: dict[str, Any] | bytes) -> HttpResponse:
    """`body` rendered as the API renders JSON, without validating it against a schema again."""
    content = body if isinstance(body, bytes) else dumps(body)
    return HttpResponse(content, content_type="application/json; charset=utf-8")
