"""Numbers and links as notifications show them (plain text, safe in any channel)."""

from __future__ import annotations

import math
from datetime import datetime

from django.conf import settings
from django.urls import NoReverseMatch, reverse

from headway.words import Number, Says, _, ngettext

#: Shown for a missing number (an en dash).
DASH = "\u2013"


def number(value: float | None, unit: str = "") -> str:
    """A measured value for people: 92.1, 1,234, 0.005; with its unit when it has one."""
    if value is None or not math.isfinite(value):
        return DASH
    if abs(value) >= 1000:
        text = f"{value:,.0f}"
    else:
        text = f"{value:.4g}"
        if "e" in text:
            text = f"{value:.2e}"
    if not unit:
        return text
    return f"{text}{unit}" if unit in {"%", "‰"} else f"{text} {unit}"


def moment(value: datetime | None) -> str:
    return "never" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def link(name: str, *args: object) -> str:
    """The path of a page, or "" when that page does not exist (yet)."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def absolute(path: str) -> str:
    """A path made absolute with SITE_URL (e-mails and webhooks leave the site)."""
    if not path or path.startswith(("http://", "https://")):
        return path
    base: str = getattr(settings, "SITE_URL", "").rstrip("/")
    return f"{base}{path}"


# --------------------------------------------------------------------------- said again
# Words kept as sentences (headway.words.Says), so that an event's title, summary and
# facts are said again in each recipient's language.

#: Key result statuses as a sentence names them.
STATUS_SAID: dict[str, Says] = {
    "achieved": _("achieved"),
    "on_track": _("on track"),
    "at_risk": _("at risk"),
    "off_track": _("off track"),
    "no_data": _("no data"),
}
#: KPI health as a sentence names it.
HEALTH_SAID: dict[str, Says] = {
    "healthy": _("healthy"),
    "warning": _("warning"),
    "critical": _("critical"),
    "stale": _("stale"),
    "no_data": _("no data"),
}
#: KPI trends as a sentence names them.
TREND_SAID: dict[str, Says] = {
    "improving": _("improving"),
    "stable": _("stable"),
    "deteriorating": _("deteriorating"),
}
#: Review cadences as a sentence names them ("it is reviewed weekly").
CADENCE_SAID: dict[str, Says] = {
    "weekly": _("weekly"),
    "monthly": _("monthly"),
    "quarterly": _("quarterly"),
}


def said(words: dict[str, Says], value: str) -> Says | str:
    """`value` (a status, health, trend or cadence) as a sentence says it."""
    return words.get(value, value.replace("_", " "))


def said_number(value: float | None, unit: str = "") -> Says | str:
    """`number()` as a sentence: written in the reader's form (92,1 in German)."""
    if value is None or not math.isfinite(value):
        return DASH
    spec = ",.0f" if abs(value) >= 1000 else ".4g"
    if "e" in format(value, spec):
        spec = ".2e"
    figure = Number(value, spec)
    if not unit:
        return Says("%(number)s", number=figure)  # not a message id: the number alone
    shape = "%(number)s%(unit)s" if unit in {"%", "‰"} else "%(number)s %(unit)s"
    return Says(shape, number=figure, unit=unit)


def said_score(value: float | None) -> Says | str:
    """A score to two decimals (0.72, so a crossing of 0.7 reads as one), as a sentence
    writes it in the reader's language (0,72 in German)."""
    return DASH if value is None else Says("%(score)s", score=Number(value, ".2f"))


def said_days(days: int) -> Says:
    """ "7 days" in the reader's language."""
    return ngettext("%(n)s day", "%(n)s days", days)


def said_moment(value: datetime | None) -> Says | str:
    """`moment()` as a sentence's parameter ("never" in the reader's language)."""
    return _("never") if value is None else moment(value)
