"""Keys made from titles and names: stable, readable and free."""

from __future__ import annotations

from typing import Any

from django.db.models import Model
from django.utils.text import slugify


def free_key(model: type[Model], base: str, taken: set[str] | None = None, **scope: Any) -> str:
    """A key made from `base` that no row of `model` (within `scope`) nor `taken` has yet.

    One query, whatever the number of keys alike; an empty slug becomes "item".
    """
    key = slugify(base)[:60].strip("-") or "item"
    used = set(
        model._default_manager.filter(key__startswith=key, **scope).values_list("key", flat=True)
    ) | (taken or set())
    candidate, n = key, 2
    while candidate in used:
        candidate, n = f"{key}-{n}", n + 1
    return candidate
