"""A cycle's alignment tree, its review (grades, distribution, reflections, closing) and admin."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import CharField, Q, QuerySet, Value
from django.db.models.functions import Coalesce, NullIf
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods

from headway.coach.db import REVIEW_RULES, findings_for_objectives
from headway.coach.rules import Finding
from headway.okrs import insight_db
from headway.okrs.actions import (
    ClosePreview,
    close_cycle,
    create_cycle,
    preview_close,
    reopen_cycle,
    update_cycle,
    why_not_close,
    why_not_create_objective,
    why_not_edit_objective,
    why_not_manage_cycles,
    why_not_reopen,
    write_reflections,
)
from headway.okrs.insight_db import KpiMoveRow
from headway.okrs.models import CopyKind, Cycle, KeyResult, Objective, ObjectiveContributor
from headway.okrs.scoring import KeyResultResult, ObjectiveResult, expected_progress, grade_band
from headway.okrs.stored import display_moment, stored_tree
from headway.okrs.tree import core_cycle
from headway.teams.access import refuse
from headway.teams.models import Person, TeamKind, team_refs
from headway.teams.models import team_subtree as team_subtree  # web.views.kpis imports it from here
from headway.teams.refs import TeamRef
from headway.web.common import UrlFor, access, add_errors, form_changes, is_htmx, person
from headway.web.forms import CycleForm

KIND_ORDER: dict[str, int] = {TeamKind.COMPANY: 0, TeamKind.DEPARTMENT: 1, TeamKind.TEAM: 2}


@dataclass
class Node:
    """One objective of the tree as the page shows it (children only when loaded)."""

    objective: Objective
    result: ObjectiveResult
    key_results: list[tuple[KeyResult, KeyResultResult]]
    child_count: int = 0
    children: list[Node] = field(default_factory=list)
    open: bool = False
    # A shared objective (issue 18): its contributing teams' names; `contributing` when it
    # is listed for one of them (the team filter), not for its own team.
    shared_with: list[str] = field(default_factory=list)
    contributing: bool = False
    # Links made once per page by `build_forest` ({% url %} twice a node was a tenth of
    # the tree's rendering).
    url: str = ""
    node_url: str = ""


def count_param(request: HttpRequest, name: str, default: int) -> int:
    """A whole number from the query string; `default` for anything else (or absurdly big)."""
    raw = request.GET.get(name, "")
    return int(raw) if raw.isdigit() and len(raw) < 7 else default


# Roots listed at first (more on request), roots opened when there are this few, owners
# offered in the filter before it narrows to the chosen team's.
ROOTS_PAGE = 50
OPEN_ROOTS = 12
OWNER_CHOICES = 200


@dataclass
class Filters:
    """The tree's filters, read leniently from the query string (unknown values match nothing)."""

    team: str = ""
    owner: str = ""
    open_all: bool = False
    roots: int = 0

    @classmethod
    def from_request(cls, request: HttpRequest) -> Filters:
        return cls(
            team=request.GET.get("team", "").strip(),
            owner=request.GET.get("owner", "").strip(),
            open_all=request.GET.get("open") == "all",
            roots=max(count_param(request, "roots", ROOTS_PAGE), ROOTS_PAGE),
        )

    def query(self, **extra: str) -> str:
        params = {"team": self.team, "owner": self.owner, **extra}
        return urlencode({k: v for k, v in params.items() if v})

    @property
    def active(self) -> bool:
        return bool(self.team or self.owner)


@dataclass
class Skeleton:
    """Every objective matching the filters as bare ids: who is a root, whose children."""

    roots: list[int]
    children: dict[int, list[int]]
    scores: list[float]

    @classmethod
    def load(cls, objectives: QuerySet[Objective], owners: set[int] | None = None) -> Skeleton:
        """Roots come company first, then departments, then teams, each by team name.

        `owners`: the teams whose own objectives count in `scores` (None: all). Objectives
        listed because a team contributes to them (shared objectives) are in the tree but
        count once, for their own team.
        """
        rows = list(
            objectives.values_list(
                "pk", "parent_id", "score", "team__kind", "team__name", "team_id"
            )
        )
        ids = {row[0] for row in rows}
        roots: list[tuple[int, str, int]] = []
        children: dict[int, list[int]] = defaultdict(list)
        for pk, parent, _score, kind, team, _team_id in rows:
            if parent in ids:
                children[parent].append(pk)
            else:
                roots.append((KIND_ORDER.get(kind, 3), team, pk))
        return cls(
            roots=[pk for *_, pk in sorted(roots)],
            children=children,
            scores=[row[2] for row in rows if owners is None or row[5] in owners],
        )

    def everything_below(self, pks: list[int]) -> list[int]:
        found, stack = [], list(pks)
        while stack:
            pk = stack.pop()
            found.append(pk)
            stack.extend(self.children.get(pk, []))
        return found


