"""Discussion: comments on objectives, key results, KPIs and check-ins (docs/api.md)."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema, Status
from ninja.params.functions import Header as HeaderParam
from pydantic import Field

from headway.api import lookups
from headway.api.auth import access_of, caller
from headway.api.errors import NotFound
from headway.api.routes.common import IF_MATCH_HELP, LIST, READ, WRITE, page, responses, with_etag
from headway.api.schemas import Page, PageParams
from headway.discussion import actions
from headway.discussion.models import Comment
from headway.discussion.reading import thread, with_history
from headway.discussion.targets import Target, of_comment, resolve
from headway.versions import check_version

router = Router()

ON_HELP = (
    "What is discussed: `objectives/<key>`, `objectives/<key>/key_results/<kr>`, "
    "`kpis/<key>` or `checkins/<id>`."
)


class CommentVersionOut(Schema):
    body: str
    at: datetime
    by: str


class CommentOut(Schema):
    id: int
    on: str = Field(description=ON_HELP)
    author: str | None = Field(description="E-mail of the author (null once they are deleted).")
    body: str
    mentions: list[str] = Field(description="E-mail addresses of the people mentioned.")
    created_at: datetime
    edited_at: datetime | None
    version: int
    earlier: list[CommentVersionOut] = Field(description="Earlier texts, oldest first.")
    url: str


class CommentsParams(PageParams):
    on: str = Field(..., min_length=1, max_length=400, description=ON_HELP)


class CommentIn(Schema):
    on: str = Field(..., min_length=1, max_length=400, description=ON_HELP)
    body: str = Field(..., max_length=10_000)


class CommentPatch(Schema):
    body: str = Field(..., max_length=10_000)


def _target(request: HttpRequest, on: str) -> Target:
    try:
        target = resolve(on)
    except LookupError:
        raise NotFound(f"Nothing to discuss at {on[:100]!r}.") from None
    if not target.visible_to(access_of(request)):
        raise NotFound(f"Nothing to discuss at {on[:100]!r}.")
    return target


def _comment(request: HttpRequest, pk: int) -> tuple[Comment, Target]:
    comment = (
        Comment.objects.select_related(
            "author",
            "objective__team",
            "key_result__objective__team",
            "kpi__team",
            "checkin__key_result__objective__team",
        )
        .filter(pk=pk)
        .first()
    )
    if comment is None:
        raise NotFound(f"No comment {pk}.")
    target = of_comment(comment)
    if not target.visible_to(access_of(request)):
        raise NotFound(f"No comment {pk}.")
    return comment, target


def _out(request: HttpRequest, comments: list[Comment], target: Target) -> list[dict[str, object]]:
    mentions: dict[int, list[str]] = {}
    through = Comment.mentions.through
    for comment_id, email in through.objects.filter(
        comment_id__in=[c.pk for c in comments]
    ).values_list("comment_id", "person__email"):
        mentions.setdefault(comment_id, []).append(email)
    return [
        {
            "id": s.comment.pk,
            "on": target.path,
            "author": s.comment.author.email if s.comment.author else None,
            "body": s.comment.body,
            "mentions": sorted(mentions.get(s.comment.pk, [])),
            "created_at": s.comment.created_at,
            "edited_at": s.comment.edited_at,
            "version": s.comment.version,
            "earlier": [{"body": v.body, "at": v.at, "by": v.by} for v in s.earlier],
            "url": request.build_absolute_uri(f"{target.thread_url}#comment-{s.comment.pk}"),
        }
        for s in with_history(comments)
    ]


@router.get(
    "/comments", response=responses({200: Page[CommentOut]}, *LIST, 404), tags=["discussion"],
    summary="List the comments on a thing",
)  # fmt: skip
def list_comments(request: HttpRequest, params: Query[CommentsParams]) -> dict[str, object]:
    """Oldest first; for whoever may see the thing (a private objective: its team and owner)."""
    target = _target(request, params.on)
    count, items = lookups.paginate(thread(target), params.limit, params.offset)
    return page(count, params.limit, params.offset, _out(request, items, target))


@router.post(
    "/comments", response=responses({201: CommentOut}, *WRITE), tags=["discussion"],
    summary="Comment on a thing",
)  # fmt: skip
def create_comment(request: HttpRequest, payload: CommentIn) -> Status[dict[str, object]]:
    """Anyone who may see the thing; `@e-mail` (or `@` and the part before the `@`, when
    unique) mentions someone, who is notified (`mentioned`) if they may see it too."""
    target = _target(request, payload.on)
    comment = actions.add_comment(by=caller(request), target=target, body=payload.body)
    return Status(201, _out(request, [comment], target)[0])


@router.get(
    "/comments/{comment_id}", response=responses({200: CommentOut}, *READ), tags=["discussion"],
    summary="Get a comment",
)  # fmt: skip
def get_comment(request: HttpRequest, comment_id: int, response: HttpResponse) -> dict[str, object]:
    comment, target = _comment(request, comment_id)
    with_etag(response, comment.version)
    return _out(request, [comment], target)[0]


@router.patch(
    "/comments/{comment_id}", response=responses({200: CommentOut}, *WRITE, 412),
    tags=["discussion"], summary="Edit a comment",
)  # fmt: skip
def update_comment(
    request: HttpRequest,
    comment_id: int,
    payload: CommentPatch,
    response: HttpResponse,
    if_match: str | None = HeaderParam(None, alias="If-Match", description=IF_MATCH_HELP),
) -> dict[str, object]:
    """Its author only; the earlier text stays in `earlier`."""
    comment, target = _comment(request, comment_id)
    check_version(comment.version, if_match)
    comment = actions.edit_comment(
        by=caller(request), comment=comment, body=payload.body, seen_version=comment.version
    )
    with_etag(response, comment.version)
    return _out(request, [comment], target)[0]


@router.delete(
    "/comments/{comment_id}", response=responses({204: None}, *WRITE), tags=["discussion"],
    summary="Delete a comment",
)  # fmt: skip
def delete_comment(request: HttpRequest, comment_id: int) -> Status[None]:
    """Its author or an admin."""
    comment = _comment(request, comment_id)[0]
    actions.delete_comment(by=caller(request), comment=comment)
    return Status(204, None)
