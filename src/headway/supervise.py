"""`headway serve`'s supervisor: gunicorn and the notification worker side by side.

Without a worker nothing leaves Headway (e-mails, webhooks, reminders, digests), so `serve`
runs one beside gunicorn unless told not to. The supervisor is a plain parent process: it
starts both children, restarts the worker when it dies (with a back-off, so a worker that
cannot start does not spin), and stops both when it is told to stop or when gunicorn ends.
A worker that loses its parent (the supervisor killed with SIGKILL) is sent SIGTERM by the
kernel (Linux's parent-death signal), so no worker outlives its server.

No Django import: the supervisor must not hold a database connection of its own.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import FrameType

logger = logging.getLogger("headway.serve")

#: The first wait before a dead worker is started again; doubles while it keeps dying early.
RESTART_DELAY = 1.0
RESTART_DELAY_MAX = 30.0
#: A worker that ran this long before dying is restarted after RESTART_DELAY again.
HEALTHY_AFTER = 60.0
#: Seconds a child gets to finish after SIGTERM before it is killed.
STOP_GRACE = 20.0

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux for SIGTERM when the supervisor dies."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except OSError:  # pragma: no cover - no libc symbol: the supervisor still stops it
            pass


def worker_command() -> list[str]:
    """`headway worker` run with this interpreter (the console script may not be on PATH)."""
    return [sys.executable, "-m", "headway.cli", "worker"]


def gunicorn_command(host: str, port: int, workers: int) -> list[str]:
    """gunicorn with its worker timeout suited to the largest push (HEADWAY_SERVE_TIMEOUT)."""
    from django.conf import settings

    return [
        sys.executable, "-m", "gunicorn", "headway.wsgi:application",
        "--bind", f"{_bind_host(host)}:{port}", "--workers", str(workers),
        "--timeout", str(settings.HEADWAY_SERVE_TIMEOUT),
        # Requests gunicorn refuses itself (414, 431, 400) answered in the API's error shape.
        "--worker-class", "headway.gunicorn_worker.JsonErrorWorker",
        "--access-logfile", "-", "--forwarded-allow-ips", "127.0.0.1",
    ]  # fmt: skip


def _bind_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def served_url(host: str, port: int) -> str:
    """The address `serve` answers on, for links when SITE_URL is not set.

    A wildcard bind (0.0.0.0, ::) answers on every interface; the machine's name is the
    address others can reach it by.
    """
    import socket

    if host in {"", "0.0.0.0", "::", "[::]"}:
        host = socket.getfqdn() or "localhost"
    return f"http://{_bind_host(host)}:{port}"


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    delay: float = RESTART_DELAY
    restart_at: float | None = None

    def start(self, env: Mapping[str, str]) -> None:
        self.process = subprocess.Popen(self.argv, env=dict(env), preexec_fn=_die_with_parent)
        self.started_at = time.monotonic()
        self.restart_at = None
        logger.info("%s started (pid %s)", self.name, self.process.pid)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, signum: int) -> None:
        if self.alive():
            assert self.process is not None
            self.process.send_signal(signum)

    def wait(self, deadline: float) -> None:
        """Wait until the child exits or `deadline` (monotonic) passes, then kill it."""
        if self.process is None:
            return
        try:
            self.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            logger.warning("%s did not stop in time; killing it", self.name)
            self.process.kill()
            self.process.wait()


@dataclass
class Supervisor:
    """Run `web` until it ends; keep `worker` (if any) running beside it."""

    web: Child
    worker: Child | None
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    poll: float = 0.2
    clock: Callable[[], float] = time.monotonic
    _stop_signal: int | None = None

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._stop_signal = signum

    def run(self) -> int:
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, self._on_signal)
        self.web.start(self.env)
        if self.worker is not None:
            self.worker.start(self.env)
        try:
            return self._loop()
        finally:
            self._stop_all()

    def _loop(self) -> int:
        while True:
            if self._stop_signal is not None:
                logger.info("Stopping (signal %s)", self._stop_signal)
                return 0
            assert self.web.process is not None
            code = self.web.process.poll()
            if code is not None:
                logger.info("gunicorn ended (%s); stopping the worker", code)
                return code
            if self.worker is not None:
                self._keep_worker(self.worker)
            time.sleep(self.poll)

    def _keep_worker(self, worker: Child) -> None:
        now = self.clock()
        if worker.restart_at is not None:
            if now >= worker.restart_at:
                worker.restarts += 1
                worker.start(self.env)
            return
        if worker.alive():
            return
        assert worker.process is not None
        ran = now - worker.started_at
        if ran >= HEALTHY_AFTER:
            worker.delay = RESTART_DELAY
        wait = worker.delay
        worker.delay = min(worker.delay * 2, RESTART_DELAY_MAX)
        worker.restart_at = now + wait
        logger.warning(
            "The worker ended (exit %s) after %.0f s; starting it again in %.0f s",
            worker.process.returncode,
            ran,
            wait,
        )

    def _stop_all(self) -> None:
        children = [c for c in (self.worker, self.web) if c is not None]
        for child in children:
            child.signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        for child in children:
            child.wait(deadline)


def serve(
    host: str,
    port: int,
    workers: int,
    *,
    with_worker: bool,
    env: Mapping[str, str] | None = None,
    worker_argv: Sequence[str] | None = None,
) -> int:
    """Serve until stopped; returns the exit code for the `headway serve` process."""
    child_env = dict(os.environ if env is None else env)
    # Links in e-mails, webhooks and pages name the address served unless SITE_URL says
    # otherwise (settings.SITE_URL reads this).
    child_env["HEADWAY_SERVED_URL"] = served_url(host, port)
    web = Child("gunicorn", gunicorn_command(host, port, workers))
    worker = Child("worker", list(worker_argv or worker_command())) if with_worker else None
    return Supervisor(web=web, worker=worker, env=child_env).run()
