"""Pages of data sources: a KPI's source (set, try, run), its incidents, and connections."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from headway.kpis.models import Kpi
from headway.sources import actions
from headway.sources import schedule as timing
from headway.sources.actions import Preview
from headway.sources.forms import ConnectionForm, SourceForm
from headway.sources.kinds import KINDS
from headway.sources.models import Connection, DataIncident, IncidentStatus, Source, SourceFetch
from headway.speech import spoken
from headway.teams.access import Access, refuse
from headway.versions import StaleVersion
from headway.web.common import access, add_errors, person

RECENT = 5


@dataclass
class Panel:
    """What the KPI page shows about its source (three queries at most)."""

    source: Source | None
    can_set: bool
    recent: list[SourceFetch] = field(default_factory=list)
    incidents: list[DataIncident] = field(default_factory=list)

    @property
    def schedule_text(self) -> str:
        if self.source is None:
            return ""
        return timing.describe(self.source.schedule, self.source.kpi.cadence)

    @property
    def error(self) -> str:
        """The failing source's error as worded, for `spoken` (Source.error_said)."""
        if self.source is None or not self.source.failing:
            return ""
        return self.source.error_said

    @property
    def what(self) -> str:
        """The query, URL or expression, as one line."""
        if self.source is None:
            return ""
        config = self.source.config
        text = str(config.get("query") or config.get("url") or "")
        if self.source.kind == "http_json":
            text += f"  → {config.get('expression', '')}"
        return " ".join(text.split())


def kpi_panel(kpi: Kpi, acc: Access) -> Panel:
    source = Source.objects.select_related("connection").filter(kpi=kpi).first()
    panel = Panel(source=source, can_set=acc.can_set_source(kpi))
    if source is not None:
        source.kpi = kpi
        panel.recent = list(source.fetches.all()[:RECENT])
        panel.incidents = list(
            DataIncident.objects.filter(source=source, status=IncidentStatus.OPEN)
        )
    return panel


@require_http_methods(["GET", "POST"])
def source_edit(request: HttpRequest, key: str) -> HttpResponse:
    """Set a KPI's source; "Try it" shows the rows it would store and writes nothing."""
    kpi = get_object_or_404(Kpi.objects.select_related("team", "owner"), key=key)
    acc = access(request)
    refuse(actions.why_not_set_source(acc, kpi))
    source = Source.objects.select_related("connection").filter(kpi=kpi).first()
    action = request.POST.get("action", "save") if request.method == "POST" else None
    if action == "remove":
        actions.remove_source(by=person(request), kpi=kpi)
        messages.success(
            request,
            _("%(name)s no longer has a data source; its values stay.") % {"name": kpi.name},
        )
        return redirect("kpi", key=kpi.key)
    if action == "run":
        try:
            result = actions.run_source(by=person(request), kpi=kpi)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            _tell(request, result)
        return redirect(reverse("kpi", args=[kpi.key]) + "#source")
    form = SourceForm(request.POST if request.method == "POST" else None, source=source)
    preview: Preview | None = None
    if request.method == "POST" and form.is_valid():
        try:
            if action == "preview":
                preview = actions.preview_source(by=person(request), kpi=kpi, spec=form.spec())
            else:
                actions.set_source(
                    by=person(request),
                    kpi=kpi,
                    spec=form.spec(),
                    version=_int(request.POST.get("version")),
                )
                messages.success(
                    request, _("Source saved: %(name)s fetches it shortly.") % {"name": kpi.name}
                )
                return redirect(reverse("kpi", args=[kpi.key]) + "#source")
        except ValidationError as exc:
            form.add_action_errors(exc)
        except StaleVersion:
            form.add_error(None, _("Someone changed this source meanwhile: reload and try again."))
    return render(
        request,
        "sources/source_form.html",
        {
            "kpi": kpi,
            "form": form,
            "source": source,
            "preview": preview,
            "kinds": KINDS,
            "schedule_text": timing.describe("", kpi.cadence),
        },
    )


def _int(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() and len(raw) < 10 else None


def _tell(request: HttpRequest, result: actions.FetchResult) -> None:
    if result.outcome == "stored":
        messages.success(
            request,
            _(
                "Fetched %(rows)s row(s): %(created)s new, %(replaced)s replaced, "
                "%(unchanged)s unchanged."
            )
            % {
                "rows": result.rows,
                "created": result.created,
                "replaced": result.replaced,
                "unchanged": result.unchanged,
            },
        )
    elif result.outcome == "held":
        messages.warning(request, _("Held back as a data incident: ") + "; ".join(result.reasons))
    else:
        messages.error(request, _("The source failed: %(error)s") % {"error": spoken(result.error)})


@require_POST
def incident_decide(request: HttpRequest, key: str, pk: int) -> HttpResponse:
    kpi = get_object_or_404(Kpi, key=key)
    incident = get_object_or_404(DataIncident, pk=pk, kpi=kpi)
    try:
        if request.POST.get("decision") == "accept":
            result = actions.accept_incident(by=person(request), incident=incident)
            messages.success(
                request, _("Stored the held rows (%(created)s new).") % {"created": result.created}
            )
        else:
            actions.dismiss_incident(by=person(request), incident=incident)
            messages.success(request, _("Dismissed: the held rows were dropped."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(reverse("kpi", args=[kpi.key]) + "#source")


def _admin(request: HttpRequest) -> None:
    refuse(actions.why_not_manage_connections(access(request)))


@require_http_methods(["GET", "POST"])
def connections(request: HttpRequest) -> HttpResponse:
    """Admins: the connections, and a form to add one."""
    _admin(request)
    form = ConnectionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            made = actions.create_connection(
                by=person(request), name=form.cleaned_data["name"], **form.secret(), **form.values()
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("Connection %(name)s saved.") % {"name": made.name})
            return redirect("connections")
    rows = Connection.objects.annotate(used=Count("sources")).order_by("name")
    return render(request, "sources/connections.html", {"rows": rows, "form": form})


@require_http_methods(["GET", "POST"])
def connection_edit(request: HttpRequest, name: str) -> HttpResponse:
    _admin(request)
    connection = get_object_or_404(Connection, name=name)
    if request.method == "POST" and request.POST.get("action") == "delete":
        try:
            actions.delete_connection(by=person(request), connection=connection)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("connection", name=name)
        messages.success(request, _("Connection %(name)s removed.") % {"name": name})
        return redirect("connections")
    form = ConnectionForm(request.POST or None, connection=connection)
    if request.method == "POST" and form.is_valid():
        try:
            actions.update_connection(
                by=person(request), connection=connection, **form.secret(), **form.values()
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("Connection %(name)s saved.") % {"name": name})
            return redirect("connections")
    used = list(connection.sources.select_related("kpi").order_by("kpi__name")[:50])
    return render(
        request,
        "sources/connection_form.html",
        {"connection": connection, "form": form, "used": used},
    )