def build_forest(
    cycle: Cycle,
    skeleton: Skeleton,
    shown: list[int],
    open_ids: set[int],
    owners: set[int] | None = None,
) -> dict[int, Node]:
    """Nodes of the objectives in `shown` (stored scores, 3 queries), linked to their parents.

    Nodes in `open_ids` are open; the others show their row only. With `owners` (the team
    filter), an objective of another team is there as a contributing team's (shared).
    """
    tree = stored_tree(cycle, objectives=Objective.objects.filter(pk__in=shown))
    shared_with: dict[int, list[str]] = defaultdict(list)
    for objective_id, name in (
        ObjectiveContributor.objects.filter(objective_id__in=[o.pk for o in tree.objectives])
        .order_by("team__name")
        .values_list("objective_id", "team__name")
    ):
        shared_with[objective_id].append(name)
    nodes = {
        o.pk: Node(
            objective=o,
            result=tree.objective_result(o),
            key_results=[(kr, tree.key_result_result(kr)) for kr in tree.key_results_of(o)],
            child_count=len(skeleton.children.get(o.pk, [])),
            open=o.pk in open_ids,
            shared_with=shared_with.get(o.pk, []),
            contributing=owners is not None and o.team_id not in owners,
        )
        for o in tree.objectives
    }
    objective_url, node_url = UrlFor.of("objective"), UrlFor.of("cycle_node", cycle.key)
    for node in nodes.values():
        node.url, node.node_url = objective_url(node.objective.key), node_url(node.objective.key)
        parent = nodes.get(node.objective.parent_id or 0)
        if parent is not None and node.objective.pk in skeleton.children.get(
            parent.objective.pk, []
        ):
            parent.children.append(node)
    return nodes


@require_GET
def cycles_index(request: HttpRequest) -> HttpResponse:
    """The active cycle's tree (or the newest cycle's); ?cycle=KEY switches without JS."""
    wanted = request.GET.get("cycle", "").strip()
    if wanted:
        cycle = Cycle.objects.filter(key=wanted).first()
    else:
        cycle = Cycle.objects.current() or Cycle.objects.order_by("-start").first()
    if cycle is None:
        if wanted:
            raise Http404("No such cycle.")
        return render(
            request,
            "web/no_cycle.html",
            {"can_manage": why_not_manage_cycles(access(request)) is None},
        )
    return redirect("cycle", key=cycle.key)


def _owners(filters: Filters, teams: list[TeamRef]) -> set[int] | None:
    """The teams the team filter picks (the team and those below it); None: no filter."""
    return set(team_subtree(teams, filters.team) or []) if filters.team else None


def _matching(request: HttpRequest, cycle: Cycle, filters: Filters, teams: list[TeamRef]) -> Any:
    """The cycle's objectives the viewer may see that match the filters (a queryset).

    A team's tree holds its own objectives and those it contributes to (shared objectives).
    """
    matching = Objective.objects.filter(access(request).objective_condition(), cycle=cycle)
    owners = _owners(filters, teams)
    if owners is not None:
        shared = ObjectiveContributor.objects.filter(team_id__in=list(owners))
        matching = matching.filter(
            Q(team_id__in=list(owners)) | Q(pk__in=shared.values("objective_id"))
        )
    if filters.owner:
        matching = matching.filter(owner_id=int(filters.owner) if filters.owner.isdigit() else -1)
    return matching


