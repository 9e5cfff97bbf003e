"""What a wording judge returns: whether its rule fires, and the words that decided.

The coach's sentences are English text that remembers how it was made (`Says`): its
message id and parameters, so a page can say it again in its reader's language through
Django's catalogue (`coach.speech`) while this core imports no Django. `_` and `ngettext`
are named as gettext's so that `makemessages` collects their message ids.
"""

from __future__ import annotations

from collections.abc import Iterable
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


def joined(items: Iterable[str]) -> Says:
    """ "a", "a and b", "a, b and c": the conjunction said in the reader's language."""
    items = list(items)
    if len(items) == 1:
        return Says("%(item)s", item=items[0])  # nothing to translate: not a message id
    listed: str = items[0]
    for item in items[1:-1]:
        # Each item keeps its own translation; the comma is not a message id.
        listed = Says("%(listed)s, %(item)s", listed=listed, item=item)
    return _("%(items)s and %(last)s", items=listed, last=items[-1])


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a rule fires, and a short human reason naming what was seen."""

    fires: bool
    reason: str

    def __bool__(self) -> bool:
        return self.fires


def quote(words: Iterable[str], limit: int = 4) -> str:
    """ "a", "b", "c" — each word once, at most `limit` of them."""
    items = list(dict.fromkeys(words))
    shown = ", ".join(f'"{w}"' for w in items[:limit])
    return shown + (", …" if len(items) > limit else "")
