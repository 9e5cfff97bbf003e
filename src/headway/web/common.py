"""Helpers shared by the pages: the signed-in person, their access, htmx, number formats."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.forms import BaseForm
from django.http import Http404, HttpRequest

from headway.okrs import scoring
from headway.teams.access import Access

if TYPE_CHECKING:
    from django_htmx.middleware import HtmxDetails

    from headway.okrs.models import Objective
    from headway.teams.models import Person

STATUS_LABELS = {
    "achieved": "Achieved",
    "on_track": "On track",
    "at_risk": "At risk",
    "off_track": "Off track",
    "no_data": "No data",
}
HEALTH_LABELS = {
    "healthy": "Healthy",
    "warning": "Warning",
    "critical": "Critical",
    "stale": "Stale",
    "no_data": "No data",
}
PAGE_SIZE = 24
DASH = "\u2013"  # en dash: what a missing number shows


class HtmxRequest(HttpRequest):
    """A request that went through django-htmx's middleware (every request here does)."""

    htmx: HtmxDetails


def person(request: HttpRequest) -> Person:
    """The signed-in person (LoginRequiredMiddleware keeps anonymous visitors out)."""
    return request.user  # type: ignore[return-value]


def access(request: HttpRequest) -> Access:
    """The signed-in person's access, computed once per request."""
    cached: Access | None = getattr(request, "_headway_access", None)
    if cached is None:
        cached = Access.for_person(person(request))
        request._headway_access = cached  # type: ignore[attr-defined]
    return cached


def is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def require_visible(request: HttpRequest, objective: Objective) -> None:
    """A private objective is not found for people outside its team (PRODUCT.md section 6)."""
    if not access(request).can_see_objective(objective):
        raise Http404("No such objective.")


def band(score: float | None) -> str:
    """The grade band of a score (none for a missing score)."""
    return "none" if score is None else scoring.grade_band(score)


def fmt_number(value: float | None) -> str:
    """A value for people: thousands separated, at most 4 significant digits below 1000."""
    if value is None or not math.isfinite(value):
        return DASH
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    text = f"{value:.4g}"
    if "e" in text:
        return f"{value:.2e}"
    return text


def paginate(request: HttpRequest, items: Any, per_page: int = PAGE_SIZE) -> Page[Any]:
    """The page of `items` asked for by ?page=, the last or first page for bad numbers."""
    return Paginator(items, per_page).get_page(request.GET.get("page"))


def add_errors(
    form: BaseForm, error: ValidationError, fields: dict[str, str] | None = None
) -> None:
    """Attach an action's ValidationError to a form: per field where the form has the field.

    `fields` renames the action's field names to the form's (e.g. {"value": "value"}).
    """
    fields = fields or {}
    if hasattr(error, "error_dict"):
        for name, messages in error.message_dict.items():
            target = fields.get(name, name)
            for message in messages:
                form.add_error(target if target in form.fields else None, message)
    else:
        for message in error.messages:
            form.add_error(None, message)


def form_changes(form: BaseForm) -> dict[str, Any]:
    """The fields the user changed, with their cleaned values (for an update action)."""
    # The version read is what the action compares, never a change of its own.
    return {name: form.cleaned_data[name] for name in form.changed_data if name != "version"}


@dataclass(frozen=True)
class Bar:
    """What a progress bar shows: the score, its band, and the expected pace (marker)."""

    score: float
    expected: float | None = None

    @property
    def band(self) -> str:
        return scoring.grade_band(self.score)

    @property
    def width(self) -> str:
        return f"{max(0.0, min(1.0, self.score)) * 100:.1f}"

    @property
    def pace(self) -> str | None:
        if self.expected is None:
            return None
        return f"{max(0.0, min(1.0, self.expected)) * 100:.1f}"

    @property
    def label(self) -> str:
        text = f"Score {self.score:.1f} of 1.0"
        if self.expected is not None:
            text += f"; expected by now {self.expected:.1f}"
        return text
