"""The objective page and the create/edit forms of objectives and key results."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_GET, require_http_methods

from headway.coach.db import findings_for_draft, findings_for_objective
from headway.coach.rules import Finding
from headway.discussion.reading import counts as comment_counts
from headway.discussion.reading import summary as discussion_summary
from headway.discussion.targets import Target
from headway.initiatives import reading as initiative_reading
from headway.initiatives.actions import why_not_plan_work
from headway.initiatives.models import InitiativeStatus
from headway.kpis.models import Measurement
from headway.kpis.queries import gaming_alerts
from headway.okrs import actions as okr_rights
from headway.okrs import insight_db, stored
from headway.okrs.actions import (
    align_objective,
    create_key_result,
    create_objective,
    recalibrate_key_result,
    update_key_result,
    update_objective,
)
from headway.okrs.insight import Probability
from headway.okrs.models import (
    CheckIn,
    Cycle,
    CycleState,
    KeyResult,
    Objective,
)
from headway.okrs.scoring import KeyResultResult
from headway.okrs.stored import display_moment, stored_tree
from headway.okrs.tree import core_cycle
from headway.teams.access import refuse
from headway.teams.models import Team
from headway.versions import StaleVersion
from headway.web import history
from headway.web.common import access, add_errors, person, require_visible
from headway.web.forms import RANGE_KINDS, KeyResultForm, ObjectiveForm, carry_version
from headway.web.history import show_stale
from headway.web.views.coach import key_result_draft_findings, objective_draft_findings

NUMERIC = {"increase", "decrease", "above", "below"}


@dataclass
class Point:
    at: datetime
    value: float | None
    done: bool | None = None
    confidence: int | None = None
    comment: str = ""
    author: str = ""
    # A check-in's id (its discussion); None for a KPI's measurement.
    checkin_id: int | None = None


@dataclass
class KrView:
    key_result: KeyResult
    result: KeyResultResult
    points: list[Point]
    chart: dict[str, Any] | None
    can_edit: bool
    gaming: bool
    forecast_value: float | None = None
    expected_value: float | None = None
    findings: list[Finding] = field(default_factory=list)
    # The probabilistic forecast (okrs.insight): how likely, and the 80% range.
    probability: Probability | None = None

    @property
    def chart_id(self) -> str:
        return f"kr-chart-{self.key_result.pk}"

    @property
    def latest_first(self) -> list[Point]:
        return list(reversed(self.points))


def _ms(moment_: datetime) -> int:
    return int(moment_.timestamp() * 1000)


def kr_chart(
    kr: KeyResult, result: KeyResultResult, points: list[Point], cycle: Cycle, at: datetime
) -> tuple[dict[str, Any] | None, float | None, float | None]:
    """Chart data of a numeric key result (values, pace line, forecast), with forecast and
    expected values in the key result's unit."""
    if kr.kind not in NUMERIC:
        return None, None, None
    window = core_cycle(cycle)
    start_ms, end_ms = _ms(window.starts_at), _ms(window.ends_at)
    values = [[_ms(p.at), p.value] for p in points if p.value is not None]
    data: dict[str, Any] = {
        "type": "key_result",
        "unit": kr.unit,
        "start": start_ms,
        "end": end_ms,
        "now": min(max(_ms(at), start_ms), end_ms),
        "values": values,
        "target": kr.target,
        "pace": None,
        "forecast": None,
    }
    forecast_value = expected_value = None
    if kr.kind in RANGE_KINDS and kr.start is not None and kr.target is not None:
        span = kr.target - kr.start
        data["pace"] = [[start_ms, kr.start], [end_ms, kr.target]]
        expected_value = kr.start + result.expected * span
        if result.forecast is not None:
            forecast_value = kr.start + result.forecast * span
            last = values[-1] if values else [start_ms, kr.start]
            data["forecast"] = [last, [end_ms, forecast_value]]
    return data, forecast_value, expected_value


