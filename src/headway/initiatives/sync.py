"""The worker's tracker step: claim due tracked initiatives, read their issues, store each.

Claims are the data sources' (headway.claims): due rows (`next_attempt_at <= now`, no
live lease, an open cycle) are taken with `SELECT … FOR UPDATE SKIP LOCKED` on
PostgreSQL and a conditional UPDATE that stamps this claim's token and a lease, so two
workers never sync one initiative at once. The network half runs in a small thread pool
(HEADWAY_SOURCE_CONCURRENCY), each result is stored in its own transaction by
`actions.store_sync`, which writes only while the row still carries the token.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Q

from headway.claims import claim_rows, fetch_lease_seconds, new_token
from headway.database import when_unlocked
from headway.initiatives import actions
from headway.initiatives.models import TrackedIssue
from headway.okrs.models import CycleState

logger = logging.getLogger("headway.initiatives")

BATCH = 16


@dataclass
class SyncStats:
    claimed: int = 0
    changed: int = 0
    unchanged: int = 0
    failed: int = 0
    lost: int = 0

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def due(now: datetime) -> Q:
    return (
        Q(next_attempt_at__lte=now)
        & (Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        & ~Q(initiative__key_result__objective__cycle__state=CycleState.CLOSED)
    )


def claim(
    worker_id: str, *, batch: int = BATCH, lease: float | None = None
) -> tuple[str, list[TrackedIssue]]:
    """Atomically take up to `batch` due tracked initiatives: the claim token and the rows."""
    token = new_token(worker_id)
    mine = claim_rows(
        TrackedIssue,
        due,
        token=token,
        batch=batch,
        lease=lease if lease is not None else fetch_lease_seconds(),
        select_related=("tracker", "initiative"),
    )
    return token, mine


def sync_due(
    *,
    worker_id: str,
    batch: int = BATCH,
    lease: float | None = None,
    stopping: Callable[[], bool] | None = None,
) -> SyncStats:
    """Sync every due tracked initiative, batch after batch, until none is due."""
    stats = SyncStats()
    workers = max(1, int(settings.HEADWAY_SOURCE_CONCURRENCY))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tracker") as pool:
        while not (stopping is not None and stopping()):
            token, rows = claim(worker_id, batch=batch, lease=lease)
            if not rows:
                break
            stats.claimed += len(rows)
            answers = list(pool.map(actions.collect_sync, rows))
            for tracked, synced in zip(rows, answers, strict=True):
                try:
                    outcome = _store(tracked, synced, token)
                except Exception:
                    # Never let one initiative stop the pass; its lease runs out, it is retried.
                    logger.exception("Storing the sync of tracked issue %s failed", tracked.pk)
                    outcome = "lost"
                stats.add(outcome)
    return stats


def _store(tracked: TrackedIssue, synced: actions.Synced, token: str) -> str:
    return when_unlocked(lambda: actions.store_sync(tracked, synced, token=token))
