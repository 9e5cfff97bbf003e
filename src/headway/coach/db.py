"""Run the coach on the database: gather the facts in a constant number of queries."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.utils import timezone

from headway.coach.rules import (
    CycleFacts,
    Finding,
    KeyResultFacts,
    KpiFacts,
    ObjectiveFacts,
    Organisation,
    TeamFacts,
    run,
)
from headway.kpis.models import Kpi
from headway.okrs.models import Cycle, CycleState, KeyResult, Objective
from headway.teams.models import Team


def organisation_facts(at: datetime | None = None) -> Organisation:
    """The whole organisation as the coach sees it (5 queries whatever its size)."""
    at = at or timezone.now()
    teams = tuple(
        TeamFacts(key=key, kind=kind, parent=parent)
        for key, kind, parent in Team.objects.values_list("key", "kind", "parent__key")
    )
    cycles = tuple(
        CycleFacts(key=key, start=start, end=end, closed=state == CycleState.CLOSED)
        for key, start, end, state in Cycle.objects.values_list("key", "start", "end", "state")
    )
    key_results: dict[int, list[KeyResultFacts]] = defaultdict(list)
    for row in (
        KeyResult.objects.order_by("objective_id", "position", "id")
        .values_list(
            "objective_id", "key", "title", "kind", "start", "target", "due", "kpi__key", "grade"
        )
        .iterator(chunk_size=5000)
    ):
        objective_id, key, title, kind, start, target, due, kpi, grade = row
        key_results[objective_id].append(
            KeyResultFacts(key, title, kind, start, target, due, kpi, grade)
        )
    objectives = tuple(
        ObjectiveFacts(
            key=key,
            title=title,
            team=team,
            cycle=cycle,
            type=type_,
            parent=parent,
            key_results=tuple(key_results.get(pk, ())),
            grade=grade,
            reflection=reflection,
            ignore=frozenset(ignore or ()),
        )
        for pk, key, title, team, cycle, type_, parent, grade, reflection, ignore in (
            Objective.objects.order_by("id")
            .values_list(
                "pk", "key", "title", "team__key", "cycle__key", "type", "parent__key", "grade",
                "reflection", "coach_ignore",
            )
            .iterator(chunk_size=5000)
        )
    )  # fmt: skip
    kpis = tuple(
        KpiFacts(
            key=key, name=name, team=team, tier=tier, owner=owner, cadence=cadence or None,
            target=target, why=why, latest_at=latest_at,
        )
        for key, name, team, tier, owner, cadence, target, why, latest_at in (
            Kpi.objects.order_by("id").values_list(
                "key", "name", "team__key", "tier", "owner__email", "cadence", "target", "why",
                "latest_at",
            )
        )
    )  # fmt: skip
    return Organisation(at=at, teams=teams, cycles=cycles, objectives=objectives, kpis=kpis)


def findings(at: datetime | None = None) -> list[Finding]:
    """Every finding of the coach on the database as of `at` (default now)."""
    return run(organisation_facts(at))


def findings_by_path(at: datetime | None = None) -> dict[str, list[Finding]]:
    """Findings grouped by the object they concern: `objectives/<key>`, `kpis/<key>`, ...

    A key result's findings are listed under its own path and under its objective's.
    """
    grouped: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings(at):
        grouped[finding.path].append(finding)
        parts = finding.path.split("/")
        if len(parts) > 2:
            grouped["/".join(parts[:2])].append(finding)
    return dict(grouped)
