"""KPIs and their measurements, with bulk ingestion as a JSON array or a CSV body."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status
from ninja.params.functions import Header as HeaderParam

from headway.api import lookups, pushjobs
from headway.api import serialize as ser
from headway.api.auth import access_of, caller
from headway.api.errors import BadRequest
from headway.api.models import PushJob
from headway.api.routes.common import (
    IF_MATCH_HELP,
    LIST,
    READ,
    VERSIONED,
    WRITE,
    moment,
    page,
    responses,
    with_etag,
)
from headway.api.routes.objectives import key_result_body
from headway.api.schemas import (
    IngestOut,
    KeyResultDetail,
    KpiFilters,
    KpiIn,
    KpiOut,
    KpiPatch,
    KpiReviewIn,
    KpiReviewOut,
    MeasurementOut,
    MeasurementPageParams,
    Page,
    PageParams,
    PromoteIn,
    PushJobOut,
)
from headway.kpis import actions
from headway.kpis.actions import IngestResult
from headway.kpis.models import Kpi, Measurement
from headway.teams.access import refuse
from headway.teams.models import Team

router = Router()
TAGS = ["KPIs"]

KPI_FIELDS = (
    "name", "unit", "definition", "why", "how", "direction", "target", "warning",
    "critical", "benchmark", "cadence", "tier",
)  # fmt: skip
# A PATCH clears these with an explicit null; the other fields ignore one.
CLEARABLE = frozenset({"target", "warning", "critical", "benchmark", "owner"})
MEASURE = ["measurements"]


def _kpis() -> Any:
    return Kpi.objects.select_related("team", "owner", "replaced_by")


@router.get("/kpis", response=responses({200: Page[KpiOut]}, *LIST), tags=TAGS, summary="List KPIs")
def list_kpis(
    request: HttpRequest, filters: Query[KpiFilters], params: Query[PageParams]
) -> dict[str, Any]:
    """The KPIs in use (or, with `retired=true`, the retired ones), by team and name;
    filter by team, health and tier."""
    kpis = _kpis()
    if filters.team is not None:
        team = Team.objects.filter(key=filters.team).first()
        if team is None:
            raise BadRequest(
                "Some filters are invalid.", fields={"team": [f"No team {filters.team!r}."]}
            )
        kpis = kpis.filter(team=team)
    if filters.health is not None:
        kpis = kpis.filter(health=filters.health)
    if filters.tier is not None:
        kpis = kpis.filter(tier=filters.tier)
    kpis = kpis.filter(retired_at__isnull=not filters.retired)
    count, items = lookups.paginate(
        kpis.order_by("team__name", "name", "key"), params.limit, params.offset
    )
    return page(count, params.limit, params.offset, [ser.kpi(k) for k in items])


@router.get("/kpis/{key}", response=responses({200: KpiOut}, *READ), tags=TAGS, summary="Get a KPI")
def get_kpi(request: HttpRequest, key: str, response: HttpResponse) -> dict[str, Any]:
    """The KPI card with its health and trend as last evaluated. ETag carries the version."""
    kpi = lookups.kpi(key)
    with_etag(response, kpi.version)
    return ser.kpi(kpi)


@router.post("/kpis", response=responses({201: KpiOut}, *WRITE), tags=TAGS, summary="Create a KPI")
def create_kpi(
    request: HttpRequest, payload: KpiIn, response: HttpResponse
) -> Status[dict[str, Any]]:
    """Members of the team (and leads, admins)."""
    data = payload.model_dump()
    fields = {field: data[field] for field in KPI_FIELDS if data.get(field) is not None}
    kpi = actions.create_kpi(
        by=caller(request),
        team=lookups.team_ref(payload.team),
        key=payload.key,
        owner=lookups.person_ref(payload.owner),
        **fields,
    )
    kpi = lookups.kpi(kpi.key)
    with_etag(response, kpi.version)
    return Status(201, ser.kpi(kpi))


@router.patch(
    "/kpis/{key}", response=responses({200: KpiOut}, *VERSIONED), tags=TAGS,
    summary="Update a KPI",
)  # fmt: skip
def update_kpi(
    request: HttpRequest,
    key: str,
    payload: KpiPatch,
    response: HttpResponse,
    if_match: str | None = HeaderParam(None, alias="If-Match", description=IF_MATCH_HELP),
) -> dict[str, Any]:
    """Leads of the team and the owner. Changing direction, thresholds or cadence
    re-evaluates health at once; the version goes up."""
    data = payload.model_dump(exclude_unset=True)
    changes = {
        field: data[field]
        for field in KPI_FIELDS
        if field in data and (data[field] is not None or field in CLEARABLE)
    }
    if "owner" in data:
        changes["owner"] = lookups.person_ref(data["owner"])
    actions.update_kpi(by=caller(request), kpi=lookups.kpi(key), version=if_match, **changes)
    kpi = lookups.kpi(key)
    with_etag(response, kpi.version)
    return ser.kpi(kpi)


@router.post(
    "/kpis/{key}/promote", response=responses({201: KeyResultDetail}, *WRITE), tags=TAGS,
    summary="Promote a KPI to a key result",
)  # fmt: skip
def promote_kpi(
    request: HttpRequest, key: str, payload: PromoteIn, response: HttpResponse
) -> Status[dict[str, Any]]:
    """Leads and admins of the objective's team: make the KPI a linked key result of an
    objective of the active cycle, from its latest value to its target (or `target`)."""
    kr = actions.promote_kpi(
        by=caller(request),
        kpi=lookups.kpi(key),
        objective=lookups.objective_ref(payload.objective, "objective"),
        target=payload.target,
        title=payload.title,
    )
    body, version = key_result_body(request, payload.objective, kr.key)
    with_etag(response, version)
    return Status(201, body)


@router.get(
    "/kpis/{key}/reviews", response=responses({200: Page[KpiReviewOut]}, *READ), tags=TAGS,
    summary="List a KPI's selection reviews",
)  # fmt: skip
def list_kpi_reviews(request: HttpRequest, key: str, params: Query[PageParams]) -> dict[str, Any]:
    """Is this still the right KPI? Every review of it, newest first, with its reason."""
    kpi = lookups.kpi(key)
    reviews = kpi.reviews.select_related("kpi", "by", "replacement").order_by("-at", "-id")
    count, items = lookups.paginate(reviews, params.limit, params.offset)
    return page(count, params.limit, params.offset, [ser.kpi_review(r) for r in items])


@router.post(
    "/kpis/{key}/reviews", response=responses({201: KpiReviewOut}, *VERSIONED), tags=TAGS,
    summary="Review a KPI: confirm, retarget, retire or replace it",
)  # fmt: skip
def review_kpi(
    request: HttpRequest,
    key: str,
    payload: KpiReviewIn,
    response: HttpResponse,
    if_match: str | None = HeaderParam(None, alias="If-Match", description=IF_MATCH_HELP),
) -> Status[dict[str, Any]]:
    """The KPI's owner and the team's leads. A retarget gives the new target and
    thresholds (those left out stay; an explicit null clears one); a replacement names the
    KPI that takes over. The reason is required. The KPI's version goes up (its new ETag)."""
    data = payload.model_dump(exclude_unset=True)
    changes = {name: data[name] for name in actions.RETARGET_FIELDS if name in data}
    replacement = lookups.kpi_ref(payload.replacement, "replacement")
    result = actions.review_kpi(
        by=caller(request),
        kpi=lookups.kpi(key),
        version=if_match,
        decision=payload.decision,
        reason=payload.reason,
        replacement=replacement,
        **changes,
    )
    with_etag(response, result.kpi.version)
    review = result.review
    review.kpi = result.kpi
    return Status(201, ser.kpi_review(review))


