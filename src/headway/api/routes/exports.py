"""Exports: the tree, the review (and its PDF pack), a team, the KPI board, a KPI's series.

The same files as the pages' download links (`reports.responses`), within what the caller
may see. Each answers an attachment with its content type and a dated file name.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from ninja import Query, Router, Schema
from pydantic import Field

from headway.api import lookups
from headway.api.auth import access_of
from headway.api.routes.common import READ, responses
from headway.kpis.models import Health, Tier
from headway.okrs.models import Cycle
from headway.reports import tables
from headway.reports.responses import pack_response, table_response
from headway.reports.writers import CONTENT_TYPES
from headway.teams.models import Team

router = Router(tags=["exports"])
Response = HttpResponse | StreamingHttpResponse


class TableFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"


class PackFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"
    pdf = "pdf"


class TreeExportParams(Schema):
    format: TableFormat = Field(TableFormat.csv, description="csv or xlsx.")
    team: str | None = Field(None, description="Only this team and those below it.")


class ReviewExportParams(Schema):
    format: PackFormat = Field(
        PackFormat.csv, description="csv, xlsx (review and key results) or pdf (review pack)."
    )
    team: str | None = Field(None, description="Only this team and those below it.")


class TeamExportParams(Schema):
    format: PackFormat = Field(
        PackFormat.csv, description="csv (OKRs), xlsx (OKRs and KPIs) or pdf (review pack)."
    )
    cycle: str | None = Field(None, description="Cycle key; default the active cycle.")


class KpiBoardExportParams(Schema):
    format: TableFormat = Field(TableFormat.csv, description="csv or xlsx.")
    team: str | None = Field(None, description="Only KPIs of this team and those below it.")
    tier: Tier | None = Field(None, description="key or diagnostic.")
    health: Health | None = Field(None, description="Only KPIs of this health.")


class SeriesExportParams(Schema):
    format: TableFormat = Field(TableFormat.csv, description="csv or xlsx.")


def _file(*formats: str) -> dict[str, Any]:
    """The 200 answer of an export in the OpenAPI document: a file of one of ``formats``."""
    content = {
        CONTENT_TYPES[f].split(";")[0]: {"schema": {"type": "string", "format": "binary"}}
        for f in formats
    }
    return {
        "responses": {
            200: {
                "description": "The file, as an attachment (Content-Disposition) with a dated "
                "name such as `tree-2027-Q1-2027-02-15.csv`. CSV is UTF-8 with a header row.",
                "content": content,
            }
        }
    }


def _team(key: str | None) -> Team | None:
    return lookups.team(key) if key else None


@router.get(
    "/cycles/{key}/export",
    response=responses({}, *READ),
    openapi_extra=_file("csv", "xlsx"),
    summary="Export a cycle's tree",
)
def export_tree(request: HttpRequest, key: str, params: Query[TreeExportParams]) -> Response:
    """Objectives and key results of the cycle with scores, status and owners, one row per
    key result (columns that `headway import` reads back). Private objectives only for
    those who may see them."""
    cycle = lookups.cycle(key)
    table = tables.tree_table(cycle, access_of(request), _team(params.team))
    return table_response([table], params.format.value)


@router.get(
    "/cycles/{key}/review/export",
    response=responses({}, *READ),
    openapi_extra=_file("csv", "xlsx", "pdf"),
    summary="Export a cycle's review",
)
def export_review(request: HttpRequest, key: str, params: Query[ReviewExportParams]) -> Response:
    """Grades, bands and reflections per objective; `pdf` is the review pack (grades,
    distribution, reflections, charts of key results and KPIs, coach findings)."""
    cycle = lookups.cycle(key)
    team = _team(params.team)
    access = access_of(request)
    if params.format is PackFormat.pdf:
        return pack_response(cycle, access, team)
    found = [tables.review_table(cycle, access, team)]
    if params.format is PackFormat.xlsx:
        found.append(tables.tree_table(cycle, access, team))
    return table_response(found, params.format.value)


@router.get(
    "/teams/{key}/export",
    response=responses({}, *READ),
    openapi_extra=_file("csv", "xlsx", "pdf"),
    summary="Export a team",
)
def export_team(request: HttpRequest, key: str, params: Query[TeamExportParams]) -> Response:
    """A team and those below it in a cycle: its OKRs (`xlsx` adds its KPIs as a second
    sheet; `pdf` is the team's review pack)."""
    team = lookups.team(key)
    cycle = lookups.cycle(params.cycle) if params.cycle else _active_cycle()
    access = access_of(request)
    if params.format is PackFormat.pdf:
        return pack_response(cycle, access, team)
    found = tables.team_tables(team, cycle, access)
    chosen = found if params.format is PackFormat.xlsx else found[:1]
    return table_response(chosen, params.format.value)


def _active_cycle() -> Cycle:
    from headway.api.errors import NotFound

    cycle = Cycle.objects.current() or Cycle.objects.order_by("-start").first()
    if cycle is None:
        raise NotFound("There is no cycle yet.")
    return cycle


@router.get(
    "/kpis/export",
    response=responses({}, 400, 401, 404),
    openapi_extra=_file("csv", "xlsx"),
    summary="Export the KPI board",
)
def export_kpis(request: HttpRequest, params: Query[KpiBoardExportParams]) -> Response:
    """Every KPI card with its latest value, health, trend and distance to target."""
    table = tables.kpi_board_table(
        _team(params.team),
        tier=params.tier.value if params.tier else "",
        health=params.health.value if params.health else "",
    )
    return table_response([table], params.format.value)


@router.get(
    "/kpis/{key}/measurements/export",
    response=responses({}, *READ),
    openapi_extra=_file("csv", "xlsx"),
    summary="Export a KPI's series",
)
def export_series(request: HttpRequest, key: str, params: Query[SeriesExportParams]) -> Response:
    """Every measurement of the KPI, oldest first (reads back with `headway import`)."""
    kpi = lookups.kpi(key)
    return table_response([tables.kpi_series_table(kpi)], params.format.value)
