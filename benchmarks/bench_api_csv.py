"""API ingestion benchmark: 100,000 CSV rows pushed to POST /api/v1/measurements.

Run: `.venv/bin/python benchmarks/bench_api_csv.py` (a throw-away SQLite database, or
DATABASE_URL when set, e.g. a scratch PostgreSQL database). The body goes through the
whole stack (middleware, token auth, streaming CSV parse, ingest_measurements) with
Django's test client. Prints the rates; the figures of record are in docs/performance.md.
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
from django.test import Client  # noqa: E402

from headway.api.testing import token_for  # noqa: E402
from headway.kpis.models import Kpi, Measurement  # noqa: E402
from headway.teams.models import Membership, Person, Team  # noqa: E402

KPIS, DAYS = 100, 1000  # 100,000 rows


def csv_body(now: datetime, seed: int) -> bytes:
    rng = random.Random(seed)
    lines = ["kpi,at,value,note"]
    for k in range(KPIS):
        for d in range(DAYS):
            at = (now - timedelta(days=d + 1)).date().isoformat()
            lines.append(f"bench-kpi-{k},{at},{rng.gauss(95, 4):.3f},")
    return ("\n".join(lines) + "\n").encode()


def push(client: Client, body: bytes, secret: str) -> tuple[float, dict[str, object]]:
    started = time.perf_counter()
    response = client.post(
        "/api/v1/measurements",
        body,
        content_type="text/csv",
        headers={"Authorization": f"Bearer {secret}"},
    )
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.content[:500]
    return elapsed, response.json()


def main() -> None:
    call_command("migrate", verbosity=0)
    print(f"database: {connection.vendor}")
    Measurement.objects.filter(kpi__key__startswith="bench-kpi-").delete()
    Kpi.objects.filter(key__startswith="bench-kpi-").delete()
    company, _ = Team.objects.get_or_create(
        key="bench", defaults={"name": "Bench", "kind": "company"}
    )
    person = Person.objects.filter(email="bench@headway.local").first()
    if person is None:
        person = Person.objects.create_user("bench@headway.local", None, name="Bench")
    Membership.objects.get_or_create(person=person, team=company, defaults={"role": "member"})
    Kpi.objects.bulk_create(
        Kpi(key=f"bench-kpi-{i}", name=f"KPI {i}", team=company, target=100, warning=90,
            critical=80, cadence="weekly")
        for i in range(KPIS)
    )  # fmt: skip
    secret = token_for(person, "write", name="benchmark")
    client = Client(SERVER_NAME="127.0.0.1")
    now = datetime.now(UTC)
    body = csv_body(now, seed=7)
    rows = KPIS * DAYS
    print(f"body: {rows:,} CSV rows, {len(body) / 1e6:.1f} MB")

    for label, payload in (
        ("first push", body),
        ("same push again", body),
        ("every value replaced", csv_body(now, seed=8)),
    ):
        elapsed, result = push(client, payload, secret)
        print(
            f"{label}: {elapsed:.2f} s = {rows / elapsed:,.0f} rows/s "
            f"(created {result['created']:,}, replaced {result['replaced']:,}, "
            f"unchanged {result['unchanged']:,})"
        )


if __name__ == "__main__":
    main()
