"""A cycle's alignment tree, its review (grades, distribution, reflections, closing) and admin."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods

from headway.coach.db import REVIEW_RULES, findings_for_objectives
from headway.coach.rules import Finding
from headway.okrs.actions import close_cycle, reopen_cycle
from headway.okrs.models import Cycle, CycleState, KeyResult, Objective
from headway.okrs.scoring import KeyResultResult, ObjectiveResult, grade_band
from headway.okrs.tree import CycleTree
from headway.teams.access import Access
from headway.teams.models import Person, Team, TeamKind
from headway.web.common import access, is_htmx, person
from headway.web.forms import CycleForm

KIND_ORDER: dict[str, int] = {TeamKind.COMPANY: 0, TeamKind.DEPARTMENT: 1, TeamKind.TEAM: 2}


@dataclass
class Node:
    """One objective of the tree as the page shows it."""

    objective: Objective
    result: ObjectiveResult
    key_results: list[tuple[KeyResult, KeyResultResult]]
    children: list[Node] = field(default_factory=list)
    open: bool = False


@dataclass
class Filters:
    """The tree's filters, read leniently from the query string (unknown values match nothing)."""

    team: str = ""
    owner: str = ""
    open_all: bool = False

    @classmethod
    def from_request(cls, request: HttpRequest) -> Filters:
        return cls(
            team=request.GET.get("team", "").strip(),
            owner=request.GET.get("owner", "").strip(),
            open_all=request.GET.get("open") == "all",
        )

    def query(self, **extra: str) -> str:
        params = {"team": self.team, "owner": self.owner, **extra}
        return urlencode({k: v for k, v in params.items() if v})

    @property
    def active(self) -> bool:
        return bool(self.team or self.owner)


def moment(cycle: Cycle) -> datetime:
    """Score a closed cycle as it was when it closed, any other cycle as of now."""
    if cycle.is_closed and cycle.closed_at is not None:
        return cycle.closed_at
    return timezone.now()


def team_subtree(teams: list[Team], key: str) -> set[int] | None:
    """Ids of the team with `key` and every team below it; an empty set for an unknown key."""
    root = next((t for t in teams if t.key == key), None)
    if root is None:
        return set()
    below: dict[int | None, list[int]] = {}
    for team in teams:
        below.setdefault(team.parent_id, []).append(team.pk)
    found, stack = set(), [root.pk]
    while stack:
        node = stack.pop()
        if node not in found:
            found.add(node)
            stack.extend(below.get(node, []))
    return found


def build_forest(
    tree: CycleTree, acc: Access, filters: Filters, teams: list[Team]
) -> tuple[list[Node], dict[str, Node]]:
    """Visible objectives that match the filters, as a forest (children under parents)."""
    team_ids = team_subtree(teams, filters.team) if filters.team else None
    owner_id: int | None = None
    if filters.owner:
        owner_id = int(filters.owner) if filters.owner.isdigit() else -1
    matching = [
        o
        for o in tree.objectives
        if acc.can_see_objective(o)
        and (team_ids is None or o.team_id in team_ids)
        and (owner_id is None or o.owner_id == owner_id)
    ]
    nodes = {
        o.pk: Node(
            objective=o,
            result=tree.objective_result(o),
            key_results=[(kr, tree.key_result_result(kr)) for kr in tree.key_results_of(o)],
            open=filters.open_all,
        )
        for o in matching
    }
    roots = []
    for objective in matching:
        node = nodes[objective.pk]
        if objective.parent_id in nodes:
            nodes[objective.parent_id].children.append(node)
        else:
            node.open = True
            roots.append(node)
    roots.sort(key=lambda n: (KIND_ORDER.get(n.objective.team.kind, 3), n.objective.team.name))
    return roots, {n.objective.key: n for n in nodes.values()}


@require_GET
def cycles_index(request: HttpRequest) -> HttpResponse:
    """The active cycle's tree (or the newest cycle's); ?cycle=KEY switches without JS."""
    wanted = request.GET.get("cycle", "").strip()
    if wanted:
        cycle = Cycle.objects.filter(key=wanted).first()
    else:
        cycle = (
            Cycle.objects.filter(state=CycleState.ACTIVE).order_by("-start").first()
            or Cycle.objects.order_by("-start").first()
        )
    if cycle is None:
        if wanted:
            raise Http404("No such cycle.")
        return render(request, "web/no_cycle.html", {"can_manage": access(request).can_manage()})
    return redirect("cycle", key=cycle.key)


