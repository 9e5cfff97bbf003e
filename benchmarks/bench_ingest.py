"""Ingestion at the limit: 100,000 new measurements through POST /api/v1/measurements vs raw.

1,000 KPIs with a history (HISTORY_DAYS days each, 1,000 by default: the large organisation's
1 M measurements), 200 of them feeding key results of an active cycle; then 100 new days of
all 1,000 KPIs (100,000 rows) are pushed as one JSON body through the whole stack (middleware,
token auth, validation, idempotency, revisions, KPI re-evaluation, linked key results,
notifications) with Django's test client. In the same run the same rows are written raw:
`executemany` (SQLite) or `COPY` (PostgreSQL) into the measurement table, rolled back. Prints
both and the ratio (goal: the push at >= 25% of raw speed, i.e. at most 4x its time).

Run: `.venv/bin/python benchmarks/bench_ingest.py` (a throw-away SQLite database, or
DATABASE_URL for a scratch PostgreSQL database). PROFILE=1 prints a cProfile of the push.
"""

from __future__ import annotations

import cProfile
import json
import os
import pstats
import random
import tempfile
import time
from datetime import UTC, date, datetime, timedelta

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "headway.settings")
os.environ.setdefault("HEADWAY_DATA_DIR", tempfile.mkdtemp(prefix="headway-bench-"))

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402

from headway.api.testing import token_for  # noqa: E402
from headway.kpis.actions import refresh_kpis  # noqa: E402
from headway.kpis.models import Kpi, Measurement  # noqa: E402
from headway.okrs import stored  # noqa: E402
from headway.okrs.models import Cycle, KeyResult, Objective  # noqa: E402
from headway.teams.models import Membership, Person, Team  # noqa: E402

KPIS = 1000
NEW_DAYS = 100
HISTORY_DAYS = int(os.environ.get("HISTORY_DAYS", "1000"))
LINKED = 200
TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
FIRST_NEW = TODAY - timedelta(days=NEW_DAYS - 1)


def columns() -> str:
    return "kpi_id, at, value, source, note, created_at, updated_at"


def raw_write(rows: list[tuple[int, datetime, float]]) -> float:
    """Seconds to write `rows` raw into the measurement table and commit (then removed)."""
    now = datetime.now(UTC)
    table = Measurement._meta.db_table
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns()}) FROM STDIN") as copy:
                for kpi_id, at, value in rows:
                    copy.write_row((kpi_id, at, value, "raw", "", now, now))
        else:
            stamp = now.isoformat(" ")
            cursor.executemany(
                f"INSERT INTO {table} ({columns()}) VALUES (%s, %s, %s, 'raw', '', %s, %s)",
                [(k, at.isoformat(" "), v, stamp, stamp) for k, at, v in rows],
            )
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE source = 'raw'")
    return elapsed


