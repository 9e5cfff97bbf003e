"""The demo's data sources: a SQLite "warehouse" in the data folder feeds three demo KPIs.

The warehouse holds each KPI's weekly series as the demo stored it, plus the weeks to come;
a view publishes only the weeks that have ended, so as time passes new rows appear and
the worker (fetching every 5 minutes) stores them, as it would from a real warehouse.
Rebuilt at every demo load (written beside, then moved into place, so a worker reading it
never sees half a file).
"""

from __future__ import annotations

import math
import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings

from headway.kpis.models import Kpi, Measurement

CONNECTION = "demo-warehouse"
#: KPI key → the metric's name in the warehouse.
METRICS = {
    "clinic-utilisation": "ehr.clinic_utilisation",
    "crash-free-sessions": "app.crash_free_sessions",
    "video-connect-rate": "video.connect_rate",
}
WEEKS_AHEAD = 52
QUERY = (
    "SELECT week_end AS at, value FROM published_metrics\n"
    "WHERE metric = '{metric}'\nORDER BY week_end DESC LIMIT 12"
)


def warehouse_path() -> Path:
    return Path(settings.DATA_DIR) / "demo-warehouse.sqlite3"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_warehouse(path: Path, series: dict[str, list[tuple[datetime, float]]]) -> None:
    """Write the warehouse file: the stored weeks, then WEEKS_AHEAD more around the last."""
    rows: list[tuple[str, str, float]] = []
    for metric, points in series.items():
        rows.extend((metric, _iso(at), value) for at, value in points)
        if not points:
            continue
        last_at, last = points[-1]
        spread = max(abs(last) * 0.004, 0.05)
        for week in range(1, WEEKS_AHEAD + 1):
            # A small wobble around the last value: no trend, no anomaly, still moving.
            wobble = math.sin(week * 1.7 + len(metric)) * spread
            rows.append((metric, _iso(last_at + timedelta(weeks=week)), round(last + wobble, 2)))
    scratch = path.with_suffix(".tmp")
    scratch.unlink(missing_ok=True)
    conn = sqlite3.connect(scratch)
    try:
        conn.executescript(
            """
            CREATE TABLE weekly_metrics (
                metric TEXT NOT NULL, week_end TEXT NOT NULL, value REAL NOT NULL,
                PRIMARY KEY (metric, week_end));
            CREATE VIEW published_metrics AS
                SELECT metric, week_end, value FROM weekly_metrics
                WHERE week_end <= strftime('%Y-%m-%dT%H:%M:%SZ', 'now');
            """
        )
        conn.executemany("INSERT INTO weekly_metrics VALUES (?, ?, ?)", rows)
        conn.commit()
    finally:
        conn.close()
    os.replace(scratch, path)


def load_demo_sources() -> int:
    """Build the warehouse and give the three demo KPIs their source (idempotent)."""
    from headway.sources.actions import SourceSpec, set_source
    from headway.sources.models import Connection, Engine

    kpis = {k.key: k for k in Kpi.objects.filter(key__in=list(METRICS))}
    series: dict[str, list[tuple[datetime, float]]] = {metric: [] for metric in METRICS.values()}
    for key, at, value in (
        Measurement.objects.filter(kpi__in=kpis.values())
        .order_by("kpi__key", "at")
        .values_list("kpi__key", "at", "value")
    ):
        series[METRICS[key]].append((at, value))
    path = warehouse_path()
    build_warehouse(path, series)
    connection, _ = Connection.objects.update_or_create(
        name=CONNECTION,
        defaults={
            "engine": Engine.SQLITE,
            "database": str(path),
            "description": "The demo's SQLite warehouse (rebuilt by `headway demo`).",
        },
    )
    for key, metric in METRICS.items():
        if key in kpis:
            spec = SourceSpec(
                kind="sql",
                config={"query": QUERY.format(metric=metric)},
                connection=connection.name,
                schedule="*/5 * * * *",
            )
            set_source(by=None, kpi=kpis[key], spec=spec)
    return len(kpis)
