"""Initiatives: the work planned to move a key result, never part of its score (docs/api.md)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema, Status
from ninja.params.functions import Header as HeaderParam
from pydantic import Field

from headway.api import lookups
from headway.api.auth import access_of, caller
from headway.api.errors import NotFound
from headway.api.routes.common import (
    IF_MATCH_HELP,
    LIST,
    READ,
    VERSIONED,
    WRITE,
    page,
    responses,
    with_etag,
)
from headway.api.schemas import Page, PageParams
from headway.initiatives import actions
from headway.initiatives.models import Initiative, TrackedIssue
from headway.initiatives.progress import progress
from headway.initiatives.reading import open_for
from headway.initiatives.trackers import Issue

router = Router()
TAGS = ["initiatives"]
StatusName = Literal["planned", "in_progress", "done", "dropped"]


class SyncOut(Schema):
    tracker: str = Field(description="Name of the tracker it follows.")
    kind: Literal["github", "gitlab", "jira"] = Field(description="The tracker's kind.")
    issue: str = Field(description="The issue, as people write it (acme/app#12, ABC-7).")
    remote_state: str = Field(description="The tracker's own words for the issue's state.")
    last_synced_at: datetime | None = Field(description="The last successful sync.")
    last_error: str = Field(description="Why the last sync failed; empty after a success.")
    failures: int = Field(description="Consecutive failed syncs (0 after a success).")
    next_attempt_at: datetime


class InitiativeOut(Schema):
    id: int
    objective: str = Field(description="Key of the objective.")
    key_result: str = Field(description="Key of the key result, within its objective.")
    title: str
    owner: str | None = Field(description="E-mail of the owner.")
    status: StatusName
    due: date | None
    link: str = Field(description="The tracker issue it follows, or empty.")
    position: int
    version: int
    sync: SyncOut | None = Field(
        description="When it follows its tracker issue: the sync state; null otherwise."
    )


class WorkOut(Schema):
    done: int = Field(description="Initiatives done.")
    total: int = Field(description="Initiatives not dropped.")
    summary: str = Field(description='E.g. "3 of 5 initiatives done". Never part of the score.')


class InitiativesPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[InitiativeOut]
    work: WorkOut


class InitiativeIn(Schema):
    title: str = Field(..., min_length=1, max_length=300)
    owner: str | None = Field(None, description="E-mail of the owner.")
    status: StatusName = "planned"
    due: date | None = None
    link: str = Field("", max_length=500, description="URL of a tracker issue.")
    position: int | None = Field(None, ge=0, le=32767)


class InitiativePatch(Schema):
    title: str | None = Field(None, min_length=1, max_length=300)
    owner: str | None = Field(None, description="E-mail of the owner; null for nobody.")
    status: StatusName | None = None
    due: date | None = None
    link: str | None = Field(None, max_length=500)
    position: int | None = Field(None, ge=0, le=32767)


def out(initiative: Initiative, objective_key: str, kr_key: str) -> dict[str, Any]:
    return {
        "id": initiative.pk,
        "objective": objective_key,
        "key_result": kr_key,
        "title": initiative.title,
        "owner": initiative.owner.email if initiative.owner else None,
        "status": initiative.status,
        "due": initiative.due,
        "link": initiative.link,
        "position": initiative.position,
        "version": initiative.version,
        "sync": sync_of(initiative),
    }


def sync_of(initiative: Initiative) -> dict[str, Any] | None:
    try:
        tracked = initiative.tracked
    except TrackedIssue.DoesNotExist:
        return None
    tracker = tracked.tracker
    return {
        "tracker": tracker.name,
        "kind": tracker.kind,
        "issue": Issue(tracker.kind, tuple(str(p) for p in tracked.issue)).label,
        "remote_state": tracked.remote_state,
        "last_synced_at": tracked.last_synced_at,
        "last_error": tracked.last_error,
        "failures": tracked.failures,
        "next_attempt_at": tracked.next_attempt_at,
    }


def _one(request: HttpRequest, pk: int) -> Initiative:
    found = (
        Initiative.objects.select_related(
            "owner",
            "key_result__objective__team",
            "key_result__objective__cycle",
            "tracked__tracker",
        )
        .filter(pk=pk)
        .first()
    )
    if found is None or not access_of(request).can_see_objective(found.key_result.objective):
        raise NotFound(f"No initiative {pk}.")
    return found


def _of(initiative: Initiative) -> dict[str, Any]:
    kr = initiative.key_result
    return out(initiative, kr.objective.key, kr.key)


@router.get(
    "/objectives/{key}/key-results/{kr_key}/initiatives",
    response=responses({200: InitiativesPage}, *READ), tags=TAGS,
    summary="List a key result's initiatives",
)  # fmt: skip
def list_initiatives(
    request: HttpRequest, key: str, kr_key: str, params: Query[PageParams]
) -> dict[str, Any]:
    """In their order, with the work progress (done of not dropped), shown beside the score."""
    kr = lookups.key_result(key, kr_key, access_of(request))
    all_items = Initiative.objects.filter(key_result=kr).select_related("owner", "tracked__tracker")
    count, items = lookups.paginate(all_items, params.limit, params.offset)
    work = progress(all_items.values_list("status", flat=True))
    body = page(count, params.limit, params.offset, [out(i, key, kr_key) for i in items])
    body["work"] = {"done": work.done, "total": work.total, "summary": str(work)}
    return body


@router.post(
    "/objectives/{key}/key-results/{kr_key}/initiatives",
    response=responses({201: InitiativeOut}, *WRITE), tags=TAGS, summary="Plan an initiative",
)  # fmt: skip
def create_initiative(
    request: HttpRequest, key: str, kr_key: str, payload: InitiativeIn, response: HttpResponse
) -> Status[dict[str, Any]]:
    """Members of the team and the key result's owners (those who may check in on it)."""
    kr = lookups.key_result(key, kr_key, access_of(request))
    initiative = actions.create_initiative(
        by=caller(request),
        key_result=kr,
        title=payload.title,
        owner=lookups.person_ref(payload.owner),
        status=payload.status,
        due=payload.due,
        link=payload.link,
        position=payload.position,
    )
    with_etag(response, initiative.version)
    return Status(201, out(initiative, key, kr_key))


