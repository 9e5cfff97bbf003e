"""Exports people use: CSV and XLSX of the tree, the review, a team, the KPI board and a
KPI's series, from the pages, the API and the CLI; and the PDF review pack."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook
from typer.testing import CliRunner

from headway.api.testing import token_for
from headway.cli import app
from headway.demo import load_demo
from headway.kpis.models import Kpi, Measurement
from headway.okrs.models import CheckIn, Cycle, CycleState, KeyResult, Objective
from headway.reports.pack import render_pack_pdf
from headway.reports.tables import everyone
from headway.web.testing import client_for

pytestmark = pytest.mark.django_db
NOW = datetime(2027, 2, 15, 12, tzinfo=UTC)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
runner = CliRunner()


@pytest.fixture
def okrs(org: Any) -> Any:
    public = Objective.objects.create(
        key="calm", cycle=org.cycle, team=org.ops, owner=org.lead, title="Calm depots"
    )
    kr = KeyResult.objects.create(
        objective=public, key="otd", title="On time 88 to 96", start=88, target=96,
        owner=org.member, unit="%", due=date(2027, 3, 31),
    )  # fmt: skip
    CheckIn.objects.create(key_result=kr, at=datetime(2027, 2, 1, tzinfo=UTC), value=92)
    private = Objective.objects.create(
        key="secret", cycle=org.cycle, team=org.depot, title="Secret award", visibility="private"
    )
    KeyResult.objects.create(objective=private, key="m", title="Won", kind="milestone")
    kpi = Kpi.objects.create(key="otd-rate", name="On-time rate", team=org.ops, unit="%", target=95)
    Measurement.objects.create(kpi=kpi, at=datetime(2027, 1, 31, tzinfo=UTC), value=91.5)
    Measurement.objects.create(kpi=kpi, at=datetime(2027, 2, 7, tzinfo=UTC), value=92.25)
    from headway.okrs.stored import rescore_all

    rescore_all()
    org.kpi = kpi
    return org


def rows_of(response: Any) -> list[list[str]]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def sheets_of(response: Any) -> dict[str, list[tuple[Any, ...]]]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    book = load_workbook(io.BytesIO(body), read_only=True)
    found = {ws.title: list(ws.iter_rows(values_only=True)) for ws in book.worksheets}
    book.close()
    return found


# --------------------------------------------------------------------------- the pages


PAGES = [
    ("/cycles/2027-Q1/export.csv", "text/csv", "tree-2027-Q1-"),
    ("/cycles/2027-Q1/export.xlsx", XLSX, "tree-2027-Q1-"),
    ("/cycles/2027-Q1/review/export.csv", "text/csv", "review-2027-Q1-"),
    ("/cycles/2027-Q1/review/export.xlsx", XLSX, "review-2027-Q1-"),
    ("/teams/ops/export.csv?cycle=2027-Q1", "text/csv", "team-ops-2027-Q1-"),
    ("/teams/ops/export.xlsx?cycle=2027-Q1", XLSX, "team-ops-2027-Q1-"),
    ("/kpis/export.csv", "text/csv", "kpis-"),
    ("/teams/ops/kpis/export.xlsx?health=no_data", XLSX, "kpis-ops-"),
    ("/kpis/otd-rate/export.csv", "text/csv", "kpi-otd-rate-"),
]


@pytest.mark.parametrize(("url", "content_type", "name"), PAGES)
def test_every_download_link_answers_a_named_file(
    okrs: Any, url: str, content_type: str, name: str
) -> None:
    response = client_for(okrs.viewer).get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith(content_type)
    disposition = response["Content-Disposition"]
    assert disposition.startswith(f'attachment; filename="{name}')
    body = rows_of(response) if content_type == "text/csv" else sheets_of(response)
    assert body


def test_the_pages_link_their_downloads(okrs: Any) -> None:
    client = client_for(okrs.member)
    for page, link in [
        ("/cycles/2027-Q1/", "/cycles/2027-Q1/export.xlsx"),
        ("/cycles/2027-Q1/review/", "/cycles/2027-Q1/review/export.pdf"),
        ("/teams/ops/", "/teams/ops/export.xlsx?cycle=2027-Q1"),
        ("/kpis/", "/kpis/export.csv"),
        ("/kpis/otd-rate/", "/kpis/otd-rate/export.xlsx"),
    ]:
        assert link in client.get(page).content.decode(), page


def test_the_tree_export_holds_scores_status_and_owners(okrs: Any) -> None:
    rows = rows_of(client_for(okrs.member).get("/cycles/2027-Q1/export.csv"))
    header, data = rows[0], rows[1:]
    row = dict(
        zip(
            header, next(r for r in data if r[header.index("key result key")] == "otd"), strict=True
        )
    )
    assert row["objective"] == "Calm depots"
    assert row["objective owner"] == "lead@acme.test"
    assert row["owner"] == "member@acme.test"
    assert (row["start"], row["target"], row["current"], row["unit"]) == ("88", "96", "92", "%")
    assert float(row["score"]) == pytest.approx(0.5)
    assert row["status"] in {"on_track", "at_risk", "off_track"}
    assert row["due"] == "2027-03-31"
    assert row["as of"] == "2027-02-01"


def test_private_objectives_are_exported_only_to_those_who_may_see_them(okrs: Any) -> None:
    for who, sees in [(okrs.viewer, False), (okrs.outsider, False), (okrs.member, True),
                      (okrs.admin, True)]:  # fmt: skip
        client = client_for(who)
        for url in ("/cycles/2027-Q1/export.csv", "/cycles/2027-Q1/review/export.csv",
                    "/teams/ops/export.csv?cycle=2027-Q1"):  # fmt: skip
            text = "\n".join(",".join(r) for r in rows_of(client.get(url)))
            assert ("Secret award" in text) is sees, (who, url)
        workbook = sheets_of(client.get("/cycles/2027-Q1/review/export.xlsx"))
        cells = {str(c) for rows in workbook.values() for row in rows for c in row}
        assert ("Secret award" in cells) is sees


def test_exports_need_a_sign_in_and_a_known_format(okrs: Any) -> None:
    from django.test import Client

    assert Client().get("/cycles/2027-Q1/export.csv").status_code == 302
    assert client_for(okrs.member).get("/cycles/2027-Q1/export.pdf").status_code == 404
    assert client_for(okrs.member).get("/cycles/nope/export.csv").status_code == 404
    assert client_for(okrs.member).get("/teams/ops/export.csv?cycle=nope").status_code == 404


def test_export_queries_do_not_grow_with_the_cycle(okrs: Any) -> None:
    def count(url: str) -> int:
        client = client_for(okrs.admin)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
            rows_of(response) if response["Content-Type"].startswith("text/csv") else sheets_of(
                response
            )
        return len(queries.captured_queries)

    urls = ["/cycles/2027-Q1/export.csv", "/cycles/2027-Q1/review/export.xlsx",
            "/teams/ops/export.xlsx?cycle=2027-Q1", "/kpis/export.csv"]  # fmt: skip
    small = [count(u) for u in urls]
    for i in range(30):
        objective = Objective.objects.create(
            key=f"o{i}", cycle=okrs.cycle, team=okrs.ops, title=f"O {i}"
        )
        for k in range(3):
            KeyResult.objects.create(
                objective=objective, key=f"k{k}", title=f"K {k}", start=0, target=1
            )
        Kpi.objects.create(key=f"kpi-{i}", name=f"KPI {i}", team=okrs.ops)
    assert [count(u) for u in urls] == small


# --------------------------------------------------------------------------- the API


def test_the_api_exports_with_content_types_and_file_names(okrs: Any) -> None:
    from django.test import Client

    client = Client()
    auth = {"Authorization": f"Bearer {token_for(okrs.viewer)}"}
    response = client.get("/api/v1/cycles/2027-Q1/export?format=xlsx", headers=auth)
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert 'filename="tree-2027-Q1-' in response["Content-Disposition"]
    tree = sheets_of(response)
    assert "Secret award" not in {str(c) for rows in tree.values() for r in rows for c in r}
    response = client.get("/api/v1/kpis/export", headers=auth)  # not the KPI with the key "export"
    assert response.status_code == 200
    assert rows_of(response)[1][0] == "otd-rate"
    series = rows_of(client.get("/api/v1/kpis/otd-rate/measurements/export", headers=auth))
    assert series == [
        ["kpi", "date", "value", "unit", "source", "note"],
        ["otd-rate", "2027-01-31", "91.5", "%", "", ""],
        ["otd-rate", "2027-02-07", "92.25", "%", "", ""],
    ]
    team = client.get("/api/v1/teams/ops/export?format=xlsx&cycle=2027-Q1", headers=auth)
    assert len(sheets_of(team)) == 2
    missing = client.get("/api/v1/cycles/nope/review/export", headers=auth)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"]
    assert client.get("/api/v1/cycles/2027-Q1/export").status_code == 401
    document = client.get("/api/openapi.json", headers=auth).json()
    content = document["paths"]["/api/v1/cycles/{key}/review/export"]["get"]["responses"]["200"][
        "content"
    ]
    assert set(content) == {"text/csv", XLSX, "application/pdf"}


# --------------------------------------------------------------------------- the CLI


def test_headway_report_writes_csv_and_xlsx(okrs: Any, tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", "tree", "--cycle", "2027-Q1"])
    assert result.exit_code == 0, result.output
    assert "Secret award" in result.output  # the operator sees everything
    result = runner.invoke(
        app, ["report", "tree", "--cycle", "2027-Q1", "--as", "viewer@acme.test"]
    )
    assert "Secret award" not in result.output
    out = tmp_path / "kpis.xlsx"
    result = runner.invoke(app, ["report", "kpis", "-o", str(out)])
    assert result.exit_code == 0, result.output
    book = load_workbook(out, read_only=True)
    assert [row[0] for row in book.worksheets[0].iter_rows(values_only=True)] == [
        "kpi key",
        "otd-rate",
    ]
    book.close()
    result = runner.invoke(app, ["report", "tree", "--format", "xlsx"])
    assert result.exit_code == 2
    assert "give --output" in result.output
    result = runner.invoke(app, ["report", "kpi", "nope"])
    assert result.exit_code == 2


# --------------------------------------------------------------------------- the PDF review pack


@pytest.mark.slow
def test_the_review_pack_of_the_demos_closed_cycle(tmp_path: Path) -> None:
    """Rendered, turned into PNG pages by pdftoppm: page count, and ink on every page."""
    from PIL import Image, ImageStat

    load_demo(today=date(2026, 11, 24))
    cycle = Cycle.objects.filter(state=CycleState.CLOSED).latest("start")
    pdf = render_pack_pdf(cycle, everyone(), now=datetime(2026, 11, 24, 9, tzinfo=UTC))
    assert pdf.startswith(b"%PDF-")
    path = tmp_path / "pack.pdf"
    path.write_bytes(pdf)
    pdftoppm = shutil.which("pdftoppm")
    assert pdftoppm, "pdftoppm (poppler-utils) is installed by `make test`"
    subprocess.run([pdftoppm, "-r", "40", "-png", str(path), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    objectives = Objective.objects.filter(cycle=cycle).count()
    # A cover, the grades, the objectives (two or three to a page), the KPIs, the coach.
    assert 4 + objectives // 3 <= len(pages) <= 6 + objectives
    for page in pages:
        image = Image.open(page).convert("L")
        assert image.width > image.height  # landscape, for printing and projecting
        # Every page carries text or charts: a blank page has no dark pixel at all.
        histogram = image.histogram()
        dark = sum(histogram[:160]) / (image.width * image.height)
        assert dark > 0.003, (page.name, dark)
        assert ImageStat.Stat(image).stddev[0] > 10, page.name
    info = subprocess.run(
        [shutil.which("pdfinfo") or "pdfinfo", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert f"Pages:           {len(pages)}" in info
    assert "Larkspur Health" in info  # the title: organisation, cycle, review


def test_the_pack_respects_visibility_and_names_the_organisation(okrs: Any) -> None:
    from headway.reports.pack import pack_context, render_pack_html
    from headway.teams.access import Access

    html = render_pack_html(pack_context(okrs.cycle, Access.for_person(okrs.viewer), now=NOW))
    assert "Acme" in html
    assert "Calm depots" in html
    assert "Secret award" not in html
    assert "2027-02-15" in html
    html = render_pack_html(
        pack_context(okrs.cycle, Access.for_person(okrs.member), okrs.ops, now=NOW)
    )
    assert "Secret award" in html
    assert "<svg" in html
