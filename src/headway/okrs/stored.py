"""Stored scores: kept in step with every change, so pages never score a whole cycle.

Each objective and key result stores what the pure core computes from its whole history
(score, forecast, whether it has data; a key result also its scored value, latest
check-in and confidence). None of it depends on the clock: status is the stored score
against the pace expected at the moment of display (`scoring.status_for`), so nothing
has to be recomputed as time passes. Every action that changes a check-in, a measurement,
a key result or an alignment calls :func:`rescore` on the objectives it touched, in its
own transaction; bulk loaders call :func:`rescore_cycle`. A closed cycle's stored scores
are those at its closing and never move again, like its grades.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from headway.database import update_by_pk
from headway.okrs import scoring
from headway.okrs.models import (
    STORED_KEY_RESULT_FIELDS,
    STORED_OBJECTIVE_FIELDS,
    Cycle,
    CycleState,
    KeyResult,
    Objective,
)
from headway.okrs.tree import (
    CycleTree,
    attach_key_results,
    core_cycle,
    core_objective,
    load_cycle_tree,
    load_points,
)

# Scores "with every recorded check-in": later than any moment data can carry.
EVERYTHING = datetime(9999, 1, 1, tzinfo=UTC)


def scored_at(cycle: Cycle) -> datetime:
    """The moment a cycle's stored scores stand for: its closing, or all data so far."""
    if cycle.is_closed and cycle.closed_at is not None:
        return cycle.closed_at
    return EVERYTHING


def display_moment(cycle: Cycle) -> datetime:
    """The moment whose pace statuses are judged against: its closing, or now."""
    if cycle.is_closed and cycle.closed_at is not None:
        return cycle.closed_at
    return timezone.now()


def stored_objective_result(
    *, score: float, forecast: float | None, has_data: bool, expected: float
) -> scoring.ObjectiveResult:
    """An objective's stored state (a row's columns) with its status at `expected` progress."""
    return scoring.ObjectiveResult(
        score=score,
        status=scoring.status_for(score, expected, has_data),
        grade_band=scoring.grade_band(score),
        forecast=forecast,
        expected=expected,
        has_data=has_data,
    )


def stored_key_result_result(
    *,
    score: float,
    forecast: float | None,
    has_data: bool,
    current: float | None,
    last_checkin_at: datetime | None,
    confidence: int | None,
    expected: float,
) -> scoring.KeyResultResult:
    """A key result's stored state (a row's columns) with its status at `expected` progress."""
    return scoring.KeyResultResult(
        score=score,
        status=scoring.status_for(score, expected, has_data),
        forecast=forecast,
        current=current,
        expected=expected,
        last_checkin_at=last_checkin_at,
        confidence=confidence,
        has_data=has_data,
    )


def objective_result(objective: Objective, expected: float) -> scoring.ObjectiveResult:
    """The objective's stored state with its status at `expected` progress."""
    return stored_objective_result(
        score=objective.score,
        forecast=objective.forecast,
        has_data=objective.has_data,
        expected=expected,
    )


def key_result_result(key_result: KeyResult, expected: float) -> scoring.KeyResultResult:
    """The key result's stored state with its status at `expected` progress."""
    return stored_key_result_result(
        score=key_result.score,
        forecast=key_result.forecast,
        has_data=key_result.has_data,
        current=key_result.scored_value,
        last_checkin_at=key_result.last_checkin_at,
        confidence=key_result.confidence,
        expected=expected,
    )


def stored_tree(
    cycle: Cycle,
    *,
    objectives: QuerySet[Objective] | None = None,
    at: datetime | None = None,
) -> CycleTree:
    """A cycle's objectives (all, or those of `objectives`) with stored scores, in 2 queries.

    `at` only sets the pace statuses are judged against (default: `display_moment`).
    Team scores cover the objectives loaded.
    """
    at = at or display_moment(cycle)
    expected = scoring.expected_progress(core_cycle(cycle), at)
    query = objectives if objectives is not None else Objective.objects.all()
    loaded = list(
        query.filter(cycle=cycle).select_related("team", "owner").order_by("team__name", "key")
    )
    grouped = attach_key_results(
        loaded, KeyResult.objects.filter(objective_id__in=[o.pk for o in loaded])
    )
    team_scores: dict[str, list[float]] = defaultdict(list)
    for objective in loaded:
        objective.cycle = cycle
        team_scores[objective.team.key].append(objective.score)
    evaluation = scoring.Evaluation(
        key_results={
            (o.key, kr.key): key_result_result(kr, expected)
            for o in loaded
            for kr in grouped.get(o.pk, [])
        },
        objectives={o.key: objective_result(o, expected) for o in loaded},
        teams={team: sum(s) / len(s) for team, s in team_scores.items()},
    )
    return CycleTree(
        cycle=cycle,
        at=at,
        objectives=loaded,
        evaluation=evaluation,
        key_results_by_objective=dict(grouped),
    )


