"""What a wording judge returns: whether its rule fires, and the words that decided."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


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
