"""What every action does to write one row: known fields only, real changes only, an author."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.db.models import Model


def refuse_unknown(fields: Iterable[str], allowed: frozenset[str]) -> None:
    """Raise TypeError naming the fields an action does not take (a caller's bug, not input)."""
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise TypeError(f"unknown fields: {', '.join(unknown)}")


def real_changes(instance: Model, changes: Mapping[str, Any]) -> dict[str, Any]:
    """The changes whose value differs from the instance's: giving what is there is no change."""
    return {name: value for name, value in changes.items() if getattr(instance, name) != value}


def save_checked(instance: Model, *, by: Any) -> None:
    """Validate (fields, `clean`, constraints) and save, with `by` as the history's author."""
    instance._history_user = by  # type: ignore[attr-defined]
    instance.full_clean()
    instance.save()


def reaches(parents: Mapping[int, int | None], start: int | None, target: int) -> bool:
    """Whether walking up `parents` from `start` meets `target` (setting it as parent loops)."""
    node = start
    seen: set[int] = set()
    while node is not None and node not in seen:
        if node == target:
            return True
        seen.add(node)
        node = parents.get(node)
    return False
