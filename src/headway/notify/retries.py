"""How often and how soon a failed e-mail or webhook is tried again (notifications, outbox).

Its own module so that the outbox and the deliveries share the rule without importing each
other (docs/notifications.md, HEADWAY_NOTIFY_MAX_ATTEMPTS and HEADWAY_NOTIFY_RETRY_SECONDS).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

MAX_BACKOFF = timedelta(hours=6)


def max_attempts() -> int:
    return int(getattr(settings, "HEADWAY_NOTIFY_MAX_ATTEMPTS", 6))


def backoff(attempts: int) -> timedelta:
    """Wait before attempt `attempts + 1`: 30 s, 1 min, 2 min, 4 min, … (at most 6 h)."""
    base = float(getattr(settings, "HEADWAY_NOTIFY_RETRY_SECONDS", 30))
    return min(timedelta(seconds=base * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)
