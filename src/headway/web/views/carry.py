"""Carrying objectives over: one from its page (or duplicating it as a template), and the
unfinished objectives of a cycle in bulk from its review."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from headway.okrs.actions import carry_objectives, copy_objective_to_cycle, why_not_carry_over
from headway.okrs.models import CopyKind, Cycle, CycleState, KeyResult, Objective
from headway.teams.access import refuse
from headway.teams.models import Team
from headway.web.common import access, person, require_visible

# The bulk page lists at most this many objectives at once; a team filter narrows it.
CARRY_PAGE = 60


def _open_cycles(exclude: Cycle | None = None) -> list[Cycle]:
    cycles = Cycle.objects.exclude(state=CycleState.CLOSED).order_by("start", "key")
    if exclude is not None:
        cycles = cycles.exclude(pk=exclude.pk)
    return list(cycles)


def _next_cycle(cycles: list[Cycle], after: Cycle) -> Cycle | None:
    """The first open cycle starting after `after` (what "the next one" usually means)."""
    later = [c for c in cycles if c.start > after.start]
    return later[0] if later else (cycles[0] if cycles else None)


def unfinished(kr: KeyResult) -> bool:
    graded = kr.grade if kr.grade is not None else kr.score
    return graded < 1.0


@require_http_methods(["GET", "POST"])
def objective_carry(request: HttpRequest, key: str) -> HttpResponse:
    """Carry this objective into another cycle, or duplicate it as a template."""
    objective = get_object_or_404(
        Objective.objects.select_related("cycle", "team").prefetch_related(
            Prefetch("key_results", queryset=KeyResult.objects.order_by("position", "id"))
        ),
        key=key,
    )
    require_visible(request, objective)
    refuse(why_not_carry_over(access(request), objective))
    key_results = list(objective.key_results.all())
    cycles = _open_cycles()
    mode = request.POST.get("mode", request.GET.get("mode", "carry"))
    if mode not in ("carry", "template"):
        mode = "carry"
    chosen_cycle = request.POST.get("cycle", "")
    picked = (
        set(request.POST.getlist("kr"))
        if request.method == "POST"
        else {kr.key for kr in key_results if mode == "template" or unfinished(kr)}
    )
    errors: list[str] = []
    if request.method == "POST":
        target = next((c for c in cycles if c.key == chosen_cycle), None)
        if target is None:
            errors.append(_("Pick an open cycle to put it in."))
        else:
            try:
                copy = copy_objective_to_cycle(
                    objective=objective,
                    cycle=target,
                    key_results=[kr for kr in key_results if kr.key in picked],
                    by=person(request),
                    as_template=mode == "template",
                )
            except ValidationError as exc:
                errors.extend(exc.messages)
            else:
                done = (
                    _("Duplicated into %(target)s: adjust it to the new cycle.")
                    if mode == "template"
                    else _("Carried into %(target)s: adjust it to the new cycle.")
                )
                messages.success(request, done % {"target": target})
                return redirect("objective", key=copy.key)
    else:
        default = _next_cycle([c for c in cycles if c.pk != objective.cycle_id], objective.cycle)
        chosen_cycle = default.key if default else ""
    return render(
        request,
        "web/carry_objective.html",
        {
            "objective": objective,
            "key_results": [(kr, kr.key in picked, unfinished(kr)) for kr in key_results],
            "cycles": cycles,
            "chosen_cycle": chosen_cycle,
            "mode": mode,
            "errors": errors,
        },
        status=422 if errors else 200,
    )


@dataclass
class CarryRow:
    objective: Objective
    key_results: list[tuple[KeyResult, bool]] = field(default_factory=list)
    carried_into: list[Objective] = field(default_factory=list)
    picked: bool = False


@require_http_methods(["GET", "POST"])
def cycle_carry(request: HttpRequest, key: str) -> HttpResponse:
    """The cycle's unfinished objectives the person may carry, each with its key results."""
    cycle = get_object_or_404(Cycle, key=key)
    acc = access(request)
    team_key = request.GET.get("team", "")
    team = Team.objects.filter(key=team_key).first() if team_key else None
    teams = [t for t in Team.objects.order_by("name") if acc.can_create_in(t.pk)]
    allowed = [t.pk for t in teams]
    unfinished_objectives = (
        Objective.objects.filter(acc.objective_condition(), cycle=cycle, team_id__in=allowed)
        .filter(Q(grade__lt=1.0) | Q(grade__isnull=True, score__lt=1.0))
        .select_related("team")
        .order_by("team__name", "key")
    )
    if team is not None:
        unfinished_objectives = unfinished_objectives.filter(team=team)
    total = unfinished_objectives.count()
    objectives = list(
        unfinished_objectives.prefetch_related(
            Prefetch("key_results", queryset=KeyResult.objects.order_by("position", "id")),
            Prefetch(
                "copies",
                queryset=Objective.objects.filter(copy_kind=CopyKind.CARRIED).select_related(
                    "cycle"
                ),
            ),
        )[:CARRY_PAGE]
    )
    cycles = _open_cycles(exclude=cycle)
    chosen_cycle = request.POST.get("cycle", "")
    posted = request.method == "POST"
    rows = []
    for o in objectives:
        kr_keys = set(request.POST.getlist(f"kr-{o.key}")) if posted else None
        rows.append(
            CarryRow(
                objective=o,
                key_results=[
                    (kr, kr.key in kr_keys if kr_keys is not None else unfinished(kr))
                    for kr in o.key_results.all()
                ],
                carried_into=list(o.copies.all()),
                picked=posted and o.key in request.POST.getlist("objective"),
            )
        )
    errors: list[str] = []
    if posted:
        target = next((c for c in cycles if c.key == chosen_cycle), None)
        picks = [
            (row.objective, [kr for kr, on in row.key_results if on]) for row in rows if row.picked
        ]
        if target is None:
            errors.append(_("Pick an open cycle to carry them into."))
        elif not picks:
            errors.append(_("Tick the objectives to carry over."))
        else:
            try:
                copies = carry_objectives(cycle=target, picks=picks, by=person(request))
            except ValidationError as exc:
                errors.extend(exc.messages)
            else:
                n = len(copies)
                messages.success(
                    request,
                    ngettext(
                        "Carried %(n)s objective into %(target)s.",
                        "Carried %(n)s objectives into %(target)s.",
                        n,
                    )
                    % {"n": n, "target": target},
                )
                return redirect("cycle_review", key=cycle.key)
    else:
        default = _next_cycle(cycles, cycle)
        chosen_cycle = default.key if default else ""
    return render(
        request,
        "web/carry_cycle.html",
        {
            "cycle": cycle,
            "rows": rows,
            "total": total,
            "limit": CARRY_PAGE,
            "teams": teams,
            "team": team,
            "cycles": cycles,
            "chosen_cycle": chosen_cycle,
            "errors": errors,
        },
        status=422 if errors else 200,
    )
