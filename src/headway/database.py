"""What the database needs when Headway writes a lot at once."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from django.db import OperationalError, connection
from django.db.models import Field, Model

# Fewer rows than this do not move the planner's view of a table enough to matter.
BULK_ROWS = 10_000


def refresh_statistics() -> None:
    """Let PostgreSQL re-learn table sizes and value spreads (ANALYZE) after a bulk load.

    Autovacuum would do it within minutes; until then the planner takes the freshly loaded
    tables for empty and picks slow plans (the large organisation's pages ran up to twice as
    slow). SQLite plans without statistics and is left as it is.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def update_by_pk(model: type[Model], rows: Sequence[Model], fields: Sequence[str]) -> None:
    """Write ``fields`` of ``rows`` with one UPDATE by primary key run over every row.

    ``bulk_update`` builds a CASE per field over batches of rows, which takes seconds for
    a few thousand rows on SQLite; one prepared statement run with executemany does not.
    Values are prepared by their fields exactly as ``save()`` would (no signals, as with
    ``bulk_update``).
    """
    if not rows:
        return
    meta = model._meta
    quote = connection.ops.quote_name
    concrete: list[Field[Any, Any]] = []
    for name in fields:
        found = meta.get_field(name)
        assert isinstance(found, Field)
        concrete.append(found)
    sets = ", ".join(f"{quote(str(f.column))} = %s" for f in concrete)
    pk = meta.pk
    assert pk is not None
    params = [
        [f.get_db_prep_save(getattr(row, f.attname), connection) for f in concrete] + [row.pk]
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {quote(meta.db_table)} SET {sets} WHERE {quote(str(pk.column))} = %s", params
        )


LOCKED_RETRIES = 400


def when_unlocked[T](operation: Callable[[], T]) -> T:
    """Run a short database operation, trying again while SQLite says "locked".

    A file database waits for its busy timeout by itself; the shared-cache in-memory
    database of the test runner answers "table is locked" at once instead.
    """
    for attempt in range(LOCKED_RETRIES):
        try:
            return operation()
        except OperationalError as exc:
            if "locked" not in str(exc).lower() or attempt == LOCKED_RETRIES - 1:
                raise
            time.sleep(0.005 + 0.01 * (attempt % 5))
    raise AssertionError("unreachable")
