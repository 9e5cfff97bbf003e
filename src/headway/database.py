"""What the database needs when Headway writes a lot at once."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
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


#: Rows per executemany of `insert_rows` (bounds the parameters held at once).
INSERT_ROWS = 20_000


def insert_rows(model: type[Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """INSERT ``rows`` (values of ``fields``, by attribute name) with one prepared statement
    run over them; returns how many were written.

    For bulk loads of many plain rows: ``bulk_create`` builds a model instance per row and
    prepares every value through its field, which took most of an import's 150,000
    check-ins. Values must be what the columns take as they are (ids, numbers, texts,
    booleans, None) or aware datetimes, which are adapted as Django stores them (once per
    distinct moment). No signals, no defaults: every column without one is in ``fields``.
    """
    meta = model._meta
    quote = connection.ops.quote_name
    columns: list[str] = []
    moments: list[int] = []
    for index, name in enumerate(fields):
        found = meta.get_field(name)
        assert isinstance(found, Field)
        columns.append(quote(str(found.column)))
        if found.get_internal_type() == "DateTimeField":
            moments.append(index)
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    adapt = connection.ops.adapt_datetimefield_value
    adapted: dict[Any, Any] = {None: None}
    written = 0
    batch: list[list[Any]] = []
    with connection.cursor() as cursor:
        for row in rows:
            values = list(row)
            for index in moments:
                moment = values[index]
                text = adapted.get(moment, adapted)
                if text is adapted:
                    text = adapted[moment] = adapt(moment)
                values[index] = text
            batch.append(values)
            if len(batch) >= INSERT_ROWS:
                cursor.executemany(sql, batch)
                written += len(batch)
                batch.clear()
        if batch:
            cursor.executemany(sql, batch)
            written += len(batch)
    return written
