"""Live coaching: the objective and key-result forms post what is typed (htmx) and get back
what the coach says about it, before anything is saved."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_POST

from headway.coach.db import findings_for_draft
from headway.coach.rules import RULES, Finding
from headway.okrs import actions as okr_rights
from headway.okrs.models import Cycle, KeyResult, KeyResultKind, Objective, ObjectiveType
from headway.teams.access import refuse
from headway.teams.models import Team
from headway.web.common import access, require_visible
from headway.web.forms import NUMERIC_KINDS, RANGE_KINDS

LIVE = "web/coach.html#live_findings"


def _pk(data: Mapping[str, Any], name: str) -> int | None:
    value = str(data.get(name) or "")
    return int(value) if value.isdigit() and len(value) < 12 else None


def _number(data: Mapping[str, Any], name: str) -> float | None:
    try:
        value = float(str(data.get(name) or "").strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _day(data: Mapping[str, Any], name: str) -> date | None:
    try:
        return date.fromisoformat(str(data.get(name) or "").strip())
    except ValueError:
        return None


def objective_draft_findings(
    request: HttpRequest, data: Mapping[str, Any], objective: Objective | None = None
) -> list[Finding]:
    """The coach on an objective form's fields as typed (`objective`: the one edited).

    A parent the person may not see counts as none; team and cycle come from the form
    when it has them (creating), else from the objective.
    """
    title = str(data.get("title") or "")
    if not title.strip():
        return []
    team = cycle = parent = None
    if objective is None:
        team_id, cycle_id = _pk(data, "team"), _pk(data, "cycle")
        team = Team.objects.filter(pk=team_id).first() if team_id else None
        cycle = Cycle.objects.filter(pk=cycle_id).first() if cycle_id else None
    parent_id = _pk(data, "parent")
    if parent_id is not None:
        parent = Objective.objects.filter(pk=parent_id).first()
        if parent is not None and not access(request).can_see_objective(parent):
            parent = None
    kind = str(data.get("type") or "")
    ignore = None
    if objective is not None and hasattr(data, "getlist"):
        ignore = [rule for rule in data.getlist("coach_ignore") if rule in RULES]
    return findings_for_draft(
        "objective",
        title=title,
        team=team,
        cycle=cycle,
        parent=parent,
        objective=objective,
        type=kind if kind in ObjectiveType.values else ObjectiveType.ASPIRATIONAL,
        ignore=ignore,
    )


def key_result_draft_findings(
    data: Mapping[str, Any], objective: Objective, key_result: KeyResult | None = None
) -> list[Finding]:
    """The coach on a key-result form's fields as typed, within its objective.

    A kind the form does not send (fixed while the cycle is active) is the saved one.
    """
    title = str(data.get("title") or "")
    kind = str(data.get("kind") or "")
    if kind not in KeyResultKind.values:
        kind = key_result.kind if key_result is not None else KeyResultKind.INCREASE
    return findings_for_draft(
        "key_result",
        title=title,
        kind=kind,
        start=_number(data, "start") if kind in RANGE_KINDS else None,
        target=_number(data, "target") if kind in NUMERIC_KINDS else None,
        due=_day(data, "due"),
        objective=objective,
    )


def _live(request: HttpRequest, findings: list[Finding], title: str) -> HttpResponse:
    return render(request, LIVE, {"findings": findings, "checked": bool(title.strip())})


@require_POST
def objective_draft(request: HttpRequest, key: str | None = None) -> HttpResponse:
    """What the coach says about the objective being written (new, or `key` edited)."""
    acc = access(request)
    objective = None
    if key is not None:
        objective = get_object_or_404(Objective.objects.select_related("cycle", "team"), key=key)
        require_visible(request, objective)
        refuse(okr_rights.why_not_edit_objective(acc, objective))
    else:
        refuse(okr_rights.why_not_create_objective(acc, Team.objects.all()))
    found = objective_draft_findings(request, request.POST, objective)
    return _live(request, found, request.POST.get("title", ""))


@require_POST
def key_result_draft(request: HttpRequest, key: str, kr: str | None = None) -> HttpResponse:
    """What the coach says about the key result being written for objective `key`."""
    objective = get_object_or_404(Objective.objects.select_related("cycle", "team"), key=key)
    require_visible(request, objective)
    acc = access(request)
    key_result = None
    if kr is not None:
        key_result = get_object_or_404(KeyResult, objective=objective, key=kr)
        key_result.objective = objective
        refuse(okr_rights.why_not_edit_key_result(acc, key_result))
    else:
        refuse(okr_rights.why_not_add_key_result(acc, objective))
    found = key_result_draft_findings(request.POST, objective, key_result)
    return _live(request, found, request.POST.get("title", ""))
