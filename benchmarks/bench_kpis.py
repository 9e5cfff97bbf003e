"""KPI engine benchmark: bulk ingestion and health/trend evaluation at organisation scale.

Run: `.venv/bin/python benchmarks/bench_kpis.py` (uses a throw-away SQLite database, or
DATABASE_URL when set, e.g. a scratch PostgreSQL database). Prints rates; the figures of
record are in docs/performance.md.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "headway.settings")
os.environ.setdefault("HEADWAY_DATA_DIR", tempfile.mkdtemp(prefix="headway-bench-"))

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from headway.kpis import health  # noqa: E402
from headway.kpis.actions import MeasurementRow, ingest_measurements, refresh_kpis  # noqa: E402
from headway.kpis.models import Kpi, Measurement  # noqa: E402
from headway.teams.models import Team  # noqa: E402

NOW = datetime(2027, 1, 1, tzinfo=UTC)


def main() -> None:
    call_command("migrate", verbosity=0)
    print(f"database: {connection.vendor}")
    Measurement.objects.all().delete()
    Kpi.objects.all().delete()
    company, _ = Team.objects.get_or_create(
        key="bench", defaults={"name": "Bench", "kind": "company"}
    )
    Kpi.objects.bulk_create(
        Kpi(key=f"kpi-{i}", name=f"KPI {i}", team=company, direction="up" if i % 2 else "down",
            target=100, warning=90, critical=80, cadence="weekly")
        for i in range(1000)
    )  # fmt: skip
    rng = random.Random(7)

    # 1. Ingest 100,000 measurements in one all-or-nothing batch (100 KPIs x 1,000 days).
    rows = [
        MeasurementRow(kpi=f"kpi-{k}", at=NOW - timedelta(days=d), value=rng.gauss(95, 4))
        for k in range(100)
        for d in range(1000)
    ]
    started = time.perf_counter()
    result = ingest_measurements(rows=rows, by=None, now=NOW)
    elapsed = time.perf_counter() - started
    print(f"ingest: {result.created:,} measurements in {elapsed:.2f} s "
          f"= {result.created / elapsed:,.0f} rows/s (validate, insert, refresh)")  # fmt: skip

    # 2. Pushing the same batch again: idempotent, nothing written.
    started = time.perf_counter()
    again = ingest_measurements(rows=rows, by=None, now=NOW)
    elapsed = time.perf_counter() - started
    print(f"re-push: {again.unchanged:,} unchanged rows in {elapsed:.2f} s "
          f"= {again.unchanged / elapsed:,.0f} rows/s")  # fmt: skip

    # 3. Health and trend of 1,000 KPIs x 1,000 points, pure core.
    series = [
        [health.Point(at=NOW - timedelta(days=d), value=rng.gauss(95, 4)) for d in range(1000)]
        for _ in range(1000)
    ]
    kpi = health.Kpi(direction="up", target=100, warning=90, critical=80, cadence="weekly")
    started = time.perf_counter()
    for points in series:
        health.evaluate(kpi, points, NOW)
    elapsed = time.perf_counter() - started
    print(f"evaluate (core): 1,000 KPIs x 1,000 points in {elapsed:.2f} s "
          f"= {1000 / elapsed:,.0f} KPIs/s")  # fmt: skip

    # 4. The same from the database: read 1,000,000 rows, evaluate, store state.
    extra = [
        Measurement(kpi_id=kpi_id, at=NOW - timedelta(days=d), value=rng.gauss(95, 4))
        for kpi_id in Kpi.objects.filter(measurements__isnull=True).values_list("id", flat=True)
        for d in range(1000)
    ]
    Measurement.objects.bulk_create(extra, batch_size=5000)
    started = time.perf_counter()
    refresh_kpis(kpi_ids=Kpi.objects.values_list("id", flat=True), at=NOW)
    elapsed = time.perf_counter() - started
    print(f"refresh (database): 1,000 KPIs x 1,000 points in {elapsed:.2f} s "
          f"= {1000 / elapsed:,.0f} KPIs/s")  # fmt: skip


if __name__ == "__main__":
    main()
