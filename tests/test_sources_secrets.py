"""A connection's secret never appears after saving: not in API answers, pages, exports,
log lines, notifications or fetch records; in the database only encrypted."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from django.db import connection as db
from django.test import Client
from typer.testing import CliRunner

from headway.api.testing import ApiClient, token_for
from headway.cli import app
from headway.document.exporter import export_text
from headway.kpis.models import Kpi
from headway.notify.models import Event
from headway.sources.models import Source, SourceFetch
from tests.source_servers import Route, make_sqlite

pytestmark = pytest.mark.django_db
PASSWORD = "pw-" + "Vf3Qm8Zt1"
TOKEN = "tok-" + "Lr6Nc2Xh9"


def test_a_secret_never_appears_after_saving(
    org: Any, http_server: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    file = make_sqlite(tmp_path / "w.sqlite3")
    admin = ApiClient(token_for(org.admin))
    answers = [
        admin.post("/connections", {"name": "dw", "engine": "postgresql", "host": "127.0.0.1",
                   "port": 1, "database": "x", "user": "u", "password": PASSWORD}),
        admin.post("/connections", {"name": "api", "engine": "http", "base_url": http_server.base,
                   "headers": {"Authorization": f"Bearer {TOKEN}"}}),
        admin.post("/connections", {"name": "lite", "engine": "sqlite", "database": str(file)}),
    ]  # fmt: skip
    assert [a.status_code for a in answers] == [201, 201, 201]
    for key in ("pg", "web", "web-ok"):
        Kpi.objects.create(key=key, name=key, team=org.depot, owner=org.member)
    owner = ApiClient(token_for(org.member))
    http_server.routes["/secret/fail"] = Route(500, f"echo {TOKEN}", "text/plain")
    http_server.json("/secret/ok", {"v": 4})
    specs = {
        "pg": {"kind": "sql", "connection": "dw", "config": {"query": "SELECT 1 AS value"}},
        "web": {"kind": "http_json", "connection": "api",
                "config": {"url": "secret/fail", "expression": "v"}},
        "web-ok": {"kind": "http_json", "connection": "api",
                   "config": {"url": "secret/ok", "expression": "v"}},
    }  # fmt: skip
    for key, spec in specs.items():
        answers.append(owner.post(f"/kpis/{key}/source/preview", spec))
        answers.append(owner.send("PUT", f"/kpis/{key}/source", spec))
        answers.append(owner.post(f"/kpis/{key}/source/run"))
        answers.append(owner.get(f"/kpis/{key}/source"))
    assert http_server.headers["/secret/ok"]["Authorization"] == f"Bearer {TOKEN}"  # it was used
    assert Source.objects.filter(state="failing").count() == 2
    answers += [
        admin.get("/connections"),
        admin.get("/connections/dw"),
        admin.get("/connections/api"),
    ]
    browser = Client()
    browser.force_login(org.admin)
    pages = [browser.get(url) for url in ("/settings/connections", "/settings/connections/dw",
             "/settings/connections/api", "/kpis/", "/kpis/pg/", "/kpis/web/", "/kpis/web/source/",
             "/kpis/pg/source/", "/inbox/")]  # fmt: skip
    assert all(p.status_code == 200 for p in pages)
    cli = CliRunner().invoke(app, ["connections", "list"])
    texts = [
        *(a.content.decode() for a in answers),
        *(p.content.decode() for p in pages),
        export_text(),
        cli.output,
        caplog.text,
        *Event.objects.values_list("title", "summary"),
        *(str(d) for d in Event.objects.values_list("data", flat=True)),
        *SourceFetch.objects.values_list("error", flat=True),
        *Source.objects.values_list("last_error", flat=True),
    ]
    flat = "\n".join(t if isinstance(t, str) else " ".join(map(str, t)) for t in texts)
    assert "answered HTTP 500" in flat
    assert "cannot connect to PostgreSQL" in flat
    assert PASSWORD not in flat
    assert TOKEN not in flat
    # In the database the secrets exist only encrypted.
    with db.cursor() as cursor:
        cursor.execute("SELECT name, secret FROM sources_connection")
        stored = dict(cursor.fetchall())
    assert stored["dw"]
    assert PASSWORD not in stored["dw"]
    assert TOKEN not in stored["api"]
