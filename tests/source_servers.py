"""Real servers for the data-source tests: HTTP on 127.0.0.1, PostgreSQL, MariaDB, Prometheus.

Every database, file and port carries a random suffix and is dropped or stopped after.
No driver or protocol is mocked. Import the fixtures into a test module to use them.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def closed_port() -> int:
    """A loopback port nothing listens on (connections are refused)."""
    return free_port()


@dataclass
class Route:
    status: int = 200
    body: bytes | str = b""
    content_type: str = "application/json"
    delay: float = 0.0


@dataclass
class HttpServer:
    """A stdlib HTTP server in a thread; `routes` maps a path to its answer."""

    base: str
    routes: dict[str, Route] = field(default_factory=dict)
    hits: Counter[str] = field(default_factory=Counter)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)

    def json(self, path: str, data: Any, status: int = 200) -> str:
        self.routes[path] = Route(status, json.dumps(data))
        return self.base + path

    def text(self, path: str, body: str, content_type: str = "text/csv", status: int = 200) -> str:
        self.routes[path] = Route(status, body, content_type)
        return self.base + path


@pytest.fixture(scope="session")
def http_server() -> Iterator[HttpServer]:
    server_state = HttpServer(base="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            server_state.hits[path] += 1
            server_state.headers[path] = dict(self.headers.items())
            route = server_state.routes.get(path, Route(404, "not found", "text/plain"))
            if route.delay:
                time.sleep(route.delay)
            body = route.body.encode() if isinstance(route.body, str) else route.body
            try:
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    server_state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield server_state
    httpd.shutdown()
    httpd.server_close()


# --------------------------------------------------------------------------- PostgreSQL

SALES = [("2026-11-02", 120.5), ("2026-11-09", 131.0), ("2026-11-16", 128.25)]


def _pg_params() -> dict[str, Any]:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        parts = urlsplit(url)
        return {
            "host": parts.hostname or "127.0.0.1",
            "port": parts.port or 5432,
            "user": parts.username or "postgres",
            "password": parts.password or "",
        }
    return {"host": "127.0.0.1", "port": 5432, "user": "postgres", "password": ""}


@dataclass
class SourceDatabase:
    engine: str
    name: str
    host: str = ""
    port: int = 0
    user: str = ""
    password: str = ""

    def snapshot(self) -> Any:
        """Every row of every table and the list of tables (to assert nothing changed)."""
        raise NotImplementedError


@pytest.fixture(scope="session")
def pg_source() -> Iterator[SourceDatabase]:
    import psycopg

    params = _pg_params()
    name = f"hw15src_{secrets.token_hex(4)}"
    try:
        admin = psycopg.connect(dbname="postgres", autocommit=True, connect_timeout=3, **params)
    except psycopg.OperationalError as error:
        pytest.skip(f"PostgreSQL is not running on {params['host']}:{params['port']}: {error}")
    admin.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(dbname=name, autocommit=True, **params) as conn:
        conn.execute("CREATE TABLE sales (day date PRIMARY KEY, amount numeric(10, 2))")
        conn.execute("CREATE TABLE notes (id serial PRIMARY KEY, body text)")
        for day, amount in SALES:
            conn.execute("INSERT INTO sales VALUES (%s, %s)", (day, amount))
        conn.execute("INSERT INTO notes (body) VALUES ('kept')")
        # A function that writes: a plain SELECT of it passes any lint, so only the
        # database's read-only mode can refuse it.
        conn.execute(
            "CREATE FUNCTION bump() RETURNS integer LANGUAGE sql AS "
            "$$ INSERT INTO notes (body) VALUES ('bumped') RETURNING 1 $$"
        )
    yield SourceDatabase("postgresql", name, params["host"], params["port"], params["user"],
                         params["password"])  # fmt: skip
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def pg_snapshot(db: SourceDatabase) -> Any:
    import psycopg

    with psycopg.connect(
        dbname=db.name, host=db.host, port=db.port, user=db.user, password=db.password or None
    ) as conn:
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
        ).fetchall()
        rows = {t: conn.execute(f'SELECT * FROM "{t}" ORDER BY 1').fetchall() for (t,) in tables}
        return tables, rows


# --------------------------------------------------------------------------- MariaDB


@pytest.fixture(scope="session")
def mariadb_source() -> Iterator[SourceDatabase]:
    import pymysql

    name = f"hw15src_{secrets.token_hex(4)}"
    try:
        admin = pymysql.connect(host="127.0.0.1", port=3306, user="root", connect_timeout=3,
                                autocommit=True)  # fmt: skip
    except pymysql.err.MySQLError as error:
        pytest.skip(f"MariaDB is not running on 127.0.0.1:3306 (.ci/run starts it): {error}")
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}`")
        cursor.execute(f"CREATE TABLE `{name}`.sales (day date PRIMARY KEY, amount decimal(10,2))")
        cursor.execute(f"CREATE TABLE `{name}`.notes (id int PRIMARY KEY, body text)")
        for day, amount in SALES:
            cursor.execute(f"INSERT INTO `{name}`.sales VALUES (%s, %s)", (day, amount))
        cursor.execute(f"INSERT INTO `{name}`.notes VALUES (1, 'kept')")
    yield SourceDatabase("mysql", name, "127.0.0.1", 3306, "root", "")
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
    admin.close()


def mariadb_snapshot(db: SourceDatabase) -> Any:
    import pymysql

    conn = pymysql.connect(host=db.host, port=db.port, user=db.user, database=db.name)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SHOW TABLES")
            tables = sorted(row[0] for row in cursor.fetchall())
            rows = {}
            for table in tables:
                cursor.execute(f"SELECT * FROM `{table}` ORDER BY 1")
                rows[table] = cursor.fetchall()
        return tables, rows
    finally:
        conn.close()


# --------------------------------------------------------------------------- SQLite


def make_sqlite(path: Path) -> Path:
    import sqlite3

    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE sales (day text PRIMARY KEY, amount real)")
        conn.execute("CREATE TABLE notes (id integer PRIMARY KEY, body text)")
        conn.executemany("INSERT INTO sales VALUES (?, ?)", SALES)
        conn.execute("INSERT INTO notes VALUES (1, 'kept')")
    conn.close()
    return path


def sqlite_snapshot(path: Path) -> Any:
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        schema = conn.execute("SELECT name, sql FROM sqlite_master ORDER BY name").fetchall()
        rows = {n: conn.execute(f'SELECT * FROM "{n}" ORDER BY 1').fetchall()
                for n, _ in schema if not n.startswith("sqlite_")}  # fmt: skip
        return schema, rows, path.stat().st_size
    finally:
        conn.close()


# --------------------------------------------------------------------------- Prometheus


@dataclass
class Prometheus:
    base: str


@pytest.fixture(scope="session")
def prometheus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    binary = shutil.which("prometheus") or (
        "/usr/bin/prometheus" if Path("/usr/bin/prometheus").exists() else None
    )
    if binary is None:
        pytest.skip("Debian's prometheus is not installed (`make test` installs it)")
    folder = tmp_path_factory.mktemp("prometheus")
    port = free_port()
    config = folder / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        f"  - job_name: self\n    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n"
    )
    process = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.tsdb.path={folder / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail("prometheus exited at start")
            try:
                answer = httpx.get(f"{base}/api/v1/query", params={"query": "up"}, timeout=2)
                if answer.status_code == 200 and answer.json()["data"]["result"]:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("prometheus did not scrape itself within 30 s")
            time.sleep(0.2)
        yield Prometheus(base)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
