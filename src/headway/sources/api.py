"""The data-source API: connections (admins) and a KPI's source (get, set, preview, run).

Routes only parse, call `headway.sources.actions` and render. A connection's secret is
write-only: answers say whether one is set (and the names of secret headers), never it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status
from ninja.params.functions import Header as HeaderParam
from pydantic import ConfigDict

from headway.api import lookups
from headway.api.auth import access_of, caller
from headway.api.routes.common import IF_MATCH_HELP, READ, VERSIONED, WRITE, responses, with_etag
from headway.sources import actions
from headway.sources import schedule as timing
from headway.sources.actions import SourceSpec
from headway.sources.models import Connection, DataIncident, Engine, Source
from headway.teams.access import refuse

router = Router()
TAGS = ["data sources"]
KindName = Literal["sql", "http_json", "csv_url", "prometheus"]
EngineName = Literal["postgresql", "mysql", "sqlite", "http"]


class In(Schema):
    model_config = ConfigDict(extra="forbid")


class ConnectionOut(Schema):
    name: str
    engine: EngineName
    description: str
    host: str
    port: int | None
    database: str
    user: str
    base_url: str
    has_secret: bool = Field(description="Whether a password or secret headers are stored.")
    secret_headers: list[str] = Field(description="Names (never values) of secret headers.")
    secret_set_at: datetime | None
    sources: int = Field(description="How many KPIs' sources use it.")


class ConnectionIn(In):
    name: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]
    engine: EngineName
    description: Annotated[str, Field(max_length=300)] = ""
    host: Annotated[str, Field(max_length=255)] = ""
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    database: Annotated[str, Field(max_length=500)] = ""
    user: Annotated[str, Field(max_length=150)] = ""
    base_url: Annotated[str, Field(max_length=500)] = ""
    password: Annotated[str, Field(max_length=1000)] | None = Field(
        None, description="Database engines: stored encrypted, never returned."
    )
    headers: dict[str, Annotated[str, Field(max_length=2000)]] | None = Field(
        None, description="HTTP: secret headers (e.g. Authorization), stored encrypted."
    )


class ConnectionPatch(In):
    engine: EngineName | None = None
    description: Annotated[str, Field(max_length=300)] | None = None
    host: Annotated[str, Field(max_length=255)] | None = None
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    database: Annotated[str, Field(max_length=500)] | None = None
    user: Annotated[str, Field(max_length=150)] | None = None
    base_url: Annotated[str, Field(max_length=500)] | None = None
    password: Annotated[str, Field(max_length=1000)] | None = Field(
        None, description="A new password replaces the stored one; absent keeps it."
    )
    headers: dict[str, Annotated[str, Field(max_length=2000)]] | None = Field(
        None, description="New secret headers replace the stored ones; absent keeps them."
    )


class SourceIn(In):
    kind: KindName
    connection: Annotated[str, Field(max_length=100)] = Field(
        "", description="Name of a connection (required for sql and prometheus)."
    )
    config: dict[str, Any] = Field(
        description="The kind's fields: sql {query, timeout}; http_json {url, expression, "
        "headers, timeout}; csv_url {url, value_column, at_column, timeout}; prometheus "
        "{query, mode, lookback, step, timeout}."
    )
    schedule: Annotated[str, Field(max_length=100)] = Field(
        "", description="Cron expression; empty: the KPI's cadence."
    )
    enabled: bool = True


class FetchOut(Schema):
    slot: datetime
    started_at: datetime
    outcome: Literal["stored", "failed", "held"]
    rows: int
    created: int
    replaced: int
    error: str
    manual: bool


class IncidentOut(Schema):
    id: int
    status: Literal["open", "accepted", "dismissed"]
    reasons: list[str]
    rows: list[tuple[str, float]]
    opened_at: datetime
    last_seen_at: datetime
    seen: int


class SourceOut(Schema):
    kpi: str
    kind: KindName
    connection: str | None
    config: dict[str, Any]
    schedule: str
    schedule_text: str
    enabled: bool
    state: Literal["new", "ok", "failing", "held"]
    last_error: str
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    failing_since: datetime | None
    attempts: int
    next_attempt_at: datetime | None
    version: int
    recent: list[FetchOut]
    incidents: list[IncidentOut] = Field(description="Open data incidents.")


class PreviewRowOut(Schema):
    at: datetime
    value: float
    effect: str = Field(description="new, unchanged, or `replaces <old value>`.")


class PreviewOut(Schema):
    ok: bool
    error: str
    held: bool = Field(description="Whether the data guard would hold this fetch back.")
    reasons: list[str]
    created: int
    replaced: int
    unchanged: int
    rows: list[PreviewRowOut]


class RunOut(Schema):
    outcome: Literal["stored", "failed", "held", "lost"]
    rows: int
    created: int
    replaced: int
    unchanged: int
    error: str
    reasons: list[str]


def _connection_body(c: Connection) -> dict[str, Any]:
    return {
        "name": c.name,
        "engine": c.engine,
        "description": c.description,
        "host": c.host,
        "port": c.port,
        "database": c.database,
        "user": c.user,
        "base_url": c.base_url,
        "has_secret": c.has_secret,
        "secret_headers": c.secret_header_names if c.engine == Engine.HTTP else [],
        "secret_set_at": c.secret_set_at,
        "sources": c.source_count if hasattr(c, "source_count") else c.sources.count(),
    }


def _admin(request: HttpRequest) -> None:
    refuse(actions.why_not_manage_connections(access_of(request)))


@router.get("/connections", response=responses({200: list[ConnectionOut]}, 401, 403), tags=TAGS,
            summary="List connections")  # fmt: skip
def list_connections(request: HttpRequest) -> list[dict[str, Any]]:
    """Admins. Never the secrets: `has_secret` and the names of secret headers only."""
    _admin(request)
    from django.db.models import Count

    rows = Connection.objects.annotate(source_count=Count("sources")).order_by("name")
    return [_connection_body(c) for c in rows]


@router.post("/connections", response=responses({201: ConnectionOut}, *WRITE), tags=TAGS,
             summary="Create a connection")  # fmt: skip
def create_connection(request: HttpRequest, payload: ConnectionIn) -> Status[dict[str, Any]]:
    """Admins. The password or secret headers are encrypted at rest and never shown again."""
    data = payload.model_dump()
    connection = actions.create_connection(
        by=caller(request),
        name=data.pop("name"),
        password=data.pop("password"),
        headers=data.pop("headers"),
        **data,
    )
    return Status(201, _connection_body(connection))


def _connection(name: str) -> Connection:
    return get_object_or_404(Connection, name=name)


@router.get("/connections/{name}", response=responses({200: ConnectionOut}, *READ, 403),
            tags=TAGS, summary="Get a connection")  # fmt: skip
def get_connection(request: HttpRequest, name: str) -> dict[str, Any]:
    _admin(request)
    return _connection_body(_connection(name))


@router.patch("/connections/{name}", response=responses({200: ConnectionOut}, *WRITE),
              tags=TAGS, summary="Update a connection")  # fmt: skip
def update_connection(request: HttpRequest, name: str, payload: ConnectionPatch) -> dict[str, Any]:
    """Admins. A `password` or `headers` given replaces the stored secret."""
    _admin(request)
    data = payload.model_dump(exclude_unset=True)
    connection = actions.update_connection(
        by=caller(request),
        connection=_connection(name),
        password=data.pop("password", None),
        headers=data.pop("headers", None),
        **{k: v for k, v in data.items() if v is not None or k == "port"},
    )
    return _connection_body(connection)


@router.delete("/connections/{name}", response=responses({204: None}, *WRITE), tags=TAGS,
               summary="Delete a connection")  # fmt: skip
def delete_connection(request: HttpRequest, name: str) -> Status[None]:
    """Admins; refused while a source uses it."""
    _admin(request)
    actions.delete_connection(by=caller(request), connection=_connection(name))
    return Status(204, None)


def source_body(source: Source) -> dict[str, Any]:
    kpi = source.kpi
    return {
        "kpi": kpi.key,
        "kind": source.kind,
        "connection": source.connection.name if source.connection else None,
        "config": source.config,
        "schedule": source.schedule,
        "schedule_text": timing.describe(source.schedule, kpi.cadence),
        "enabled": source.enabled,
        "state": source.state,
        "last_error": source.last_error,
        "last_attempt_at": source.last_attempt_at,
        "last_success_at": source.last_success_at,
        "failing_since": source.failing_since,
        "attempts": source.attempts,
        "next_attempt_at": source.next_attempt_at,
        "version": source.version,
        "recent": [
            {
                "slot": f.slot,
                "started_at": f.started_at,
                "outcome": f.outcome,
                "rows": f.rows,
                "created": f.created,
                "replaced": f.replaced,
                "error": f.error,
                "manual": f.manual,
            }
            for f in source.fetches.all()[:10]
        ],
        "incidents": [
            {
                "id": i.pk,
                "status": i.status,
                "reasons": i.reasons,
                "rows": [(str(at), float(v)) for at, v in i.rows[:100]],
                "opened_at": i.opened_at,
                "last_seen_at": i.last_seen_at,
                "seen": i.seen,
            }
            for i in DataIncident.objects.filter(source=source, status="open")
        ],
    }


def _source(key: str) -> Source:
    kpi = lookups.kpi(key)
    source = Source.objects.select_related("kpi", "connection").filter(kpi=kpi).first()
    if source is None:
        from headway.api.errors import ApiError

        raise ApiError(f"KPI {key!r} has no data source.", status=404)
    return source


@router.get("/kpis/{key}/source", response=responses({200: SourceOut}, *READ), tags=TAGS,
            summary="Get a KPI's data source")  # fmt: skip
def get_source(request: HttpRequest, key: str, response: HttpResponse) -> dict[str, Any]:
    """Its configuration (never a secret), state, last error, recent fetches, incidents."""
    source = _source(key)
    with_etag(response, source.version)
    return source_body(source)


def _spec(payload: SourceIn) -> SourceSpec:
    return SourceSpec(kind=payload.kind, config=dict(payload.config),
                      connection=payload.connection, schedule=payload.schedule,
                      enabled=payload.enabled)  # fmt: skip


@router.put("/kpis/{key}/source", response=responses({200: SourceOut}, *VERSIONED), tags=TAGS,
            summary="Set a KPI's data source")  # fmt: skip
def set_source(
    request: HttpRequest,
    key: str,
    payload: SourceIn,
    response: HttpResponse,
    if_match: str | None = HeaderParam(None, alias="If-Match", description=IF_MATCH_HELP),
) -> dict[str, Any]:
    """The KPI's owner and the leads of its team. A new or changed source is due at once."""
    kpi = lookups.kpi(key)
    source = actions.set_source(by=caller(request), kpi=kpi, spec=_spec(payload), version=if_match)
    source = _source(key)
    with_etag(response, source.version)
    return source_body(source)


