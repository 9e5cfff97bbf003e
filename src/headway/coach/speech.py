"""The coach's sentences in the reader's language (the Django side of `verdict.Says`)."""

from __future__ import annotations

from typing import Any

from django.utils import formats
from django.utils.translation import gettext, gettext_lazy, ngettext

from headway.coach.verdict import Number, Says

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
    if spec.endswith("%"):
        places = int(spec[1:-1] or 0) if spec.startswith(".") else 0
        return gettext("%(number)s%%") % {
            "number": formats.number_format(number.value * 100, decimal_pos=places)
        }
    if spec.endswith("f"):
        places = int(spec[1:-1] or 0) if spec.startswith(".") else 6
        return formats.number_format(number.value, decimal_pos=places)
    english = format(number.value, spec)  # "g": as few digits as needed
    if "e" in english or "inf" in english or "nan" in english:
        return english
    return formats.number_format(float(english), decimal_pos=_places(english))


def _places(english: str) -> int:
    return len(english.split(".")[1]) if "." in english else 0
