"""Sentences that remember how they were made, so each reader gets them in their language.

A `Says` is English text with its message id and parameters. The pure cores (the coach)
and the notifications build their sentences with it; `headway.speech` says them again
through Django's catalogue (this module imports no Django). `_` and `ngettext` are named
as gettext's so that `makemessages` collects their message ids wherever they are used.
Events store a sentence as JSON (`pack`/`unpack`) to say it later in each recipient's
language.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


class Says(str):
    """English text with its message id (`template`, `plural`) and `params`.

    A parameter is text (a `Says` is said again in the reader's language, other text is
    shown as it is: a title's words, a key) or a `Number` (written in the reader's form).
    """

    template: str
    plural: str | None
    number: int | None
    params: dict[str, Any]

    def __new__(
        cls, template: str, /, plural: str | None = None, count: int | None = None, **params: Any
    ) -> Says:
        chosen = plural if plural is not None and count != 1 else template
        text = chosen % {k: str(v) for k, v in params.items()} if params else chosen
        said = super().__new__(cls, text)
        said.template, said.plural, said.number, said.params = template, plural, count, params
        return said

    def __reduce__(self) -> tuple[Any, ...]:
        # Cached findings are pickled: keep what the text was made of.
        return (_rebuild, (self.template, self.plural, self.number, self.params))


def _rebuild(template: str, plural: str | None, count: int | None, params: dict[str, Any]) -> Says:
    return Says(template, plural, count, **params)


def _(template: str, /, **params: Any) -> Says:
    """A coach sentence: `template` with `%(name)s` placeholders filled from `params`."""
    return Says(template, **params)


def gettext_noop(message: str, /) -> str:
    """A message id left as it is (Django's gettext_noop needs settings; this does not)."""
    return message


def ngettext(singular: str, plural: str, count: int, /, **params: Any) -> Says:
    """A coach sentence that depends on `count` (which is also the `n` parameter)."""
    return Says(singular, plural, count, n=count, **params)


@dataclass(frozen=True, slots=True)
class Number:
    """A number in a sentence: `spec` is its English format ("g", ".2f", ".0%")."""

    value: float
    spec: str = "g"

    def __str__(self) -> str:
        return format(self.value, self.spec)


def separated(items: Iterable[str], separator: str) -> str:
    """ "a; b; c": each item keeps its own words; the separator is not a message id."""
    listed = ""
    for item in items:
        listed = (
            Says(f"%(listed)s{separator}%(item)s", listed=listed, item=item) if listed else item
        )
    return listed


def joined(items: Iterable[str]) -> Says:
    """ "a", "a and b", "a, b and c": the conjunction said in the reader's language."""
    items = list(items)
    if len(items) == 1:
        return Says("%(item)s", item=items[0])  # nothing to translate: not a message id
    return _("%(items)s and %(last)s", items=separated(items[:-1], ", "), last=items[-1])


def pack(text: object) -> Any:
    """`text` as JSON: a `Says` keeps its message id and parameters, other text is kept."""
    if isinstance(text, Says):
        packed: dict[str, Any] = {"t": text.template}
        if text.plural is not None:
            packed["pl"], packed["n"] = text.plural, text.number
        if text.params:
            packed["p"] = {name: pack(value) for name, value in text.params.items()}
        return packed
    if isinstance(text, Number):
        return {"num": text.value, "spec": text.spec}
    return str(text)


def unpack(packed: Any) -> object:
    """What `pack` stored, made again (a `Says`, a `Number` or plain text)."""
    if isinstance(packed, Mapping):
        if "num" in packed:
            return Number(float(packed["num"]), str(packed.get("spec", "g")))
        params = {name: unpack(value) for name, value in (packed.get("p") or {}).items()}
        return Says(str(packed["t"]), packed.get("pl"), packed.get("n"), **params)
    return "" if packed is None else str(packed)
