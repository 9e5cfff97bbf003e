"""`headway backup` then `headway restore` into an empty database reproduces every row."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from typer.testing import CliRunner

from headway.cli import app
from headway.demo import load_demo

runner = CliRunner()
pytestmark = pytest.mark.django_db(transaction=True)


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every Headway table, ordered by primary key."""
    rows = {}
    for model in apps.get_models():
        if model._meta.app_label in {"teams", "okrs", "kpis", "auth", "account"}:
            rows[model._meta.db_table] = list(model._default_manager.order_by("pk").values_list())
    return rows


def wipe() -> None:
    tables = [
        m._meta.db_table
        for m in apps.get_models()
        if m._meta.db_table in connection.introspection.table_names()
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE")
        else:
            cursor.execute("PRAGMA foreign_keys = OFF")
            for table in tables:
                cursor.execute(f'DELETE FROM "{table}"')
            cursor.execute("PRAGMA foreign_keys = ON")


def test_backup_then_restore_reproduces_every_row(tmp_path: Path) -> None:
    load_demo()
    before = snapshot()
    assert sum(len(v) for v in before.values()) > 1000
    target = tmp_path / "headway.backup"
    result = runner.invoke(app, ["backup", str(target)])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "headway.backup.partial").exists()
    wipe()
    assert snapshot() != before
    result = runner.invoke(app, ["restore", str(target)])
    assert result.exit_code == 0, result.output
    connection.close()
    assert snapshot() == before


def test_restore_refuses_to_overwrite_data_without_force(tmp_path: Path) -> None:
    load_demo()
    target = tmp_path / "b"
    runner.invoke(app, ["backup", str(target)])
    result = runner.invoke(app, ["restore", str(target)])
    assert result.exit_code == 2
    assert "--force" in result.output
    assert runner.invoke(app, ["restore", "--force", str(target)]).exit_code == 0


def test_restore_refuses_files_that_are_not_backups(tmp_path: Path) -> None:
    junk = tmp_path / "junk"
    junk.write_text("hello")
    result = runner.invoke(app, ["restore", str(junk)])
    assert result.exit_code == 2
    assert "not a Headway backup" in result.output
    missing = runner.invoke(app, ["restore", str(tmp_path / "nope")])
    assert "does not exist" in missing.output


def test_backup_of_one_engine_does_not_restore_into_the_other(tmp_path: Path) -> None:
    other = tmp_path / "other"
    if connection.vendor == "sqlite":
        other.write_bytes(b"PGDMP" + b"\0" * 20)
    else:
        subprocess.run(["sqlite3", str(other), "create table t(x);"], check=False)
        if not other.exists():
            other.write_bytes(b"SQLite format 3\x00" + b"\0" * 100)
    result = runner.invoke(app, ["restore", str(other)])
    assert result.exit_code == 2
    assert "export" in result.output
