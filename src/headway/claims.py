"""Atomic claims of due rows by workers: data sources and tracked initiatives share this.

In one transaction, select the due rows (`SELECT … FOR UPDATE SKIP LOCKED` on
PostgreSQL), then one `UPDATE … WHERE id IN (…) AND <still due>` stamps this claim's
token and a lease. On SQLite the IMMEDIATE transaction serialises writers and the
conditional UPDATE alone decides. Only the rows that carry the token afterwards are
this worker's, so two workers never take one row at once; a worker killed mid-way leaves
a claim whose lease runs out, and the row is due again.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import connection as db
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from headway.database import when_unlocked


def fetch_lease_seconds() -> float:
    """A claim's lease for a batch of outside calls (data sources, trackers): long enough
    for a batch of slow answers, twice the timeout plus a minute."""
    from django.conf import settings

    return 2 * float(settings.HEADWAY_SOURCE_TIMEOUT) + 60


def new_token(worker_id: str) -> str:
    return f"{worker_id[:80]}/{uuid.uuid4().hex[:12]}"


def claim_rows[M: models.Model](
    model: type[M],
    due: Callable[[datetime], Q],
    *,
    token: str,
    batch: int,
    lease: float,
    order: Sequence[str] = ("next_attempt_at", "id"),
    stamp: dict[str, Any] | None = None,
    select_related: Sequence[str] = (),
) -> list[M]:
    """Take up to `batch` rows matching `due(now)`; returns the rows now carrying `token`.

    The model needs `claimed_by`, `lease_until` and `updated_at`; `stamp` adds fields the
    claim sets as well (e.g. the slot a source's fetch is for).
    """

    def take() -> int:
        now = timezone.now()
        with transaction.atomic():
            candidates = model._default_manager.filter(due(now))
            if db.features.has_select_for_update_skip_locked:
                candidates = candidates.select_for_update(skip_locked=True, of=("self",))
            ids = list(candidates.order_by(*order).values_list("id", flat=True)[:batch])
            if not ids:
                return 0
            return model._default_manager.filter(due(now), id__in=ids).update(
                claimed_by=token,
                lease_until=now + timedelta(seconds=lease),
                updated_at=now,
                **(stamp or {}),
            )

    if not when_unlocked(take):
        return []
    return when_unlocked(
        lambda: list(
            model._default_manager.filter(claimed_by=token)
            .select_related(*select_related)
            .order_by(*order)
        )
    )