def _tree_context(request: HttpRequest, cycle: Cycle) -> dict[str, Any]:
    acc = access(request)
    filters = Filters.from_request(request)
    tree = cycle.tree(at=moment(cycle))
    teams = list(Team.objects.order_by("name"))
    roots, by_key = build_forest(tree, acc, filters, teams)
    owners: dict[int, Person] = {
        o.owner.pk: o.owner
        for o in tree.objectives
        if o.owner is not None and acc.can_see_objective(o)
    }
    shown = list(by_key.values())
    mean = sum(n.result.score for n in shown) / len(shown) if shown else None
    expected = shown[0].result.expected if shown else None
    return {
        "cycle": cycle,
        "tree": tree,
        "roots": roots,
        "by_key": by_key,
        "filters": filters,
        "filter_query": filters.query(),
        "teams": teams,
        "owners": sorted(owners.values(), key=lambda p: str(p).lower()),
        "shown": len(shown),
        "mean": mean,
        "expected": expected,
        "can_create": any(acc.can_create_in(t.pk) for t in teams),
    }


@require_GET
def cycle_tree(request: HttpRequest, key: str) -> HttpResponse:
    """Company objectives with their aligned children, filterable by team and owner."""
    cycle = get_object_or_404(Cycle, key=key)
    context = _tree_context(request, cycle)
    context["cycles"] = list(Cycle.objects.order_by("-start", "key"))
    template = "web/cycle.html#tree" if is_htmx(request) else "web/cycle.html"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


@require_GET
def cycle_node(request: HttpRequest, key: str, objective: str) -> HttpResponse:
    """One objective of the tree, opened or closed (htmx swaps it in place)."""
    cycle = get_object_or_404(Cycle, key=key)
    if not is_htmx(request):
        return redirect(reverse("cycle", kwargs={"key": cycle.key}) + "?open=all")
    context = _tree_context(request, cycle)
    node = context["by_key"].get(objective)
    if node is None:
        raise Http404("No such objective in this cycle.")
    node.open = request.GET.get("open") == "1"
    for child in node.children:
        child.open = False
    context["node"] = node
    return render(request, "web/cycle.html#node", context)


@dataclass
class ReviewRow:
    objective: Objective
    result: ObjectiveResult
    grade: float
    editable: bool
    reflection: str
    key_results: list[tuple[KeyResult, KeyResultResult]]
    findings: list[Finding] = field(default_factory=list)

    @property
    def band(self) -> str:
        return grade_band(self.grade)

    @property
    def needs_reflection(self) -> bool:
        return self.objective.type == "committed" and self.grade < 1.0 and not self.reflection


@dataclass
class TeamRow:
    team: Team
    score: float
    objectives: int

    @property
    def band(self) -> str:
        return grade_band(self.score)


@dataclass
class Bin:
    low: float
    count: int
    height: float = 0.0

    @property
    def band(self) -> str:
        return grade_band(self.low)

    @property
    def label(self) -> str:
        return f"{self.low:.1f} to {self.low + 0.1:.1f}" if self.low < 0.95 else "1.0"

    @property
    def x(self) -> float:
        return round(self.low * 10 * 30 + 2, 1)

    @property
    def mid(self) -> float:
        return round(self.x + 13, 1)

    @property
    def y(self) -> float:
        return round(120 - self.height, 1)

    @property
    def text_y(self) -> float:
        return round(self.y - 4, 1)


def histogram(grades: list[float]) -> tuple[list[Bin], dict[str, int]]:
    """Grades in 0.1-wide bins (1.0 has a bin of its own) and counts per grade band."""
    bins = [Bin(low=i / 10, count=0) for i in range(11)]
    for grade in grades:
        index = 10 if grade >= 1.0 else max(0, min(9, int(grade * 10 + 1e-9)))
        bins[index].count += 1
    top = max((b.count for b in bins), default=0) or 1
    for b in bins:
        b.height = round(b.count / top * 100, 1)
    bands = {"red": 0, "yellow": 0, "green": 0}
    for grade in grades:
        bands[grade_band(grade)] += 1
    return bins, bands