class MeasurementFilters(Schema):
    since: datetime | None = Field(None, description="Only measurements at or after this.")
    until: datetime | None = Field(None, description="Only measurements at or before this.")


@router.get(
    "/kpis/{key}/measurements", response=responses({200: Page[MeasurementOut]}, *READ),
    tags=MEASURE, summary="List a KPI's measurements",
)  # fmt: skip
def list_measurements(
    request: HttpRequest,
    key: str,
    filters: Query[MeasurementFilters],
    params: Query[MeasurementPageParams],
) -> dict[str, Any]:
    """Oldest first."""
    kpi = lookups.kpi(key)
    measurements = Measurement.objects.filter(kpi=kpi)
    if filters.since is not None:
        measurements = measurements.filter(at__gte=moment(filters.since))
    if filters.until is not None:
        measurements = measurements.filter(at__lte=moment(filters.until))
    count, items = lookups.paginate(measurements.order_by("at"), params.limit, params.offset)
    return page(count, params.limit, params.offset, [ser.measurement(m) for m in items])


def _body(example_rows: str, *, with_kpi: bool) -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": "object",
        "properties": {
            "at": {"type": "string", "description": "ISO 8601 date or date-time (UTC if naive)"},
            "value": {"type": "number"},
            "note": {"type": "string"},
        },
        "required": ["at", "value"],
        "additionalProperties": False,
    }
    if with_kpi:
        item["properties"]["kpi"] = {"type": "string", "description": "KPI key"}
        item["required"] = ["kpi", "at", "value"]
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "array", "items": item}},
                "text/csv": {"schema": {"type": "string"}, "example": example_rows},
            },
        }
    }


