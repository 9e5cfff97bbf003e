"""The demo's KPIs fed by its SQLite warehouse: they fetch cleanly, and new weeks arrive."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from django.utils import timezone

from headway.demo import load_demo
from headway.kpis.models import Kpi
from headway.sources.demo import METRICS, warehouse_path
from headway.sources.models import DataIncident, Source
from headway.sources.worker import fetch_due

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_demo_sources_fetch_what_the_demo_stored(settings: Any, tmp_path: Any) -> None:
    settings.DATA_DIR = tmp_path
    load_demo()
    assert Source.objects.count() == len(METRICS)
    before = {k.key: (k.latest_value, k.health) for k in Kpi.objects.filter(key__in=METRICS)}
    stats = fetch_due(worker_id="demo")
    assert stats.stored == len(METRICS), stats
    assert set(Source.objects.values_list("state", flat=True)) == {"ok"}
    assert not DataIncident.objects.exists()
    after = {k.key: (k.latest_value, k.health) for k in Kpi.objects.filter(key__in=METRICS)}
    assert after == before  # the warehouse publishes only the weeks that have ended
    with sqlite3.connect(warehouse_path()) as conn:
        ahead = conn.execute(
            "SELECT count(*) FROM weekly_metrics WHERE week_end > ?",
            (timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ"),),
        ).fetchone()[0]
    assert ahead >= 3 * 50  # weeks still to come: the series goes on by itself
    load_demo()  # idempotent: the sources are unchanged
    assert Source.objects.filter(version=1).count() == len(METRICS)
