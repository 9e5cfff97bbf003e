"""Numbers and links as notifications show them (plain text, safe in any channel)."""

from __future__ import annotations

import math
from datetime import datetime

from django.conf import settings
from django.urls import NoReverseMatch, reverse

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


def score(value: float | None) -> str:
    """A score to two decimals (0.72), so a crossing of 0.7 reads as one."""
    return DASH if value is None else f"{value:.2f}"


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


STATUS = {
    "achieved": "achieved",
    "on_track": "on track",
    "at_risk": "at risk",
    "off_track": "off track",
    "no_data": "no data",
}


def status(value: str) -> str:
    return STATUS.get(value, value.replace("_", " "))
