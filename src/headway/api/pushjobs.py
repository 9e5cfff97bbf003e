"""Large measurement pushes as jobs: accepted with 202, stored by a worker, polled.

A push of more rows than HEADWAY_API_ASYNC_PUSH_ROWS is not stored inside the web request
(a million rows take longer than a web worker may run). Its body is kept in a PushJob row
and a Django Task is queued; whichever worker claims the task (atomically, like every
task) claims the job row too (a conditional update, so a reclaimed task never stores it
twice), parses the body with the same code as a synchronous push, stores it through
`push_rows` (every row or none) and keeps the answer a synchronous push would have given:
its status (200, 400 or 422) and body, in the same shapes. The client polls
`GET /api/v1/pushes/{key}` (the Location of the 202) until `state` is `done`.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.tasks import task
from django.utils import timezone

from headway.api.errors import ApiError, error_body, ingest_message
from headway.api.ingest import count_rows, kind_of, parse, read_body
from headway.api.models import PushJob, PushState
from headway.kpis.actions import IngestError, IngestResult
from headway.kpis.pushes import push_rows
from headway.teams.models import Person

logger = logging.getLogger(__name__)

# A job RUNNING longer than this is taken to belong to a dead worker and may be claimed again.
LEASE = timedelta(hours=1)


def push(
    request: HttpRequest, *, by: Person, only: str | None, source: str
) -> IngestResult | PushJob:
    """Store the body through push_rows, every row or none; a body of more rows than
    HEADWAY_API_ASYNC_PUSH_ROWS becomes a push job instead (the caller answers 202)."""
    kind = kind_of(request)
    body = read_body(request)
    rows = count_rows(kind, body)
    if rows > settings.HEADWAY_API_ASYNC_PUSH_ROWS:
        return accept(by=by, only=only, source=source, kind=kind, body=body, rows=rows)
    parsed, problems = parse(kind, body, only=only)
    return push_rows(parsed, problems, by=by, source=source)


def accept(
    *, by: Person, only: str | None, source: str, kind: str, body: bytes, rows: int
) -> PushJob:
    """Keep the body as a queued job and queue the task that stores it (after the commit)."""
    with transaction.atomic():
        job = PushJob.objects.create(
            person=by, only=only or "", source=source, kind=kind, body=body, rows=rows
        )
        transaction.on_commit(lambda: store_push.enqueue(job_id=job.pk))
    return job


def _claim(job_id: int) -> bool:
    now = timezone.now()
    claimable = Q(state=PushState.QUEUED) | Q(state=PushState.RUNNING, lease_until__lt=now)
    return bool(
        PushJob.objects.filter(claimable, pk=job_id).update(
            state=PushState.RUNNING, started_at=now, lease_until=now + LEASE
        )
    )


def outcome(job: PushJob) -> tuple[int, dict[str, Any]]:
    """The status and body a synchronous push of this job's body would have answered."""
    try:
        parsed, problems = parse(job.kind, bytes(job.body), only=job.only or None)
        result = push_rows(parsed, problems, by=job.person, source=job.source)
    except IngestError as exc:
        return 422, error_body("invalid", ingest_message(exc), rows=exc.rows)
    except ApiError as exc:
        return exc.status, error_body(exc.code, exc.message, exc.fields, exc.rows)
    return 200, result.as_dict()


@task()
def store_push(job_id: int) -> int | None:
    """Store one push job, once: the answer's status, or None when another worker has it."""
    if not _claim(job_id):
        return None
    job = PushJob.objects.select_related("person").get(pk=job_id)
    status, body = outcome(job)
    PushJob.objects.filter(pk=job_id).update(
        state=PushState.DONE, status=status, result=body, body=b"", finished_at=timezone.now()
    )
    logger.info("Push job %s stored %s rows: %s", job.key, job.rows, status)
    return status


def describe(job: PushJob) -> dict[str, Any]:
    """The job as the API shows it; `result` is the synchronous push's answer, once done."""
    return {
        "key": job.key,
        "state": job.state,
        "rows": job.rows,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "status": job.status,
        "result": job.result,
        "location": f"/api/v1/pushes/{job.key}",
    }
