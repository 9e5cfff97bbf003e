"""The KPI's selection review page: is this still the right KPI? (kpis.selection)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy, gettext_noop
from django.views.decorators.http import require_http_methods

from headway.kpis.actions import RETARGET_FIELDS, review_kpi, why_not_review_kpi
from headway.kpis.links import link_checks
from headway.kpis.models import Kpi
from headway.teams.access import refuse
from headway.versions import StaleVersion
from headway.web.common import access, add_errors, person
from headway.web.forms import KpiReviewForm, carry_version
from headway.web.history import show_stale

DONE = {
    "confirm": gettext_lazy("%(kpi)s is confirmed until its next review."),
    "retarget": gettext_lazy(
        "%(kpi)s has its new target and thresholds; its health was re-evaluated."
    ),
    "retire": gettext_lazy(
        "%(kpi)s is retired: its history is kept and it takes no new measurements."
    ),
    "replace": gettext_lazy("%(kpi)s is retired in favour of %(replacement)s."),
}


def _decided(form: KpiReviewForm) -> dict[str, Any]:
    """What the review form asks the action for: only the fields of the decision made."""
    data = form.cleaned_data
    chosen: dict[str, Any] = {"decision": data["decision"], "reason": data["reason"]}
    if data["decision"] == "retarget":
        chosen.update({name: data.get(name) for name in RETARGET_FIELDS})
    if data["decision"] == "replace":
        chosen["replacement"] = data.get("replacement")
    return chosen


@require_http_methods(["GET", "POST"])
def kpi_review(request: HttpRequest, key: str) -> HttpResponse:
    kpi = get_object_or_404(Kpi.objects.select_related("team", "owner", "replaced_by"), key=key)
    acc = access(request)
    why_not = why_not_review_kpi(acc, kpi)
    form = KpiReviewForm(request.POST or None, kpi=kpi)
    carry_version(form, kpi.version)
    if request.method == "POST":
        refuse(why_not)
        if form.is_valid():
            chosen = _decided(form)
            try:
                result = review_kpi(
                    by=person(request), kpi=kpi, version=form.cleaned_data.get("version"), **chosen
                )
            except StaleVersion as exc:
                show_stale(form, kpi, exc, gettext_noop("KPI"))
            except ValidationError as exc:
                add_errors(form, exc)
            else:
                replacement = result.review.replacement
                messages.success(
                    request,
                    str(DONE[result.review.decision])
                    % {"kpi": kpi.name, "replacement": replacement.name if replacement else ""},
                )
                return redirect("kpi", key=kpi.key)
    visible = acc.can_see_objective
    links = [
        link
        for link in link_checks(timezone.now(), [kpi.pk]).get(kpi.pk, [])
        if visible(link.key_result.objective)
    ]
    return render(
        request,
        "web/kpi_review.html",
        {
            "kpi": kpi,
            "form": form,
            "can_review": why_not is None,
            "why_not": why_not,
            "links": links,
            "reviews": kpi.reviews.select_related("by", "replacement")[:50],
            "now": timezone.now(),
        },
    )