@require_GET
def objective_detail(request: HttpRequest, key: str) -> HttpResponse:
    """Key results with score, status, pace and forecast; check-in charts; history; children."""
    objective = get_object_or_404(
        Objective.objects.select_related("cycle", "team", "owner", "parent", "copied_from__cycle"),
        key=key,
    )
    require_visible(request, objective)
    acc = access(request)
    cycle = objective.cycle
    at = display_moment(cycle)
    tree = stored_tree(cycle, objectives=Objective.objects.filter(pk=objective.pk), at=at)
    current = tree.objectives[0]
    key_results = tree.key_results_of(current)

    points: dict[int, list[Point]] = defaultdict(list)
    for checkin in (
        CheckIn.objects.filter(key_result__objective=objective, at__lte=at)
        .select_related("author")
        .order_by("at")
    ):
        points[checkin.key_result_id].append(
            Point(
                at=checkin.at,
                value=checkin.value,
                done=checkin.done,
                confidence=checkin.confidence,
                comment=checkin.comment,
                author=str(checkin.author) if checkin.author else "",
                checkin_id=checkin.pk,
            )
        )
    kpi_ids = {kr.kpi_id for kr in key_results if kr.kpi_id is not None}
    if kpi_ids:
        by_kpi: dict[int, list[Point]] = defaultdict(list)
        for kpi_id, when, value, note in (
            Measurement.objects.filter(
                kpi_id__in=kpi_ids, at__gte=core_cycle(cycle).starts_at, at__lte=at
            )
            .order_by("at")
            .values_list("kpi_id", "at", "value", "note")
        ):
            by_kpi[kpi_id].append(Point(at=when, value=value, comment=note, author="measurement"))
        for kr in key_results:
            if kr.kpi_id is not None:
                points[kr.pk] = by_kpi.get(kr.kpi_id, [])
    alerts = {kr.pk for kr in gaming_alerts(key_results, at=at)}
    # Initiatives (issue 18): the work behind each key result, beside its score, never in it.
    work_items = initiative_reading.of_key_results(kr.pk for kr in key_results)
    may_plan = {kr.pk for kr in key_results if why_not_plan_work(acc, kr) is None}
    coach = findings_for_objective(objective)
    own = f"objectives/{objective.key}"
    kr_findings: dict[str, list[Finding]] = defaultdict(list)
    for finding in coach:
        if finding.path != own:
            kr_findings[finding.path.split("/")[3]].append(finding)

    rows = []
    for kr in key_results:
        result = tree.key_result_result(kr)
        chart, forecast_value, expected_value = kr_chart(kr, result, points[kr.pk], cycle, at)
        likely = insight_db.probability(kr, cycle, ((p.at, p.value) for p in points[kr.pk]), at)
        if chart is not None and likely is not None and likely.probability is not None:
            chart["range"] = [[chart["end"], likely.low], [chart["end"], likely.high]]
        rows.append(
            KrView(
                key_result=kr,
                result=result,
                points=points[kr.pk],
                chart=chart,
                can_edit=not cycle.is_closed
                and okr_rights.why_not_edit_key_result(acc, kr) is None,
                gaming=kr.pk in alerts,
                forecast_value=forecast_value,
                expected_value=expected_value,
                findings=kr_findings.get(kr.key, []),
                probability=likely,
            )
        )
    expected = tree.objective_result(current).expected
    children = [
        (child, stored.objective_result(child, expected))
        for child in Objective.objects.filter(
            acc.objective_condition(), parent=objective, cycle=cycle
        )
        .select_related("team", "owner")
        .order_by("team__name", "key")
    ]
    parent = (
        objective.parent if objective.parent and acc.can_see_objective(objective.parent) else None
    )
    changes = history.entries(
        [
            (gettext_noop("Objective"), objective.history.select_related("history_user")),
            (
                gettext_noop("Key result “{title}”"),
                KeyResult.history.filter(objective_id=objective.pk).select_related("history_user"),
            ),
        ]
    )
    open_cycle = cycle.state == CycleState.ACTIVE
    return render(
        request,
        "web/objective.html",
        {
            "objective": objective,
            # Shared objectives (issue 18): the teams contributing besides its own.
            "contributors": [
                c.team
                for c in objective.contributions.select_related("team").order_by("team__name")
            ],
            "cycle": cycle,
            "result": tree.objective_result(current),
            "rows": rows,
            "children": children,
            "parent": parent,
            "history": changes,
            # What the page offers comes from the actions' own predicates.
            "can_edit": not cycle.is_closed
            and okr_rights.why_not_edit_objective(acc, objective) is None,
            "can_add": not cycle.is_closed
            and okr_rights.why_not_add_key_result(acc, objective) is None,
            "can_check_in": open_cycle
            and any(
                kr.takes_checkins and okr_rights.why_not_check_in(acc, kr) is None
                for kr in key_results
            ),
            "charts": any(row.chart for row in rows),
            "findings": [f for f in coach if f.path == own],
            "discussion": discussion_summary(Target("objective", objective=objective)),
            # Cascade (issue 18): write an aligned objective, prefilled, if one may.
            "align_url": None if cycle.is_closed else _align_url(acc, objective),
            # Carry-over (issue 18): where it came from, where it was carried.
            "can_carry": okr_rights.why_not_carry_over(acc, objective) is None,
            "copied_from": objective.copied_from
            if objective.copied_from and acc.can_see_objective(objective.copied_from)
            else None,
            "copies": list(
                Objective.objects.filter(acc.objective_condition(), copied_from=objective)
                .select_related("cycle")
                .order_by("cycle__start", "key")
            ),
            "kr_comments": comment_counts("key_result", [kr.pk for kr in key_results]),
            "initiatives": work_items,
            "work": initiative_reading.work_of(work_items),
            "may_plan": set() if cycle.is_closed else may_plan,
            "editable_initiatives": set()
            if cycle.is_closed
            else {
                i.pk
                for items in work_items.values()
                for i in items
                if i.key_result_id in may_plan or i.owner_id == acc.person_id
            },
            "initiative_statuses": InitiativeStatus.choices,
            "checkin_comments": comment_counts(
                "checkin", [p.checkin_id for ps in points.values() for p in ps if p.checkin_id]
            ),
        },
    )


