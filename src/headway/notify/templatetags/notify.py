"""`{% load notify %}{% unread_count %}`: the unread notifications of the signed-in person."""

from __future__ import annotations

from typing import Any

from django import template

from headway.notify.context_processors import unread_count as count_for

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_count(context: dict[str, Any]) -> int:
    request = context.get("request")
    return 0 if request is None else count_for(request)
