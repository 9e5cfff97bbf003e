"""`headway sources test|run` and `headway connections add|list|remove`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from headway.cli import app
from headway.kpis.models import Kpi, Measurement
from headway.sources import actions
from headway.sources.actions import SourceSpec
from headway.sources.models import Connection, SourceFetch
from tests.source_servers import make_sqlite

pytestmark = pytest.mark.django_db
runner = CliRunner()


@pytest.fixture
def world(org: Any, tmp_path: Path) -> Any:
    from headway.teams.models import Person

    Person.objects.create_superuser("root@acme.test", "a-long-test-password", name="Root")
    org.path = make_sqlite(tmp_path / "w.sqlite3")
    for key in ("sales", "peak"):
        Kpi.objects.create(key=key, name=key.title(), team=org.depot, owner=org.member)
    return org


def test_connections_add_list_remove_keep_the_secret_secret(world: Any) -> None:
    secret = "s3cr" + "et-Pw0rd"
    added = runner.invoke(
        app,
        ["connections", "add", "dw", "--engine", "postgresql", "--host", "db", "--database", "dw",
         "--user", "reader", "--secret"],
        env={"HEADWAY_CONNECTION_SECRET": secret},
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert Connection.objects.get(name="dw").info().password == secret
    listed = runner.invoke(app, ["connections", "list"])
    assert "reader@db/dw" in listed.output
    assert "set" in listed.output
    assert secret not in listed.output + added.output
    bad = runner.invoke(app, ["connections", "add", "x", "--engine", "mysql"])
    assert bad.exit_code == 2
    assert "host" in bad.output
    assert runner.invoke(app, ["connections", "remove", "dw"]).exit_code == 0
    assert not Connection.objects.exists()


def test_sources_test_shows_rows_and_stores_nothing(world: Any) -> None:
    actions.create_connection(
        by=world.admin, name="lite", engine="sqlite", database=str(world.path)
    )
    spec = SourceSpec("sql", {"query": "SELECT day AS at, amount AS value FROM sales"}, "lite")
    actions.set_source(by=None, kpi=Kpi.objects.get(key="sales"), spec=spec)
    result = runner.invoke(app, ["sources", "test", "sales"])
    assert result.exit_code == 0, result.output
    assert "2026-11-16" in result.output
    assert "Would create 3" in result.output
    assert not Measurement.objects.exists()
    assert not SourceFetch.objects.exists()
    missing = runner.invoke(app, ["sources", "test", "peak"])
    assert missing.exit_code == 2
    assert "has no data source" in missing.output


def test_sources_run_fetches_and_reports_failures(world: Any) -> None:
    actions.create_connection(
        by=world.admin, name="lite", engine="sqlite", database=str(world.path)
    )
    good = SourceSpec("sql", {"query": "SELECT day AS at, amount AS value FROM sales"}, "lite")
    bad = SourceSpec("sql", {"query": "SELECT amount FROM nowhere"}, "lite")
    actions.set_source(by=None, kpi=Kpi.objects.get(key="sales"), spec=good)
    actions.set_source(by=None, kpi=Kpi.objects.get(key="peak"), spec=bad)
    result = runner.invoke(app, ["sources", "run"])
    assert result.exit_code == 1
    assert "2 source(s): 1 stored, 1 failing" in result.output
    assert "no such table: nowhere" in result.output
    assert Measurement.objects.count() == 3
    only = runner.invoke(app, ["sources", "run", "sales"])
    assert only.exit_code == 0
    assert "1 source(s): 1 stored" in only.output
