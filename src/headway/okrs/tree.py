"""Load a whole cycle from the database in a constant number of queries and score it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from headway.kpis.models import Measurement
from headway.okrs import scoring
from headway.okrs.models import CheckIn, Cycle, KeyResult, Objective


@dataclass(frozen=True)
class CycleTree:
    """A cycle's objectives (with key results attached) and their evaluation at one moment."""

    cycle: Cycle
    at: datetime
    objectives: list[Objective]
    evaluation: scoring.Evaluation
    key_results_by_objective: dict[int, list[KeyResult]]

    def key_results(self) -> Iterator[KeyResult]:
        """Every key result of the cycle, objective by objective."""
        for objective in self.objectives:
            yield from self.key_results_of(objective)

    def key_results_of(self, objective: Objective) -> list[KeyResult]:
        """The objective's key results in display order (also `objective.key_results_list`)."""
        return self.key_results_by_objective.get(objective.pk, [])

    def objective_result(self, objective: Objective) -> scoring.ObjectiveResult:
        return self.evaluation.objectives[objective.key]

    def key_result_result(self, key_result: KeyResult) -> scoring.KeyResultResult:
        return self.evaluation.key_results[(key_result.objective.key, key_result.key)]

    def roots(self) -> list[Objective]:
        """Objectives with no parent in this cycle, in display order."""
        keys = {o.pk for o in self.objectives}
        return [o for o in self.objectives if o.parent_id not in keys]

    def children(self) -> dict[int | None, list[Objective]]:
        """Objectives of this cycle grouped by the id of their parent."""
        grouped: dict[int | None, list[Objective]] = defaultdict(list)
        for objective in self.objectives:
            grouped[objective.parent_id].append(objective)
        return grouped

    def team_score(self, team_key: str) -> float | None:
        return self.evaluation.teams.get(team_key)


def core_cycle(cycle: Cycle) -> scoring.Cycle:
    return scoring.Cycle(key=cycle.key, start=cycle.start, end=cycle.end)


def attach_key_results(
    objectives: list[Objective],
    key_results: QuerySet[KeyResult],
    related: tuple[str, ...] = ("owner", "kpi"),
) -> dict[int, list[KeyResult]]:
    """Load `key_results` (of these objectives) in display order, linked both ways (1 query).

    Each objective gets `key_results_list` and each key result its `objective`; returns
    the key results grouped by objective id. `related` is what is read along (pages show
    owners and KPIs; rescoring needs neither).
    """
    by_id = {o.pk: o for o in objectives}
    grouped: dict[int, list[KeyResult]] = defaultdict(list)
    if related:  # select_related() with no names would follow every foreign key
        key_results = key_results.select_related(*related)
    if by_id:
        for kr in key_results.order_by("objective_id", "position", "id"):
            kr.objective = by_id[kr.objective_id]
            grouped[kr.objective_id].append(kr)
    for objective in objectives:
        objective.key_results_list = grouped.get(objective.pk, [])  # type: ignore[attr-defined]
    return grouped


def load_points(
    key_results: list[KeyResult], *, objective_filter: dict[str, object], at: datetime
) -> dict[int, list[scoring.CheckIn]]:
    """Check-ins (2 queries at most) of `key_results`, which `objective_filter` selects.

    `objective_filter` is a lookup on the key results' objective (`{"cycle": c}`,
    `{"pk__in": ids}`). A KPI-linked key result takes the measurements of its KPI from its
    cycle's start as check-ins; each key result needs `objective.cycle` set.
    """
    points: dict[int, list[scoring.CheckIn]] = defaultdict(list)
    lookup = {f"key_result__objective__{k}": v for k, v in objective_filter.items()}
    # Ordered by key result id rather than the default (key result, at, ordinal), which
    # Django expands through the key result's, objective's, cycle's and team's orderings
    # into four joins: the order within a key result, all that is used here, is the same.
    for kr_id, when, value, done, confidence in (
        CheckIn.objects.filter(**lookup, at__lte=at)
        .order_by("key_result_id", "at", "ordinal")
        .values_list("key_result_id", "at", "value", "done", "confidence")
    ):
        points[kr_id].append(
            scoring.CheckIn(at=when, value=value, done=done, confidence=confidence)
        )
    linked: dict[int, list[KeyResult]] = defaultdict(list)
    for kr in key_results:
        if kr.kpi_id is not None:
            linked[kr.kpi_id].append(kr)
    if linked:
        starts = {
            kr.pk: core_cycle(kr.objective.cycle).starts_at for krs in linked.values() for kr in krs
        }
        # By KPI id, not the default (KPI, at) that joins the KPI and its team to sort.
        for kpi_id, when, value in (
            Measurement.objects.filter(
                kpi_id__in=list(linked), at__gte=min(starts.values()), at__lte=at
            )
            .order_by("kpi_id", "at")
            .values_list("kpi_id", "at", "value")
        ):
            for kr in linked[kpi_id]:
                if when >= starts[kr.pk]:
                    points[kr.pk].append(scoring.CheckIn(at=when, value=value))
    return points


def core_objective(
    objective: Objective,
    key_results: list[KeyResult],
    points: dict[int, list[scoring.CheckIn]],
    parent_key: str | None,
) -> scoring.Objective:
    """The pure core's view of one objective and its key results with their check-ins."""
    return scoring.Objective(
        key=objective.key,
        team=objective.team.key,
        cycle=objective.cycle.key,
        parent=parent_key,
        type=objective.type,
        key_results=tuple(
            scoring.KeyResult(
                key=kr.key,
                kind=kr.kind,
                start=kr.start,
                target=kr.target,
                weight=kr.weight,
                checkins=tuple(points.get(kr.pk, ())),
            )
            for kr in key_results
        ),
    )


def load_cycle_tree(cycle: Cycle, *, at: datetime | None = None) -> CycleTree:
    """Fetch every objective, key result, check-in and linked measurement of `cycle` (4 queries).

    Scores from the raw history at `at`, for a moment in the past; pages showing the
    present read the stored scores instead (`okrs.stored.stored_tree`). Objectives are
    returned with `key_results_list` set (ordered) and each key result's `objective` set,
    so callers can render the tree without further queries.
    """
    at = at or timezone.now()
    objectives = list(
        Objective.objects.filter(cycle=cycle)
        .select_related("team", "owner")
        .order_by("team__name", "key")
    )
    by_id = {o.pk: o for o in objectives}
    for objective in objectives:
        objective.cycle = cycle
    grouped = attach_key_results(objectives, KeyResult.objects.filter(objective__cycle=cycle))
    key_results = [kr for krs in grouped.values() for kr in krs]
    points = load_points(key_results, objective_filter={"cycle": cycle}, at=at)
    core = [
        core_objective(
            o,
            grouped.get(o.pk, []),
            points,
            by_id[o.parent_id].key if o.parent_id in by_id else None,
        )
        for o in objectives
    ]
    evaluation = scoring.evaluate(core, core_cycle(cycle), at)
    return CycleTree(
        cycle=cycle,
        at=at,
        objectives=objectives,
        evaluation=evaluation,
        key_results_by_objective=dict(grouped),
    )