@dataclass
class ScoreChanges:
    """What a rescore changed: (row, result before, result after) judged at `at`."""

    at: datetime
    objectives: list[tuple[Objective, scoring.ObjectiveResult, scoring.ObjectiveResult]] = field(
        default_factory=list
    )
    key_results: list[tuple[KeyResult, scoring.KeyResultResult, scoring.KeyResultResult]] = field(
        default_factory=list
    )


def _apply(
    objective: Objective,
    result: scoring.ObjectiveResult,
    key_results: list[KeyResult],
    kr_results: dict[str, scoring.KeyResultResult],
) -> tuple[bool, list[KeyResult]]:
    """Copy results onto the rows; whether the objective changed and which key results did."""
    changed_krs = []
    for kr in key_results:
        r = kr_results[kr.key]
        new = (r.score, r.forecast, r.has_data, r.current, r.last_checkin_at, r.confidence)
        if new != tuple(getattr(kr, name) for name in STORED_KEY_RESULT_FIELDS):
            for name, value in zip(STORED_KEY_RESULT_FIELDS, new, strict=True):
                setattr(kr, name, value)
            changed_krs.append(kr)
    new_objective = (result.score, result.forecast, result.has_data)
    changed = new_objective != tuple(getattr(objective, n) for n in STORED_OBJECTIVE_FIELDS)
    if changed:
        for name, value in zip(STORED_OBJECTIVE_FIELDS, new_objective, strict=True):
            setattr(objective, name, value)
    return changed, changed_krs


_ANCESTORS = (
    "WITH RECURSIVE up(id, parent_id) AS ("
    "SELECT id, parent_id FROM {table} WHERE id IN ({marks}) "
    "UNION SELECT o.id, o.parent_id FROM {table} o JOIN up ON o.id = up.parent_id"
    ") "
)


def _ancestry_sql(ids: list[int]) -> tuple[str, str]:
    table = connection.ops.quote_name(Objective._meta.db_table)
    return table, _ANCESTORS.format(table=table, marks=", ".join(["%s"] * len(ids)))


def _with_ancestors(ids: set[int]) -> set[int]:
    """`ids` and every objective they align to (one recursive query, whatever the depth).

    UNION (not UNION ALL) ends at rows already found, so a loop the database let
    through ends too.
    """
    if not ids:
        return set()
    ordered = sorted(ids)
    _table, with_up = _ancestry_sql(ordered)
    with connection.cursor() as cursor:
        cursor.execute(with_up + "SELECT id FROM up", ordered)
        return set(ids) | {row[0] for row in cursor.fetchall()}


def lock_objectives(objective_ids: Iterable[int | None]) -> set[int]:
    """Lock these objectives and every one above them, in primary-key order; returns them.

    The one global lock order of a write that rescores: KPIs, then objectives (by id,
    with their ancestors), then key results. Two check-ins on key results of one
    objective each lock the objective first, so neither can hold a key result the other
    then needs (the deadlock of issue 13). SQLite, which has one writer and ignores FOR
    UPDATE, only looks the ancestors up; elsewhere one query finds and locks them.
    """
    ids = {pk for pk in objective_ids if pk is not None}
    if not ids or not connection.features.has_select_for_update:
        return _with_ancestors(ids)
    ordered = sorted(ids)
    table, with_up = _ancestry_sql(ordered)
    with connection.cursor() as cursor:
        cursor.execute(
            with_up + f"SELECT o.id FROM {table} o WHERE o.id IN (SELECT id FROM up) "
            "ORDER BY o.id FOR UPDATE OF o",
            ordered,
        )
        return ids | {row[0] for row in cursor.fetchall()}


def _depth(objective: Objective, by_id: dict[int, Objective]) -> int:
    depth, node = 0, objective
    while node.parent_id in by_id and by_id[node.parent_id].cycle_id == node.cycle_id:
        depth += 1
        node = by_id[node.parent_id]
        if depth > len(by_id):  # a loop the database let through; stop rather than spin
            break
    return depth


