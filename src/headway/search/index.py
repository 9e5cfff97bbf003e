"""The full-text index of each searchable table, kept in step by the database itself.

Each searchable table gets the full-text index of the database in use:

- **SQLite**: an FTS5 table with external content (the text stays in the table; FTS5
  keeps only the index) and triggers that insert, delete and replace its entries.
- **PostgreSQL**: a `search_vector tsvector` column written by a `BEFORE INSERT OR UPDATE
  OF <text columns>` trigger, with a GIN index on it.

Triggers, not Python: every path that writes these tables (the actions, the importer's
bulk inserts, the large demo's loader, SCIM, the admin) keeps the index right, in the same
transaction as the change, with no code to forget. `install` is idempotent and runs after
every `migrate` (`apps.py`): on SQLite a migration that rebuilds a table drops its
triggers, and `install` then puts them back and rebuilds that index from the table.

Both use the same, language-neutral tokenising (SQLite's `unicode61` with diacritics
removed, PostgreSQL's `simple` configuration: no stemming, since an organisation writes in
its own language) and match every word of a query as a prefix, so "onboard" finds
"onboarding" as it is typed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db.backends.base.base import BaseDatabaseWrapper


@dataclass(frozen=True)
class Indexed:
    """One searchable table: its text columns, most telling first, with their weights."""

    table: str
    columns: tuple[str, ...]
    # bm25 weights on SQLite; on PostgreSQL the first column is weight A, the rest B.
    weights: tuple[float, ...]

    @property
    def fts(self) -> str:
        """The FTS5 table of this table (SQLite)."""
        return f"search_{self.table}"


# Stable kind id -> the table its text comes from (a registry: a new kind is one line
# here, one query in search/query.py).
INDEXED: dict[str, Indexed] = {
    "objective": Indexed("okrs_objective", ("title", "description"), (10.0, 2.0)),
    "key_result": Indexed("okrs_keyresult", ("title",), (10.0,)),
    "checkin": Indexed("okrs_checkin", ("comment",), (1.0,)),
    "kpi": Indexed("kpis_kpi", ("name", "definition", "why", "how"), (10.0, 2.0, 1.0, 1.0)),
    "team": Indexed("teams_team", ("name", "key"), (10.0, 2.0)),
    "person": Indexed("teams_person", ("name", "email"), (10.0, 5.0)),
}

# Search words: letters and digits (any script); everything else separates them.
WORD = re.compile(r"\w+", re.UNICODE)
MAX_WORDS = 8


def words(query: str) -> list[str]:
    """The words of a query, lower-cased, at most MAX_WORDS (underscores separate too)."""
    found = [w for w in WORD.findall(query.replace("_", " ").lower()) if w]
    return found[:MAX_WORDS]


def fts5_query(terms: list[str]) -> str:
    """An FTS5 MATCH expression: every word, as a prefix (quoted: no operator injection)."""
    return " ".join(f'"{term}"*' for term in terms)


def tsquery(terms: list[str]) -> str:
    """A to_tsquery('simple', …) expression: every word, as a prefix."""
    return " & ".join(f"{term}:*" for term in terms)


# ----------------------------------------------------------------------------- SQLite


def _sqlite_triggers(spec: Indexed) -> list[str]:
    cols = ", ".join(spec.columns)
    new = ", ".join(f"new.{c}" for c in spec.columns)
    old = ", ".join(f"old.{c}" for c in spec.columns)
    changed = " OR ".join(f"old.{c} IS NOT new.{c}" for c in spec.columns)
    fts, table = spec.fts, spec.table
    return [
        f"CREATE TRIGGER IF NOT EXISTS {fts}_ai AFTER INSERT ON {table} BEGIN "
        f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new}); END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_ad AFTER DELETE ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old}); END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_au AFTER UPDATE OF {cols} ON {table} "
        f"WHEN {changed} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old}); "
        f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new}); END",
    ]


def _install_sqlite(connection: BaseDatabaseWrapper) -> list[str]:
    rebuilt = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, type FROM sqlite_master WHERE name LIKE 'search_%'")
        present = {name for name, _type in cursor.fetchall()}
        for spec in INDEXED.values():
            triggers = {f"{spec.fts}_ai", f"{spec.fts}_ad", f"{spec.fts}_au"}
            if spec.fts in present and triggers <= present:
                continue
            if spec.fts not in present:
                cursor.execute(
                    f"CREATE VIRTUAL TABLE {spec.fts} USING fts5({', '.join(spec.columns)}, "
                    f"content='{spec.table}', content_rowid='id', "
                    "tokenize='unicode61 remove_diacritics 2', prefix='2 3')"
                )
            for statement in _sqlite_triggers(spec):
                cursor.execute(statement)
            # The index may have missed rows while a trigger was missing: read the table again.
            cursor.execute(f"INSERT INTO {spec.fts}({spec.fts}) VALUES ('rebuild')")
            rebuilt.append(spec.table)
    return rebuilt


def _uninstall_sqlite(connection: BaseDatabaseWrapper) -> None:
    with connection.cursor() as cursor:
        for spec in INDEXED.values():
            for suffix in ("ai", "ad", "au"):
                cursor.execute(f"DROP TRIGGER IF EXISTS {spec.fts}_{suffix}")
            cursor.execute(f"DROP TABLE IF EXISTS {spec.fts}")


# ------------------------------------------------------------------------- PostgreSQL


def pg_vector(spec: Indexed, row: str) -> str:
    """The tsvector expression of a row (`NEW` in the trigger, a table alias in a backfill)."""
    parts = []
    for i, column in enumerate(spec.columns):
        weight = "A" if i == 0 else "B"
        parts.append(
            f"setweight(to_tsvector('simple'::regconfig, coalesce({row}.{column}::text, '')), "
            f"'{weight}')"
        )
    return " || ".join(parts)


def _install_postgresql(connection: BaseDatabaseWrapper) -> list[str]:
    rebuilt = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND column_name = 'search_vector'"
        )
        with_column = {name for (name,) in cursor.fetchall()}
        cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        triggers = {name for (name,) in cursor.fetchall()}
        for spec in INDEXED.values():
            function = f"{spec.table}_search_vector"
            # Only what is missing: an ALTER inside a transaction with pending
            # constraint checks (a test's) is refused.
            if spec.table in with_column and function in triggers:
                continue
            fresh = spec.table not in with_column
            if fresh:
                cursor.execute(f"ALTER TABLE {spec.table} ADD COLUMN search_vector tsvector")
            cursor.execute(
                f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN NEW.search_vector := {pg_vector(spec, 'NEW')}; RETURN NEW; END $$"
            )
            cursor.execute(
                f"CREATE OR REPLACE TRIGGER {function} BEFORE INSERT OR UPDATE OF "
                f"{', '.join(spec.columns)} ON {spec.table} "
                f"FOR EACH ROW EXECUTE FUNCTION {function}()"
            )
            cursor.execute(f"UPDATE {spec.table} AS t SET search_vector = {pg_vector(spec, 't')}")
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS {spec.table}_search ON {spec.table} "
                "USING GIN (search_vector)"
            )
            rebuilt.append(spec.table)
    return rebuilt


def _uninstall_postgresql(connection: BaseDatabaseWrapper) -> None:
    with connection.cursor() as cursor:
        for spec in INDEXED.values():
            function = f"{spec.table}_search_vector"
            cursor.execute(f"DROP TRIGGER IF EXISTS {function} ON {spec.table}")
            cursor.execute(f"DROP FUNCTION IF EXISTS {function}()")
            cursor.execute(f"ALTER TABLE {spec.table} DROP COLUMN IF EXISTS search_vector")


def install(connection: BaseDatabaseWrapper) -> list[str]:
    """Create or repair the full-text index; returns the tables whose index was (re)built."""
    if connection.vendor == "sqlite":
        return _install_sqlite(connection)
    if connection.vendor == "postgresql":
        return _install_postgresql(connection)
    return []


def uninstall(connection: BaseDatabaseWrapper) -> None:
    if connection.vendor == "sqlite":
        _uninstall_sqlite(connection)
    elif connection.vendor == "postgresql":
        _uninstall_postgresql(connection)