def _owner_choices(
    request: HttpRequest, cycle: Cycle, filters: Filters, teams: list[TeamRef]
) -> list[tuple[int, str]]:
    """Owners to filter by: all of the cycle's, or when there are too many for one list,
    those of the chosen team (and the viewer and the owner already chosen)."""
    acc = access(request)
    owned = Objective.objects.filter(acc.objective_condition(), cycle=cycle)
    # (pk, name) pairs: the filter shows a name, and 200 Person rows cost ten times as much.
    owners = (
        Person.objects.filter(pk__in=owned.values("owner_id"))
        .order_by("name", "email")
        .annotate(shown=Coalesce(NullIf("name", Value("")), "email", output_field=CharField()))
        .values_list("pk", "shown")
    )
    chosen = list(owners[: OWNER_CHOICES + 1])
    if len(chosen) <= OWNER_CHOICES:
        return chosen
    narrowed = Q(pk=acc.person_id or 0)
    if filters.owner.isdigit():
        narrowed |= Q(pk=int(filters.owner))
    if filters.team:
        in_team = owned.filter(team_id__in=team_subtree(teams, filters.team) or [])
        narrowed |= Q(pk__in=in_team.values("owner_id"))
    return list(owners.filter(narrowed)[:OWNER_CHOICES])


