"""Django Tasks of the notify app (run by `headway worker`, or by django_tasks_db's db_worker)."""

from __future__ import annotations

import os
from datetime import timedelta

from django.db.models import Min
from django.tasks import task
from django.utils import timezone

from headway.notify.delivery import drain
from headway.notify.models import Delivery, DeliveryStatus


@task()
def deliver(event_ids: list[int]) -> dict[str, int]:
    """Send the pending deliveries of these events; queued in the events' transaction.

    Whatever waits for a back-off is queued again for when it is due, so a deployment
    that runs only `db_worker` retries too. Claims are atomic, so this task and the
    worker's own polling never send one delivery twice.
    """
    stats = drain(worker_id=f"task:{os.getpid()}", event_ids=event_ids)
    waiting = Delivery.objects.filter(
        event_id__in=event_ids, status=DeliveryStatus.PENDING
    ).aggregate(first=Min("next_attempt_at"))["first"]
    if waiting is not None:
        run_after = max(waiting, timezone.now() + timedelta(seconds=1))
        deliver.using(run_after=run_after).enqueue(event_ids=event_ids)
    return stats.as_dict()