def setup() -> tuple[list[Kpi], str]:
    call_command("migrate", verbosity=0)
    company, _ = Team.objects.get_or_create(
        key="bench", defaults={"name": "Bench", "kind": "company"}
    )
    person = Person.objects.filter(email="bench@headway.local").first()
    if person is None:
        person = Person.objects.create_user("bench@headway.local", None, name="Bench")
    Membership.objects.get_or_create(person=person, team=company, defaults={"role": "member"})
    Measurement.objects.filter(kpi__key__startswith="ingest-").delete()
    KeyResult.objects.filter(kpi__key__startswith="ingest-").delete()
    Kpi.objects.filter(key__startswith="ingest-").delete()
    Kpi.objects.bulk_create(
        Kpi(key=f"ingest-{i}", name=f"KPI {i}", team=company, target=100, warning=90,
            critical=80, direction="up" if i % 2 else "down",
            cadence=("weekly", "monthly", "quarterly")[i % 3])
        for i in range(KPIS)
    )  # fmt: skip
    kpis = list(Kpi.objects.filter(key__startswith="ingest-").order_by("pk"))
    cycle, _ = Cycle.objects.get_or_create(
        key="ingest-bench",
        defaults={
            "start": date.today() - timedelta(days=30),
            "end": date.today() + timedelta(days=60),
            "state": "active",
        },
    )
    objective, _ = Objective.objects.get_or_create(
        key="ingest-bench", defaults={"cycle": cycle, "team": company, "title": "Bench"}
    )
    KeyResult.objects.bulk_create(
        KeyResult(objective=objective, key=f"ingest-kr-{i}", title=f"KR {i}", kind="above",
                  target=95, kpi=kpis[i], position=i)
        for i in range(LINKED)
    )  # fmt: skip
    rng = random.Random(1)
    history = [
        (kpi.pk, FIRST_NEW - timedelta(days=d), rng.gauss(95, 4))
        for kpi in kpis
        for d in range(1, HISTORY_DAYS + 1)
    ]
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        now = datetime.now(UTC)
        table = Measurement._meta.db_table
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns()}) FROM STDIN") as copy:
                for kpi_id, at, value in history:
                    copy.write_row((kpi_id, at, value, "history", "", now, now))
            cursor.execute(f"ANALYZE {table}")
        else:
            stamp = now.isoformat(" ")
            cursor.executemany(
                f"INSERT INTO {table} ({columns()}) VALUES (%s, %s, %s, 'history', '', %s, %s)",
                [(k, at.isoformat(" "), v, stamp, stamp) for k, at, v in history],
            )
    print(f"history: {len(history):,} measurements in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    ids = [kpi.pk for kpi in kpis]
    for start in range(0, len(ids), 100):
        with transaction.atomic():
            refresh_kpis(kpi_ids=ids[start : start + 100])
    with transaction.atomic():
        stored.rescore([objective.pk])
    print(f"first evaluation of the history: {time.perf_counter() - started:.1f} s")
    return kpis, token_for(person, "write", name="bench-ingest")


def main() -> None:
    print(f"database: {connection.vendor}; load average {os.getloadavg()}")
    kpis, secret = setup()
    rng = random.Random(2)
    new = [
        (kpi.pk, kpi.key, FIRST_NEW + timedelta(days=d), round(rng.gauss(95, 4), 3))
        for kpi in kpis
        for d in range(NEW_DAYS)
    ]
    body = json.dumps(
        [{"kpi": key, "at": at.date().isoformat(), "value": value} for _i, key, at, value in new]
    ).encode()
    print(f"push: {len(new):,} rows, {len(body) / 1e6:.1f} MB of JSON")
    raw = raw_write([(i, at + timedelta(hours=1), v) for i, _k, at, v in new])
    client = Client(SERVER_NAME="127.0.0.1")
    profiler = cProfile.Profile() if os.environ.get("PROFILE") else None
    slow: list[tuple[float, str]] = []

    def timed(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            slow.append((time.perf_counter() - began, sql[:150]))

    watch = connection.execute_wrapper(timed) if os.environ.get("SQL") else None
    if watch:
        watch.__enter__()
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    response = client.post(
        "/api/v1/measurements",
        body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret}"},
    )
    if profiler:
        profiler.disable()
    pushed = time.perf_counter() - started
    if watch:
        watch.__exit__(None, None, None)
        print(f"{len(slow)} statements, {sum(t for t, _ in slow):.2f} s in all; the slowest:")
        for spent, sql in sorted(slow, reverse=True)[:12]:
            print(f"  {spent:.3f} s  {sql}")
    assert response.status_code == 200, response.content[:500]
    result = response.json()
    assert result["created"] == len(new), result
    raw_again = raw_write([(i, at + timedelta(hours=2), v) for i, _k, at, v in new])
    raw = min(raw, raw_again)
    print(f"raw {'COPY' if connection.vendor == 'postgresql' else 'executemany'}: {raw:.2f} s")
    print(
        f"API push: {pushed:.2f} s = {len(new) / pushed:,.0f} rows/s "
        f"(created {result['created']:,})"
    )
    print(f"ratio: push at {raw / pushed:.0%} of raw speed (goal >= 25%)")
    started = time.perf_counter()
    response = client.post(
        "/api/v1/measurements",
        body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret}"},
    )
    again = time.perf_counter() - started
    print(f"same push again: {again:.2f} s (unchanged {response.json()['unchanged']:,})")
    linked = KeyResult.objects.filter(kpi__key__startswith="ingest-", current__isnull=False)
    print(f"linked key results fed: {linked.count()}; load average {os.getloadavg()}")
    if profiler:
        pstats.Stats(profiler).sort_stats(os.environ["PROFILE"]).print_stats(90)


if __name__ == "__main__":
    main()
