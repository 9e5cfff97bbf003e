"""Trackers (admins): the GitHub, GitLab and Jira sites initiatives may follow (docs/api.md).

Routes only parse, call `headway.initiatives.actions` and render. A tracker's token is
write-only: answers say whether one is set, never it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from django.db.models import Count
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status
from pydantic import ConfigDict

from headway.api.auth import access_of, caller
from headway.api.routes.common import READ, WRITE, responses
from headway.initiatives import actions
from headway.initiatives.models import Tracker
from headway.teams.access import refuse

router = Router()
TAGS = ["trackers"]
KindName = Literal["github", "gitlab", "jira"]


class TrackerOut(Schema):
    name: str
    kind: KindName
    url: str = Field(description="The site its issue links are under.")
    api_url: str = Field(description="GitHub: the REST API's address when not the usual one.")
    email: str = Field(description="Jira Cloud: the account e-mail of the token (basic auth).")
    has_token: bool = Field(description="Whether a token is stored (never returned).")
    token_set_at: datetime | None
    initiatives: int = Field(description="How many initiatives follow one of its issues.")


class TrackerIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]
    kind: KindName
    url: Annotated[str, Field(min_length=1, max_length=500)]
    api_url: Annotated[str, Field(max_length=500)] = ""
    email: Annotated[str, Field(max_length=254)] = ""
    token: Annotated[str, Field(max_length=2000)] = Field(
        "", description="Stored encrypted, never returned."
    )


class TestOut(Schema):
    ok: bool
    account: str = Field(description="Who the token signs in as, when it works.")
    error: str = Field(description="Why it does not work, when it does not.")


def body(tracker: Tracker, following: int | None = None) -> dict[str, Any]:
    return {
        "name": tracker.name,
        "kind": tracker.kind,
        "url": tracker.url,
        "api_url": tracker.api_url,
        "email": tracker.email,
        "has_token": tracker.has_secret,
        "token_set_at": tracker.secret_set_at,
        "initiatives": following if following is not None else tracker.issues.count(),
    }


def _admin(request: HttpRequest) -> None:
    refuse(actions.why_not_manage_trackers(access_of(request)))


@router.get("/trackers", response=responses({200: list[TrackerOut]}, 401, 403), tags=TAGS,
            summary="List trackers")  # fmt: skip
def list_trackers(request: HttpRequest) -> list[dict[str, Any]]:
    """Admins. Never the tokens: `has_token` only."""
    _admin(request)
    rows = Tracker.objects.annotate(following=Count("issues")).order_by("name")
    return [body(t, t.following) for t in rows]


@router.post("/trackers", response=responses({201: TrackerOut}, *WRITE), tags=TAGS,
             summary="Create a tracker")  # fmt: skip
def create_tracker(request: HttpRequest, payload: TrackerIn) -> Status[dict[str, Any]]:
    """Admins. The token is encrypted at rest and never shown again."""
    tracker = actions.create_tracker(by=caller(request), **payload.model_dump())
    return Status(201, body(tracker, 0))


@router.post("/trackers/{name}/test", response=responses({200: TestOut}, *READ, 403),
             tags=TAGS, summary="Test a tracker's token")  # fmt: skip
def check_tracker(request: HttpRequest, name: str) -> dict[str, Any]:
    """Admins. Asks the tracker who the token is (GitHub `/user`, GitLab `/api/v4/user`,
    Jira `/rest/api/3/myself`); writes nothing."""
    _admin(request)
    from django.core.exceptions import ValidationError

    tracker = get_object_or_404(Tracker, name=name)
    try:
        account = actions.try_tracker(by=caller(request), tracker=tracker)
    except ValidationError as error:
        return {"ok": False, "account": "", "error": " ".join(error.messages)}
    return {"ok": True, "account": account, "error": ""}


@router.delete("/trackers/{name}", response=responses({204: None}, *WRITE), tags=TAGS,
               summary="Delete a tracker")  # fmt: skip
def delete_tracker(request: HttpRequest, name: str) -> Status[None]:
    """Admins; the initiatives that followed it keep their status and stop following."""
    _admin(request)
    actions.delete_tracker(by=caller(request), tracker=get_object_or_404(Tracker, name=name))
    return Status(204, None)
