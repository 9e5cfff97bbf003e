"""What the database needs when Headway writes a lot at once."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from functools import partial
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


#: Rows per executemany of `insert_rows`; rows per INSERT ... RETURNING of `insert_objects`.
INSERT_ROWS = 20_000
RETURNING_ROWS = 500

# Columns whose Python values the drivers take as they are (Django's preparation of them is
# a no-op or a cast): the bulk inserts below skip it, which is most of bulk_create's cost.
_PLAIN = frozenset(
    {"AutoField", "BigAutoField", "BigIntegerField", "BooleanField", "CharField",
     "EmailField", "FloatField", "ForeignKey", "IntegerField", "OneToOneField",
     "PositiveBigIntegerField", "PositiveIntegerField", "PositiveSmallIntegerField",
     "SlugField", "SmallIntegerField", "TextField", "URLField"}
)  # fmt: skip


def _preparers(fields: Sequence[Field[Any, Any]]) -> list[Callable[[Any], Any] | None]:
    """Per field: None (the value as it is), a cached datetime adapter, or the field's own
    preparation (dates, JSON, decimals)."""
    adapt = connection.ops.adapt_datetimefield_value
    found: list[Callable[[Any], Any] | None] = []
    for field in fields:
        kind = field.get_internal_type()
        if kind in _PLAIN:
            found.append(None)
        elif kind == "DateTimeField":
            cache: dict[Any, Any] = {None: None}

            def moment(value: Any, cache: dict[Any, Any] = cache) -> Any:
                text = cache.get(value, cache)
                if text is cache:
                    text = cache[value] = adapt(value)
                return text

            found.append(moment)
        else:
            found.append(partial(_field_prep, field))
    return found


def _field_prep(field: Field[Any, Any], value: Any) -> Any:
    return field.get_db_prep_save(value, connection)


def _prepared(row: Sequence[Any], preparers: Sequence[Callable[[Any], Any] | None]) -> list[Any]:
    return [
        value if prepare is None else prepare(value)
        for value, prepare in zip(row, preparers, strict=True)
    ]


def _concrete(model: type[Model], names: Sequence[str]) -> list[Field[Any, Any]]:
    fields: list[Field[Any, Any]] = []
    for name in names:
        found = model._meta.get_field(name)
        assert isinstance(found, Field)
        fields.append(found)
    return fields


def insert_rows(model: type[Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """INSERT ``rows`` (values of ``fields``, by attribute name) with one prepared statement
    run over them; returns how many were written.

    For bulk loads of many plain rows: ``bulk_create`` builds a model instance per row and
    prepares every value through its field, which took most of an import's 150,000
    check-ins. Plain values go as they are, datetimes are adapted once per distinct moment,
    anything else by its field. No signals, no defaults: every column without a database
    default is in ``fields``.
    """
    meta = model._meta
    quote = connection.ops.quote_name
    concrete = _concrete(model, fields)
    preparers = _preparers(concrete)
    columns = ", ".join(quote(str(f.column)) for f in concrete)
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) "
        f"VALUES ({', '.join(['%s'] * len(concrete))})"
    )
    written = 0
    batch: list[list[Any]] = []
    with connection.cursor() as cursor:
        for row in rows:
            batch.append(_prepared(row, preparers))
            if len(batch) >= INSERT_ROWS:
                cursor.executemany(sql, batch)
                written += len(batch)
                batch.clear()
        if batch:
            cursor.executemany(sql, batch)
            written += len(batch)
    return written


def insert_objects[M: Model](model: type[M], objs: Sequence[M]) -> list[M]:
    """``bulk_create`` of new rows (no primary key yet) at a fraction of its cost: each
    field's ``pre_save`` (auto_now and the like) as bulk_create runs it, values prepared as
    `insert_rows` does, then INSERT ... RETURNING in batches sets each row's primary key.
    No signals. Falls back to ``bulk_create`` where the database cannot return the keys.
    """
    if not objs:
        return list(objs)
    if not connection.features.can_return_rows_from_bulk_insert:  # pragma: no cover
        return model._default_manager.bulk_create(objs, batch_size=RETURNING_ROWS)
    meta = model._meta
    pk = meta.pk
    assert pk is not None
    fields = [f for f in meta.concrete_fields if f is not pk]
    preparers = _preparers(fields)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(f.column)) for f in fields)
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(objs), RETURNING_ROWS):
            chunk = objs[start : start + RETURNING_ROWS]
            params: list[Any] = []
            for obj in chunk:
                params.extend(_prepared([f.pre_save(obj, True) for f in fields], preparers))
            cursor.execute(
                f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES "
                f"{', '.join([one] * len(chunk))} RETURNING {quote(str(pk.column))}",
                params,
            )
            for obj, (key,) in zip(chunk, cursor.fetchall(), strict=True):
                setattr(obj, pk.attname, key)
                obj._state.adding = False
                obj._state.db = connection.alias
    return list(objs)


def insert_history(
    model: type[Model], objs: Sequence[Model], *, reason: str, created: bool = True
) -> int:
    """The simple-history rows of ``objs`` just created (``+``) or changed (``~``), as
    ``bulk_history_create`` writes them (its user, the tracked fields, the reason), through
    `insert_rows`; one moment for the whole batch."""
    from django.utils import timezone

    history = model.history.model  # type: ignore[attr-defined]
    tracked = [f.attname for f in history.tracked_fields]
    moment = timezone.now()
    kind = "+" if created else "~"
    names = [*tracked, "history_date", "history_change_reason", "history_type", "history_user_id"]
    user = history.get_default_history_user
    rows = (
        [
            *(getattr(obj, name) for name in tracked),
            moment,
            reason,
            kind,
            getattr(user(obj), "pk", None),
        ]
        for obj in objs
    )
    return insert_rows(history, names, rows)
