"""Template filters of the discussion: thread links and comment counts."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

register = template.Library()


@register.filter
def lookup(mapping: dict[Any, Any] | None, key: Any) -> Any:
    """`counts|lookup:id`: a value of a dict, or 0."""
    return (mapping or {}).get(key, 0)


@register.filter
def checkin_thread(checkin_id: int) -> str:
    return reverse("discussion", args=[f"checkins/{checkin_id}"])


@register.filter
def kr_thread(kr_key: str, objective_key: str) -> str:
    return reverse("discussion", args=[f"objectives/{objective_key}/key_results/{kr_key}"])
