"""`headway restore` on PostgreSQL stops its pg_restore when it is interrupted; nothing changes.

The restore is made to wait (a transaction of the test holds a lock on a table the restore
must drop), then `headway restore` gets SIGTERM: its pg_restore child must be gone with
it, and the database must be exactly as before (pg_restore runs in one transaction).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from django.db import connection
from typer.testing import CliRunner

from headway.cli import app
from headway.teams.models import Team
from tests.test_notify_worker import shared_env  # noqa: F401
from tests.test_serve import alive, children, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def pg_restore_waiting(dsn: str) -> bool | None:
    with psycopg.connect(dsn) as probe:
        row = probe.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = 'pg_restore' AND wait_event_type = 'Lock'"
        ).fetchone()
    return True if row and row[0] else None


def test_interrupted_restore_stops_pg_restore_and_changes_nothing(
    tmp_path: Path,
    shared_env: dict[str, str],  # noqa: F811
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("pg_restore is PostgreSQL's")
    kept = Team.objects.create(key="kept", name="Kept", kind="company")
    target = tmp_path / "headway.backup"
    assert CliRunner().invoke(app, ["backup", str(target)]).exit_code == 0
    Team.objects.create(key="later", name="Later", kind="team", parent=kept)
    before = sorted(Team.objects.values_list("key", flat=True))
    dsn = shared_env["DATABASE_URL"].replace("postgres://", "postgresql://", 1)
    holder = psycopg.connect(dsn)
    holder.execute("SELECT count(*) FROM teams_team").fetchone()  # holds a lock until rollback
    restore = subprocess.Popen(
        [sys.executable, "-m", "headway.cli", "restore", str(target), "--force"],
        env=shared_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for(lambda: pg_restore_waiting(dsn), 90, "pg_restore to wait for the lock")
        [child] = [pid for pid, cmd in children(restore.pid).items() if "pg_restore" in cmd]
        restore.send_signal(signal.SIGTERM)
        output, _ = restore.communicate(timeout=60)
    finally:
        holder.rollback()
        holder.close()
        if restore.poll() is None:
            restore.kill()
    assert restore.returncode != 0
    assert "interrupted" in output.lower()
    assert not alive(child)
    # The server ends the abandoned restore's transaction once the lock frees: nothing changed.
    deadline = time.monotonic() + 30
    while pg_restore_waiting(dsn) and time.monotonic() < deadline:
        time.sleep(0.2)
    connection.close()
    assert sorted(Team.objects.values_list("key", flat=True)) == before
