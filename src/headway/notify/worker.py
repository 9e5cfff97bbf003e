"""The notification worker: Django Tasks, periodic jobs and the delivery loop in one process.

Any number of workers may run against one PostgreSQL database: claims are atomic, the
periodic jobs insert events with unique keys, and tasks are claimed by django_tasks_db
with `SELECT … FOR UPDATE SKIP LOCKED`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import Error as DatabaseError
from django.db import close_old_connections, connections

from headway.notify.delivery import DEFAULT_BATCH, DEFAULT_LEASE, LIMITS, RunStats, drain
from headway.notify.periodic import run_periodic

logger = logging.getLogger("headway.notify")
#: Seconds to wait after a database error before the next pass; doubles to RECONNECT_MAX.
RECONNECT_WAIT = 0.5
RECONNECT_MAX = 15.0


def new_worker_id() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class WorkerOptions:
    once: bool = False
    interval: float = 5.0
    batch: int = DEFAULT_BATCH
    lease: float = DEFAULT_LEASE
    #: Seconds between two runs of the periodic jobs (every pass with --once).
    periodic_every: float = 300.0
    worker_id: str = field(default_factory=new_worker_id)
    tasks: bool = True
    periodic: bool = True
    #: Fetch the due data sources each pass (headway.sources.worker).
    sources: bool = True
    #: Sync the due tracked initiatives each pass (headway.initiatives.sync).
    trackers: bool = True


class NotifyWorker:
    """Run with `run()`; `stop()` (e.g. from a signal handler) ends it after the current send."""

    def __init__(self, options: WorkerOptions) -> None:
        self.options = options
        self._stop = threading.Event()
        self.totals = RunStats()
        self.tasks_run = 0
        self.periodic_runs = 0
        self.database_errors = 0

    def stop(self, *_: object) -> None:
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(self) -> RunStats:
        options = self.options
        saved = (LIMITS.batch, LIMITS.lease, LIMITS.stopping)
        # The delivery task run by this process claims with the same batch and lease.
        LIMITS.batch, LIMITS.lease = options.batch, options.lease
        LIMITS.stopping = lambda: self.stopping
        logger.info("Notification worker %s started", options.worker_id)
        try:
            self._loop()
        finally:
            LIMITS.batch, LIMITS.lease, LIMITS.stopping = saved
        logger.info("Notification worker %s stopped: %s", options.worker_id, self.totals.as_dict())
        return self.totals

    def _loop(self) -> None:
        options = self.options
        self._last_periodic = float("-inf")
        while not self.stopping:
            close_old_connections()
            if self._guarded(self._pass):
                self._outage = 0
            elif not options.once:
                # The database went away (restarted, connection killed): wait, reconnect on
                # the next pass and carry on; claims and leases make the retry safe.
                self._outage += 1
                self._stop.wait(min(RECONNECT_WAIT * 2 ** (self._outage - 1), RECONNECT_MAX))
                continue
            if options.once:
                # Clear the delivery tasks the periodic jobs queued (their work is done).
                self._guarded(self.run_tasks)
                return
            close_old_connections()
            self._stop.wait(options.interval)

    _outage = 0
    _last_periodic = float("-inf")

    def _guarded(self, step: Callable[[], None]) -> bool:
        """Run one step; a database error is logged and the connections dropped, not raised."""
        try:
            step()
        except DatabaseError as exc:
            self.database_errors += 1
            logger.warning(
                "Database error in the worker (%s: %s); reconnecting", type(exc).__name__, exc
            )
            for connection in connections.all(initialized_only=True):
                with contextlib.suppress(DatabaseError):
                    connection.close()
            return False
        return True

    def _pass(self) -> None:
        options = self.options
        self.reclaim_tasks()
        self.run_tasks()
        if options.periodic and (
            options.once or time.monotonic() - self._last_periodic >= options.periodic_every
        ):
            counts = run_periodic()
            self.periodic_runs += 1
            self._last_periodic = time.monotonic()
            if any(counts.values()):
                logger.info("Periodic jobs recorded %s", counts)
        self.fetch_sources()
        self.sync_trackers()
        self.send_outbox()
        stats = drain(worker_id=options.worker_id, batch=options.batch, lease=options.lease)
        self.totals.add(stats)
        if stats.claimed:
            logger.info("Deliveries: %s", stats.as_dict())

    def reclaim_tasks(self) -> int:
        """Make tasks left RUNNING by a dead worker (longer than the lease) ready again.

        Headway's tasks are idempotent (`deliver` drains with atomic claims), so running
        one again is safe; a task row stuck RUNNING would otherwise never run.
        """
        if not self.options.tasks:
            return 0
        from datetime import timedelta

        from django.tasks import TaskResultStatus
        from django.utils import timezone
        from django_tasks_db.models import DBTaskResult

        stale = timezone.now() - timedelta(seconds=self.options.lease)
        count = DBTaskResult.objects.filter(
            status=TaskResultStatus.RUNNING, started_at__lt=stale
        ).update(status=TaskResultStatus.READY, started_at=None)
        if count:
            logger.warning("Reclaimed %s task(s) left running by a stopped worker", count)
        return count

    def send_outbox(self) -> None:
        """Invitations and password resets queued in the outbox (headway.notify.outbox)."""
        if self.stopping:
            return
        from headway.notify.outbox import send_due

        try:
            stats = send_due(worker_id=self.options.worker_id, stopping=lambda: self.stopping)
        except Exception:
            logger.exception("Outbox: the send pass failed; retrying next pass")
            return
        if any(stats.as_dict().values()):
            logger.info("Outbox: %s", stats.as_dict())

    def fetch_sources(self) -> None:
        """Data sources (issue 15): fetch the due ones; claims are atomic, like deliveries."""
        if not self.options.sources or self.stopping:
            return
        from headway.sources.worker import fetch_due

        try:
            stats = fetch_due(worker_id=self.options.worker_id, stopping=lambda: self.stopping)
        except Exception:
            logger.exception("Data sources: the fetch pass failed; retrying next pass")
            return
        if stats.claimed:
            logger.info("Data sources: %s", stats.as_dict())

    def sync_trackers(self) -> None:
        """Initiatives following a tracker issue (issue 18): claimed like data sources."""
        if not self.options.trackers or self.stopping:
            return
        from headway.initiatives.sync import sync_due

        try:
            stats = sync_due(worker_id=self.options.worker_id, stopping=lambda: self.stopping)
        except Exception:
            logger.exception("Trackers: the sync pass failed; retrying next pass")
            return
        if stats.claimed:
            logger.info("Trackers: %s", stats.as_dict())

    def run_tasks(self) -> None:
        """Run every ready Django Task of the database backend, then return."""
        if not self.options.tasks or self.stopping:
            return
        from django.tasks import task_backends
        from django_tasks_db.backend import DatabaseBackend
        from django_tasks_db.management.commands.db_worker import Worker

        for alias in task_backends:
            if not isinstance(task_backends[alias], DatabaseBackend):
                continue
            worker = Worker(
                queue_names=["*"],
                interval=0,
                batch=True,
                backend_name=alias,
                startup_delay=False,
                max_tasks=None,
                worker_id=self.options.worker_id[:64],
                excluded_queue_names=[],
            )
            worker.run()
            self.tasks_run += worker._run_tasks