# The objective form's fields that create_objective and update_objective take as they are.
OBJECTIVE_FORM_FIELDS = (
    "key", "title", "description", "owner", "type", "visibility", "coach_ignore",
    "coach_ignore_why",
)  # fmt: skip


# The key result form's fields that create_key_result and update_key_result take as they are.
# The key comes first: it is fixed once the key result exists.
KEY_RESULT_FORM_FIELDS = (
    "key", "title", "kind", "owner", "unit", "start", "target", "weight", "due", "kpi",
)  # fmt: skip


def _coach(findings: list[Finding], title: str) -> dict[str, Any]:
    """The live coach's first state on a form page (nothing said before a title is typed)."""
    return {"coach_findings": findings, "coach_checked": bool(title.strip())}


def _parents(
    request: HttpRequest, exclude: Objective | None = None, cycle: Cycle | None = None
) -> QuerySet[Objective]:
    """Objectives one may align to: visible ones of cycles not closed that span `cycle`
    (the child's: a quarter aligns to its own quarter or to the year, never to another)."""
    found = Objective.objects.filter(access(request).objective_condition()).exclude(
        cycle__state=CycleState.CLOSED
    )
    if cycle is not None:
        found = found.filter(cycle__start__lte=cycle.start, cycle__end__gte=cycle.end)
    return found.exclude(pk=exclude.pk) if exclude is not None else found


def _align_url(acc: Any, objective: Objective) -> str | None:
    """The new-objective form prefilled to align to `objective`: its cycle, it as parent,
    and the nearest team below its team (or the team itself) one leads; None when one
    leads no team."""
    above = dict(Team.objects.values_list("pk", "parent_id"))
    best: tuple[int, int] | None = None  # (distance below the objective's team, team id)
    fallback: int | None = None
    for team_id in above:
        # Only teams one holds a role on can pass (roles hold downwards; a superuser holds
        # every team): asking the rule, which words its refusal, of a thousand teams was a
        # tenth of the page.
        if not acc.is_superuser and team_id not in acc.roles:
            continue
        # Creating an objective aligned at once is for leads (as align_objective is).
        if okr_rights.why_not_align(acc, team_id) is not None:
            continue
        fallback = fallback or team_id
        node: int | None = team_id
        depth, seen = 0, set()
        while node is not None and node not in seen:
            if node == objective.team_id:
                if best is None or (depth, team_id) < best:
                    best = (depth, team_id)
                break
            seen.add(node)
            node, depth = above.get(node), depth + 1
    if best is None and fallback is None:
        return None
    chosen = best[1] if best is not None else fallback
    assert chosen is not None
    team_key = Team.objects.filter(pk=chosen).values_list("key", flat=True).first()
    query = urlencode({"cycle": objective.cycle.key, "parent": objective.key, "team": team_key})
    return f"{reverse('objective_create')}?{query}"


