"""Each data-source kind against a real server: PostgreSQL, MariaDB, SQLite, HTTP, Prometheus.

The kinds are called as the worker calls them (decrypted connection, limits); the
database-side behaviour (state, notifications, ingestion) is in test_sources_fetch.py.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from headway.sources.kinds import KINDS, ConnectionInfo, FetchError, Limits, Row
from tests.source_servers import (
    SourceDatabase,
    closed_port,
    make_sqlite,
    mariadb_snapshot,
    pg_snapshot,
    sqlite_snapshot,
)

LIMITS = Limits(timeout=5.0, max_rows=100, max_bytes=100_000)

WRITES = {
    "insert": "INSERT INTO notes (id, body) VALUES (99, 'written')",
    "update": "UPDATE notes SET body = 'changed'",
    "drop": "DROP TABLE notes",
    "writing cte": "WITH gone AS (DELETE FROM notes RETURNING id) SELECT count(*) FROM gone",
}

# SQLite has no writing CTE in a SELECT; a CTE in front of a DELETE is its form.
SQLITE_WRITES = {
    "writing cte": "WITH x AS (SELECT 1) DELETE FROM notes WHERE id IN (SELECT * FROM x)"
}
MARIADB_WRITES = {
    "writing cte": "WITH x AS (SELECT 1) UPDATE notes SET body = 'cte' "
    "WHERE id IN (SELECT * FROM x)"
}


def sql(query: str, connection: ConnectionInfo, **extra: Any) -> list[Row]:
    kind = KINDS["sql"]
    return kind.fetch(kind.clean({"query": query, **extra}), connection, LIMITS)


def as_pairs(rows: list[Row]) -> list[tuple[Any, float]]:
    return [(r.at, float(r.value)) for r in rows]


def day(text: str) -> Any:
    return datetime.fromisoformat(text).date()


# --------------------------------------------------------------------------- SQLite


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Path:
    return make_sqlite(tmp_path / f"source-{time.monotonic_ns()}.sqlite3")


def lite(path: Path) -> ConnectionInfo:
    return ConnectionInfo(name="lite", engine="sqlite", database=str(path))


def test_sqlite_query_returns_at_value_rows(sqlite_file: Path) -> None:
    rows = sql("SELECT day AS at, amount AS value FROM sales ORDER BY day", lite(sqlite_file))
    assert as_pairs(rows) == [("2026-11-02", 120.5), ("2026-11-09", 131.0), ("2026-11-16", 128.25)]


def test_sqlite_single_value_has_no_moment(sqlite_file: Path) -> None:
    rows = sql("SELECT sum(amount) FROM sales", lite(sqlite_file))
    assert rows == [Row(at=None, value=379.75)]


@pytest.mark.parametrize("name", sorted(WRITES))
def test_sqlite_writing_query_is_refused_and_the_file_unchanged(
    sqlite_file: Path, name: str
) -> None:
    before = sqlite_snapshot(sqlite_file)
    with pytest.raises(FetchError, match=r"read-only|readonly|not authorized"):
        sql(SQLITE_WRITES.get(name, WRITES[name]), lite(sqlite_file))
    assert sqlite_snapshot(sqlite_file) == before


def test_sqlite_attach_is_refused(sqlite_file: Path, tmp_path: Path) -> None:
    with pytest.raises(FetchError):
        sql(f"ATTACH DATABASE '{tmp_path / 'other.db'}' AS other", lite(sqlite_file))
    assert not (tmp_path / "other.db").exists()


def test_sqlite_query_past_its_timeout_is_stopped(sqlite_file: Path) -> None:
    endless = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n"
    )
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"timeout of 0\.5 s"):
        sql(endless, lite(sqlite_file), timeout=0.5)
    assert time.monotonic() - started < 3


def test_sqlite_row_cap_refuses_rather_than_cuts(sqlite_file: Path) -> None:
    query = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) "
        "SELECT date('2027-01-01', '+' || i || ' days') AS at, i AS value FROM n"
    )
    with pytest.raises(FetchError, match="more than 100 rows"):
        sql(query, lite(sqlite_file))


def test_sqlite_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="cannot open the SQLite file"):
        sql("SELECT 1", lite(tmp_path / "missing.sqlite3"))
    assert not (tmp_path / "missing.sqlite3").exists()


def test_two_statements_are_refused(sqlite_file: Path) -> None:
    before = sqlite_snapshot(sqlite_file)
    with pytest.raises(FetchError):
        sql("SELECT 1; DELETE FROM notes", lite(sqlite_file))
    assert sqlite_snapshot(sqlite_file) == before


def test_many_rows_without_a_moment_column_is_an_error(sqlite_file: Path) -> None:
    with pytest.raises(FetchError, match="no `at` column"):
        sql("SELECT amount FROM sales", lite(sqlite_file))


# --------------------------------------------------------------------------- PostgreSQL


def pg(db: SourceDatabase, **extra: Any) -> ConnectionInfo:
    values: dict[str, Any] = {
        "host": db.host,
        "port": db.port,
        "user": db.user,
        "password": db.password,
    }
    values.update(extra)
    return ConnectionInfo(name="pg", engine="postgresql", database=db.name, **values)


def test_postgresql_query_returns_rows(pg_source: SourceDatabase) -> None:
    rows = sql("SELECT day AS at, amount AS value FROM sales ORDER BY day", pg(pg_source))
    assert as_pairs(rows) == [
        (day("2026-11-02"), 120.5),
        (day("2026-11-09"), 131.0),
        (day("2026-11-16"), 128.25),
    ]
    assert isinstance(rows[0].value, float)  # numeric arrives as Decimal, stored as float


@pytest.mark.parametrize("name", sorted(WRITES))
def test_postgresql_writing_query_is_refused_and_the_database_unchanged(
    pg_source: SourceDatabase, name: str
) -> None:
    before = pg_snapshot(pg_source)
    with pytest.raises(FetchError, match="read-only"):
        sql(WRITES[name], pg(pg_source))
    assert pg_snapshot(pg_source) == before


def test_postgresql_cannot_escape_with_a_commit(pg_source: SourceDatabase) -> None:
    before = pg_snapshot(pg_source)
    with pytest.raises(FetchError):
        sql("COMMIT; DELETE FROM notes", pg(pg_source))
    assert pg_snapshot(pg_source) == before


def test_postgresql_query_past_its_timeout_is_cancelled(pg_source: SourceDatabase) -> None:
    started = time.monotonic()
    with pytest.raises(FetchError, match="timeout of 1 s"):
        sql("SELECT pg_sleep(10), 1 AS value", pg(pg_source), timeout=1)
    assert time.monotonic() - started < 5


def test_postgresql_refused_connection_is_a_clear_error(pg_source: SourceDatabase) -> None:
    with pytest.raises(FetchError, match="cannot connect to PostgreSQL"):
        sql("SELECT 1", pg(pg_source, port=closed_port()))


def test_postgresql_password_is_not_in_the_error(pg_source: SourceDatabase) -> None:
    secret = "pw-" + "x7Q9zK2mLr"
    with pytest.raises(FetchError) as caught:
        sql("SELECT 1", pg(pg_source, user="nobody_hw15", password=secret))
    assert secret not in str(caught.value)


# --------------------------------------------------------------------------- MariaDB


def maria(db: SourceDatabase, **extra: Any) -> ConnectionInfo:
    values: dict[str, Any] = {
        "host": db.host,
        "port": db.port,
        "user": db.user,
        "password": db.password,
    }
    values.update(extra)
    return ConnectionInfo(name="maria", engine="mysql", database=db.name, **values)


def test_mariadb_query_returns_rows(mariadb_source: SourceDatabase) -> None:
    rows = sql("SELECT day AS at, amount AS value FROM sales ORDER BY day", maria(mariadb_source))
    assert as_pairs(rows) == [
        (day("2026-11-02"), 120.5),
        (day("2026-11-09"), 131.0),
        (day("2026-11-16"), 128.25),
    ]


@pytest.mark.parametrize("name", sorted(WRITES))
def test_mariadb_writing_query_is_refused_and_the_database_unchanged(
    mariadb_source: SourceDatabase, name: str
) -> None:
    before = mariadb_snapshot(mariadb_source)
    with pytest.raises(FetchError):
        sql(MARIADB_WRITES.get(name, WRITES[name]), maria(mariadb_source))
    assert mariadb_snapshot(mariadb_source) == before


@pytest.mark.parametrize("name", ["insert", "update", "drop"])
def test_mariadb_refuses_writes_by_its_read_only_mode(
    mariadb_source: SourceDatabase, name: str
) -> None:
    with pytest.raises(FetchError, match="read-only"):
        sql(WRITES[name], maria(mariadb_source))


def test_mariadb_query_past_its_timeout_is_stopped(mariadb_source: SourceDatabase) -> None:
    started = time.monotonic()
    with pytest.raises(FetchError, match="timeout of 1 s"):
        sql(
            "SELECT count(*) AS value FROM information_schema.columns a, "
            "information_schema.columns b, information_schema.columns c",
            maria(mariadb_source),
            timeout=1,
        )
    assert time.monotonic() - started < 8


def test_mariadb_refused_connection_is_a_clear_error() -> None:
    connection = ConnectionInfo(name="m", engine="mysql", host="127.0.0.1", port=closed_port(),
                                database="x", user="root")  # fmt: skip
    with pytest.raises(FetchError, match="cannot connect to MySQL/MariaDB"):
        sql("SELECT 1", connection)


# --------------------------------------------------------------------------- HTTP JSON and CSV


def http_json(url: str, expression: str, **extra: Any) -> list[Row]:
    kind = KINDS["http_json"]
    config = kind.clean({"url": url, "expression": expression, **extra})
    return kind.fetch(config, extra.pop("connection", None), LIMITS)


def test_http_json_picks_a_number(http_server: Any) -> None:
    url = http_server.json("/kpi/number", {"data": {"total": 42.5}})
    assert http_json(url, "data.total") == [Row(at=None, value=42.5)]


def test_http_json_picks_a_series(http_server: Any) -> None:
    url = http_server.json(
        "/kpi/series", {"series": [{"day": "2026-11-02", "n": 3}, {"day": "2026-11-09", "n": 5}]}
    )
    rows = http_json(url, "series[*].{at: day, value: n}")
    assert as_pairs(rows) == [("2026-11-02", 3.0), ("2026-11-09", 5.0)]


def test_http_json_reads_at_value_pairs_with_unix_seconds(http_server: Any) -> None:
    url = http_server.json("/kpi/pairs", {"values": [[1798761600, "7"]]})
    rows = http_json(url, "values")
    assert rows == [Row(at=datetime(2027, 1, 1, tzinfo=UTC), value="7")]


@pytest.mark.parametrize(
    ("path", "answer", "expression", "message"),
    [
        ("/bad/500", (500, "boom", "text/plain"), "a", "answered HTTP 500"),
        ("/bad/html", (200, "<html>", "text/html"), "a", "not JSON"),
        ("/bad/none", (200, '{"a": 1}', "application/json"), "b", "selected nothing"),
        ("/bad/bool", (200, '{"a": true}', "application/json"), "a", "a boolean"),
    ],
)
def test_http_json_failures_are_clear(
    http_server: Any, path: str, answer: tuple[int, str, str], expression: str, message: str
) -> None:
    url = http_server.text(path, answer[1], answer[2], status=answer[0])
    with pytest.raises(FetchError, match=message):
        http_json(url, expression)


def test_http_refused_connection_is_a_clear_error() -> None:
    with pytest.raises(FetchError, match="connection refused"):
        http_json(f"http://127.0.0.1:{closed_port()}/x", "a")


def test_http_slow_answer_times_out(http_server: Any) -> None:
    from tests.source_servers import Route

    http_server.routes["/slow"] = Route(200, "{}", delay=3)
    with pytest.raises(FetchError, match=r"did not answer within 0\.5 s"):
        http_json(http_server.base + "/slow", "a", timeout=0.5)


def test_http_connection_headers_are_sent_and_stay_under_its_base(http_server: Any) -> None:
    token = "Bearer s3cr3t-" + "token"
    connection = ConnectionInfo(name="api", engine="http", base_url=http_server.base + "/api/",
                                headers={"Authorization": token})  # fmt: skip
    http_server.json("/api/metric", {"v": 3})
    kind = KINDS["http_json"]
    assert kind.fetch({"url": "metric", "expression": "v"}, connection, LIMITS) == [
        Row(at=None, value=3)
    ]
    assert http_server.headers["/api/metric"]["Authorization"] == token
    with pytest.raises(FetchError, match="not under the connection"):
        kind.fetch({"url": "http://127.0.0.1:9/x", "expression": "v"}, connection, LIMITS)


def test_http_body_over_the_byte_limit_is_refused(http_server: Any) -> None:
    url = http_server.json("/big", {"a": "x" * 200_000})
    with pytest.raises(FetchError, match="more than 100,000 bytes"):
        http_json(url, "a")


def csv_rows(url: str, **columns: str) -> list[Row]:
    kind = KINDS["csv_url"]
    return kind.fetch(kind.clean({"url": url, **columns}), None, LIMITS)


def test_csv_url_reads_the_named_columns(http_server: Any) -> None:
    url = http_server.text(
        "/sheet.csv", "Week;Rate;Note\n2026-11-02;95,5%;x\n2026-11-09;96%;y\n".replace(",", ".")
    )
    rows = csv_rows(url, value_column="rate", at_column=" week ")
    assert as_pairs([Row(r.at, r.value) for r in rows]) == [
        ("2026-11-02", 95.5),
        ("2026-11-09", 96.0),
    ]


def test_csv_url_without_moment_column_reads_the_last_row(http_server: Any) -> None:
    url = http_server.text("/last.csv", 'day,total\n2026-11-02,"1,234.5"\n2026-11-03,"1,300"\n\n')
    assert csv_rows(url, value_column="total") == [Row(at=None, value="1300")]


def test_csv_url_missing_column_names_the_columns(http_server: Any) -> None:
    url = http_server.text("/cols.csv", "day,total\n2026-11-02,1\n")
    with pytest.raises(FetchError, match=r"no column 'rate' \(its columns: 'day', 'total'\)"):
        csv_rows(url, value_column="rate")


# --------------------------------------------------------------------------- Prometheus


def prom(server: Any, **config: Any) -> list[Row]:
    kind = KINDS["prometheus"]
    connection = ConnectionInfo(name="prom", engine="http", base_url=server.base)
    return kind.fetch(kind.clean(config), connection, LIMITS)


def test_prometheus_instant_query(prometheus_server: Any) -> None:
    rows = prom(prometheus_server, query="count(up)")
    assert len(rows) == 1
    assert float(rows[0].value) == 1.0
    assert abs(rows[0].at.timestamp() - time.time()) < 60


def test_prometheus_range_query(prometheus_server: Any) -> None:
    time.sleep(1.5)
    rows = prom(prometheus_server, query="sum(up)", mode="range", lookback="1m", step="1s")
    assert len(rows) >= 2
    assert all(float(r.value) == 1.0 for r in rows)
    assert rows == sorted(rows, key=lambda r: r.at)


def test_prometheus_many_series_must_be_aggregated(prometheus_server: Any) -> None:
    with pytest.raises(FetchError, match="series; aggregate it to one"):
        prom(prometheus_server, query="prometheus_http_requests_total")


def test_prometheus_no_series_is_clear(prometheus_server: Any) -> None:
    with pytest.raises(FetchError, match="returned no series"):
        prom(prometheus_server, query='up{job="nothing-here"}')


def test_prometheus_bad_expression_is_refused_by_the_server(prometheus_server: Any) -> None:
    with pytest.raises(FetchError, match="Prometheus refused the query"):
        prom(prometheus_server, query="sum(up) by by")
