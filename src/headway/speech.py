"""Sentences in the reader's language: the Django side of `headway.words.Says`.

The coach's findings and the notifications keep their sentences as `Says` (an event stores
them packed, in its data), and pages, e-mails and messages say them here in the active
language.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from django.utils import formats
from django.utils.translation import gettext, gettext_lazy, ngettext

from headway.words import Number, Says, unpack

#: A coach finding's severity, as its pages name it.
SEVERITY_LABELS = {
    "error": gettext_lazy("error"),
    "warning": gettext_lazy("warning"),
    "info": gettext_lazy("info"),
}


def spoken(text: object) -> str:
    """`text` in the active language: a `Says` through the catalogue, its parameters too;
    any other text as it is (what people typed, keys)."""
    if not isinstance(text, Says):
        return str(text)
    params = {name: _param(value) for name, value in text.params.items()}
    if text.plural is not None and text.number is not None:
        chosen = ngettext(text.template, text.plural, text.number)
    else:
        chosen = gettext(text.template)
    return chosen % params if params else chosen


def _param(value: Any) -> str:
    if isinstance(value, Says):
        return spoken(value)
    if isinstance(value, Number):
        return _number(value)
    return str(value)


def _number(number: Number) -> str:
    """The number as the reader writes it: 0,35 in German, 80 % in French."""
    spec = number.spec
    grouped = spec.startswith(",")  # ",.0f": thousands grouped (1.234 in German)
    spec = spec.removeprefix(",")
    if not math.isfinite(number.value):
        return format(number.value, spec)
    if spec.endswith("%"):
        places = int(spec[1:-1] or 0) if spec.startswith(".") else 0
        return gettext("%(number)s%%") % {"number": _fixed(number.value * 100, places, False)}
    if spec.endswith("f"):
        places = int(spec[1:-1] or 0) if spec.startswith(".") else 6
        return _fixed(number.value, places, grouped)
    english = format(number.value, spec)  # "g": as few digits as needed
    if "e" in english:
        return english
    return _fixed(float(english), _places(english), grouped)


def _fixed(value: float, places: int, grouped: bool) -> str:
    # Rounded as English is (Python's format), then written in the reader's form: Django's
    # number_format cuts a float's digits off rather than rounding them (0.505 -> "0.50").
    rounded = Decimal(format(value, f".{places}f"))
    return formats.number_format(rounded, decimal_pos=places, force_grouping=grouped)


def _places(english: str) -> int:
    return len(english.split(".")[1]) if "." in english else 0


def spoken_packed(packed: object, fallback: str = "") -> str:
    """A sentence stored with `words.pack`, in the active language; `fallback` (the English
    text stored beside it) when nothing was packed."""
    if packed is None:
        return fallback
    return spoken(unpack(packed))