def _suggested_parents(parents: QuerySet[Objective], teams: list[Team]) -> QuerySet[Objective]:
    """Of `parents`, those of the teams above `teams` and of `teams` themselves."""
    above = dict(Team.objects.values_list("pk", "parent_id"))
    wanted: set[int] = set()
    for team in teams:
        node: int | None = team.pk
        while node is not None and node not in wanted:
            wanted.add(node)
            node = above.get(node)
    return parents.filter(team_id__in=wanted).order_by("team__name", "key")


@require_http_methods(["GET", "POST"])
def objective_create(request: HttpRequest) -> HttpResponse:
    acc = access(request)
    me = person(request)
    teams = [t for t in Team.objects.order_by("name") if acc.can_create_in(t.pk)]
    refuse(okr_rights.why_not_create_objective(acc, teams or Team.objects.all()))
    initial: dict[str, Any] = {"owner": me.pk}
    team = next((t for t in teams if t.key == request.GET.get("team")), None)
    if team is not None:
        initial["team"] = team.pk
    elif len(teams) == 1:
        initial["team"] = teams[0].pk
    cycle = (
        Cycle.objects.filter(key=request.GET.get("cycle", ""))
        .exclude(state=CycleState.CLOSED)
        .first()
        or Cycle.objects.current()
    )
    if cycle is not None:
        initial["cycle"] = cycle.pk
    # The parents offered span the child's cycle: the one posted, else the one preselected.
    posted = request.POST.get("cycle", "") if request.method == "POST" else ""
    child_cycle = (
        Cycle.objects.filter(pk=int(posted)).first() if posted.isdigit() else None
    ) or cycle
    parents = _parents(request, cycle=child_cycle)
    parent_key = request.GET.get("parent", "")
    initial["parent"] = parents.filter(key=parent_key).values_list("pk", flat=True).first()
    form = ObjectiveForm(
        request.POST or None,
        initial=initial,
        teams=teams,
        parents=parents,
        suggested_parents=_suggested_parents(parents, teams),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            objective = create_objective(
                by=me,
                cycle=data["cycle"],
                team=data["team"],
                parent=data.get("parent"),
                contributors=data.get("contributors") or [],
                **{name: data[name] for name in OBJECTIVE_FORM_FIELDS if name in data},
            )
        except PermissionDenied as exc:
            form.add_error("parent", str(exc))
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("Objective created. Now give it two to five key results."))
            return redirect("key_result_create", key=objective.key)
    return render(
        request,
        "web/form.html",
        {
            "form": form,
            "title": _("New objective"),
            "submit": _("Create objective"),
            "coach_url": reverse("objective_coach"),
            **_coach(
                objective_draft_findings(request, request.POST) if request.POST else [],
                request.POST.get("title", ""),
            ),
        },
    )


@require_http_methods(["GET", "POST"])
def objective_edit(request: HttpRequest, key: str) -> HttpResponse:
    objective = get_object_or_404(
        Objective.objects.select_related("cycle", "team", "parent"), key=key
    )
    require_visible(request, objective)
    acc = access(request)
    me = person(request)
    refuse(okr_rights.why_not_edit_objective(acc, objective))
    old_parent = objective.parent_id
    form = ObjectiveForm(
        request.POST or None,
        instance=objective,
        teams=[objective.team],
        parents=(parents := _parents(request, exclude=objective, cycle=objective.cycle)),
        suggested_parents=_suggested_parents(parents, [objective.team]),
        editing=True,
    )
    carry_version(form, objective.version)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        parent = data.get("parent")
        try:
            with transaction.atomic():
                update_objective(
                    by=me,
                    objective=objective,
                    version=data.get("version"),
                    contributors=list(data.get("contributors") or []),
                    **{name: data[name] for name in OBJECTIVE_FORM_FIELDS if name in data},
                )
                if (parent.pk if parent else None) != old_parent:
                    align_objective(objective=objective, parent=parent, by=me)
        except StaleVersion as exc:
            show_stale(form, objective, exc, gettext_noop("objective"))
        except PermissionDenied as exc:
            form.add_error("parent", str(exc))
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("Objective saved."))
            return redirect("objective", key=objective.key)
    if request.POST:
        coach = objective_draft_findings(request, request.POST, objective)
    else:
        coach = findings_for_draft(
            "objective",
            title=objective.title,
            parent=objective.parent,
            objective=objective,
            type=objective.type,
        )
    return render(
        request,
        "web/form.html",
        {
            "form": form,
            "title": _("Edit objective"),
            "back": reverse("objective", args=[objective.key]),
            "coach_url": reverse("objective_edit_coach", args=[objective.key]),
            **_coach(coach, request.POST.get("title", objective.title)),
        },
    )