def _tree_context(
    request: HttpRequest, cycle: Cycle, *, opening: str | None = None
) -> dict[str, Any]:
    """The tree page's context in a constant number of queries, whatever the cycle's size.

    Roots are open and their children closed (or everything open with ?open=all); the
    others load when opened (`opening`: the key of the objective being opened).
    """
    acc = access(request)
    filters = Filters.from_request(request)
    teams = team_refs()  # for the filter: a thousand Team rows cost ten times as much
    matching = _matching(request, cycle, filters, teams)
    owning = _owners(filters, teams)
    skeleton = Skeleton.load(matching, owning)
    listed = skeleton.roots[: filters.roots]
    if filters.open_all:
        shown = skeleton.everything_below(listed)
        open_ids = set(shown)
    else:
        # A big organisation lists many roots (objectives aligned to hidden or filtered-out
        # parents): they start closed then, so the page shows a readable first level.
        open_ids = set(listed) if len(skeleton.roots) <= OPEN_ROOTS else set()
        below = (c for root in open_ids for c in skeleton.children.get(root, []))
        shown = [*listed, *below]
    node_pk = None
    if opening is not None:
        node_pk = matching.filter(key=opening).values_list("pk", flat=True).first()
        if node_pk is not None:
            shown = [node_pk, *skeleton.children.get(node_pk, [])]
    nodes = build_forest(cycle, skeleton, shown, open_ids, owning)
    roots = [nodes[pk] for pk in listed if pk in nodes]
    more = len(skeleton.roots) - len(listed)
    owners = _owner_choices(request, cycle, filters, teams)
    scores = skeleton.scores
    return {
        "cycle": cycle,
        "roots": roots,
        "node": nodes.get(node_pk) if node_pk is not None else None,
        "filters": filters,
        "filter_query": filters.query(),
        "more_roots": min(more, ROOTS_PAGE),
        "more_query": filters.query(roots=str(filters.roots + ROOTS_PAGE)),
        "teams": teams,
        "owners": owners,
        "shown": len(scores),
        "mean": sum(scores) / len(scores) if scores else None,
        "expected": expected_progress(core_cycle(cycle), display_moment(cycle)),
        "can_create": bool(teams) and why_not_create_objective(acc, teams) is None,
        # "New cycle" sits where the cycles are listed, for those who may make one.
        "can_manage_cycles": why_not_manage_cycles(acc) is None,
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
    context = _tree_context(request, cycle, opening=objective)
    node = context["node"]
    if node is None:
        raise Http404("No such objective in this cycle.")
    node.open = request.GET.get("open") == "1"
    for child in node.children:
        child.open = False
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
    # "Did it move the KPI?" for its achieved, KPI-linked key results (okrs.insight_db).
    moves: list[KpiMoveRow] = field(default_factory=list)
    # Objectives it was carried into (issue 18), with their cycles.
    carried_into: list[Objective] = field(default_factory=list)

    @property
    def band(self) -> str:
        return grade_band(self.grade)

    @property
    def needs_reflection(self) -> bool:
        return self.objective.type == "committed" and self.grade < 1.0 and not self.reflection


@dataclass
class TeamRow:
    team: TeamRef
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


REVIEW_PAGE = 50
TEAM_ROWS = 150


@dataclass
class ReviewScope:
    """Which objectives the review lists: a team (and those below it), missing ones, a page."""

    team: str = ""
    missing: bool = False
    page: int = 1

    @classmethod
    def from_request(cls, request: HttpRequest) -> ReviewScope:
        return cls(
            team=request.GET.get("team", "").strip(),
            missing=request.GET.get("missing") == "1",
            page=max(1, count_param(request, "page", 1)),
        )

    def query(self, **extra: str | int) -> str:
        params: dict[str, str | int] = {"team": self.team, "missing": "1" if self.missing else ""}
        params.update(extra)
        return urlencode({k: v for k, v in params.items() if v})


def _graded(closed: bool, score: float, grade: float | None) -> float:
    """What the review shows of an objective: its grade once the cycle closed, else its score."""
    return grade if closed and grade is not None else score


@require_http_methods(["GET", "POST"])
def cycle_review(request: HttpRequest, key: str) -> HttpResponse:
    """Grades per objective and team, their distribution, reflections and closing the cycle.

    The distribution, team grades and missing reflections cover every objective one may
    see, from stored scores; the objectives themselves are listed a page at a time.
    """
    cycle = get_object_or_404(Cycle, key=key)
    acc = access(request)
    # The close box shows when the action would let this person close (or reopen) it.
    can_manage = (why_not_reopen(acc) if cycle.is_closed else why_not_close(acc)) is None
    scope = ReviewScope.from_request(request)
    closed = cycle.is_closed
    teams_by_id = {t.pk: t for t in team_refs()}
    visible = Objective.objects.filter(acc.objective_condition(), cycle=cycle)
    summary = list(
        visible.values_list("pk", "team_id", "type", "score", "grade", "reflection").order_by()
    )
    missing_ids = {
        pk
        for pk, _team, kind, score, grade, reflection in summary
        if kind == "committed" and _graded(closed, score, grade) < 1.0 and not reflection.strip()
    }
    listed = visible
    subtree: set[int] = set()
    if scope.team:
        subtree = team_subtree(list(teams_by_id.values()), scope.team)
        listed = listed.filter(team_id__in=subtree)
    if scope.missing:
        listed = listed.filter(pk__in=missing_ids)
    total = listed.count()
    pages = max(1, -(-total // REVIEW_PAGE))
    page = min(scope.page, pages)
    window = list(
        listed.order_by("team__name", "key").values_list("pk", flat=True)[
            (page - 1) * REVIEW_PAGE : page * REVIEW_PAGE
        ]
    )
    tree = stored_tree(cycle, objectives=Objective.objects.filter(pk__in=window))
    coach = findings_for_objectives(Objective.objects.filter(pk__in=window), REVIEW_RULES)
    moves = insight_db.kpi_moves(cycle, list(tree.key_results()))
    rows = [
        ReviewRow(
            objective=objective,
            result=tree.objective_result(objective),
            grade=_graded(closed, objective.score, objective.grade),
            editable=not cycle.is_closed and why_not_edit_objective(acc, objective) is None,
            reflection=objective.reflection,
            key_results=[(kr, tree.key_result_result(kr)) for kr in tree.key_results_of(objective)],
            findings=coach.get(objective.key, []),
            moves=[moves[kr.pk] for kr in tree.key_results_of(objective) if kr.pk in moves],
        )
        for objective in tree.objectives
    ]
    carried = Objective.objects.filter(copied_from__cycle=cycle, copy_kind=CopyKind.CARRIED)
    for copy in carried.filter(copied_from_id__in=window).select_related("cycle"):
        for row in rows:
            if row.objective.pk == copy.copied_from_id:
                row.carried_into.append(copy)
    posted = _review_post(request, cycle, rows) if request.method == "POST" else ReviewPost()
    if posted.response is not None:
        return posted.response

    by_team: dict[int, list[float]] = defaultdict(list)
    for _pk, team_id, _kind, score, grade, _reflection in summary:
        by_team[team_id].append(_graded(closed, score, grade))
    teams = sorted(
        (
            TeamRow(
                team=teams_by_id[team_id], score=sum(grades) / len(grades), objectives=len(grades)
            )
            for team_id, grades in by_team.items()
        ),
        key=lambda t: (KIND_ORDER.get(t.team.kind, 3), t.team.name),
    )
    # Hundreds of team rows read like noise: above TEAM_ROWS the table keeps the company and
    # departments (or the chosen team and those below it); every team stays in the filter.
    team_rows = teams
    if len(teams) > TEAM_ROWS:
        team_rows = [
            t for t in teams if (t.team.pk in subtree if scope.team else t.team.kind != "team")
        ][:TEAM_ROWS]
    bins, bands = histogram([g for grades in by_team.values() for g in grades])
    return render(
        request,
        "web/review.html",
        {
            "cycle": cycle,
            "rows": rows,
            "teams": teams,
            "team_rows": team_rows,
            "bins": bins,
            "bands": bands,
            # How this cycle's confidences landed (its own once closed, else all closed ones).
            "calibration": insight_db.calibration(cycle=cycle if cycle.is_closed else None),
            "graded": len(summary),
            "errors": posted.errors,
            # "Close cycle" first asks: what closing freezes, and how early it is.
            "closing": posted.closing,
            "can_manage": can_manage,
            "any_editable": any(r.editable for r in rows),
            "missing": len(missing_ids),
            "scope": scope,
            "page": page,
            "pages": pages,
            "listed": total,
            "previous_query": scope.query(page=page - 1) if page > 1 else None,
            "next_query": scope.query(page=page + 1) if page < pages else None,
            "missing_query": ReviewScope(team=scope.team, missing=True).query(),
            "all_query": ReviewScope(team=scope.team).query(),
            "carried": carried.count(),
        },
    )


@dataclass
class ReviewPost:
    """What a POST to the review did: a redirect, or the page again with its errors and,
    for "Close", the preview of what closing would freeze."""

    response: HttpResponse | None = None
    errors: list[str] = field(default_factory=list)
    closing: ClosePreview | None = None


def _review_post(request: HttpRequest, cycle: Cycle, rows: list[ReviewRow]) -> ReviewPost:
    """Save reflections, close or reopen; without a redirect the page shows the typed text.

    "Close" asks first (the preview); "close-confirmed" closes.
    """
    me = person(request)
    action = request.POST.get("action", "save")
    typed: dict[str, str] = {}
    for row in rows:
        name = f"reflection-{row.objective.key}"
        if name in request.POST:
            row.reflection = request.POST[name].strip()
            typed[row.objective.key] = row.reflection
    review_url = reverse("cycle_review", kwargs={"key": cycle.key})
    if request.GET:
        review_url += f"?{request.GET.urlencode()}"
    if action == "reopen":
        try:
            reopen_cycle(cycle=cycle, by=me)
        except ValidationError as exc:
            return ReviewPost(errors=exc.messages)
        messages.success(request, _("%(cycle)s is open again.") % {"cycle": cycle})
        return ReviewPost(response=HttpResponseRedirect(review_url))
    if action == "close":
        try:
            preview = preview_close(
                cycle=cycle, by=me, reflections=typed, today=timezone.localdate()
            )
        except ValidationError as exc:
            return ReviewPost(errors=exc.messages)
        return ReviewPost(closing=preview)
    if action in {"close", "close-confirmed"}:
        try:
            close_cycle(cycle=cycle, by=me, reflections=typed)
        except ValidationError as exc:
            return ReviewPost(errors=exc.messages)
        messages.success(
            request, _("%(cycle)s is closed; its scores are now grades.") % {"cycle": cycle}
        )
        return ReviewPost(response=HttpResponseRedirect(review_url))
    try:
        changed = write_reflections(by=me, cycle=cycle, reflections=typed)
    except ValidationError as exc:
        return ReviewPost(errors=exc.messages)
    messages.success(
        request,
        ngettext("Saved %(changed)s reflection.", "Saved %(changed)s reflections.", changed)
        % {"changed": changed},
    )
    return ReviewPost(response=HttpResponseRedirect(review_url))


def _require_manager(request: HttpRequest) -> None:
    refuse(why_not_manage_cycles(access(request)))


@require_http_methods(["GET", "POST"])
def cycle_create(request: HttpRequest) -> HttpResponse:
    _require_manager(request)
    form = CycleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            cycle = create_cycle(by=person(request), **form.cleaned_data)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("Cycle %(cycle)s created.") % {"cycle": cycle})
            return redirect("cycle", key=cycle.key)
    return render(request, "web/form.html", {"form": form, "title": _("New cycle")})


@require_http_methods(["GET", "POST"])
def cycle_edit(request: HttpRequest, key: str) -> HttpResponse:
    cycle = get_object_or_404(Cycle, key=key)
    _require_manager(request)
    form = CycleForm(request.POST or None, instance=cycle)
    if request.method == "POST" and form.is_valid():
        try:
            update_cycle(by=person(request), cycle=cycle, **form_changes(form))
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("Cycle %(cycle)s saved.") % {"cycle": cycle})
            return redirect("cycle", key=cycle.key)
    return render(
        request,
        "web/form.html",
        {
            "form": form,
            "title": _("Edit %(cycle)s") % {"cycle": cycle},
            "back": reverse("cycle", args=[cycle.key]),
        },
    )
