"""The KPI board, the KPI page (card, chart, history, push, promote) and the KPI forms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case, Count, Q, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_GET, require_http_methods

from headway.coach.db import findings_for_kpi
from headway.discussion.reading import summary as discussion_summary
from headway.discussion.targets import Target
from headway.kpis.actions import (
    IngestError,
    MeasurementRow,
    PromotionPreview,
    create_kpi,
    ingest_measurements,
    preview_promotion,
    promote_kpi,
    return_to_monitoring,
    update_kpi,
    why_not_add_kpi,
    why_not_edit_kpi,
    why_not_move_kpi,
    why_not_promote,
    why_not_push,
    why_not_return_to_monitoring,
)
from headway.kpis.models import Direction, Health, Kpi, Measurement, Tier
from headway.kpis.queries import achieved_while_healthy
from headway.kpis.queries import evaluation as kpi_evaluation
from headway.okrs.models import CycleState, KeyResult, Objective
from headway.sources.views import kpi_panel
from headway.teams.access import Access, refuse
from headway.teams.models import Team, team_refs
from headway.versions import StaleVersion
from headway.web.charts import Sparkline, kpi_chart, recent_periods, sparkline
from headway.web.common import (
    HEALTH_LABELS,
    access,
    add_errors,
    is_htmx,
    paginate,
    person,
    require_visible,
)
from headway.web.forms import KpiForm, MeasurementForm, PromoteForm, carry_version
from headway.web.history import show_stale
from headway.web.views.cycles import team_subtree

ARROWS: dict[tuple[str, str], str] = {
    ("improving", Direction.UP): "↗",
    ("improving", Direction.DOWN): "↘",
    ("deteriorating", Direction.UP): "↘",
    ("deteriorating", Direction.DOWN): "↗",
}

#: Key-result kinds scored on a value: the only ones a KPI can feed to "achieved".
VALUE_KINDS = frozenset({"increase", "decrease", "above", "below"})


@dataclass
class Tile:
    kpi: Kpi
    spark: Sparkline | None

    @property
    def arrow(self) -> str:
        return ARROWS.get((self.kpi.trend, self.kpi.direction), "→")


#: "Promote…" previews the score change; "Yes, promote" promotes (issue 19).
PROMOTE_ACTIONS = frozenset({"promote", "promote-confirmed"})


@require_GET
def kpi_board(request: HttpRequest, key: str | None = None) -> HttpResponse:
    """Health tiles with sparklines, filterable by health and tier, paginated."""
    team = get_object_or_404(Team, key=key) if key is not None else None
    teams = team_refs()
    # The source's state (issue 15) rides along: a failing source shows on its tile.
    kpis = Kpi.objects.select_related("team", "owner", "source").order_by("team__name", "name")
    if team is not None:
        kpis = kpis.filter(team_id__in=team_subtree(teams, team.key) or set())
    # Retired KPIs (a selection review's decision) leave the board; ?retired=1 lists them.
    retired = request.GET.get("retired") == "1"
    retired_count = kpis.filter(retired_at__isnull=False).count()
    kpis = kpis.filter(retired_at__isnull=not retired)
    tier = request.GET.get("tier", "")
    if tier in Tier.values:
        kpis = kpis.filter(tier=tier)
    else:
        tier = ""
    counts = {
        row["health"]: row["n"] for row in kpis.order_by().values("health").annotate(n=Count("id"))
    }
    health = request.GET.get("health", "")
    if health in Health.values:
        kpis = kpis.filter(health=health)
    else:
        health = ""
    page = paginate(request, kpis)
    now = timezone.now()
    shown: list[Kpi] = list(page.object_list)
    periods = recent_periods(shown, now)
    tiles = [
        Tile(kpi=kpi, spark=sparkline([p.value for p in periods.get(kpi.pk, ())], kpi.target_now))
        for kpi in shown
    ]
    base_url = reverse("team_kpis", args=[team.key]) if team else reverse("kpis")
    query = urlencode(
        {
            k: v
            for k, v in {"health": health, "tier": tier, "retired": "1" if retired else ""}.items()
            if v
        }
    )
    context: dict[str, Any] = {
        "team": team,
        "tiles": tiles,
        "page": page,
        "health": health,
        "tier": tier,
        "healths": [(value, HEALTH_LABELS[value], counts.get(value, 0)) for value in Health.values],
        "tiers": Tier.choices,
        "total": sum(counts.values()),
        "retired": retired,
        "retired_count": retired_count,
        "base_url": base_url,
        "query": f"{query}&" if query else "",
        "can_create": bool(teams) and why_not_add_kpi(access(request), teams) is None,
    }
    template = "web/kpi_board.html#board" if is_htmx(request) else "web/kpi_board.html"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


@dataclass
class Targets:
    """Where this person may promote the KPI: a few objectives shown, and whether any exist.

    A lead steers a handful of teams, an admin of a large organisation thousands of
    objectives: the form lists at most PROMOTE_CHOICES, those of the KPI's own team and the
    team above it first, and `find` narrows the list by objective title or team name.
    """

    shown: list[Objective]
    any: bool
    more: bool
    find: str


#: Most objectives the promote form lists; the rest are reached with its search.
PROMOTE_CHOICES = 100
FIND_MAX_LENGTH = 100


def _promotion_targets(acc: Access, kpi: Kpi, find: str, chosen: str | None) -> Targets:
    """Objectives of active cycles this person may steer and see, nearest the KPI first.

    One query whatever the organisation's size: the access rules are filtered in SQL (then
    checked once more row by row with the rules the actions apply), and the ranking puts the
    objective just chosen in a POST first, so the form always accepts it.
    """
    find = find.replace("\x00", "").strip()[:FIND_MAX_LENGTH]
    objectives = Objective.objects.filter(cycle__state=CycleState.ACTIVE).filter(
        acc.objective_condition()
    )
    if not acc.is_superuser:
        objectives = objectives.filter(
            team_id__in=[t for t in acc.roles if why_not_promote(acc, [t]) is None]
        )
    matches = (
        Q(title__icontains=find) | Q(team__name__icontains=find) if find else Q(pk__isnull=False)
    )
    # A posted choice that is no id at all matches no row; the form then says it is invalid.
    chosen_pk = int(chosen) if chosen and chosen.isascii() and chosen.isdigit() else 0
    chosen_pk = chosen_pk if chosen_pk < 2**63 else 0
    ranked = objectives.annotate(
        rank=Case(
            When(pk=chosen_pk, then=Value(0)),
            When(matches & Q(team_id=kpi.team_id), then=Value(1)),
            When(matches & Q(team_id=kpi.team.parent_id), then=Value(2)),
            When(matches, then=Value(3)),
            default=Value(4),
        )
    )
    fetched = [
        o
        for o in ranked.select_related("team", "cycle").order_by(
            "rank", "cycle__start", "team__name", "title"
        )[: PROMOTE_CHOICES + 1]
        if why_not_promote(acc, [o.team_id]) is None and acc.can_see_objective(o)
    ]
    wanted: list[Objective] = [o for o in fetched if o.rank < 4]
    return Targets(
        shown=wanted[:PROMOTE_CHOICES],
        any=bool(fetched),
        more=len(wanted) > PROMOTE_CHOICES,
        find=find,
    )


def _measure_errors(form: MeasurementForm, exc: IngestError) -> None:
    for _line, message in exc.rows:
        for part in message.split("; "):
            if part.startswith("at: "):
                form.add_error("at", part.removeprefix("at: "))
            elif part.startswith("value: "):
                form.add_error("value", part.removeprefix("value: "))
            elif "in the future" in part:
                form.add_error("at", _("This day is in the future."))
            else:
                form.add_error(None, part)


@require_http_methods(["GET", "POST"])
def kpi_detail(request: HttpRequest, key: str) -> HttpResponse:
    """The five-question card, the series chart, measurement history, push and promote."""
    kpi = get_object_or_404(Kpi.objects.select_related("team", "owner", "replaced_by"), key=key)
    acc = access(request)
    me = person(request)
    can_push = why_not_push(acc, kpi) is None
    action = request.POST.get("action") if request.method == "POST" else None
    targets = _promotion_targets(
        acc,
        kpi,
        request.GET.get("find", ""),
        request.POST.get("objective") if action in PROMOTE_ACTIONS else None,
    )
    measure_form = MeasurementForm(request.POST if action == "measure" else None)
    promotion: PromotionPreview | None = None
    promote_form = PromoteForm(
        request.POST if action in PROMOTE_ACTIONS else None,
        objectives=targets.shown,
        initial={"target": kpi.target_now},
    )
    if action == "measure":
        refuse(why_not_push(acc, kpi))
        if measure_form.is_valid():
            data = measure_form.cleaned_data
            try:
                ingest_measurements(
                    rows=[
                        MeasurementRow(
                            kpi=kpi.key, at=data["at"], value=data["value"], note=data["note"]
                        )
                    ],
                    by=me,
                    source="web",
                )
            except IngestError as exc:
                _measure_errors(measure_form, exc)
            else:
                kpi.refresh_from_db()
                messages.success(
                    request,
                    _("Measurement saved. %(name)s is %(health_)s.")
                    % {"name": kpi.name, "health_": HEALTH_LABELS[kpi.health]},
                )
                return redirect("kpi", key=kpi.key)
    elif action == "monitor":
        key_result = get_object_or_404(
            KeyResult.objects.select_related("objective__cycle", "objective__team"),
            pk=_int(request.POST.get("key_result")),
            kpi=kpi,
        )
        require_visible(request, key_result.objective)
        try:
            return_to_monitoring(
                by=me, key_result=key_result, version=_int(request.POST.get("version"))
            )
        except StaleVersion:
            messages.error(request, _("Someone changed this key result meanwhile: look again."))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                _("%(name)s is back to monitoring; “%(title)s” keeps its history.")
                % {"name": kpi.name, "title": key_result.title},
            )
        return redirect("kpi", key=kpi.key)
    elif action in PROMOTE_ACTIONS:
        if not targets.any:
            refuse(why_not_promote(acc, []))
        if promote_form.is_valid():
            data = promote_form.cleaned_data
            chosen = {
                "kpi": kpi,
                "objective": data["objective"],
                "by": me,
                "target": data.get("target"),
                "title": data.get("title") or None,
            }
            try:
                # "Promote…" shows the objective's score before and after; "Yes" promotes.
                if action == "promote":
                    promotion = preview_promotion(**chosen)
                else:
                    key_result = promote_kpi(**chosen)
            except PermissionDenied as exc:
                promote_form.add_error("objective", str(exc))
            except ValidationError as exc:
                add_errors(promote_form, exc)
            else:
                if action == "promote-confirmed":
                    messages.success(
                        request, _("“%(title)s” is now a key result.") % {"title": key_result.title}
                    )
                    return redirect("objective", key=data["objective"].key)

    now = timezone.now()
    evaluation = kpi_evaluation(kpi, now)
    history = paginate(
        request,
        Measurement.objects.filter(kpi=kpi).order_by("-at").prefetch_related("revisions"),
        per_page=20,
    )
    visible = acc.can_see_objective
    fed = list(kpi.key_results.select_related("objective__cycle", "objective__team", "owner"))
    linked = [kr for kr in fed if visible(kr.objective)]
    guarded = [
        kr
        for kr in kpi.guarded_key_results.select_related("objective__cycle", "objective__team")
        if visible(kr.objective)
    ]
    monitoring = [kr for kr in achieved_while_healthy(fed, now=now) if visible(kr.objective)]
    for kr in monitoring:
        kr.can_monitor = why_not_return_to_monitoring(acc, kr) is None  # type: ignore[attr-defined]
    deserves = Kpi.objects.deserving_promotion().filter(pk=kpi.pk).exists()
    chart = kpi_chart(kpi, evaluation)
    return render(
        request,
        "web/kpi.html",
        {
            "kpi": kpi,
            "evaluation": evaluation,
            "arrow": ARROWS.get((evaluation.trend, kpi.direction), "→"),
            "chart": chart,
            "periods": list(reversed(evaluation.periods[-12:])),
            "anomaly_moments": {a.at for a in evaluation.anomalies},
            "history": history,
            "linked": linked,
            "guarded": guarded,
            "monitoring": monitoring,
            "deserves": deserves,
            "can_push": can_push,
            "can_edit": why_not_edit_kpi(acc, kpi) is None,
            "review_due": not kpi.is_retired and kpi.selection_review_due <= now,
            "can_promote": targets.any,
            "targets": targets,
            "measure_form": measure_form,
            "promote_form": promote_form,
            "promotion": promotion,
            "findings": findings_for_kpi(kpi, now),
            # Data sources (issue 15): where the values come from, its state and incidents.
            "source_panel": kpi_panel(kpi, acc),
            # Discussion (issue 18): the latest comments and the form.
            "discussion": discussion_summary(Target("kpi", kpi=kpi)),
        },
    )


def _card(form: KpiForm) -> dict[str, Any]:
    """The KPI card as the form has it, for create_kpi and update_kpi."""
    return {name: form.cleaned_data[name] for name in form.fields if name != "version"}


@require_http_methods(["GET", "POST"])
def kpi_create(request: HttpRequest) -> HttpResponse:
    acc = access(request)
    me = person(request)
    teams = [t for t in Team.objects.order_by("name") if why_not_add_kpi(acc, [t]) is None]
    refuse(why_not_add_kpi(acc, teams) if teams else why_not_add_kpi(acc, Team.objects.all()))
    initial: dict[str, Any] = {"owner": me.pk, "cadence": "monthly"}
    team = next((t for t in teams if t.key == request.GET.get("team")), None)
    if team is not None or len(teams) == 1:
        initial["team"] = (team or teams[0]).pk
    form = KpiForm(request.POST or None, teams=teams, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            kpi = create_kpi(by=me, **_card(form))
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(
                request, _("KPI %(name)s created. Push its first measurement.") % {"name": kpi.name}
            )
            return redirect("kpi", key=kpi.key)
    return render(
        request,
        "web/form.html",
        {
            "form": form,
            "title": _("New KPI"),
            "intro": _("A KPI card answers five questions: what, why, how, who and when."),
            "submit": _("Create KPI"),
        },
    )


@require_http_methods(["GET", "POST"])
def kpi_edit(request: HttpRequest, key: str) -> HttpResponse:
    kpi = get_object_or_404(Kpi.objects.select_related("team"), key=key)
    acc = access(request)
    me = person(request)
    refuse(why_not_edit_kpi(acc, kpi))
    teams = [t for t in Team.objects.order_by("name") if why_not_move_kpi(acc, t) is None]
    if kpi.team not in teams:
        teams.append(kpi.team)
    form = KpiForm(request.POST or None, instance=kpi, teams=teams)
    carry_version(form, kpi.version)
    if request.method == "POST" and form.is_valid():
        try:
            update_kpi(by=me, kpi=kpi, version=form.cleaned_data.get("version"), **_card(form))
        except StaleVersion as exc:
            show_stale(form, kpi, exc, gettext_noop("KPI"))
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("KPI saved."))
            return redirect("kpi", key=kpi.key)
    return render(
        request,
        "web/kpi_form.html",
        {
            "form": form,
            "title": _("Edit %(name)s") % {"name": kpi.name},
            "back": reverse("kpi", args=[kpi.key]),
            "kpi": kpi,
            "source_panel": kpi_panel(kpi, acc),
        },
    )


def _int(raw: str | None) -> int | None:
    """A number posted by a hidden field, or None when missing or not a number."""
    try:
        return int(raw) if raw else None
    except ValueError:
        return None