@require_http_methods(["GET", "POST"])
def key_result_create(request: HttpRequest, key: str) -> HttpResponse:
    objective = get_object_or_404(Objective.objects.select_related("cycle", "team"), key=key)
    require_visible(request, objective)
    acc = access(request)
    me = person(request)
    refuse(okr_rights.why_not_add_key_result(acc, objective))
    form = KeyResultForm(
        request.POST or None, objective=objective, initial={"owner": me.pk, "weight": 1.0}
    )
    if request.method == "POST" and objective.cycle.is_closed:
        form.add_error(
            None, _("%(cycle)s is closed: its objectives are frozen.") % {"cycle": objective.cycle}
        )
    elif request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            create_key_result(
                by=me,
                objective=objective,
                counter_kpis=data.get("counter_kpis") or [],
                **{name: data[name] for name in KEY_RESULT_FORM_FIELDS if name in data},
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            count = objective.key_results.count()
            messages.success(request, _("Key result added (%(count)s so far).") % {"count": count})
            if request.POST.get("then") == "another":
                return redirect("key_result_create", key=objective.key)
            return redirect("objective", key=objective.key)
    return render(
        request,
        "web/key_result_form.html",
        {
            "form": form,
            "objective": objective,
            "title": _("New key result"),
            "creating": True,
            "back": reverse("objective", args=[objective.key]),
            "coach_url": reverse("key_result_coach", args=[objective.key]),
            **_coach(
                key_result_draft_findings(request.POST, objective) if request.POST else [],
                request.POST.get("title", ""),
            ),
        },
    )


@require_http_methods(["GET", "POST"])
def key_result_edit(request: HttpRequest, key: str, kr: str) -> HttpResponse:
    key_result = get_object_or_404(
        KeyResult.objects.select_related("objective__cycle", "objective__team"),
        objective__key=key,
        key=kr,
    )
    objective = key_result.objective
    require_visible(request, objective)
    acc = access(request)
    me = person(request)
    refuse(okr_rights.why_not_edit_key_result(acc, key_result))
    cycle = objective.cycle
    recalibrating = cycle.state == CycleState.ACTIVE
    original = {"title": key_result.title, "start": key_result.start, "target": key_result.target}
    form = KeyResultForm(
        request.POST or None,
        instance=key_result,
        objective=objective,
        recalibrating=recalibrating,
    )
    carry_version(form, key_result.version)
    if request.method == "POST" and form.is_valid():
        new = {name: form.cleaned_data.get(name) for name in original}
        moved = {name: value for name, value in new.items() if value != original[name]}
        reason = form.cleaned_data.get("reason") or ""
        # The actions validate (a recalibration needs its reason), all or nothing.
        data = form.cleaned_data
        fields = {
            name: data[name] for name in KEY_RESULT_FORM_FIELDS if name in data and name != "key"
        }
        if recalibrating:
            # The yardstick moves through recalibrate_key_result, with the reason.
            for name in (*original, "kind"):
                fields.pop(name, None)
        try:
            with transaction.atomic():
                update_key_result(
                    by=me,
                    key_result=key_result,
                    counter_kpis=data.get("counter_kpis"),
                    version=data.get("version"),
                    **fields,
                )
                if recalibrating and moved:
                    recalibrate_key_result(key_result=key_result, by=me, reason=reason, **moved)
        except StaleVersion as exc:
            show_stale(form, key_result, exc, gettext_noop("key result"))
        except PermissionDenied as exc:
            form.add_error("reason" if "reason" in form.fields else None, str(exc))
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(
                request, _("Key result recalibrated.") if moved and recalibrating else _("Saved.")
            )
            return redirect("objective", key=objective.key)
    coach = key_result_draft_findings(
        request.POST
        if request.POST
        else {
            "title": key_result.title,
            "kind": key_result.kind,
            "start": key_result.start,
            "target": key_result.target,
            "due": key_result.due.isoformat() if key_result.due else None,
        },
        objective,
        key_result,
    )
    return render(
        request,
        "web/key_result_form.html",
        {
            "form": form,
            "objective": objective,
            "title": _("Edit key result"),
            "recalibrating": recalibrating,
            "back": reverse("objective", args=[objective.key]),
            "coach_url": reverse("key_result_edit_coach", args=[objective.key, key_result.key]),
            **_coach(coach, request.POST.get("title", key_result.title)),
        },
    )