INGEST_ERRORS = (400, 401, 403, 404, 413, 415, 422)
INGEST_HELP = """Above HEADWAY_API_ASYNC_PUSH_ROWS rows the push is a job: 202 with a
`Location` to poll (`GET /pushes/{key}`). All rows or none:
every bad row is reported with its line (CSV: the header
is line 1; JSON: the first item is row 1). Pushing the same (KPI, moment) again replaces
the value (the old one is kept); pushing the same value again changes nothing."""


def _source(request: HttpRequest) -> str:
    token = getattr(request, "api_token", None)
    return f"api:{token.name}"[:100] if token is not None else "api"


def _answer(result: IngestResult | PushJob, response: HttpResponse) -> Any:
    """A stored push answers 200 with what changed; a push job 202 with where to poll."""
    if isinstance(result, PushJob):
        response["Location"] = pushjobs.describe(result)["location"]
        return Status(202, pushjobs.describe(result))
    return result.as_dict()


@router.post(
    "/kpis/{key}/measurements",
    response=responses({200: IngestOut, 202: PushJobOut}, *INGEST_ERRORS),
    tags=MEASURE, summary="Push measurements of one KPI",
    description="Body: a JSON array `[{\"at\", \"value\", \"note\"}]` or CSV "
    "(`Content-Type: text/csv`) with header `at,value[,note]` (a `kpi` column is allowed "
    "and must name this KPI). " + INGEST_HELP,
    openapi_extra=_body(
        "at,value,note\n2027-01-07,88.1,\n2027-01-14,89.0,new routing\n", with_kpi=False
    ),
)  # fmt: skip
def push_kpi_measurements(request: HttpRequest, key: str, response: HttpResponse) -> Any:
    kpi = lookups.kpi(key)
    refuse(actions.why_not_push(access_of(request), kpi))
    result = pushjobs.push(request, by=caller(request), only=kpi.key, source=_source(request))
    return _answer(result, response)


@router.post(
    "/measurements", response=responses({200: IngestOut, 202: PushJobOut}, *INGEST_ERRORS),
    tags=MEASURE, summary="Push measurements of many KPIs",
    description="Body: a JSON array `[{\"kpi\", \"at\", \"value\", \"note\"}]` or CSV "
    "(`Content-Type: text/csv`) with header `kpi,at,value[,note]`. " + INGEST_HELP,
    openapi_extra=_body(
        "kpi,at,value,note\non-time-rate,2027-01-07,88.1,\nnps,2027-01-07T12:00:00Z,41,\n",
        with_kpi=True,
    ),
)  # fmt: skip
def push_measurements(request: HttpRequest, response: HttpResponse) -> Any:
    result = pushjobs.push(request, by=caller(request), only=None, source=_source(request))
    return _answer(result, response)


@router.get(
    "/pushes/{key}", response=responses({200: PushJobOut}, *READ), tags=MEASURE,
    summary="Follow a large push",
    description="The state of a push accepted with 202 (the `Location` of that answer); "
    "once `state` is `done`, `status` and `result` are what a synchronous push of the same "
    "body would have answered. Only the person who pushed sees it.",
)  # fmt: skip
def get_push(request: HttpRequest, key: str) -> dict[str, Any]:
    return pushjobs.describe(lookups.push_job(key, caller(request)))
