"""What a wording judge returns: whether its rule fires, and the words that decided.

The coach's sentences are `headway.words.Says`: English text that keeps its message id
and parameters, so a page can say it again in its reader's language (`headway.speech`)
while this core imports no Django.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from headway.words import Number as Number
from headway.words import Says as Says
from headway.words import _ as _
from headway.words import _rebuild as _rebuild  # findings pickled before the move unpickle
from headway.words import joined as joined
from headway.words import ngettext as ngettext


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
