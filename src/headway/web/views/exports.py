"""Download links of the pages: the tree, the review, a team, the KPI board, a KPI's series.

Each view parses the address, picks what the page shows (its filters and the viewer's
access: private objectives only for those who may see them) and answers with the shared
export response (`reports.responses`), exactly as the API does.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from headway.kpis.models import Health, Kpi, Tier
from headway.okrs.models import Cycle
from headway.reports import tables
from headway.reports.responses import ExportFormat, pack_response, table_response
from headway.teams.models import Team
from headway.web.common import access

Response = HttpResponse | StreamingHttpResponse


def _format(fmt: str, allowed: tuple[ExportFormat, ...]) -> ExportFormat:
    for choice in allowed:
        if fmt == choice:
            return choice
    raise Http404(f"No {fmt} export here: {', '.join(allowed)}.")


def _team_param(request: HttpRequest) -> Team | None:
    key = request.GET.get("team", "").strip()
    return get_object_or_404(Team, key=key) if key else None


@require_GET
def cycle_export(request: HttpRequest, key: str, fmt: str) -> Response:
    """The tree's objectives and key results (the page's team filter applies)."""
    chosen = _format(fmt, ("csv", "xlsx"))
    cycle = get_object_or_404(Cycle, key=key)
    return table_response([tables.tree_table(cycle, access(request), _team_param(request))], chosen)


@require_GET
def review_export(request: HttpRequest, key: str, fmt: str) -> Response:
    """The review: grades and reflections (XLSX adds the key results); PDF: the review pack."""
    chosen = _format(fmt, ("csv", "xlsx", "pdf"))
    cycle = get_object_or_404(Cycle, key=key)
    team = _team_param(request)
    if chosen == "pdf":
        return pack_response(cycle, access(request), team)
    found = [tables.review_table(cycle, access(request), team)]
    if chosen == "xlsx":
        found.append(tables.tree_table(cycle, access(request), team))
    return table_response(found, chosen)


def _cycle_param(request: HttpRequest) -> Cycle:
    key = request.GET.get("cycle", "").strip()
    if key:
        return get_object_or_404(Cycle, key=key)
    cycle = Cycle.objects.current() or Cycle.objects.order_by("-start").first()
    if cycle is None:
        raise Http404("There is no cycle yet.")
    return cycle


@require_GET
def team_export(request: HttpRequest, key: str, fmt: str) -> Response:
    """A team and those below it: its OKRs (XLSX: and its KPIs); PDF: the team's pack."""
    chosen = _format(fmt, ("csv", "xlsx", "pdf"))
    team = get_object_or_404(Team, key=key)
    cycle = _cycle_param(request)
    if chosen == "pdf":
        return pack_response(cycle, access(request), team)
    found = tables.team_tables(team, cycle, access(request))
    return table_response(found if chosen == "xlsx" else found[:1], chosen)


@require_GET
def kpi_board_export(request: HttpRequest, fmt: str, key: str | None = None) -> Response:
    """The KPI board (of a team), with the page's tier and health filters."""
    chosen = _format(fmt, ("csv", "xlsx"))
    team = get_object_or_404(Team, key=key) if key is not None else None
    tier = request.GET.get("tier", "")
    health = request.GET.get("health", "")
    table = tables.kpi_board_table(
        team,
        tier=tier if tier in Tier.values else "",
        health=health if health in Health.values else "",
    )
    return table_response([table], chosen)


@require_GET
def kpi_series_export(request: HttpRequest, key: str, fmt: str) -> Response:
    """Every measurement of one KPI."""
    chosen = _format(fmt, ("csv", "xlsx"))
    kpi = get_object_or_404(Kpi, key=key)
    return table_response([tables.kpi_series_table(kpi)], chosen)
