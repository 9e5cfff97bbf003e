"""Helpers shared by the pages: the signed-in person, their access, htmx, number formats."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.forms import BaseForm
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils import formats
from django.utils.safestring import SafeString
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from headway.okrs import scoring
from headway.teams.access import Access

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise as StrOrPromise
    from django_htmx.middleware import HtmxDetails

    from headway.okrs.models import Objective
    from headway.teams.models import Person

STATUS_LABELS: dict[str, StrOrPromise] = {
    "achieved": gettext_lazy("Achieved"),
    "on_track": gettext_lazy("On track"),
    "at_risk": gettext_lazy("At risk"),
    "off_track": gettext_lazy("Off track"),
    "no_data": gettext_lazy("No data"),
}
HEALTH_LABELS: dict[str, StrOrPromise] = {
    "healthy": gettext_lazy("Healthy"),
    "warning": gettext_lazy("Warning"),
    "critical": gettext_lazy("Critical"),
    "stale": gettext_lazy("Stale"),
    "no_data": gettext_lazy("No data"),
}
#: The sections of an import's counts (document.importer.COUNTED), as the preview names them.
SECTION_LABELS = {
    "people": gettext_lazy("People"),
    "teams": gettext_lazy("Teams"),
    "memberships": gettext_lazy("Memberships"),
    "cycles": gettext_lazy("Cycles"),
    "connections": gettext_lazy("Connections"),
    "kpis": gettext_lazy("KPIs"),
    "sources": gettext_lazy("Data sources"),
    "measurements": gettext_lazy("Measurements"),
    "objectives": gettext_lazy("Objectives"),
    "key_results": gettext_lazy("Key results"),
    "checkins": gettext_lazy("Check-ins"),
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


def local(text: str) -> str:
    """A number formatted the English way (1,234.5) in the active language's separators.

    The pages show numbers through this (the `num`, `score` and `percent` filters); the API,
    exports and stored texts keep the English form, which programs read.
    """
    table = _separators(get_language())
    return text if table is None else text.translate(table)


_SEPARATORS: dict[str | None, dict[int, str] | None] = {}


def _separators(language: str | None) -> dict[int, str] | None:
    """The translation table from English separators to the language's (None: the same).

    Kept per language: `local` runs for every number of a page (800 on the review) and
    `get_format` twice a call was a tenth of its rendering. Emptied with Django's own format
    cache when a test changes a format setting.
    """
    if language not in _SEPARATORS:
        decimal = str(formats.get_format("DECIMAL_SEPARATOR"))
        thousands = str(formats.get_format("THOUSAND_SEPARATOR"))
        same = (decimal, thousands) == (".", ",")
        _SEPARATORS[language] = None if same else {ord("."): decimal, ord(","): thousands}
    return _SEPARATORS[language]


@receiver(setting_changed)
def _forget_separators(**kwargs: Any) -> None:
    _SEPARATORS.clear()


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


def decimals_of(values: Iterable[float | None], cap: int = 3) -> int | None:
    """The decimals people wrote a thing's numbers with (start 0, target 5.5 → 1); None if none.

    Derived values (expected by now, forecasts, ranges) are shown at that precision, so a
    0 → 100 key result says "expected by now 50", not "50.45".
    """
    found: int | None = None
    for value in values:
        if value is None or not math.isfinite(value):
            continue
        text = repr(float(value))
        places = 0 if "e" in text else len(text.split(".")[1].rstrip("0"))
        found = max(found or 0, min(places, cap))
    return found


def fmt_to(value: float | None, decimals: int | None) -> str:
    """`value` at `decimals` places, thousands separated; fmt_number's rule without any."""
    if decimals is None or value is None or not math.isfinite(value):
        return fmt_number(value)
    return f"{value:,.{decimals}f}"


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
    """What a progress bar shows: the score, its colour, and the expected pace (marker).

    `tone` is the colour when a signal chose it (the status during a cycle, "none" while
    planning); without one the bar is drawn in the grade band of its score.
    """

    score: float
    expected: float | None = None
    tone: str | None = None

    @property
    def band(self) -> str:
        return self.tone if self.tone is not None else scoring.grade_band(self.score)

    @property
    def width(self) -> str:
        return f"{max(0.0, min(1.0, self.score)) * 100:.1f}"

    @property
    def pace(self) -> str | None:
        if self.expected is None:
            return None
        return f"{max(0.0, min(1.0, self.expected)) * 100:.1f}"

    @property
    def html(self) -> SafeString:
        """The bar as SVG: `{{ bar.html }}` in a template. Made here rather than by including
        a template fragment, which cost about 0.1 ms a bar (200 on the review page)."""
        label = escape(self.label)
        pace = self.pace
        marker = (
            f'<line class="bar-pace" x1="{pace}" x2="{pace}" y1="0" y2="10" '
            'vector-effect="non-scaling-stroke"/>'
            if pace is not None
            else ""
        )
        return SafeString(
            f'<svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none" role="img" '
            f'aria-label="{label}"><title>{label}</title>'
            '<rect class="bar-track" x="0" y="0" width="100" height="10"/>'
            f'<rect class="bar-fill band-{escape(self.band)}" x="0" y="0" width="{self.width}" '
            f'height="10"/>{marker}</svg>'
        )

    @property
    def label(self) -> str:
        text = _("Score %(score)s of %(best)s") % {
            "score": local(f"{self.score:.1f}"),
            "best": local("1.0"),
        }
        if self.expected is not None:
            text += _("; expected by now %(expected)s") % {
                "expected": local(f"{self.expected:.1f}")
            }
        return text


