"""Two `headway serve` sharing one PostgreSQL deliver each notification once.

Both servers run real gunicorn with their supervised worker, on free ports, against this
test's database; both mail into one folder (the file backend) and post to one webhook
receiver. Changes that notify are made through one server; each delivery must arrive
exactly once although two workers poll the same outbox.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from django.db import connection

from headway.kpis.models import Kpi
from headway.notify.kinds import Channel
from headway.notify.models import Delivery, DeliveryStatus
from headway.teams.models import Team
from tests.test_notify_worker import Receiver, receiver, run, shared_env  # noqa: F401
from tests.test_serve import SEED, collected_static, free_port, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

KPIS = 6


def _messages(folder: Path) -> int:
    """How many messages the file backend wrote (one separator line after each)."""
    return sum(p.read_text().count("\n" + "-" * 79 + "\n") for p in folder.glob("*.log"))


def _serve(env: dict[str, str], port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "headway.cli", "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_two_servers_on_one_database_deliver_each_notification_once(
    shared_env: dict[str, str],  # noqa: F811
    receiver: Receiver,  # noqa: F811
    tmp_path: Path,
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip(
            "several servers share one database only on PostgreSQL (SQLite is one file of "
            "one machine); run with DATABASE_URL=postgres://…"
        )
    mail = tmp_path / "mail"
    env = {k: v for k, v in shared_env.items() if k not in {"SITE_URL", "HEADWAY_SERVED_URL"}}
    env |= {
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "HEADWAY_MAIL_DIR": str(mail),
        "HEADWAY_HTTPS": "0",
    }
    env["STATIC_ROOT"] = collected_static(env)
    token = run(env, SEED, receiver.url).strip().splitlines()[-1]
    team, otd = Team.objects.get(key="co"), Kpi.objects.get(key="otd")
    for n in range(1, KPIS):
        Kpi.objects.create(
            key=f"k{n}", name=f"KPI {n}", team=team, owner=otd.owner, target=95, warning=90,
            critical=85, cadence="weekly",
        )  # fmt: skip
    ports = [free_port(), free_port()]
    servers = [_serve(env, port) for port in ports]
    outputs: list[str] = []
    try:
        for server, port in zip(servers, ports, strict=True):

            def up(server: subprocess.Popen[str] = server, port: int = port) -> bool | None:
                assert server.poll() is None, server.stdout.read() if server.stdout else ""
                try:
                    answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                    return answer.status_code == 200 or None
                except httpx.TransportError:
                    return None

            wait_for(up, 300, f"the server on port {port} to answer")
        # Every change goes through the first server; both workers poll the one outbox.
        base = f"http://127.0.0.1:{ports[0]}"
        today = datetime.now(UTC).replace(microsecond=0)
        week_ago = (today - timedelta(days=7)).isoformat()
        rows = [{"kpi": k.key, "at": week_ago, "value": 96} for k in Kpi.objects.all()]
        rows += [{"kpi": k.key, "at": today.isoformat(), "value": 80} for k in Kpi.objects.all()]
        answer = httpx.post(
            f"{base}/api/v1/measurements",
            json=rows,
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        assert answer.status_code == 200, answer.text

        outward = Delivery.objects.filter(channel__in=[Channel.EMAIL, Channel.WEBHOOK])

        def settled() -> bool | None:
            waiting = outward.filter(
                status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING]
            ).exists()
            return (outward.exists() and not waiting) or None

        wait_for(settled, 120, "every e-mail and webhook delivery to be sent")
        time.sleep(12)  # two more passes of both workers: nothing may be sent again
    finally:
        for server in servers:
            server.send_signal(signal.SIGTERM)
        for server in servers:
            output, _ = server.communicate(timeout=60)
            outputs.append(output)
    assert all(s.returncode == 0 for s in servers), "\n".join(o[-2000:] for o in outputs)

    emails = outward.filter(channel=Channel.EMAIL)
    webhooks = outward.filter(channel=Channel.WEBHOOK)
    assert set(outward.values_list("status", flat=True)) == {DeliveryStatus.SENT}
    assert emails.count() >= KPIS
    assert webhooks.count() >= KPIS
    # Exactly once: each webhook delivery posted once, each e-mail written once.
    assert len(receiver.keys) == len(set(receiver.keys)) == webhooks.count()
    assert _messages(mail) == emails.count()
    assert set(outward.values_list("attempts", flat=True)) == {1}
