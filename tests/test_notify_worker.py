"""`headway worker` processes against a shared database: exactly once, also after a SIGKILL.

A worker killed mid-send never causes a second POST: the row it was sending turns
`uncertain` (shown to admins), the rows whose send had not started are sent once by the
next worker. The workers run as real subprocesses. On PostgreSQL they share the test database (hence
`transaction=True`: the rows are committed, and flushed afterwards); the SQLite test
database lives in memory, so there they share a migrated SQLite file instead.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db(transaction=True)

# `headway worker` exactly as the CLI registers it, without depending on headway.cli.
RUN_WORKER = (
    "import typer\n"
    "from headway.notify.commands import register\n"
    "app = typer.Typer()\n"
    "app.callback()(lambda: None)\n"
    "register(app)\n"
    "app()\n"
)
SETUP = (
    "import os, sys, json, django\n"
    "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'headway.settings')\n"
    "django.setup()\n"
)
# Events for one person and a team webhook: each gives an inbox row and a webhook POST.
SEED = SETUP + (
    "from django.utils import timezone\n"
    "from headway.notify.events import Draft, record\n"
    "from headway.notify.models import TeamWebhook\n"
    "from headway.teams.models import Person, Team\n"
    "url, count = sys.argv[1], int(sys.argv[2])\n"
    "team = Team.objects.create(key='co', name='Co', kind='company')\n"
    "person = Person.objects.create_user('p@co.test', 'a-long-password-1', name='P')\n"
    "TeamWebhook.objects.create(team=team, name='hook', url=url)\n"
    "record(Draft(kind='kr_achieved', key=f'w:{i}', title=f'Event {i}',\n"
    "             occurred_at=timezone.now(), team_id=team.pk, people=[person.pk],\n"
    "             webhook_teams=[team.pk]) for i in range(count))\n"
)
REPORT = SETUP + (
    "from headway.notify.channels import idempotency_key\n"
    "from headway.notify.models import Delivery, Event, Notification\n"
    "print(json.dumps({\n"
    "  'deliveries': [[d.channel, d.status, d.attempts, d.event.dedupe_key]\n"
    "                 for d in Delivery.objects.select_related('event')],\n"
    "  'webhooks': {idempotency_key(d): [d.status, d.send_started_at is not None, d.last_error]\n"
    "               for d in Delivery.objects.filter(channel='webhook')},\n"
    "  'notifications': list(Notification.objects.values_list('person_id', 'event_id')),\n"
    "  'digests': Event.objects.filter(kind='weekly_digest').count(),\n"
    "}))\n"
)

# The admins' delivery page, as an organisation admin sees it (printed as JSON).
ADMIN_PAGE = SETUP + (
    "from django.conf import settings\n"
    "from django.test import Client\n"
    "from django.test.utils import setup_test_environment\n"
    "from headway.teams.models import Person\n"
    "setup_test_environment()\n"
    "settings.SECURE_SSL_REDIRECT = False\n"
    "settings.STORAGES = {**settings.STORAGES, 'staticfiles': {\n"
    "    'BACKEND': 'django.contrib.staticfiles.storage.StaticFilesStorage'}}\n"
    "admin = Person.objects.create_superuser('admin@co.test', 'a-long-password-1', name='A')\n"
    "client = Client()\n"
    "client.force_login(admin)\n"
    "page = client.get('/admin-tools/deliveries')\n"
    "print(json.dumps({'status': page.status_code, 'html': page.content.decode()}))\n"
)
# A worker process that dies (SIGKILL) right after its claim, before any send started.
KILLED_AFTER_CLAIM = SETUP + (
    "import signal\n"
    "from headway.notify import delivery\n"
    "def die(*args):\n"
    "    os.kill(os.getpid(), signal.SIGKILL)\n"
    "delivery._start_send = die\n"
    "delivery.deliver_due(worker_id='doomed', batch=int(sys.argv[1]), lease=float(sys.argv[2]))\n"
)

_template: dict[str, Path] = {}


def _sqlite_template(env: dict[str, str], folder: Path) -> Path:
    """A migrated SQLite file, made once per test session and copied for each test."""
    if "path" not in _template:
        path = folder / "template.sqlite3"
        subprocess.run(
            [sys.executable, "-m", "django", "migrate", "-v0"],
            env={**env, "DATABASE_URL": f"sqlite:///{path}"},
            check=True,
            timeout=120,
        )
        _template["path"] = path
    return _template["path"]


@pytest.fixture
def shared_env(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for subprocesses that work on the same database as this test."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "headway.settings",
        "HEADWAY_DATA_DIR": str(tmp_path),
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    if connection.vendor == "postgresql":
        s = connection.settings_dict
        auth = quote(s["USER"] or "", safe="")
        if s.get("PASSWORD"):
            auth += ":" + quote(s["PASSWORD"], safe="")
        env["DATABASE_URL"] = f"postgres://{auth}@{s['HOST']}:{s['PORT'] or 5432}/{s['NAME']}"
    else:
        template = _sqlite_template(env, tmp_path_factory.getbasetemp())
        database = tmp_path / "shared.sqlite3"
        shutil.copy(template, database)
        env["DATABASE_URL"] = f"sqlite:///{database}"
    return env


def run(env: dict[str, str], code: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def worker(env: dict[str, str], *options: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", RUN_WORKER, "worker", *options],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> str:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err[-3000:]
    return out


class Receiver:
    """Webhook receiver on 127.0.0.1; `hold` makes the first request hang until released."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.release.set()
        self.url = ""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    received = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with received.lock:
                received.keys.append(body["headway"]["idempotency_key"])
            received.release.wait(30)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    received.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield received
    received.release.set()
    server.shutdown()
    server.server_close()


