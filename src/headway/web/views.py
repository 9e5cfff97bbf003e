"""HTML pages."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from headway.kpis.models import Kpi
from headway.okrs.models import Cycle, CycleState, Objective


@require_GET
@login_not_required
def healthz(request: HttpRequest) -> HttpResponse:
    """Say whether the process is up and the database answers; the only page open to all."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # pragma: no cover - any database failure means unhealthy
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok"})


def home(request: HttpRequest) -> HttpResponse:
    """The signed-in person's start page: the current cycle's objectives and the KPIs."""
    cycle = Cycle.objects.filter(state=CycleState.ACTIVE).order_by("-start").first()
    objectives = (
        Objective.objects.filter(cycle=cycle, visibility="public")
        .select_related("team", "owner")
        .prefetch_related("key_results")
        .order_by("team__name", "key")
        if cycle
        else Objective.objects.none()
    )
    kpis = Kpi.objects.select_related("team", "owner").order_by("team__name", "name")
    return render(
        request, "web/home.html", {"cycle": cycle, "objectives": objectives, "kpis": kpis}
    )
