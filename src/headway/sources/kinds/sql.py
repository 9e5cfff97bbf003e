"""`sql`: a read-only query against a named PostgreSQL, MySQL/MariaDB or SQLite connection.

The query returns rows of `(at, value)` (columns named `at` and `value`, or the first two
columns), or one row with a single `value` (then `at` is the moment of the fetch). Each
engine's own read-only mode refuses any write, whatever the SQL says:

- PostgreSQL: the session starts with `default_transaction_read_only=on`, the
  transaction is `SET TRANSACTION READ ONLY`, with `statement_timeout`; psycopg sends the
  query with the extended protocol, which takes one statement only (no `…; COMMIT; …`).
- MySQL/MariaDB (PyMySQL): `SET SESSION TRANSACTION READ ONLY` and `START TRANSACTION READ
  ONLY`, so statements that commit implicitly (DDL) still run read-only; the timeout is
  `max_statement_time` (MariaDB) or `MAX_EXECUTION_TIME` (MySQL), backed by the socket's
  read timeout; multi-statements are off.
- SQLite: the file is opened with `mode=ro` and `PRAGMA query_only`; a progress handler
  stops a query at its deadline; ATTACH is refused (it could open another file).

At most `max_rows` rows are read (one more row is an error, never a silent cut).
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from headway.sources.kinds.base import (
    ConfigError,
    ConnectionInfo,
    FetchError,
    FieldSpec,
    Limits,
    Row,
    moment,
    number,
    text_field,
    timeout_field,
)
from headway.words import Number, Says, _, gettext_noop

DIALECTS = {"postgresql": "postgres", "mysql": "mysql", "sqlite": "sqlite"}
MAX_CONNECT_SECONDS = 10.0


class SqlKind:
    id: str = "sql"
    label: str = gettext_noop("SQL query")
    engines: frozenset[str] = frozenset(DIALECTS)
    connection: str = "required"
    fields: tuple[FieldSpec, ...] = (
        FieldSpec(
            "query",
            "Query",
            "A SELECT returning (at, value) rows, or one row with a single value. It runs "
            "read-only, with a timeout and a row cap.",
            required=True,
            multiline=True,
        ),
        FieldSpec("timeout", "Timeout (seconds)", "Optional; at most the site's limit."),
    )

    def clean(self, config: Mapping[str, Any]) -> dict[str, Any]:
        errors: dict[str, str] = {}
        query = text_field(config, "query", errors, required=True)
        timeout = timeout_field(config, errors)
        unknown = set(config) - {"query", "timeout"}
        if unknown:
            errors[sorted(unknown)[0]] = _("is not a field of an sql source")
        if errors:
            raise ConfigError(errors)
        return {"query": query.rstrip().rstrip(";").rstrip(), **_opt("timeout", timeout)}

    def lint(self, config: Mapping[str, Any], engine: str | None) -> list[str]:
        """Whether the query parses (sqlglot, in the connection's dialect) and only reads."""
        import sqlglot
        from sqlglot import exp
        from sqlglot.errors import ParseError

        query = str(config.get("query", ""))
        try:
            statements = [s for s in sqlglot.parse(query, read=DIALECTS.get(engine or "")) if s]
        except ParseError as error:
            first = error.errors[0] if error.errors else {}
            description = str(first.get("description", error))  # sqlglot's own words
            if not first:
                return [_("the query does not parse: %(problem)s", problem=description)]
            return [
                _(
                    "the query does not parse (line %(line)s, column %(column)s): %(problem)s",
                    line=str(first.get("line")),
                    column=str(first.get("col")),
                    problem=description,
                )
            ]
        if len(statements) != 1:
            return [_("the query must be one statement, not %(count)s", count=str(len(statements)))]
        statement = statements[0]
        writes = (exp.Insert, exp.Update, exp.Delete, exp.Drop, exp.Create, exp.Alter,
                  exp.Merge, exp.TruncateTable, exp.Command)  # fmt: skip
        if isinstance(statement, writes) or any(statement.find_all(*writes[:-1])):
            return [_("the query writes; a source may only read (the database would refuse it)")]
        if not isinstance(statement, exp.Query):
            return [_("the query must be a SELECT, not %(what)s", what=statement.key.upper())]
        return []

    def fetch(
        self, config: Mapping[str, Any], connection: ConnectionInfo | None, limits: Limits
    ) -> list[Row]:
        if connection is None or connection.engine not in DIALECTS:
            raise FetchError(_("an sql source needs a PostgreSQL, MySQL or SQLite connection"))
        timeout = min(float(config.get("timeout") or limits.timeout), limits.timeout)
        run = {"postgresql": _postgresql, "mysql": _mysql, "sqlite": _sqlite}[connection.engine]
        names, rows = run(str(config["query"]), connection, timeout, limits.max_rows)
        if len(rows) > limits.max_rows:
            raise FetchError(
                _(
                    "the query returned more than %(rows)s rows; add a WHERE or a LIMIT",
                    rows=Number(limits.max_rows, ",.0f"),
                )
            )
        return shape(names, rows)


def _opt(name: str, value: Any) -> dict[str, Any]:
    return {} if value is None else {name: value}


def shape(names: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[Row]:
    """Rows of (at, value) by column name, by position, or a single value."""
    lowered = [str(n).lower() for n in names]
    if "value" in lowered:
        v = lowered.index("value")
        a = lowered.index("at") if "at" in lowered else None
    elif len(names) == 1:
        v, a = 0, None
    elif len(names) == 2:
        a, v = 0, 1
    else:
        raise FetchError(
            _(
                "the query returns %(count)s columns; return (at, value), or one value, or "
                "name the columns `at` and `value`",
                count=str(len(names)),
            )
        )
    if a is None and len(rows) > 1:
        raise FetchError(
            _(
                "the query returns %(count)s rows but no `at` column; return one row, or "
                "(at, value) rows",
                count=str(len(rows)),
            )
        )
    return [Row(at=None if a is None else moment(r[a]), value=number(r[v])) for r in rows]


def _postgresql(
    query: str, c: ConnectionInfo, timeout: float, max_rows: int
) -> tuple[list[str], list[Any]]:
    import psycopg

    ms = max(1, int(timeout * 1000))
    try:
        conn = psycopg.connect(
            host=c.host or "localhost",
            port=c.port or 5432,
            dbname=c.database,
            user=c.user or None,
            password=c.password or None,
            connect_timeout=max(1, math.ceil(min(timeout, MAX_CONNECT_SECONDS))),
            application_name="headway-source",
            options=f"-c default_transaction_read_only=on -c statement_timeout={ms}",
        )
    except psycopg.OperationalError as error:
        raise FetchError(
            _("cannot connect to PostgreSQL: %(error)s", error=_first_line(error))
        ) from None
    try:
        with conn.cursor() as cursor:
            cursor.execute("SET TRANSACTION READ ONLY")
            cursor.execute(f"SET LOCAL statement_timeout = {ms}")
            cursor.execute(query.encode())  # admins' and owners' own SQL, one statement
            if cursor.description is None:
                raise FetchError(_("the query returned no result set (is it a SELECT?)"))
            names = [d.name for d in cursor.description]
            rows = cursor.fetchmany(max_rows + 1)
        conn.rollback()
        return names, rows
    except psycopg.errors.ReadOnlySqlTransaction as error:
        raise FetchError(_read_only(_first_line(error))) from None
    except psycopg.errors.QueryCanceled:
        raise FetchError(_past_timeout(timeout)) from None
    except psycopg.Error as error:
        raise FetchError(_("PostgreSQL: %(error)s", error=_first_line(error))) from None
    finally:
        conn.close()


def _mysql(
    query: str, c: ConnectionInfo, timeout: float, max_rows: int
) -> tuple[list[str], list[Any]]:
    import pymysql

    try:
        conn = pymysql.connect(
            host=c.host or "localhost",
            port=c.port or 3306,
            user=c.user or None,
            password=c.password or "",
            database=c.database or None,
            connect_timeout=max(1, math.ceil(min(timeout, MAX_CONNECT_SECONDS))),
            # The server stops the statement first; the socket is the backstop.
            read_timeout=math.ceil(timeout) + 5,
            write_timeout=math.ceil(timeout) + 5,
            autocommit=False,
            charset="utf8mb4",
        )
    except pymysql.err.MySQLError as error:
        raise FetchError(
            _("cannot connect to MySQL/MariaDB: %(error)s", error=_mysql_message(error))
        ) from None
    started = time.monotonic()
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT VERSION()")
            version = str((cursor.fetchone() or [""])[0])
            if "mariadb" in version.lower():
                cursor.execute("SET SESSION max_statement_time = %s", (timeout,))
            else:
                cursor.execute(
                    "SET SESSION MAX_EXECUTION_TIME = %s", (max(1, int(timeout * 1000)),)
                )
            cursor.execute("SET SESSION TRANSACTION READ ONLY")
            cursor.execute("START TRANSACTION READ ONLY")
            started = time.monotonic()
            cursor.execute(query)
            if cursor.description is None:
                raise FetchError(_("the query returned no result set (is it a SELECT?)"))
            names = [d[0] for d in cursor.description]
            rows = list(cursor.fetchmany(max_rows + 1))
        conn.rollback()
        return names, rows
    except pymysql.err.MySQLError as error:
        code = error.args[0] if error.args else 0
        if code in (1792, 1290):
            raise FetchError(_read_only(_mysql_message(error))) from None
        if code in (1969, 3024, 1317) or (code == 2013 and time.monotonic() - started >= timeout):
            raise FetchError(_past_timeout(timeout)) from None
        raise FetchError(_("MySQL/MariaDB: %(error)s", error=_mysql_message(error))) from None
    finally:
        conn.close()


def _mysql_message(error: Exception) -> str:
    args: tuple[Any, ...] = tuple(getattr(error, "args", ()))
    if len(args) >= 2:
        return f"({args[0]}) {args[1]}"
    return _first_line(error)


DENIED = frozenset({sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH})


def _sqlite(
    query: str, c: ConnectionInfo, timeout: float, max_rows: int
) -> tuple[list[str], list[Any]]:
    if not c.database:
        raise FetchError(_("the SQLite connection names no file"))
    deadline = time.monotonic() + timeout
    try:
        conn = sqlite3.connect(
            f"file:{quote(c.database)}?mode=ro", uri=True, timeout=min(timeout, 5.0)
        )
    except sqlite3.Error as error:
        raise FetchError(_("cannot open the SQLite file: %(error)s", error=str(error))) from None
    try:
        conn.execute("PRAGMA query_only = ON")
        conn.set_authorizer(lambda action, *_: sqlite3.SQLITE_DENY if action in DENIED else 0)
        conn.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 5000)
        cursor = conn.execute(query)
        if cursor.description is None:
            raise FetchError(_("the query returned no result set (is it a SELECT?)"))
        names = [d[0] for d in cursor.description]
        rows = cursor.fetchmany(max_rows + 1)
        return names, rows
    except sqlite3.OperationalError as error:
        text = str(error)
        if "interrupted" in text:
            raise FetchError(_past_timeout(timeout)) from None
        if "readonly" in text or "read-only" in text or "not authorized" in text:
            raise FetchError(_read_only(text)) from None
        raise FetchError(_("SQLite: %(error)s", error=text)) from None
    except sqlite3.Error as error:
        raise FetchError(_("SQLite: %(error)s", error=str(error))) from None
    finally:
        conn.close()


def _read_only(error: str) -> Says:
    """The database refused a write; `error` is its own message (not translated)."""
    return _("refused by the database (read-only): %(error)s", error=error)


def _past_timeout(timeout: float) -> Says:
    return _("the query ran past its timeout of %(seconds)s s", seconds=Number(timeout))


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


KIND = SqlKind()
