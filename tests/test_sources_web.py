"""The data-source pages: the KPI page and board show the state; the source form tries and
saves; admins manage connections; secrets never come back in a page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from headway.kpis.models import Kpi, Measurement
from headway.sources import actions
from headway.sources.actions import SourceSpec
from headway.sources.models import Connection, DataIncident, Source
from tests.source_servers import make_sqlite

pytestmark = pytest.mark.django_db
SECRET = "web-" + "Hq7Ls9Pw"


def signed_in(person: Any) -> Client:
    client = Client()
    client.force_login(person)
    return client


@pytest.fixture
def world(org: Any, tmp_path: Path) -> Any:
    org.path = make_sqlite(tmp_path / "w.sqlite3")
    org.kpi = Kpi.objects.create(key="sales", name="Sales", team=org.depot, owner=org.member,
                                 cadence="weekly")  # fmt: skip
    actions.create_connection(by=org.admin, name="lite", engine="sqlite", database=str(org.path))
    return org


def post_source(client: Client, action: str, **fields: str) -> Any:
    data = {"kind": "sql", "connection": "lite", "schedule": "", "enabled": "on", "action": action}
    data.update(fields)
    return client.post("/kpis/sales/source/", data)


def test_try_it_shows_rows_and_writes_nothing(world: Any) -> None:
    client = signed_in(world.member)
    page = client.get("/kpis/sales/source/")
    assert page.status_code == 200
    assert b'data-kinds="http_json"' in page.content  # every kind's fields, for forms.js
    tried = post_source(
        client, "preview", sql__query="SELECT day AS at, amount AS value FROM sales"
    )
    assert tried.status_code == 200
    text = tried.content.decode()
    assert "Would create 3" in text
    assert "16 Nov 2026" in text
    assert "Nothing was written" in text
    assert not Source.objects.exists()
    assert not Measurement.objects.exists()


def test_saving_a_bad_query_names_the_field(world: Any) -> None:
    answer = post_source(signed_in(world.member), "save", sql__query="DELETE FROM sales")
    assert answer.status_code == 200
    assert "writes; a source may only read" in answer.content.decode()
    assert not Source.objects.exists()


def test_save_run_and_see_the_state_on_the_kpi_page_and_board(world: Any) -> None:
    client = signed_in(world.member)
    saved = post_source(client, "save", sql__query="SELECT day AS at, amount AS value FROM sales")
    assert saved.status_code == 302
    ran = client.post("/kpis/sales/source/", {"action": "run"}, follow=True)
    assert "Fetched 3 row(s): 3 new" in ran.content.decode()
    page = client.get("/kpis/sales/").content.decode()
    assert "source ok" in page
    assert "Last success" in page
    assert "SQL query" in page
    # Break it: the page and the board say so, with the error.
    source = Source.objects.get()
    source.config = {"query": "SELECT amount FROM missing_table"}
    source.save()
    client.post("/kpis/sales/source/", {"action": "run"})
    page = client.get("/kpis/sales/").content.decode()
    assert "source failing" in page
    assert "no such table: missing_table" in page
    board = client.get("/kpis/").content.decode()
    assert "source failing since" in board


def test_data_incident_is_shown_apart_and_can_be_accepted(world: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from headway.kpis.actions import MeasurementRow, ingest_measurements

    start = timezone.now() - timedelta(weeks=12)
    ingest_measurements(rows=[MeasurementRow("sales", start + timedelta(weeks=i), 1)
                              for i in range(10)], by=None)  # fmt: skip
    spec = SourceSpec("sql", {"query": "SELECT 99999 AS value"}, "lite")
    actions.set_source(by=None, kpi=world.kpi, spec=spec)
    actions.run_source(by=None, kpi=world.kpi)
    client = signed_in(world.member)
    page = client.get("/kpis/sales/").content.decode()
    assert "Data incident" in page
    assert "jump: 99999" in page
    incident = DataIncident.objects.get()
    viewer = signed_in(world.viewer).post(f"/kpis/sales/source/incidents/{incident.pk}/",
                                          {"decision": "accept"})  # fmt: skip
    assert viewer.status_code == 403
    client.post(f"/kpis/sales/source/incidents/{incident.pk}/", {"decision": "accept"})
    incident.refresh_from_db()
    assert incident.status == "accepted"
    assert Kpi.objects.get(pk=world.kpi.pk).latest_value == 99999


def test_only_owner_and_leads_reach_the_source_form(world: Any) -> None:
    assert signed_in(world.viewer).get("/kpis/sales/source/").status_code == 403
    assert signed_in(world.outsider).get("/kpis/sales/source/").status_code == 403
    assert signed_in(world.lead).get("/kpis/sales/source/").status_code == 200
    assert (
        "Set up a data source" in signed_in(world.member).get("/kpis/sales/edit/").content.decode()
    )


def test_admin_connections_page_never_shows_the_secret(world: Any) -> None:
    admin = signed_in(world.admin)
    fields = {"name": "pg", "engine": "postgresql", "host": "db", "database": "dw", "user": "r"}
    added = admin.post("/settings/connections", {**fields, "password": SECRET})
    assert added.status_code == 302, added.content.decode()[:2000]
    assert Connection.objects.get(name="pg").info().password == SECRET
    for url in ("/settings/connections", "/settings/connections/pg"):
        page = admin.get(url)
        assert page.status_code == 200
        assert SECRET not in page.content.decode()
    # Saving without typing a password keeps it.
    admin.post("/settings/connections/pg", {"engine": "postgresql", "host": "db2",
               "database": "dw", "user": "r"})  # fmt: skip
    connection = Connection.objects.get(name="pg")
    assert connection.host == "db2"
    assert connection.info().password == SECRET
    assert signed_in(world.lead).get("/settings/connections").status_code == 403
    admin.post("/settings/connections/pg", {"action": "delete"})
    assert not Connection.objects.filter(name="pg").exists()