@require_http_methods(["GET", "POST"])
def cycle_review(request: HttpRequest, key: str) -> HttpResponse:
    """Grades per objective and team, their distribution, reflections and closing the cycle."""
    cycle = get_object_or_404(Cycle, key=key)
    acc = access(request)
    can_manage = acc.can_manage()
    tree = cycle.tree(at=moment(cycle))
    coach = findings_for_objectives(Objective.objects.filter(cycle=cycle), REVIEW_RULES)
    rows = []
    for objective in tree.objectives:
        if not acc.can_see_objective(objective):
            continue
        result = tree.objective_result(objective)
        grade = objective.grade if cycle.is_closed and objective.grade is not None else None
        rows.append(
            ReviewRow(
                objective=objective,
                result=result,
                grade=result.score if grade is None else grade,
                editable=not cycle.is_closed and acc.can_edit_objective(objective),
                reflection=objective.reflection,
                key_results=[
                    (kr, tree.key_result_result(kr)) for kr in tree.key_results_of(objective)
                ],
                findings=coach.get(objective.key, []),
            )
        )
    errors: list[str] = []
    if request.method == "POST":
        response = _review_post(request, cycle, rows, can_manage, errors)
        if response is not None:
            return response

    by_team: dict[int, list[ReviewRow]] = {}
    for row in rows:
        by_team.setdefault(row.objective.team_id, []).append(row)
    teams = sorted(
        (
            TeamRow(
                team=group[0].objective.team,
                score=sum(r.grade for r in group) / len(group),
                objectives=len(group),
            )
            for group in by_team.values()
        ),
        key=lambda t: (KIND_ORDER.get(t.team.kind, 3), t.team.name),
    )
    bins, bands = histogram([r.grade for r in rows])
    return render(
        request,
        "web/review.html",
        {
            "cycle": cycle,
            "rows": rows,
            "teams": teams,
            "bins": bins,
            "bands": bands,
            "errors": errors,
            "can_manage": can_manage,
            "any_editable": any(r.editable for r in rows),
            "missing": [r for r in rows if r.needs_reflection],
        },
    )


def _review_post(
    request: HttpRequest,
    cycle: Cycle,
    rows: list[ReviewRow],
    can_manage: bool,
    errors: list[str],
) -> HttpResponse | None:
    """Save reflections, close or reopen; None re-renders the page with `errors` and typed text."""
    me = person(request)
    action = request.POST.get("action", "save")
    typed: dict[str, str] = {}
    for row in rows:
        name = f"reflection-{row.objective.key}"
        if name in request.POST:
            if not row.editable:
                raise PermissionDenied("You may not write the reflection of this objective.")
            row.reflection = request.POST[name].strip()
            typed[row.objective.key] = row.reflection
    review_url = reverse("cycle_review", kwargs={"key": cycle.key})
    if action == "reopen":
        if not can_manage:
            raise PermissionDenied("Only admins may reopen a cycle.")
        try:
            reopen_cycle(cycle=cycle, by=me)
        except ValidationError as exc:
            errors.extend(exc.messages)
            return None
        messages.success(request, f"{cycle} is open again.")
        return HttpResponseRedirect(review_url)
    if cycle.is_closed:
        errors.append(f"{cycle} is closed: its grades and reflections are frozen.")
        return None
    if action == "close":
        if not can_manage:
            raise PermissionDenied("Only admins may close a cycle.")
        try:
            close_cycle(cycle=cycle, by=me, reflections=typed)
        except ValidationError as exc:
            errors.extend(exc.messages)
            return None
        messages.success(request, f"{cycle} is closed; its scores are now grades.")
        return HttpResponseRedirect(review_url)
    if not any(row.editable for row in rows):
        raise PermissionDenied("You may not write any reflection in this cycle.")
    changed = 0
    with transaction.atomic():
        for row in rows:
            if row.objective.key in typed and row.objective.reflection != row.reflection:
                row.objective.reflection = row.reflection
                row.objective._history_user = me  # type: ignore[attr-defined]
                row.objective.save(update_fields=["reflection", "updated_at"])
                changed += 1
    messages.success(request, f"Saved {changed} reflection{'s' if changed != 1 else ''}.")
    return HttpResponseRedirect(review_url)


def _require_manager(request: HttpRequest) -> None:
    if not access(request).can_manage():
        raise PermissionDenied("Only admins may manage cycles.")


@require_http_methods(["GET", "POST"])
def cycle_create(request: HttpRequest) -> HttpResponse:
    _require_manager(request)
    form = CycleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        cycle = form.save()
        messages.success(request, f"Cycle {cycle} created.")
        return redirect("cycle", key=cycle.key)
    return render(request, "web/form.html", {"form": form, "title": "New cycle"})


@require_http_methods(["GET", "POST"])
def cycle_edit(request: HttpRequest, key: str) -> HttpResponse:
    cycle = get_object_or_404(Cycle, key=key)
    _require_manager(request)
    form = CycleForm(request.POST or None, instance=cycle)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Cycle {cycle} saved.")
        return redirect("cycle", key=cycle.key)
    return render(
        request,
        "web/form.html",
        {"form": form, "title": f"Edit {cycle}", "back": reverse("cycle", args=[cycle.key])},
    )