@router.get(
    "/initiatives/{initiative_id}", response=responses({200: InitiativeOut}, *READ), tags=TAGS,
    summary="Get an initiative",
)  # fmt: skip
def get_initiative(
    request: HttpRequest, initiative_id: int, response: HttpResponse
) -> dict[str, Any]:
    initiative = _one(request, initiative_id)
    with_etag(response, initiative.version)
    return _of(initiative)


@router.patch(
    "/initiatives/{initiative_id}", response=responses({200: InitiativeOut}, *VERSIONED),
    tags=TAGS, summary="Update an initiative",
)  # fmt: skip
def update_initiative(
    request: HttpRequest,
    initiative_id: int,
    payload: InitiativePatch,
    response: HttpResponse,
    if_match: str | None = HeaderParam(None, alias="If-Match", description=IF_MATCH_HELP),
) -> dict[str, Any]:
    """Whoever may plan the key result's work, and the initiative's owner (to move its status)."""
    data = payload.model_dump(exclude_unset=True)
    changes: dict[str, Any] = {
        f: data[f]
        for f in ("title", "status", "due", "link", "position")
        if f in data and (data[f] is not None or f == "due")
    }
    if "owner" in data:
        changes["owner"] = lookups.person_ref(data["owner"])
    initiative = actions.update_initiative(
        by=caller(request), initiative=_one(request, initiative_id), version=if_match, **changes
    )
    with_etag(response, initiative.version)
    return _of(initiative)


@router.delete(
    "/initiatives/{initiative_id}", response=responses({204: None}, *VERSIONED), tags=TAGS,
    summary="Delete an initiative",
)  # fmt: skip
def delete_initiative(
    request: HttpRequest,
    initiative_id: int,
    if_match: str | None = HeaderParam(None, alias="If-Match", description=IF_MATCH_HELP),
) -> Status[None]:
    actions.delete_initiative(
        by=caller(request), initiative=_one(request, initiative_id), version=if_match
    )
    return Status(204, None)


@router.get(
    "/initiatives", response=responses({200: Page[InitiativeOut]}, *LIST), tags=TAGS,
    summary="List my open initiatives",
)  # fmt: skip
def my_initiatives(request: HttpRequest, params: Query[PageParams]) -> dict[str, Any]:
    """The caller's planned and running initiatives, soonest due first (as on the home page)."""
    count, items = lookups.paginate(
        open_for(caller(request), access_of(request)).select_related("owner", "tracked__tracker"),
        params.limit,
        params.offset,
    )
    return page(count, params.limit, params.offset, [_of(i) for i in items])


@router.post(
    "/initiatives/{initiative_id}/tracker", response=responses({200: InitiativeOut}, *WRITE),
    tags=TAGS, summary="Follow the initiative's tracker issue",
)  # fmt: skip
def follow_tracker(request: HttpRequest, initiative_id: int) -> dict[str, Any]:
    """As for editing it: its status then comes from the issue its `link` names (GitHub,
    GitLab or Jira, on a tracker an admin set up), every HEADWAY_TRACKER_SYNC_MINUTES."""
    initiative = _one(request, initiative_id)
    actions.follow_tracker(by=caller(request), initiative=initiative)
    return _of(_one(request, initiative_id))


@router.delete(
    "/initiatives/{initiative_id}/tracker", response=responses({204: None}, *WRITE), tags=TAGS,
    summary="Stop following the tracker issue",
)  # fmt: skip
def unfollow_tracker(request: HttpRequest, initiative_id: int) -> Status[None]:
    """As for editing it; the status stays as the last sync left it."""
    actions.unfollow_tracker(by=caller(request), initiative=_one(request, initiative_id))
    return Status(204, None)
