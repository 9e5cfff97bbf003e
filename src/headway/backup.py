"""Backups of the whole database: SQLite's online backup, or pg_dump/pg_restore on PostgreSQL."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import threading
from pathlib import Path
from typing import Any

from django.apps import apps
from django.db import connection

from headway.database import refresh_statistics

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""


def _pg_env(settings: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    args = ["--host", str(settings.get("HOST") or "localhost")]
    if settings.get("PORT"):
        args += ["--port", str(settings["PORT"])]
    if settings.get("USER"):
        args += ["--username", str(settings["USER"])]
    env = dict(os.environ)
    if settings.get("PASSWORD"):
        env["PGPASSWORD"] = str(settings["PASSWORD"])
    return args, env


def _run_tool(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run pg_dump or pg_restore; when Headway is interrupted (Ctrl-C, SIGTERM) the child
    is stopped first, so no pg_restore goes on writing after `headway restore` ended."""
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGTERM) if main else None

    def interrupted(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    if main:
        signal.signal(signal.SIGTERM, interrupted)
    try:
        out, err = process.communicate()
    except BaseException:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        raise
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)
    return subprocess.CompletedProcess(command, process.returncode, out, err)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed; install the PostgreSQL client tools.")
    return found


def backup(target: Path) -> None:
    """Write a consistent copy of the database to `target` while Headway keeps running."""
    if target.exists() and target.is_dir():
        raise BackupError(f"{target} is a folder; give a file name.")
    connection.ensure_connection()
    partial = target.with_name(target.name + ".partial")
    if connection.vendor == "sqlite":
        raw = connection.connection
        with sqlite3.connect(partial) as out:
            raw.backup(out)
        out.close()
    elif connection.vendor == "postgresql":
        args, env = _pg_env(connection.settings_dict)
        command = [_tool("pg_dump"), *args, "--format=custom", "--no-owner", "--file", str(partial),
                   connection.settings_dict["NAME"]]  # fmt: skip
        try:
            result = _run_tool(command, env)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        if result.returncode != 0:
            partial.unlink(missing_ok=True)
            raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
    else:  # pragma: no cover - settings refuse other engines
        raise BackupError(f"Backups of {connection.vendor} are not supported.")
    # Rename last, so a half-written backup never carries the final name.
    partial.replace(target)


def _kind(path: Path) -> str:
    with path.open("rb") as fh:
        head = fh.read(16)
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_MAGIC):
        return "postgresql"
    raise BackupError(f"{path} is not a Headway backup (neither SQLite nor pg_dump format).")


def has_data() -> bool:
    """Whether any Headway table holds a row (a restore would overwrite it)."""
    tables = set(connection.introspection.table_names())
    for model in apps.get_models():
        if model._meta.db_table in tables and model._meta.app_label in {
            "teams", "okrs", "kpis",
        } and model._default_manager.exists():  # fmt: skip
            return True
    return False


def restore(source: Path, *, force: bool = False) -> None:
    """Replace the database with the backup at `source`.

    Refuses when the database already holds data unless `force`, and refuses a backup
    of another engine (use `headway export`/`import` to move between engines).
    """
    if not source.is_file():
        raise BackupError(f"{source} does not exist.")
    kind = _kind(source)
    if kind != connection.vendor:
        raise BackupError(
            f"{source} is a {kind} backup but the database is {connection.vendor}; "
            "move data between engines with `headway export` and `headway import`."
        )
    if not force and has_data():
        raise BackupError("The database already holds data; restore with --force to replace it.")
    if kind == "sqlite":
        with sqlite3.connect(source) as backup_db:
            connection.ensure_connection()
            backup_db.backup(connection.connection)
        backup_db.close()
        return
    args, env = _pg_env(connection.settings_dict)
    connection.close()
    name = connection.settings_dict["NAME"]
    command = [_tool("pg_restore"), *args, "--clean", "--if-exists", "--no-owner",
               "--single-transaction", "--dbname", name, str(source)]  # fmt: skip
    result = _run_tool(command, env)
    if result.returncode != 0:
        raise BackupError(f"pg_restore failed: {result.stderr.strip()}")
    refresh_statistics()
