"""Filters for showing scores, statuses, health and numbers the same way on every page."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from django import template
from django.utils.safestring import SafeString
from django.utils.timesince import timesince
from django.utils.translation import gettext as _

from headway import speech
from headway.web import common

register = template.Library()


@register.filter
def score(value: float | None) -> str:
    """A score to one decimal place (0.7); a dash when there is none."""
    if value is None:
        return common.DASH
    return common.local(f"{value:.1f}")


@register.filter
def band(value: float | None) -> str:
    """The grade band (red, yellow, green) of an unrounded score."""
    return common.band(value)


@register.filter
def status_label(value: str) -> str:
    return str(common.STATUS_LABELS.get(value, value.replace("_", " ").capitalize()))


@register.filter
def health_label(value: str) -> str:
    return str(common.HEALTH_LABELS.get(value, value.replace("_", " ").capitalize()))


@register.filter
def num(value: float | None) -> str:
    """A measured value for people (92.1, 1,234, 0.005)."""
    return common.local(common.fmt_number(value))


@register.filter
def num_like(value: float | None, thing: Any) -> str:
    """A derived value at the precision of `thing`'s own numbers (its start, target, thresholds)."""
    numbers = [getattr(thing, name, None) for name in ("start", "target", "warning", "critical")]
    return common.local(common.fmt_to(value, common.decimals_of(numbers)))


@register.filter
def ago(value: datetime | None) -> str:
    """How long ago, in its largest unit only ("3 days ago")."""
    if value is None:
        return ""
    return _("%(time)s ago") % {"time": timesince(value, depth=1)}


@register.filter
def bar(value: float | None, expected: float | None = None) -> SafeString:
    """A progress bar drawn for a score: `{{ score|bar:expected }}` (`Bar.html`)."""
    return common.Bar(score=value or 0.0, expected=expected).html


@register.filter
def signal(result: Any, cycle: Any) -> common.Signal:
    """`{% with s=result|signal:cycle %}`: chip, number and bar for the cycle's phase."""
    return common.signal(result, str(getattr(cycle, "state", cycle)))


@register.filter
def off_target(kpi: Any) -> str:
    """ "on target" / "12% off target" for a KPI card, beside its health; "" without a target."""
    from headway.kpis.health import target_gap

    # The target in force when the latest value was measured (targets may change by period).
    target = kpi.target
    if getattr(kpi, "target_schedule", None) and kpi.latest_at is not None:
        target = kpi.thresholds_on(kpi.latest_at.date())[0]
    gap = target_gap(kpi.latest_value, target, kpi.direction)
    if gap is None:
        return ""
    if gap == 0:
        return _("on target")
    # Whole percent, but never round a real shortfall to "0% off target".
    shown = f"{gap:.0%}" if gap >= 0.005 else "<1%"
    return _("%(gap)s off target") % {"gap": shown}


@register.filter
def percent(value: float | None) -> str:
    """A probability or rate as a whole percentage (62%); a dash when there is none."""
    if value is None:
        return common.DASH
    return f"{value:.0%}"


@register.filter
def spoken(text: object) -> str:
    """A coach sentence in the reader's language (other text as it is)."""
    return speech.spoken(text)


@register.filter
def section_label(section: str) -> str:
    """An import section ("key_results") as the preview names it, in the reader's language."""
    return str(common.SECTION_LABELS.get(section, section.replace("_", " ")))


@register.filter
def trend_label(trend: str) -> str:
    """A KPI's trend ("improving") in the reader's language."""
    from headway.notify.text import TREND_SAID

    return speech.spoken(TREND_SAID.get(trend, trend))


@register.filter
def severity_label(severity: str) -> str:
    """A coach finding's severity ("warning") in the reader's language."""
    return str(speech.SEVERITY_LABELS.get(severity, severity))


@register.simple_tag
def options(items: Any, value: str, label: str, chosen: Any) -> SafeString:
    """`<option>`s of `items`, rendered in Python: a `{% for %}` over a thousand teams cost
    about 0.05 ms an option on the tree and review pages.

    `value` and `label` are dotted paths on each item: attributes ("team.key") or, for
    tuples, positions ("0"); an empty `label` uses the item's text. The option whose
    value equals `chosen` (as text) is selected.
    """
    picked = "" if chosen is None else str(chosen)
    values, labels = value.split("."), label.split(".") if label else []
    parts = []
    for item in items:
        key = str(_path(item, values))
        text = _path(item, labels) if labels else item
        selected = " selected" if key == picked else ""
        # html.escape, not Django's escape: the same characters, without a SafeString each.
        parts.append(f'<option value="{escape(key)}"{selected}>{escape(str(text))}</option>')
    return SafeString("".join(parts))


def _path(item: Any, names: list[str]) -> Any:
    for name in names:
        item = item[int(name)] if name.isdigit() else getattr(item, name)
    return item
