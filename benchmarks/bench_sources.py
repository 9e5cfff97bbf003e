"""Data-source benchmark: one worker pass fetches 1,000 KPIs' sources.

Run: `.venv/bin/python benchmarks/bench_sources.py` (a throw-away SQLite database, or
DATABASE_URL when set, e.g. a scratch PostgreSQL database). Half the sources are `sql`
against a SQLite warehouse file, half `http_json` against an HTTP server on 127.0.0.1 (in
a thread of this process). Each KPI has a year of weekly history; each fetch returns its
last 12 weeks, the newest one not stored yet, so every source stores one new row through
the ingestion (health, trend, linked key results, notifications) and leaves 11 unchanged.
Prints the figures; those of record are in docs/performance.md.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import tempfile
import threading
import time
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "headway.settings")
os.environ.setdefault("HEADWAY_DATA_DIR", tempfile.mkdtemp(prefix="headway-bench-"))

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from headway.kpis.models import Kpi, Measurement  # noqa: E402
from headway.sources.models import Connection, Source, SourceFetch  # noqa: E402
from headway.sources.worker import fetch_due  # noqa: E402
from headway.teams.models import Person, Team  # noqa: E402

KPIS = int(os.environ.get("BENCH_SOURCES", "1000"))
WEEKS, FETCHED = 52, 12


def series(k: int, start: datetime) -> list[tuple[datetime, float]]:
    rng = random.Random(k)
    return [(start + timedelta(weeks=w), round(rng.gauss(95, 1.5), 2)) for w in range(WEEKS + 1)]


def main() -> None:
    call_command("migrate", verbosity=0)
    print(f"database: {connection.vendor}")
    start = (timezone.now() - timedelta(weeks=WEEKS + 1)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    team = Team.objects.create(key="bench", name="Bench", kind="company")
    owner = Person.objects.create_user("bench@example.test", "a-long-password", name="Bench")
    all_series = {k: series(k, start) for k in range(KPIS)}

    folder = Path(os.environ["HEADWAY_DATA_DIR"])
    warehouse = folder / "warehouse.sqlite3"
    with sqlite3.connect(warehouse) as db:
        db.execute("CREATE TABLE metrics (metric TEXT, at TEXT, value REAL)")
        db.execute("CREATE INDEX metrics_by ON metrics (metric, at)")
        db.executemany(
            "INSERT INTO metrics VALUES (?, ?, ?)",
            [(f"m{k}", at.isoformat(), v) for k, points in all_series.items() for at, v in points],
        )
    bodies = {
        f"/kpi/{k}": json.dumps(
            {"rows": [{"at": at.isoformat(), "value": v} for at, v in points[-FETCHED:]]}
        ).encode()
        for k, points in all_series.items()
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = bodies.get(self.path, b"{}")
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"

    lite = Connection.objects.create(name="warehouse", engine="sqlite", database=str(warehouse))
    kpis = Kpi.objects.bulk_create(
        Kpi(key=f"k{k}", name=f"KPI {k}", team=team, owner=owner, cadence="weekly",
            direction="up", target=97, warning=92, critical=90)
        for k in range(KPIS)
    )  # fmt: skip
    Measurement.objects.bulk_create(
        Measurement(kpi=kpi, at=at, value=v)
        for kpi, k in zip(kpis, range(KPIS), strict=True)
        for at, v in all_series[k][:-1]  # the newest week is what the fetch brings
    )
    now = timezone.now()
    sources = []
    for k, kpi in enumerate(kpis):
        if k % 2 == 0:
            query = (f"SELECT at, value FROM metrics WHERE metric = 'm{k}' "
                     f"ORDER BY at DESC LIMIT {FETCHED}")  # fmt: skip
            sources.append(Source(kpi=kpi, kind="sql", connection=lite, config={"query": query},
                                  due_slot=now, next_attempt_at=now))  # fmt: skip
        else:
            config = {"url": f"{base}/kpi/{k}", "expression": "rows"}
            sources.append(Source(kpi=kpi, kind="http_json", config=config, due_slot=now,
                                  next_attempt_at=now))  # fmt: skip
    Source.objects.bulk_create(sources)
    print(f"{KPIS} KPIs, {Measurement.objects.count():,} measurements stored before the pass")

    load = os.getloadavg()
    started, cpu = time.perf_counter(), time.process_time()
    stats = fetch_due(worker_id="bench")
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"one worker pass: {stats.as_dict()} in {elapsed:.1f} s "
          f"({elapsed / KPIS * 1000:.1f} ms a source, {KPIS / elapsed:.0f} sources/s); "
          f"CPU of this process (the HTTP server's threads included): {cpu:.1f} s")  # fmt: skip
    print(f"new measurements: {Measurement.objects.count() - KPIS * WEEKS:,}; "
          f"fetch records: {SourceFetch.objects.count():,}")  # fmt: skip
    print(f"load average before the pass: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    assert stats.stored == KPIS, stats
    server.shutdown()


if __name__ == "__main__":
    main()