def report(env: dict[str, str]) -> dict[str, Any]:
    state: dict[str, Any] = json.loads(run(env, REPORT).strip().splitlines()[-1])
    return state


def test_two_worker_processes_deliver_every_notification_once(
    shared_env: dict[str, str], receiver: Receiver
) -> None:
    run(shared_env, SEED, receiver.url, "30")
    workers = [worker(shared_env, "--once", "--batch", "3") for _ in range(2)]
    for process in workers:
        finish(process)
    state = report(shared_env)
    assert Counter(receiver.keys).most_common(1)[0][1] == 1  # no key twice
    assert len(receiver.keys) == 30
    webhook = [d for d in state["deliveries"] if d[0] == "webhook"]
    assert sorted((status, attempts) for _, status, attempts, _ in webhook) == [("sent", 1)] * 30
    assert len(state["notifications"]) == len({tuple(n) for n in state["notifications"]}) == 30
    # Both ran the periodic jobs at the same time: still one digest for the one person.
    assert state["digests"] == 1
    assert {status for _, status, _, _ in state["deliveries"]} == {"sent"}


def test_worker_killed_mid_send_causes_no_duplicate_and_leaves_the_row_uncertain(
    shared_env: dict[str, str], receiver: Receiver
) -> None:
    run(shared_env, SEED, receiver.url, "12")
    receiver.release.clear()  # the first POST hangs: the worker is stuck mid-delivery
    first = worker(shared_env, "--once", "--batch", "5", "--lease", "2", "--no-periodic")
    deadline = time.monotonic() + 30
    while not receiver.keys and time.monotonic() < deadline:
        time.sleep(0.05)
    assert receiver.keys, "the first worker never sent anything"
    seen_at = time.monotonic()
    # The receiver has the POST; the worker waits for the answer and has not marked it.
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    receiver.release.set()
    [in_flight] = receiver.keys
    # Its claims are taken over only once its lease (2 s, started before the POST) ran out.
    time.sleep(max(0.0, 2.3 - (time.monotonic() - seen_at)))
    finish(worker(shared_env, "--once", "--batch", "5", "--no-periodic"))
    state = report(shared_env)
    # No duplicate reached the receiver: every event once, the interrupted one included.
    counts = Counter(receiver.keys)
    assert len(counts) == 12
    assert set(counts.values()) == {1}
    # The interrupted row is not sent again: it is uncertain, with the reason for admins.
    status, started, error = state["webhooks"][in_flight]
    assert (status, started) == ("uncertain", True)
    assert "stopped mid-send" in error
    others = {key: row[0] for key, row in state["webhooks"].items() if key != in_flight}
    assert set(others.values()) == {"sent"}
    assert len(others) == 11
    assert len(state["notifications"]) == 12  # the inbox: exactly once by construction
    # The dead worker's batch of 5 was claimed twice (attempts 2) except the uncertain row.
    webhook = [d for d in state["deliveries"] if d[0] == "webhook"]
    assert sorted(attempts for _, _, attempts, _ in webhook).count(2) == 4
    # Admins see it on the failed-deliveries page, with the retry checkbox.
    page = json.loads(run(shared_env, ADMIN_PAGE).strip().splitlines()[-1])
    assert page["status"] == 200
    assert "May have been sent: the worker stopped mid-send" in page["html"]
    assert page["html"].count('name="delivery"') == 1


def test_worker_killed_before_sending_leaves_rows_the_next_worker_sends_once(
    shared_env: dict[str, str], receiver: Receiver
) -> None:
    run(shared_env, SEED, receiver.url, "6")
    doomed = subprocess.run(
        [sys.executable, "-c", KILLED_AFTER_CLAIM, "4", "1"],
        env=shared_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    killed_at = time.monotonic()
    assert doomed.returncode == -signal.SIGKILL, doomed.stderr[-3000:]
    assert receiver.keys == []
    # Its 4 claims are taken over once its lease (1 s) ran out: no send had started.
    time.sleep(max(0.0, 1.3 - (time.monotonic() - killed_at)))
    finish(worker(shared_env, "--once", "--batch", "5", "--no-periodic"))
    state = report(shared_env)
    counts = Counter(receiver.keys)
    assert len(counts) == 6
    assert set(counts.values()) == {1}
    assert {row[0] for row in state["webhooks"].values()} == {"sent"}
    webhook = [d for d in state["deliveries"] if d[0] == "webhook"]
    assert sorted(attempts for _, _, attempts, _ in webhook) == [1, 1, 2, 2, 2, 2]
