"""The search page: objectives, key results, check-ins, KPIs, teams and people by words."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from headway.search.query import KIND_LABELS, MAX_LIMIT, search
from headway.web.common import access


@require_GET
def search_page(request: HttpRequest) -> HttpResponse:
    """Results of the header's search box, ranked, each with its cycle and team."""
    text = request.GET.get("q", "").strip()[:200]
    kind = request.GET.get("kind", "")
    if kind not in KIND_LABELS:
        kind = ""
    hits = search(access(request), text, kind=kind or None, limit=MAX_LIMIT // 2) if text else []
    return render(
        request,
        "web/search.html",
        {
            "search_query": text,
            "kind": kind,
            "kind_label": KIND_LABELS.get(kind, "").lower(),
            "kinds": KIND_LABELS,
            "hits": hits,
            "limit": MAX_LIMIT // 2,
        },
    )