@router.delete("/kpis/{key}/source", response=responses({204: None}, *WRITE), tags=TAGS,
               summary="Remove a KPI's data source")  # fmt: skip
def remove_source(request: HttpRequest, key: str) -> Status[None]:
    """Its measurements stay."""
    kpi = lookups.kpi(key)
    if not actions.remove_source(by=caller(request), kpi=kpi):
        from headway.api.errors import ApiError

        raise ApiError(f"KPI {key!r} has no data source.", status=404)
    return Status(204, None)


@router.post("/kpis/{key}/source/preview", response=responses({200: PreviewOut}, *WRITE),
             tags=TAGS, summary="Try a data source")  # fmt: skip
def preview_source(request: HttpRequest, key: str, payload: SourceIn) -> dict[str, Any]:
    """Run the given source once and answer the rows it would store; writes nothing. A
    failing fetch is a 200 with `ok: false` and the error (the source's answer, not yours)."""
    preview = actions.preview_source(by=caller(request), kpi=lookups.kpi(key), spec=_spec(payload))
    return preview.as_dict()


@router.post("/kpis/{key}/source/run", response=responses({200: RunOut}, *WRITE), tags=TAGS,
             summary="Run a data source now")  # fmt: skip
def run_source(request: HttpRequest, key: str) -> dict[str, Any]:
    """Fetch now, outside the schedule, and store the rows (the owner and the leads)."""
    result = actions.run_source(by=caller(request), kpi=lookups.kpi(key))
    return result.as_dict()


@router.post("/kpis/{key}/incidents/{incident_id}/{decision}",
             response=responses({200: SourceOut}, *WRITE), tags=TAGS,
             summary="Accept or dismiss a data incident")  # fmt: skip
def decide_incident(
    request: HttpRequest, key: str, incident_id: int, decision: Literal["accept", "dismiss"]
) -> dict[str, Any]:
    """accept: store the held rows; dismiss: drop them. The owner and the leads."""
    kpi = lookups.kpi(key)
    incident = get_object_or_404(DataIncident, pk=incident_id, kpi=kpi)
    if decision == "accept":
        actions.accept_incident(by=caller(request), incident=incident)
    else:
        actions.dismiss_incident(by=caller(request), incident=incident)
    return source_body(_source(key))