#: The one vocabulary of signals (issue 19): a status's colour is the colour of its word.
STATUS_TONES = {
    "achieved": "green",
    "on_track": "green",
    "at_risk": "yellow",
    "off_track": "red",
    "no_data": "none",
}
HEALTH_TONES = {
    "healthy": "green",
    "warning": "yellow",
    "critical": "red",
    "stale": "none",
    "no_data": "none",
}
STYLE_SHEET = Path(__file__).resolve().parents[1] / "static" / "headway" / "headway.css"


@cache
def tone_colours() -> dict[str, tuple[str, str]]:
    """Tone -> (text colour, background) from the style sheet's tokens (`--red-text`,
    `--red-bg`...), so a chip in an e-mail, which has no style sheet, is the page's chip."""
    css = STYLE_SHEET.read_text()
    root = css[css.index(":root") : css.index("}", css.index(":root"))]
    tokens = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6})", root))
    return {
        tone: (tokens[f"{tone}-text"], tokens[f"{tone}-bg"])
        for tone in ("green", "yellow", "red", "none")
    }


@dataclass(frozen=True)
class Chip:
    """A signal's word with its colours, for places without the style sheet (e-mails)."""

    word: str
    tone: str

    @property
    def colour(self) -> str:
        return tone_colours()[self.tone][0]

    @property
    def background(self) -> str:
        return tone_colours()[self.tone][1]


def status_chip(status: str) -> Chip:
    return Chip(str(STATUS_LABELS.get(status, status)), STATUS_TONES.get(status, "none"))


def health_chip(health: str) -> Chip:
    return Chip(str(HEALTH_LABELS.get(health, health)), HEALTH_TONES.get(health, "none"))


def grade_chip(grade: float) -> Chip:
    """A grade's chip: "Graded 0.6" in the band of the unrounded grade."""
    return Chip(_("Graded %(grade)s") % {"grade": f"{grade:.1f}"}, scoring.grade_band(grade))


@dataclass(frozen=True)
class Signal:
    """How a score is shown in its cycle's phase: the chip's word and class, the number, the bar.

    - planning: a neutral "Planning" chip, no score (a red 0.0 would say "failing" before
      anything started), an empty neutral bar;
    - active: the status word, with the score and the bar in that status's colour, so an
      "On track" chip never sits on an amber bar;
    - closed: "Graded", with the grade and the bar in the grade band of the unrounded
      grade; no status or forecast (the cycle is over).
    """

    word: str
    chip: str
    tone: str
    score_text: str
    bar: Bar
    phase: str

    @property
    def html(self) -> SafeString:
        """The chip: `{{ s.html }}` in a template (see `Bar.html`)."""
        return SafeString(f'<span class="chip {escape(self.chip)}">{escape(self.word)}</span>')

    @property
    def in_flight(self) -> bool:
        """Whether pace, forecast and likelihood mean anything (an active cycle)."""
        return self.phase == "active"


def signal(result: Any, phase: str) -> Signal:
    """The signal of an objective's or key result's result in a cycle of `phase`."""
    score_value = float(result.score)
    if phase == "planning":
        return Signal(
            word=_("Planning"),
            chip="state-planning",
            tone="none",
            score_text=DASH,
            bar=Bar(score=0.0, tone="none"),
            phase=phase,
        )
    if phase == "closed":
        tone = scoring.grade_band(score_value)
        return Signal(
            word=_("Graded"),
            chip=f"grade-{tone}",
            tone=tone,
            score_text=local(f"{score_value:.1f}"),
            bar=Bar(score=score_value, tone=tone),
            phase=phase,
        )
    status = str(result.status)
    tone = STATUS_TONES.get(status, "none")
    return Signal(
        word=str(STATUS_LABELS.get(status, status.replace("_", " ").capitalize())),
        chip=f"status-{status}",
        tone=tone,
        score_text=DASH if status == "no_data" else local(f"{score_value:.1f}"),
        bar=Bar(score=score_value, expected=result.expected, tone=tone),
        phase=phase,
    )


_SLOT = "slot-for-the-key"


@dataclass(frozen=True)
class UrlFor:
    """A URL pattern reversed once, for the key of each row: `UrlFor("objective")(key)`.

    Pages of many rows ask for the same link once a row; `reverse` costs about 0.05 ms a
    call. The key goes where a placeholder was reversed (the last one: earlier arguments,
    such as the cycle's key, may be anything).
    """

    head: str
    tail: str

    @classmethod
    def of(cls, name: str, *args: str) -> UrlFor:
        head, _slot, tail = reverse(name, args=[*args, _SLOT]).rpartition(_SLOT)
        return cls(head, tail)

    def __call__(self, key: str) -> str:
        return f"{self.head}{quote(key)}{self.tail}"
