"""Home: my objectives and key results, my KPIs, and what needs me now."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from headway.initiatives import reading as initiative_reading
from headway.kpis.actions import why_not_promote
from headway.kpis.models import Health, Kpi
from headway.okrs.models import Cycle, CycleState, KeyResult, Objective, ObjectiveContributor
from headway.okrs.scoring import KeyResultResult, ObjectiveResult
from headway.okrs.stored import stored_tree
from headway.teams.models import Team
from headway.web.common import access, person


@dataclass
class KrRow:
    key_result: KeyResult
    result: KeyResultResult
    mine: bool


@dataclass
class ObjectiveRow:
    objective: Objective
    result: ObjectiveResult
    mine: bool
    key_results: list[KrRow] = field(default_factory=list)
    # A shared objective (issue 18): the teams of mine contributing to it, when it is here
    # for them.
    shared_with: list[str] = field(default_factory=list)


@dataclass
class CycleSection:
    cycle: Cycle
    objectives: list[ObjectiveRow]
    # The company's own objectives, shown to someone who owns nothing in the cycle.
    company: list[ObjectiveRow] = field(default_factory=list)


def _my_key_result_ids(person_id: int) -> list[int]:
    """The key results I own, and those without an owner on objectives I own."""
    ids = set(KeyResult.objects.filter(owner_id=person_id).values_list("pk", flat=True))
    ids.update(
        KeyResult.objects.filter(owner__isnull=True, objective__owner_id=person_id).values_list(
            "pk", flat=True
        )
    )
    return sorted(ids)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The signed-in person's start page, in a constant number of queries per active cycle."""
    me = person(request)
    acc = access(request)
    now = timezone.now()
    sections = []
    visible = acc.objective_condition()
    my_team_ids = sorted(acc.member_of)
    for cycle in Cycle.objects.filter(state=CycleState.ACTIVE).order_by("-start", "key"):
        # Only my objectives, those holding my key results and those my teams contribute to
        # (shared objectives) are loaded, with stored scores. Each of the three is its own
        # indexed lookup: one OR across the joins made the database scan every objective
        # and key result of the organisation.
        involved = set(Objective.objects.filter(owner=me, cycle=cycle).values_list("pk", flat=True))
        involved.update(
            KeyResult.objects.filter(owner=me, objective__cycle=cycle).values_list(
                "objective_id", flat=True
            )
        )
        shared_with: dict[int, list[str]] = defaultdict(list)
        if my_team_ids:
            for objective_id, name in (
                ObjectiveContributor.objects.filter(team_id__in=my_team_ids, objective__cycle=cycle)
                .order_by("team__name")
                .values_list("objective_id", "team__name")
            ):
                shared_with[objective_id].append(name)
                involved.add(objective_id)
        tree = stored_tree(
            cycle, objectives=Objective.objects.filter(visible, pk__in=sorted(involved))
        )
        rows = [
            ObjectiveRow(
                objective=objective,
                result=tree.objective_result(objective),
                mine=objective.owner_id == me.pk,
                key_results=[
                    KrRow(kr, tree.key_result_result(kr), kr.owner_id == me.pk)
                    for kr in tree.key_results_of(objective)
                ],
                shared_with=shared_with.get(objective.pk, []),
            )
            for objective in tree.objectives
        ]
        company = []
        if not rows:
            # Someone who owns nothing sees the top team's objectives that align to nothing.
            top = stored_tree(
                cycle,
                objectives=Objective.objects.filter(
                    visible, team__parent__isnull=True, parent__isnull=True
                ),
            )
            company = [
                ObjectiveRow(objective, top.objective_result(objective), mine=False)
                for objective in top.objectives
            ]
        sections.append(CycleSection(cycle=cycle, objectives=rows, company=company))

    overdue = [
        kr
        for kr in KeyResult.objects.overdue(now)
        # Mine by two indexed lookups: one OR across the join scanned every key result.
        .filter(pk__in=_my_key_result_ids(me.pk))
        .select_related("objective__team", "objective__cycle")
        .order_by("objective__key", "position")
        if acc.can_see_objective(kr.objective)
    ]
    my_kpis = list(Kpi.objects.in_use().filter(owner=me).select_related("team").order_by("name"))
    # Someone who owns no KPI sees the organisation's key KPIs that are out of range.
    key_kpis_in_trouble = (
        []
        if my_kpis
        else list(
            Kpi.objects.in_use()
            .filter(tier="key", health__in=[Health.WARNING, Health.CRITICAL])
            .select_related("team")
            .order_by("health", "name")[:12]
        )
    )
    alarming = [k for k in my_kpis if k.health in {Health.WARNING, Health.CRITICAL}]
    promotions = [
        kpi
        for kpi in Kpi.objects.deserving_promotion().select_related("team").order_by("name")
        if why_not_promote(acc, [kpi.team_id]) is None
    ]
    # Initiatives (issue 18): the work I owe, soonest due first.
    my_initiatives = list(initiative_reading.open_for(me, acc)[: initiative_reading.HOME_LIMIT])
    my_teams = list(Team.objects.filter(pk__in=acc.member_of).order_by("name"))
    needs_me = bool(overdue or alarming or promotions)
    return render(
        request,
        "web/home.html",
        {
            "sections": sections,
            "overdue": overdue,
            "alarming": alarming,
            "promotions": promotions,
            "my_kpis": my_kpis,
            "key_kpis_in_trouble": key_kpis_in_trouble,
            "my_teams": my_teams,
            "my_initiatives": my_initiatives,
            "needs_me": needs_me,
            "now": now,
        },
    )
