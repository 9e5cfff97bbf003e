"""Two workers and one scheduled slot fetch exactly once: atomic claims on the source row.

The workers are threads, each with its own database connection, started together on rows
committed to the test database (hence `transaction=True`). The HTTP server counts what
really reached it.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, connections  # noqa: F401 - skipif reads it
from django.utils import timezone

from headway.kpis.models import Kpi, Measurement
from headway.sources import actions
from headway.sources.actions import SourceSpec
from headway.sources.models import Source, SourceFetch
from headway.sources.worker import FetchStats, claim, fetch_due
from tests.source_servers import Route

pytestmark = pytest.mark.django_db(transaction=True)


def _run_together(count: int, job: Any) -> list[Any]:
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = job(index)
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="SKIP LOCKED races need PostgreSQL")
def test_two_workers_fetch_one_slot_once(org: Any, http_server: Any) -> None:
    sources = []
    for index in range(6):
        kpi = Kpi.objects.create(
            key=f"k{index}", name=f"K {index}", team=org.depot, owner=org.member
        )
        path = f"/claims/{index}"
        http_server.routes[path] = Route(200, f'{{"v": {index}}}', delay=0.2)
        spec = SourceSpec(
            kind="http_json", config={"url": http_server.base + path, "expression": "v"}
        )
        sources.append(actions.set_source(by=org.member, kpi=kpi, spec=spec))
    stats: list[FetchStats] = _run_together(2, lambda i: fetch_due(worker_id=f"w{i}", batch=2))
    for index in range(6):
        assert http_server.hits[f"/claims/{index}"] == 1
    assert sum(s.claimed for s in stats) == 6
    assert sum(s.stored for s in stats) == 6
    assert all(s.claimed > 0 for s in stats)  # both really worked
    assert SourceFetch.objects.count() == 6
    assert Measurement.objects.count() == 6
    assert set(Source.objects.values_list("claimed_by", flat=True)) == {""}


def test_concurrent_claims_never_share_a_source(org: Any) -> None:
    for index in range(20):
        kpi = Kpi.objects.create(key=f"c{index}", name=f"C {index}", team=org.depot)
        Source.objects.create(
            kpi=kpi,
            kind="http_json",
            config={"url": "http://x.test/", "expression": "a"},
            due_slot=timezone.now(),
            next_attempt_at=timezone.now() - timedelta(seconds=1),
        )
    results = _run_together(4, lambda i: claim(f"w{i}", batch=3)[1])
    taken = [s.pk for batch in results for s in batch]
    assert len(taken) == len(set(taken)) == min(12, 20)
    # Claimed rows are not due again until their lease runs out.
    assert len(claim("late", batch=50)[1]) == 8
    assert claim("later", batch=50)[1] == []
