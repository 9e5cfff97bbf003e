"""The selection review's evidence from the database: do linked KPIs still move with outcomes?

For each key result of an active cycle that takes its values from a KPI, the KPI's weekly
changes are compared with those of its objective's other key results (kpis.selection). The
periodic job stores a flag on each KPI whose every checkable link has decayed; its review
then falls due at once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from headway.kpis import selection
from headway.kpis.models import Kpi, Measurement
from headway.okrs.models import CycleState, KeyResult
from headway.okrs.tree import core_cycle, core_objective, load_points


@dataclass(frozen=True, slots=True)
class Link:
    """One key result a KPI feeds, with the verdict on its link."""

    key_result: KeyResult
    check: selection.LinkCheck


def _linked(kpi_ids: list[int] | None) -> list[KeyResult]:
    linked = KeyResult.objects.filter(
        kpi__isnull=False, kpi__retired_at__isnull=True, objective__cycle__state=CycleState.ACTIVE
    ).select_related("objective__cycle", "objective__team", "kpi")
    if kpi_ids is not None:
        linked = linked.filter(kpi_id__in=kpi_ids)
    return list(linked.order_by("kpi_id", "id"))


def link_checks(at: datetime, kpi_ids: list[int] | None = None) -> dict[int, list[Link]]:
    """KPI id -> its links to key results of active cycles, each checked (4 queries)."""
    linked = _linked(kpi_ids)
    if not linked:
        return {}
    objective_ids = {kr.objective_id for kr in linked}
    siblings: dict[int, list[KeyResult]] = defaultdict(list)
    objectives = {kr.objective_id: kr.objective for kr in linked}
    for kr in KeyResult.objects.filter(objective_id__in=objective_ids).order_by("position", "id"):
        kr.objective = objectives[kr.objective_id]
        siblings[kr.objective_id].append(kr)
    every = [kr for krs in siblings.values() for kr in krs]
    points = load_points(every, objective_filter={"pk__in": list(objective_ids)}, at=at)
    starts = {kr.pk: core_cycle(kr.objective.cycle).starts_at for kr in linked}
    series: dict[int, list[tuple[datetime, float]]] = defaultdict(list)
    for kpi_id, when, value in (
        Measurement.objects.filter(
            kpi_id__in={kr.kpi_id for kr in linked}, at__gte=min(starts.values()), at__lte=at
        )
        .order_by("kpi_id", "at")
        .values_list("kpi_id", "at", "value")
    ):
        series[kpi_id].append((when, value))
    out: dict[int, list[Link]] = defaultdict(list)
    for kr in linked:
        assert kr.kpi is not None
        assert kr.kpi_id is not None
        others = [o for o in siblings[kr.objective_id] if o.pk != kr.pk]
        if not others:
            check = selection.LinkCheck(
                0, None, None, None, "Its objective has no other key result to compare with."
            )
        else:
            core = core_objective(kr.objective, others, points, None)
            check = selection.link_check(
                [p for p in series[kr.kpi_id] if p[0] >= starts[kr.pk]],
                selection.outcome_points(core.key_results),
                upwards=kr.kpi.direction != "down",
                starts_at=starts[kr.pk],
                at=at,
            )
        out[kr.kpi_id].append(Link(kr, check))
    return dict(out)


def flag_text(links: list[Link]) -> str:
    """The flag for a KPI whose every checkable link decayed ('' when none did or all are
    unknown): one decayed link among living ones is not enough to question the KPI."""
    judged = [link for link in links if link.check.decayed is not None]
    if not judged or not all(link.check.decayed for link in judged):
        return ""
    first = judged[0]
    rho = first.check.rho if first.check.rho is not None else 0.0
    return (
        f"Its weekly changes no longer move with the outcome of “{first.key_result.title}” "
        f"(Spearman {rho:.2f} over {first.check.pairs} weeks, not significant at 5%)."
    )[:300]


@transaction.atomic
def refresh_flags(at: datetime) -> list[Kpi]:
    """Store the flag of every KPI in use; returns the KPIs newly flagged."""
    checks = link_checks(at)
    newly: list[Kpi] = []
    flagged_now = {kpi_id: flag_text(links) for kpi_id, links in checks.items()}
    flagged_now = {k: v for k, v in flagged_now.items() if v}
    for kpi in Kpi.objects.in_use().filter(pk__in=list(flagged_now)).select_for_update():
        if not kpi.selection_flag:
            newly.append(kpi)
            kpi.selection_flagged_at = at
        kpi.selection_flag = flagged_now[kpi.pk]
        Kpi.objects.filter(pk=kpi.pk).update(
            selection_flag=kpi.selection_flag, selection_flagged_at=kpi.selection_flagged_at
        )
    # A link that lives again clears the flag (the review is no longer due early).
    Kpi.objects.in_use().exclude(pk__in=list(flagged_now)).exclude(selection_flag="").update(
        selection_flag="", selection_flagged_at=None
    )
    return newly
