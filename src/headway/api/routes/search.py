"""Search: the API of the header's search box (docs/api.md, "Search")."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from headway.api.auth import access_of
from headway.api.routes.common import LIST, responses
from headway.search.highlight import plain, ranges
from headway.search.query import MAX_LIMIT, search

router = Router()

Kind = Literal["objective", "key_result", "checkin", "kpi", "team", "person"]


class SearchParams(Schema):
    q: str = Field(
        ..., min_length=1, max_length=200, description="Words; each matches the start of a word."
    )
    kind: Kind | None = Field(None, description="Only results of this kind.")
    limit: int = Field(30, ge=1, le=MAX_LIMIT, description=f"Most results (1-{MAX_LIMIT}).")


class SearchHitOut(Schema):
    kind: Kind
    key: str = Field(
        description="The key (a person: the e-mail address; a check-in: its key result's)."
    )
    title: str
    title_matches: list[tuple[int, int]] = Field(
        description="[start, end) character offsets of the matched words in `title`."
    )
    snippet: str = Field(description="The matching passage of a description or comment, or empty.")
    snippet_matches: list[tuple[int, int]]
    url: str = Field(
        description="The page of the result (a key result's: its objective's, anchored)."
    )
    cycle: str | None
    team: str | None = Field(
        description="Key of the team (a team's: its parent; a person's: a team)."
    )
    by: str = Field(description="Owner, or a check-in's author.")
    at: datetime | None = Field(description="A check-in's moment.")
    rank: float


class SearchOut(Schema):
    query: str
    count: int
    items: list[SearchHitOut]


@router.get(
    "/search", response=responses({200: SearchOut}, *LIST), tags=["search"],
    summary="Search",
)  # fmt: skip
def search_everything(request: HttpRequest, params: Query[SearchParams]) -> dict[str, object]:
    """Objectives, key results, check-in comments, KPIs, teams and people whose words match,
    best first, among what the caller may see (a private objective, its key results and
    their check-ins only for its team and owner)."""
    hits = search(access_of(request), params.q, kind=params.kind, limit=params.limit)
    items = [
        {
            "kind": h.kind,
            "key": h.key,
            "title": plain(h.title),
            "title_matches": ranges(h.title),
            "snippet": plain(h.snippet),
            "snippet_matches": ranges(h.snippet),
            "url": request.build_absolute_uri(h.url) if h.url else "",
            "cycle": h.cycle_key or None,
            "team": h.team_key or None,
            "by": h.by,
            "at": h.at,
            "rank": round(h.rank, 6),
        }
        for h in hits
    ]
    return {"query": params.q, "count": len(items), "items": items}
