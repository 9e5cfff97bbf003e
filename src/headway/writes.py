"""What every action does to write one row: known fields only, real changes only, an author."""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from django.db import OperationalError, connection

if TYPE_CHECKING:
    from django.db.models import Model


def refuse_unknown(fields: Iterable[str], allowed: frozenset[str]) -> None:
    """Raise TypeError naming the fields an action does not take (a caller's bug, not input)."""
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise TypeError(f"unknown fields: {', '.join(unknown)}")


def real_changes(instance: Model, changes: Mapping[str, Any]) -> dict[str, Any]:
    """The changes whose value differs from the instance's: giving what is there is no change."""
    return {name: value for name, value in changes.items() if getattr(instance, name) != value}


def save_checked(instance: Model, *, by: Any) -> None:
    """Validate (fields, `clean`, constraints) and save, with `by` as the history's author."""
    instance._history_user = by  # type: ignore[attr-defined]
    instance.full_clean()
    instance.save()


def reaches(parents: Mapping[int, int | None], start: int | None, target: int) -> bool:
    """Whether walking up `parents` from `start` meets `target` (setting it as parent loops)."""
    node = start
    seen: set[int] = set()
    while node is not None and node not in seen:
        if node == target:
            return True
        seen.add(node)
        node = parents.get(node)
    return False


#: PostgreSQL's serialization_failure and deadlock_detected: the transaction was rolled
#: back whole, so running it again is safe.
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
CONFLICT_ATTEMPTS = 5


def _retryable(exc: OperationalError) -> bool:
    cause = exc.__cause__
    return getattr(cause, "sqlstate", None) in RETRYABLE_SQLSTATES


def retry_on_conflict[**P, R](action: Callable[P, R]) -> Callable[P, R]:
    """Run an action's transaction again when the database chose it as a deadlock's victim
    or failed it for serialization, instead of answering 500.

    Only an outermost transaction is retried (inside another one the whole outer
    transaction is lost, so the error goes up to whoever owns it). After-commit hooks of a
    rolled-back attempt never ran, so nothing is announced twice.
    """

    @functools.wraps(action)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        if connection.in_atomic_block:
            return action(*args, **kwargs)
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            try:
                return action(*args, **kwargs)
            except OperationalError as exc:
                if attempt == CONFLICT_ATTEMPTS or not _retryable(exc):
                    raise
                time.sleep(
                    random.uniform(0.01, 0.05) * attempt
                )  # jitter: retries of one deadlock spread out
        raise AssertionError("unreachable")

    return run
