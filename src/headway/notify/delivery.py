"""Claim, send and mark deliveries: the worker's half of "exactly once".

A worker claims due deliveries atomically: `SELECT … FOR UPDATE SKIP LOCKED` on
PostgreSQL (other workers skip the rows instead of waiting), then one
`UPDATE … WHERE id IN (…) AND <still due>` that stamps a claim token and a lease. On
SQLite the claim runs in an IMMEDIATE transaction, which serialises writers, and the
conditional UPDATE alone decides. Only rows carrying this worker's token are sent.

Just before the external send of one row (e-mail, webhook), the worker commits
`send_started_at` on it, conditional on its token and an unexpired lease; if that UPDATE
matches nothing, the row is no longer its own and it does not send. After sending, the
row is marked `sent` by an UPDATE conditional on the token; a failure clears the marker
(the outcome is known) and schedules a retry.

A worker killed between claiming and marking leaves the row `sending`. Once its lease
expired, the next claim decides by the marker: without one the send never started, so
the row is due again and sent normally; with one the message may already have gone out,
so one conditional UPDATE (`status='sending' AND lease expired AND send_started_at IS
NOT NULL`) turns it `uncertain` instead of sending it a second time. Uncertain rows are
listed for admins next to the failed ones, who check the receiver and retry if needed.
E-mail and webhooks are therefore at most once automatically, and every attempt carries
the same idempotency key. The inbox is exactly once by construction (one unique
Notification row, an idempotent database write) and needs no marker.

Failures are retried with exponential back-off (`next_attempt_at`) until
HEADWAY_NOTIFY_MAX_ATTEMPTS; then, or at once for a permanent failure, the row is
marked `failed` and listed for admins.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from headway.database import when_unlocked
from headway.notify.channels import CHANNELS, DeliveryError, SendContext
from headway.notify.models import Delivery, DeliveryStatus
from headway.notify.retries import backoff, max_attempts

logger = logging.getLogger("headway.notify")

DEFAULT_LEASE = 120.0
DEFAULT_BATCH = 100


@dataclass
class Limits:
    """Batch size and lease used when a caller gives none (the worker sets its options here,
    so the delivery task it runs claims with the same lease)."""

    batch: int = DEFAULT_BATCH
    lease: float = DEFAULT_LEASE
    #: Asked between two sends; the worker answers True once it was told to stop.
    stopping: Callable[[], bool] | None = None


LIMITS = Limits()


def due(now: datetime) -> Q:
    """What a worker may claim: pending and due, or claimed by a worker whose lease ran out
    before it started sending (see `interrupted` for the ones that had started)."""
    return Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now) | Q(
        status=DeliveryStatus.SENDING, lease_until__lt=now, send_started_at__isnull=True
    )


def interrupted(now: datetime) -> Q:
    """Claimed by a worker whose lease ran out after it started an external send."""
    return Q(status=DeliveryStatus.SENDING, lease_until__lt=now, send_started_at__isnull=False)


UNCERTAIN_ERROR = (
    "The worker stopped mid-send, so it may have been sent. Not sent again automatically: "
    "check the receiver and retry if it is missing."
)


def mark_interrupted() -> int:
    """Turn the interrupted sends `uncertain` in one conditional UPDATE (never re-sent).

    The condition is re-checked row by row by the database, so when two workers run this
    at once each row changes once; a row whose worker is still alive and finishes later is
    marked by that worker (`_mark_sent` / `_mark_failed` accept `uncertain` rows they hold).
    """

    def update() -> int:
        now = timezone.now()
        return Delivery.objects.filter(interrupted(now)).update(
            status=DeliveryStatus.UNCERTAIN,
            lease_until=None,
            last_error=UNCERTAIN_ERROR,
            updated_at=now,
        )

    count = when_unlocked(update)
    if count:
        logger.warning("Marked uncertain (a stopped worker was interrupted mid-send): %s", count)
    return count


@dataclass
class Claim:
    token: str
    deliveries: list[Delivery]
    lease: float
    started: float
    #: Interrupted sends this claim found and marked `uncertain` instead of taking them.
    uncertain: int = 0

    @property
    def expiring(self) -> bool:
        """Whether too little of the lease is left to start another send safely."""
        return time.monotonic() - self.started > self.lease * 0.8


def claim(
    worker_id: str,
    *,
    batch: int | None = None,
    lease: float | None = None,
    event_ids: Sequence[int] | None = None,
) -> Claim:
    """Atomically take up to `batch` due deliveries for this worker (see the module doc)."""
    batch = batch or LIMITS.batch
    lease = lease or LIMITS.lease
    token = f"{worker_id[:80]}/{uuid.uuid4().hex[:12]}"
    started = time.monotonic()

    def take() -> int:
        now = timezone.now()
        with transaction.atomic():
            candidates = Delivery.objects.filter(due(now))
            if event_ids is not None:
                candidates = candidates.filter(event_id__in=list(event_ids))
            if connection.features.has_select_for_update_skip_locked:
                candidates = candidates.select_for_update(skip_locked=True)
            ids = list(
                candidates.order_by("next_attempt_at", "id").values_list("id", flat=True)[:batch]
            )
            if not ids:
                return 0
            # Conditional on still being due: whatever another worker took meanwhile is left.
            return Delivery.objects.filter(due(now), id__in=ids).update(
                status=DeliveryStatus.SENDING,
                claimed_by=token,
                lease_until=now + timedelta(seconds=lease),
                attempts=F("attempts") + 1,
                updated_at=now,
            )

    uncertain = mark_interrupted()
    if not when_unlocked(take):
        return Claim(token, [], lease, started, uncertain)
    mine = when_unlocked(
        lambda: list(
            Delivery.objects.filter(claimed_by=token, status=DeliveryStatus.SENDING)
            .select_related("event", "person__notify_webhook", "team_webhook")
            .order_by("id")
        )
    )
    return Claim(token, mine, lease, started, uncertain)


def release(claim: Claim, deliveries: Sequence[Delivery]) -> int:
    """Give back claimed deliveries that were not attempted (shutdown, lease running out)."""
    if not deliveries:
        return 0
    return when_unlocked(
        lambda: Delivery.objects.filter(
            pk__in=[d.pk for d in deliveries],
            claimed_by=claim.token,
            status=DeliveryStatus.SENDING,
            send_started_at__isnull=True,
        ).update(
            status=DeliveryStatus.PENDING,
            claimed_by="",
            lease_until=None,
            attempts=F("attempts") - 1,
            updated_at=timezone.now(),
        )
    )


@dataclass
class RunStats:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    released: int = 0
    lost: int = 0
    uncertain: int = 0

    def add(self, other: RunStats) -> None:
        for name in ("claimed", "sent", "retrying", "failed", "released", "lost", "uncertain"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, int]:
        return {
            "claimed": self.claimed,
            "sent": self.sent,
            "retrying": self.retrying,
            "failed": self.failed,
            "released": self.released,
            "lost": self.lost,
            "uncertain": self.uncertain,
        }


#: What the worker holding a row may still mark: its own claim, or that claim turned
#: `uncertain` because its lease ran out mid-send while it was still alive.
HELD = (DeliveryStatus.SENDING, DeliveryStatus.UNCERTAIN)


def _start_send(claim: Claim, delivery: Delivery) -> bool:
    """Commit the "send started" marker of one row, if it is still this claim's.

    Its own short transaction, committed before the message leaves: a worker that dies
    after this point leaves a row the next claim turns `uncertain` instead of re-sending.
    `durable=True` refuses to run inside an outer transaction, where the marker would not
    be committed (and would vanish with a rollback).
    """

    def mark() -> int:
        now = timezone.now()
        with transaction.atomic(durable=True):
            return Delivery.objects.filter(
                pk=delivery.pk,
                claimed_by=claim.token,
                status=DeliveryStatus.SENDING,
                lease_until__gt=now,
            ).update(send_started_at=now, updated_at=now)

    return bool(when_unlocked(mark))


def _mark_sent(claim: Claim, delivery: Delivery) -> bool:
    now = timezone.now()
    return bool(
        when_unlocked(
            lambda: Delivery.objects.filter(
                pk=delivery.pk, claimed_by=claim.token, status__in=HELD
            ).update(
                status=DeliveryStatus.SENT,
                sent_at=now,
                lease_until=None,
                last_error="",
                updated_at=now,
            )
        )
    )


def _mark_failed(claim: Claim, delivery: Delivery, error: DeliveryError) -> str:
    now = timezone.now()
    final = error.permanent or delivery.attempts >= max_attempts()
    status = DeliveryStatus.FAILED if final else DeliveryStatus.PENDING
    updated = when_unlocked(
        lambda: Delivery.objects.filter(
            pk=delivery.pk, claimed_by=claim.token, status__in=HELD
        ).update(
            status=status,
            next_attempt_at=now if final else now + backoff(delivery.attempts),
            lease_until=None,
            # The outcome is known (not delivered): a later claim may send it again.
            send_started_at=None,
            last_error=str(error)[:2000],
            updated_at=now,
        )
    )
    return status if updated else "lost"


def deliver_due(
    *,
    worker_id: str,
    batch: int | None = None,
    lease: float | None = None,
    event_ids: Sequence[int] | None = None,
    stopping: Callable[[], bool] | None = None,
) -> RunStats:
    """Claim one batch, send each delivery through its channel and mark it."""
    stopping = stopping or LIMITS.stopping
    stats = RunStats()
    taken = claim(worker_id, batch=batch, lease=lease, event_ids=event_ids)
    stats.claimed = len(taken.deliveries)
    stats.uncertain = taken.uncertain
    if not taken.deliveries:
        return stats
    context = SendContext()
    try:
        for index, delivery in enumerate(taken.deliveries):
            if taken.expiring or (stopping is not None and stopping()):
                stats.released += release(taken, taken.deliveries[index:])
                break
            channel = CHANNELS[delivery.channel]
            if channel.external and not _start_send(taken, delivery):
                # Our lease ran out before the send started (or another worker took the
                # row): not sending keeps it at most once; a later claim sends it.
                stats.lost += 1
                logger.warning("Delivery %s was not sent: its claim expired", delivery.pk)
                continue
            try:
                channel.send(delivery, context)
            except DeliveryError as error:
                outcome = _mark_failed(taken, delivery, error)
                logger.warning(
                    "Delivery %s (%s to %s) failed, attempt %s: %s → %s",
                    delivery.pk,
                    delivery.channel,
                    delivery.address,
                    delivery.attempts,
                    error,
                    outcome,
                )
                if outcome == DeliveryStatus.FAILED:
                    stats.failed += 1
                elif outcome == DeliveryStatus.PENDING:
                    stats.retrying += 1
                else:
                    stats.lost += 1
                continue
            if _mark_sent(taken, delivery):
                stats.sent += 1
            else:
                # Not ours any more: an admin retried it meanwhile, or (inbox, no marker)
                # another worker took it after our lease ran out and writes it again.
                stats.lost += 1
                logger.warning("Delivery %s was sent after its lease expired", delivery.pk)
    finally:
        context.close()
    return stats


def drain(
    *,
    worker_id: str,
    batch: int | None = None,
    lease: float | None = None,
    event_ids: Sequence[int] | None = None,
    stopping: Callable[[], bool] | None = None,
) -> RunStats:
    """Deliver batch after batch until nothing is due (or `stopping()` says so)."""
    stopping = stopping or LIMITS.stopping
    total = RunStats()
    while not (stopping is not None and stopping()):
        stats = deliver_due(
            worker_id=worker_id, batch=batch, lease=lease, event_ids=event_ids, stopping=stopping
        )
        total.add(stats)
        if stats.claimed == 0:
            break
    return total


RETRYABLE = (DeliveryStatus.FAILED, DeliveryStatus.UNCERTAIN)


def retry_now(deliveries: Sequence[int]) -> int:
    """Put failed or uncertain deliveries back in the queue with a fresh attempt count.

    For admins: an `uncertain` one is retried after checking that the receiver did not get
    it (retrying clears its "send started" marker, so the next claim sends it normally).
    """
    now = timezone.now()
    return Delivery.objects.filter(pk__in=list(deliveries), status__in=RETRYABLE).update(
        status=DeliveryStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        claimed_by="",
        lease_until=None,
        send_started_at=None,
        updated_at=now,
    )
