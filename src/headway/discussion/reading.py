"""Reading threads for pages and the API: a constant number of queries per page of comments."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, QuerySet

from headway.discussion.models import Comment
from headway.discussion.targets import Target


@dataclass
class Version:
    body: str
    at: datetime
    by: str


@dataclass
class Shown:
    """A comment as a thread shows it, with its earlier versions (oldest first)."""

    comment: Comment
    earlier: list[Version] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return f"comment-{self.comment.pk}"


def thread(target: Target) -> QuerySet[Comment]:
    return (
        Comment.objects.filter(**target.filter())
        .select_related("author")
        .order_by("created_at", "id")
    )


def with_history(comments: list[Comment]) -> list[Shown]:
    """Each comment with the texts it had before its edits: one query for the page."""
    edited = [c.pk for c in comments if c.version > 1]
    earlier: dict[int, list[Version]] = defaultdict(list)
    if edited:
        rows = (
            Comment.history.filter(id__in=edited)
            .select_related("history_user")
            .order_by("id", "history_date", "history_id")
        )
        for row in rows:
            earlier[row.id].append(
                Version(
                    body=row.body,
                    at=row.history_date,
                    by=str(row.history_user) if row.history_user else "",
                )
            )
    shown = []
    for c in comments:
        versions = earlier.get(c.pk, [])
        # The last historical row is the current text.
        shown.append(Shown(comment=c, earlier=[v for v in versions if v.body != c.body]))
    return shown


def counts(field_name: str, ids: list[int]) -> dict[int, int]:
    """How many comments each of `ids` has (`field_name`: key_result, checkin…): one query."""
    if not ids:
        return {}
    rows = (
        Comment.objects.filter(**{f"{field_name}__in": ids})
        .values(field_name)
        .annotate(n=Count("id"))
        .order_by()
    )
    return {row[field_name]: row["n"] for row in rows}


def summary(target: Target, latest: int = 3) -> dict[str, Any]:
    """What a page shows of a thing's discussion: the count and the latest few (2 queries)."""
    queryset = thread(target)
    count = queryset.count()
    recent = list(queryset.order_by("-created_at", "-id")[:latest]) if count else []
    recent.reverse()
    return {
        "target": target,
        "count": count,
        "latest": recent,
        "thread_url": target.thread_url,
    }
