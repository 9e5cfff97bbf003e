"""The version of what the whole-cycle tree and scores show: a cached body is valid while it holds.

`api/bulk.py` keeps a rendered body per reader for as long as this version stays the same,
so the version must change with every committed write the body can depend on, whatever
path made it (the actions, the importer's bulk inserts, the large demo's loader, SCIM, the
admin, a raw `UPDATE`). Both databases get it from the database itself, not from Python
code that a new write path could forget:

- **SQLite**: one row, `api_readversion`, that triggers on every table the bodies read
  (objectives, key results, contributions, and the team, person and KPI columns they
  show) change in the same transaction as the write: a counter and a random token (so
  a number reused after a rolled-back write is still a new version). SQLite has one
  writer at a time, so the shared row costs no lock contention.
- **PostgreSQL**: statement-level triggers on the same tables add a row for their
  transaction to `api_readchange` (`ON CONFLICT DO NOTHING`: one per transaction), and the
  version is the sum of the rows' weights with the greatest transaction id. Each
  committed writing transaction adds one, a rolled-back one nothing, so the sum grows with
  every commit, and equal sums mean no commit in between. Rows of different transactions
  never wait for each other, unlike one shared counter row, which would serialise every
  concurrent writer (and could deadlock against the rows they lock). Past `PRUNE_AT` rows
  a reader folds the older rows' weights into the newest one, which keeps the sum.

Inside a transaction (`atomic`) there is no version: a transaction's own uncommitted
writes are not what the version names, so nothing is cached or read from the cache there.
`install` is idempotent and runs after every `migrate` (`apps.py`): on SQLite a migration
that rebuilds a table drops its triggers, and `install` puts them back and moves the
version on, since writes may have been missed meanwhile.
"""

from __future__ import annotations

from django.db import DatabaseError
from django.db.backends.base.base import BaseDatabaseWrapper

TABLE = "api_readversion"

# Table -> the columns whose change changes a body (None: every column, and every
# insert and delete). Team: key and team filter (parent), name (order); person: the
# owner's e-mail; KPI: a key result's `kpi` key.
WATCHED: dict[str, tuple[str, ...] | None] = {
    "okrs_objective": None,
    "okrs_keyresult": None,
    "okrs_objectivecontributor": None,
    "teams_team": ("key", "name", "parent_id"),
    "teams_person": ("email",),
    "kpis_kpi": ("key",),
}

_BUMP = f"UPDATE {TABLE} SET n = n + 1, token = random() WHERE id = 1;"


def _trigger_names(table: str) -> list[str]:
    return [f"{TABLE}_{table}_{event}" for event in ("ai", "au", "ad")]


def _sqlite_triggers(table: str, columns: tuple[str, ...] | None) -> list[str]:
    insert, update, delete = _trigger_names(table)
    of = f" OF {', '.join(columns)}" if columns else ""
    return [
        f"CREATE TRIGGER IF NOT EXISTS {insert} AFTER INSERT ON {table} BEGIN {_BUMP} END",
        f"CREATE TRIGGER IF NOT EXISTS {update} AFTER UPDATE{of} ON {table} BEGIN {_BUMP} END",
        f"CREATE TRIGGER IF NOT EXISTS {delete} AFTER DELETE ON {table} BEGIN {_BUMP} END",
    ]


CHANGES = "api_readchange"
PRUNE_AT = 1000
_PG_BUMP = f"{TABLE}_bump"


def _install_postgresql(connection: BaseDatabaseWrapper) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {CHANGES} "
            "(xid xid8 PRIMARY KEY, weight bigint NOT NULL DEFAULT 1)"
        )
        cursor.execute(
            f"CREATE OR REPLACE FUNCTION {_PG_BUMP}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN INSERT INTO {CHANGES} (xid) VALUES (pg_current_xact_id()) "
            "ON CONFLICT DO NOTHING; RETURN NULL; END $$"
        )
        for table, columns in WATCHED.items():
            update = f"UPDATE OF {', '.join(columns)}" if columns else "UPDATE"
            cursor.execute(
                f"CREATE OR REPLACE TRIGGER {TABLE}_{table} "
                f"AFTER INSERT OR DELETE OR {update} OR TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {_PG_BUMP}()"
            )
        cursor.execute(f"INSERT INTO {CHANGES} (xid) VALUES (pg_current_xact_id()) "
                       "ON CONFLICT DO NOTHING")  # fmt: skip


def _prune_postgresql(connection: BaseDatabaseWrapper) -> None:
    """Fold every row but the newest into it: the sum, and so the version, stays."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH top AS (SELECT max(xid) AS xid FROM {CHANGES}), "
            f"gone AS (DELETE FROM {CHANGES} WHERE xid < (SELECT xid FROM top) RETURNING weight) "
            f"UPDATE {CHANGES} SET weight = weight + (SELECT coalesce(sum(weight), 0) FROM gone) "
            "WHERE xid = (SELECT xid FROM top)"
        )


def install(connection: BaseDatabaseWrapper) -> None:
    """Create or repair the version's table and triggers."""
    if connection.vendor == "postgresql":
        _install_postgresql(connection)
        return
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} "
            "(id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL, token INTEGER NOT NULL)"
        )
        cursor.execute(f"INSERT OR IGNORE INTO {TABLE} (id, n, token) VALUES (1, 0, random())")
        for table, columns in WATCHED.items():
            for statement in _sqlite_triggers(table, columns):
                cursor.execute(statement)
        # Writes made while a trigger was missing (a table rebuilt by a migration) were
        # not counted: whatever was cached before is not to be trusted.
        cursor.execute(_BUMP)


def uninstall(connection: BaseDatabaseWrapper) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in WATCHED:
                cursor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_{table} ON {table}")
            cursor.execute(f"DROP FUNCTION IF EXISTS {_PG_BUMP}()")
            cursor.execute(f"DROP TABLE IF EXISTS {CHANGES}")
        return
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for table in WATCHED:
            for name in _trigger_names(table):
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
        cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")


def current(connection: BaseDatabaseWrapper) -> str | None:
    """The version now, or None when there is none to trust (inside a transaction, or on
    SQLite without the version's table): then nothing may be cached."""
    if connection.in_atomic_block:
        return None
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            try:
                cursor.execute(
                    f"SELECT coalesce(sum(weight), 0) || ':' || coalesce(max(xid)::text, ''), "
                    f"count(*) FROM {CHANGES}"
                )
            except DatabaseError:  # not installed: writes are not counted
                return None
            version, rows = cursor.fetchone()
            if rows > PRUNE_AT:
                _prune_postgresql(connection)
            return f"postgresql:{version}"
        if connection.vendor == "sqlite":
            try:
                cursor.execute(f"SELECT n || ':' || token FROM {TABLE} WHERE id = 1")
            except DatabaseError:  # not installed: writes are not counted
                return None
        else:
            return None
        row = cursor.fetchone()
    return f"{connection.vendor}:{row[0]}" if row is not None else None