def rescore(
    objective_ids: Iterable[int | None],
    *,
    at: datetime | None = None,
    locked: set[int] | None = None,
) -> ScoreChanges:
    """Recompute the stored scores of these objectives and of every objective above them.

    Call it inside the transaction of the change, after writing it. Objectives of closed
    cycles are left alone (their scores froze at closing). Returns what changed, with
    statuses judged at `at` (default now), for the notifications. `locked` is what
    `lock_objectives(objective_ids)` returned earlier in this transaction (the action
    locked them first): they are not looked up and locked a second time.
    """
    at = at or timezone.now()
    changes = ScoreChanges(at=at)
    ids = locked if locked is not None else lock_objectives(objective_ids)
    if not ids:
        return changes
    # By id: Django compiles the default ordering (cycle, team, key) through three models.
    objectives = list(
        Objective.objects.filter(pk__in=ids)
        .exclude(cycle__state=CycleState.CLOSED)
        .select_related("cycle", "team", "owner")
        .order_by("pk")
    )
    if not objectives:
        return changes
    by_id = {o.pk: o for o in objectives}
    # Without owners and KPIs: scoring and the notifications of what changed (transitions)
    # read only their ids.
    grouped = attach_key_results(
        objectives, KeyResult.objects.filter(objective_id__in=list(by_id)), related=()
    )
    key_results = [kr for krs in grouped.values() for kr in krs]
    points = load_points(key_results, objective_filter={"pk__in": list(by_id)}, at=EVERYTHING)
    # Children outside the set keep their stored results; those inside get fresh ones.
    children: dict[int, list[Objective]] = defaultdict(list)
    # order_by(): the default ordering (cycle, team) would join both tables for nothing.
    for child in (
        Objective.objects.filter(parent_id__in=list(by_id))
        .order_by()
        .only("pk", "parent_id", "cycle_id", *STORED_OBJECTIVE_FIELDS)
    ):
        if child.cycle_id == by_id[child.parent_id].cycle_id:  # type: ignore[index]
            children[child.parent_id].append(child)  # type: ignore[index]
    fresh: dict[int, scoring.ObjectiveResult] = {}
    changed_objectives: list[Objective] = []
    changed_krs: list[KeyResult] = []
    for objective in sorted(objectives, key=lambda o: -_depth(o, by_id)):
        cycle = core_cycle(objective.cycle)
        expected = scoring.expected_progress(cycle, at)
        before = objective_result(objective, expected)
        krs = grouped.get(objective.pk, [])
        kr_before = {kr.pk: key_result_result(kr, expected) for kr in krs}
        kid_results = [
            fresh.get(child.pk) or objective_result(child, expected)
            for child in children.get(objective.pk, [])
        ]
        parent = by_id.get(objective.parent_id) if objective.parent_id else None
        result, kr_results = scoring.evaluate_objective(
            core_objective(objective, krs, points, parent.key if parent else None),
            cycle,
            EVERYTHING,
            kid_results,
        )
        fresh[objective.pk] = result
        changed, krs_changed = _apply(objective, result, krs, kr_results)
        if changed:
            changed_objectives.append(objective)
            changes.objectives.append((objective, before, objective_result(objective, expected)))
        for kr in krs_changed:
            changed_krs.append(kr)
            changes.key_results.append((kr, kr_before[kr.pk], key_result_result(kr, expected)))
    # One UPDATE by primary key over the rows, as store_tree does: bulk_update's CASE per
    # field and row cost more to build than the write (most of an import's rescore).
    update_by_pk(Objective, changed_objectives, STORED_OBJECTIVE_FIELDS)
    update_by_pk(KeyResult, changed_krs, STORED_KEY_RESULT_FIELDS)
    return changes


def rescore_cycle(cycle: Cycle) -> int:
    """Recompute every stored score of `cycle` from its history (closed: at its closing).

    For bulk loads (import, demo, restore) and repairs; returns how many rows changed.
    """
    return store_tree(load_cycle_tree(cycle, at=scored_at(cycle)))


def store_tree(tree: CycleTree) -> int:
    """Store the scores of a fully evaluated tree; returns how many rows changed."""
    objectives, key_results = [], []
    for objective in tree.objectives:
        krs = tree.key_results_of(objective)
        changed, krs_changed = _apply(
            objective,
            tree.objective_result(objective),
            krs,
            {kr.key: tree.key_result_result(kr) for kr in krs},
        )
        if changed:
            objectives.append(objective)
        key_results.extend(krs_changed)
    update_by_pk(Objective, objectives, STORED_OBJECTIVE_FIELDS)
    update_by_pk(KeyResult, key_results, STORED_KEY_RESULT_FIELDS)
    return len(objectives) + len(key_results)


def rescore_all() -> int:
    """Recompute the stored scores of every cycle; returns how many rows changed."""
    return sum(rescore_cycle(cycle) for cycle in Cycle.objects.order_by("start", "key"))


def cycle_tree(cycle: Cycle, at: datetime | None = None) -> CycleTree:
    """Every objective of the cycle with its scores: stored ones (2 queries) by default.

    Given `at`, scores are computed from the history as it stood then (4 queries).
    """
    if at is None:
        return stored_tree(cycle)
    return load_cycle_tree(cycle, at=at)
