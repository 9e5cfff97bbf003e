"""Large pushes are jobs: above HEADWAY_API_ASYNC_PUSH_ROWS rows the API answers 202 with a
Location, a worker stores the body (claiming it once), and polling gives the answer a
synchronous push would have given."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import override_settings
from django_tasks_db.models import DBTaskResult

from headway.api.models import PushJob
from headway.api.pushjobs import store_push
from headway.api.testing import ApiClient, token_for
from headway.kpis.models import Kpi, Measurement
from headway.notify.worker import NotifyWorker, WorkerOptions

pytestmark = [pytest.mark.django_db(transaction=True)]
ROWS = 40


@pytest.fixture
def kpis(org: Any) -> Any:
    common = {"team": org.depot, "owner": org.member, "direction": "up", "cadence": "weekly"}
    Kpi.objects.create(key="otd", name="On-time", **common)
    Kpi.objects.create(key="nps", name="NPS", **common)
    return org


def _days(n: int) -> list[str]:
    return [(date(2026, 1, 1) + timedelta(days=i)).isoformat() for i in range(n)]


def _run_worker() -> int:
    runner = NotifyWorker(WorkerOptions(once=True, periodic=False, sources=False))
    runner.run_tasks()
    return runner.tasks_run


@override_settings(HEADWAY_API_ASYNC_PUSH_ROWS=10)
@pytest.mark.parametrize("kind", ["csv", "json"])
def test_a_push_above_the_threshold_is_a_job_a_worker_stores(kpis: Any, kind: str) -> None:
    client = ApiClient(token_for(kpis.member))
    days = _days(ROWS // 2)
    if kind == "csv":
        lines = [f"{k},{d},{i}" for i, d in enumerate(days) for k in ("otd", "nps")]
        body, content_type = "kpi,at,value\n" + "\n".join(lines) + "\n", "text/csv"
    else:
        items = [
            {"kpi": k, "at": d, "value": i} for i, d in enumerate(days) for k in ("otd", "nps")
        ]
        body, content_type = json.dumps(items), "application/json"
    accepted = client.post("/measurements", body, content_type=content_type)
    assert accepted.status_code == 202, accepted.content
    job = accepted.json()
    assert job["state"] == "queued"
    assert job["rows"] == ROWS
    assert job["status"] is None
    assert accepted["Location"] == job["location"] == f"/api/v1/pushes/{job['key']}"
    assert not Measurement.objects.exists()  # nothing stored inside the request
    polled = client.client.get(job["location"], headers=client.headers)
    assert polled.status_code == 200
    assert polled.json()["state"] == "queued"

    assert _run_worker() == 1
    done = client.client.get(job["location"], headers=client.headers).json()
    assert done["state"] == "done", done
    assert done["status"] == 200
    # The same answer as a synchronous push of the body.
    assert done["result"] == {
        "created": ROWS,
        "replaced": 0,
        "unchanged": 0,
        "kpis": ["nps", "otd"],
    }
    assert Measurement.objects.count() == ROWS
    assert done["finished_at"]
    assert done["started_at"]
    assert bytes(PushJob.objects.get(key=job["key"]).body) == b""  # the body is let go
    # Claimed once: the task run again (a reclaimed task) stores nothing more.
    assert store_push.call(job_id=PushJob.objects.get(key=job["key"]).pk) is None
    assert Measurement.objects.count() == ROWS
    # Below the threshold the same endpoint answers at once.
    small = client.post("/kpis/otd/measurements", [{"at": "2025-06-01", "value": 1}])
    assert small.status_code == 200
    assert small.json()["created"] == 1


@override_settings(HEADWAY_API_ASYNC_PUSH_ROWS=10)
def test_a_bad_job_stores_nothing_and_answers_the_rows_like_a_push(kpis: Any) -> None:
    client = ApiClient(token_for(kpis.member))
    lines = [f"{d},{i}" for i, d in enumerate(_days(ROWS))]
    lines[6] = "2026-03-01,not-a-number"
    body = "at,value\n" + "\n".join(lines)
    accepted = client.post("/kpis/otd/measurements", body, content_type="text/csv")
    assert accepted.status_code == 202, accepted.content
    assert [t.task_path for t in DBTaskResult.objects.all()] == ["headway.api.pushjobs.store_push"]
    _run_worker()
    done = client.client.get(accepted["Location"], headers=client.headers).json()
    assert (done["state"], done["status"]) == ("done", 422)
    error = done["result"]["error"]
    assert error["code"] == "invalid"
    assert [row["line"] for row in error["rows"]] == [8]  # the header is line 1
    assert not Measurement.objects.exists()


@override_settings(HEADWAY_API_ASYNC_PUSH_ROWS=10)
def test_only_the_pusher_follows_a_job_and_rights_come_first(kpis: Any) -> None:
    body = "at,value\n" + "\n".join(f"{d},1" for d in _days(ROWS))
    member = ApiClient(token_for(kpis.member))
    accepted = member.post("/kpis/otd/measurements", body, content_type="text/csv")
    assert accepted.status_code == 202
    other = ApiClient(token_for(kpis.admin))
    assert other.client.get(accepted["Location"], headers=other.headers).status_code == 404
    # Someone who may not push to the KPI is refused before any job is made.
    refused = ApiClient(token_for(kpis.outsider)).post(
        "/kpis/otd/measurements", body, content_type="text/csv"
    )
    assert refused.status_code == 403
    assert PushJob.objects.count() == 1
