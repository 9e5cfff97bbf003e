"""`headway serve` delivers by itself: real gunicorn, the worker beside it, no other process.

The server runs as a subprocess on a free port against this test's database (committed
rows, hence `transaction=True`), mails into a folder (the file backend) and posts to a
webhook receiver on 127.0.0.1. A KPI turning critical through the API must reach both
with no `headway worker` started, its links must name the port served, the worker must
come back when it is killed, and stopping the server must stop the worker too.
"""

from __future__ import annotations

import email
import email.policy
import fcntl
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.test_notify_worker import Receiver, receiver, run, shared_env  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

SEED = (
    "import os, sys, django\n"
    "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'headway.settings')\n"
    "django.setup()\n"
    "from headway.api.tokens import create_token\n"
    "from headway.kpis.models import Kpi\n"
    "from headway.notify.models import TeamWebhook\n"
    "from headway.teams.models import Membership, Person, Team\n"
    "team = Team.objects.create(key='co', name='Co', kind='company')\n"
    "admin = Person.objects.create_user('admin@co.test', 'a-long-password-1', name='Ada')\n"
    "owner = Person.objects.create_user('owner@co.test', 'a-long-password-1', name='Oli')\n"
    "Membership.objects.create(person=admin, team=team, role='admin')\n"
    "Membership.objects.create(person=owner, team=team, role='member')\n"
    "Kpi.objects.create(key='otd', name='On-time delivery', team=team, owner=owner,\n"
    "                   target=95, warning=90, critical=85, cadence='weekly')\n"
    "TeamWebhook.objects.create(team=team, name='hook', url=sys.argv[1])\n"
    "print(create_token(person=admin, name='probe', scope='write').secret)\n"
)


COLLECT = (
    "import os, django\n"
    "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'headway.settings')\n"
    "django.setup()\n"
    "from headway.serving import collect_static\n"
    "collect_static()\n"
)


def collected_static(env: dict[str, str]) -> str:
    """A STATIC_ROOT kept between runs: collecting (compressing) takes a minute, once.

    `headway serve` collects only when a static file changed (its fingerprint stamp), so
    the server under test starts without that minute. A lock keeps parallel runs apart.
    """
    root = Path(tempfile.gettempdir()) / f"headway-test-static-{os.getuid()}"
    root.mkdir(exist_ok=True)
    with (root.parent / f"{root.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        run({**env, "STATIC_ROOT": str(root)}, COLLECT)
    return str(root)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def children(pid: int) -> dict[int, str]:
    """Direct child processes of `pid` with their command lines (from /proc)."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found[int(entry.name)] = cmdline
    return found


def worker_pid(server: subprocess.Popen[str]) -> int | None:
    return next((p for p, cmd in children(server.pid).items() if " worker" in cmd), None)


def wait_for[T](probe: Callable[[], T | None], seconds: float, what: str) -> T:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if (found := probe()) is not None:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def text_of(path: Path) -> str:
    """The headers and decoded text parts of the messages the file backend wrote."""
    parts: list[str] = []
    for raw in path.read_text().split("\n" + "-" * 79 + "\n"):
        if not raw.strip():
            continue
        message = email.message_from_string(raw.strip(), policy=email.policy.default)
        parts.append(f"To: {message['To']}\nSubject: {message['Subject']}")
        for part in message.walk():
            if part.get_content_type() == "text/plain":
                parts.append(str(part.get_content()))
    return "\n".join(parts)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return state != "Z"


def test_serve_delivers_email_and_webhook_with_no_separate_worker(
    shared_env: dict[str, str],  # noqa: F811
    receiver: Receiver,  # noqa: F811
    tmp_path: Path,
) -> None:
    mail = tmp_path / "mail"
    env = {k: v for k, v in shared_env.items() if k not in {"SITE_URL", "HEADWAY_SERVED_URL"}}
    env |= {
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "HEADWAY_MAIL_DIR": str(mail),
        "HEADWAY_HTTPS": "0",
    }
    env["STATIC_ROOT"] = collected_static(env)
    token = run(env, SEED, receiver.url).strip().splitlines()[-1]
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "headway.cli", "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:

        def up() -> bool | None:
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            try:
                return httpx.get(f"{base}/healthz", timeout=2).status_code == 200 or None
            except httpx.TransportError:
                return None

        wait_for(up, 90, "the server to answer")
        auth = {"Authorization": f"Bearer {token}"}
        today = datetime.now(UTC).replace(microsecond=0)
        for at, value in ((today - timedelta(days=7), 96), (today, 80)):
            answer = httpx.post(
                f"{base}/api/v1/kpis/otd/measurements",
                json=[{"at": at.isoformat(), "value": value}],
                headers=auth,
                timeout=30,
            )
            assert answer.status_code == 200, answer.text

        # The worker started by `serve` sends both (it passes every 5 s).
        # Each delivery may be its own file (one SMTP connection each): wait for the one
        # about the KPI's health, whichever of the two events the worker sends first.
        def mails() -> str | None:
            text = "\n".join(text_of(p) for p in sorted(mail.glob("*.log")))
            return text if "On-time delivery is critical" in text else None

        message = wait_for(mails, 60, "the e-mail about the KPI's health")
        wait_for(lambda: receiver.keys or None, 60, "the webhook")
        assert "owner@co.test" in message
        assert "On-time delivery is critical" in message
        # No SITE_URL: links name the port actually served.
        assert f"{base}/kpis/otd" in message
        assert "127.0.0.1:8000" not in message
        # Each event once (the KPI's health and the promotion it now deserves).
        assert len(receiver.keys) == len(set(receiver.keys)) >= 1

        # What gunicorn refuses before Django sees it comes in the API's error shape too.
        for status, code, path, headers in (
            (414, "uri_too_long", f"/api/v1/teams?q={'x' * 5000}", {}),
            (431, "headers_too_large", "/api/v1/teams", {"X-Big": "y" * 9000}),
        ):
            refused = httpx.get(f"{base}{path}", headers=headers)
            assert refused.status_code == status, refused.text
            assert refused.headers["content-type"] == "application/json"
            assert refused.json()["error"]["code"] == code
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            raw.sendall(b"NOT A REQUEST\r\n\r\n")
            malformed = raw.recv(65536).decode("latin1")
        head, _, body = malformed.partition("\r\n\r\n")
        assert head.startswith("HTTP/1.1 400 "), head
        assert '"code": "invalid_request"' in body

        # Supervised: a worker killed outright comes back.
        first = wait_for(lambda: worker_pid(server), 10, "the worker process")
        os.kill(first, signal.SIGKILL)
        second = wait_for(
            lambda: p if (p := worker_pid(server)) not in {None, first} else None,
            20,
            "the worker to be restarted",
        )
        processes = list(children(server.pid))
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=60)
    # Stopped with the server: neither gunicorn nor the worker outlives it.
    assert server.returncode == 0, output[-3000:]
    assert second in processes
    assert not [pid for pid in processes if alive(pid)]
    assert "The worker ended" in output
