"""The coach's findings on the organisation, and its rules (read only)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from headway.api import lookups
from headway.api.auth import access_of
from headway.api.errors import BadRequest
from headway.api.routes.common import LIST, page, responses
from headway.api.schemas import FindingFilters, FindingOut, Page, PageParams, RuleOut
from headway.coach.db import organisation_facts
from headway.coach.rules import RULES, Finding, run
from headway.okrs.models import Objective, Visibility
from headway.teams.models import Team

router = Router()
COACH = ["coach"]


def _about(finding: Finding) -> tuple[str, str]:
    """The kind and key of what a finding is about: ("objectives", "grow-emea"), ..."""
    kind, _, rest = finding.path.partition("/")
    return kind, rest.split("/", 1)[0]


@router.get(
    "/coach/findings", response=responses({200: Page[FindingOut]}, *LIST), tags=COACH,
    summary="List the coach's findings",
)  # fmt: skip
def list_findings(
    request: HttpRequest, filters: Query[FindingFilters], params: Query[PageParams]
) -> dict[str, Any]:
    """What the coach says about the organisation now, sorted by path then rule.

    Filter by `path` (a prefix), `rule`, `severity` and `team` (the team's own findings and
    those on its objectives, their key results and its KPIs). Findings on private
    objectives (and their key results) you may not see are left out, like the objectives.
    Findings an objective silences are not listed.
    """
    errors: dict[str, list[str]] = {}
    if filters.rule is not None and filters.rule not in RULES:
        errors["rule"] = [f"No coach rule {filters.rule!r}; see /coach/rules."]
    if filters.team is not None and not Team.objects.filter(key=filters.team).exists():
        errors["team"] = [f"No team {filters.team!r}."]
    if errors:
        raise BadRequest("Some filters are invalid.", fields=errors)
    access = access_of(request)
    org = organisation_facts()
    hidden = set(
        Objective.objects.filter(visibility=Visibility.PRIVATE)
        .exclude(pk__in=lookups.visible_objectives(access).values("pk"))
        .values_list("key", flat=True)
    )
    owners = {
        "objectives": {o.key: o.team for o in org.objectives},
        "kpis": {k.key: k.team for k in org.kpis},
        "teams": {t.key: t.key for t in org.teams},
    }
    found = []
    for finding in run(org):
        kind, key = _about(finding)
        if kind == "objectives" and key in hidden:
            continue
        if filters.path is not None and not finding.path.startswith(filters.path):
            continue
        if filters.rule is not None and finding.rule != filters.rule:
            continue
        if filters.severity is not None and finding.severity != filters.severity:
            continue
        if filters.team is not None and owners.get(kind, {}).get(key) != filters.team:
            continue
        found.append(finding)
    items = found[params.offset : params.offset + params.limit]
    return page(len(found), params.limit, params.offset, [f.as_dict() for f in items])


@router.get(
    "/coach/rules", response=responses({200: list[RuleOut]}, *LIST), tags=COACH,
    summary="List the coach's rules",
)  # fmt: skip
def list_rules(request: HttpRequest) -> list[dict[str, str]]:
    """Every rule of the coach: its stable id, severity, the principle it defends and the
    suggested fix (docs/coach.md describes when each fires)."""
    return [
        {"id": r.id, "severity": r.severity, "principle": r.principle, "fix": r.fix}
        for r in RULES.values()
    ]
