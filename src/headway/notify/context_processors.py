"""`inbox_unread` in every template: the signed-in person's unread notifications.

Lazy: the count query runs only on pages that show it.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from headway.notify.models import Notification


def unread_count(request: HttpRequest) -> int:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return 0
    return Notification.objects.filter(person_id=user.pk, read_at__isnull=True).count()


def notifications(request: HttpRequest) -> dict[str, Any]:
    return {"inbox_unread": SimpleLazyObject(lambda: unread_count(request))}
