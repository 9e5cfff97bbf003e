"""The worker's data-source step: claim due sources atomically, fetch them, store each.

Claims work like deliveries (notify/delivery.py), through headway.claims (which
tracked initiatives share): in one transaction, select due rows (`enabled`,
`next_attempt_at <= now`, no live lease) with `SELECT … FOR UPDATE SKIP LOCKED` on
PostgreSQL, then one `UPDATE … WHERE id IN (…) AND <still due>` stamps this claim's
token, a lease and the slot it is for. On SQLite the IMMEDIATE transaction
serialises writers and the conditional UPDATE alone decides. Only rows carrying the token
are fetched, and `actions.store` writes only while the row still carries it, so two
workers never fetch one source twice for one slot. A worker killed mid-fetch leaves a
claim whose lease runs out; the next worker fetches that slot again, which the idempotent
ingestion makes harmless.

The network half of each batch runs in a small thread pool (HEADWAY_SOURCE_CONCURRENCY),
the database half in the worker's own thread, one transaction per source.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from headway.claims import claim_rows, fetch_lease_seconds, new_token
from headway.database import when_unlocked
from headway.sources import schedule as timing
from headway.sources.actions import Collected, FetchResult, collect, store_batch
from headway.sources.models import Source, SourceFetch

logger = logging.getLogger("headway.sources")

BATCH = 16
HISTORY_DAYS = 90
_pruned_at = 0.0


@dataclass
class FetchStats:
    claimed: int = 0
    stored: int = 0
    failed: int = 0
    held: int = 0
    lost: int = 0

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def due(now: datetime) -> Q:
    return Q(enabled=True, next_attempt_at__lte=now) & (
        Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    )


def claim(
    worker_id: str, *, batch: int = BATCH, lease: float | None = None
) -> tuple[str, list[Source]]:
    """Atomically take up to `batch` due sources; returns the claim token and the rows."""
    token = new_token(worker_id)
    mine = claim_rows(
        Source,
        due,
        token=token,
        batch=batch,
        lease=lease if lease is not None else fetch_lease_seconds(),
        stamp={"claimed_slot": F("due_slot")},
        select_related=("kpi", "connection"),
    )
    return token, mine


def fetch_due(
    *,
    worker_id: str,
    batch: int = BATCH,
    lease: float | None = None,
    stopping: Callable[[], bool] | None = None,
    limit: int | None = None,
) -> FetchStats:
    """Fetch every due source, batch after batch, until none is due (or `stopping()`)."""
    stats = FetchStats()
    workers = max(1, int(settings.HEADWAY_SOURCE_CONCURRENCY))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="source") as pool:
        while not (stopping is not None and stopping()):
            if limit is not None and stats.claimed >= limit:
                break
            token, sources = claim(worker_id, batch=batch, lease=lease)
            if not sources:
                break
            stats.claimed += len(sources)

            now = timezone.now()
            slots = {
                s.pk: timing.latest_slot(s.schedule, s.kpi.cadence, s.claimed_slot, now)
                for s in sources
            }

            fetched = list(pool.map(_network, sources, [slots[s.pk] for s in sources]))
            items = [(s, c, slots[s.pk]) for s, c in zip(sources, fetched, strict=True)]
            try:
                results = _store(items, token, worker_id)
            except Exception:
                # Never let a batch stop the pass; its leases run out and it is retried.
                logger.exception("Storing a batch of %s fetches failed", len(items))
                stats.lost += len(items)
                continue
            for result in results:
                stats.add(result.outcome)
    prune()
    return stats


def _network(source: Source, slot: datetime) -> Collected:
    """The network half of one fetch (runs in the pool; touches no Headway table)."""
    return collect(source.kind, source.config, source.connection, kpi_key=source.kpi.key, slot=slot)


def _store(
    items: list[tuple[Source, Collected, datetime]], token: str, worker_id: str
) -> list[FetchResult]:
    return when_unlocked(lambda: store_batch(items, token=token, worker=worker_id))


def prune(now: datetime | None = None) -> int:
    """Drop fetch records older than 90 days (at most once an hour per process)."""
    global _pruned_at
    if time.monotonic() - _pruned_at < 3600:
        return 0
    _pruned_at = time.monotonic()
    cutoff = (now or timezone.now()) - timedelta(days=HISTORY_DAYS)
    deleted, _ = when_unlocked(lambda: SourceFetch.objects.filter(started_at__lt=cutoff).delete())
    return deleted
