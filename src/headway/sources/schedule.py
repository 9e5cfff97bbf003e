"""When a source fetches: its own cron schedule, or its KPI's review cadence.

Cron expressions (minute hour day month weekday, parsed by cronsim) are read in the
organisation's time zone (TIME_ZONE). Without one, a source follows its KPI's cadence:
weekly on Mondays, monthly on the 1st, quarterly on the 1st of Jan/Apr/Jul/Oct, at 06:00.
A missed slot (the worker was down) is not fetched once per missed slot: the next fetch is
for the latest slot due, then the schedule goes on from now.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from cronsim import CronSim
from django.conf import settings
from django.utils.translation import gettext

from headway import speech
from headway.notify.text import CADENCE_SAID
from headway.sources.kinds.base import cron_problem

CADENCE_SCHEDULES = {
    "weekly": "0 6 * * 1",
    "monthly": "0 6 1 * *",
    "quarterly": "0 6 1 1,4,7,10 *",
}
DEFAULT_CADENCE = "monthly"
MAX_BACKOFF = timedelta(hours=6)


def effective(schedule: str, cadence: str) -> str:
    """The cron expression a source follows."""
    return schedule.strip() or CADENCE_SCHEDULES.get(cadence or DEFAULT_CADENCE, "0 6 1 * *")


def schedule_problem(schedule: str) -> str | None:
    """Why a cron expression is not one (None: it is, or it is empty)."""
    return cron_problem(schedule)


def next_slot(schedule: str, cadence: str, after: datetime) -> datetime:
    """The first scheduled moment strictly after `after` (UTC)."""
    zone = ZoneInfo(settings.TIME_ZONE)
    start = after.astimezone(zone).replace(microsecond=0)
    moment: datetime = next(CronSim(effective(schedule, cadence), start))
    return moment.astimezone(UTC)


def latest_slot(schedule: str, cadence: str, due: datetime | None, now: datetime) -> datetime:
    """The latest scheduled moment at or before `now`, from the slot that was due.

    After a worker outage the fetch is for the most recent slot, not the first one missed.
    """
    if due is None or due > now:
        return now.replace(microsecond=0)
    current = due
    for _ in range(1000):
        upcoming = next_slot(schedule, cadence, current)
        if upcoming > now:
            return current
        current = upcoming
    return now.replace(microsecond=0)


def retry_delay(attempts: int) -> timedelta:
    """The wait after `attempts` consecutive failures: 1 min, 2, 4, … (at most 6 h)."""
    base = float(settings.HEADWAY_SOURCE_RETRY_SECONDS)
    return min(timedelta(seconds=base * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def describe(schedule: str, cadence: str) -> str:
    """A short text for pages: the cron expression, or the cadence it follows."""
    if schedule.strip():
        return f"cron {schedule.strip()} ({settings.TIME_ZONE})"
    cadence = cadence or DEFAULT_CADENCE
    return gettext("the KPI's cadence (%(cadence)s: %(cron)s)") % {
        "cadence": speech.spoken(CADENCE_SAID.get(cadence, cadence)),
        "cron": effective("", cadence),
    }
