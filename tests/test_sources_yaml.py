"""`source` and `connections` in the YAML format: lint without connecting, import, export."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest
from typer.testing import CliRunner

from headway.cli import app
from headway.document.exporter import export_text
from headway.document.importer import import_document, load_texts_for_import
from headway.document.load import DocumentError, load_texts
from headway.sources.models import Connection, Source

runner = CliRunner()

BASE = """\
version: 1
teams:
  - {key: ops, name: Operations, kind: company}
connections:
  - {name: dw, engine: postgresql}
  - {name: api, engine: http}
kpis:
  - key: rate
    name: Rate
    team: ops
    cadence: weekly
    source:
"""


def doc(source: str) -> str:
    return BASE + textwrap.indent(textwrap.dedent(source), "      ")


def problems(text: str) -> list[str]:
    with pytest.raises(DocumentError) as caught:
        load_texts([("okrs.yaml", text)])
    return [str(p) for p in caught.value.errors]


def test_a_well_formed_source_of_each_kind_loads() -> None:
    for source in (
        "kind: sql\nconnection: dw\nquery: SELECT day AS at, n AS value FROM t\n",
        "kind: http_json\nurl: https://x.test/a\nexpression: data.total\nheaders: {Accept: x}\n",
        "kind: csv_url\nurl: https://x.test/a.csv\nvalue_column: Rate\nat_column: Week\n",
        "kind: prometheus\nconnection: api\nquery: sum(up)\nmode: range\nlookback: 7d\nstep: 1d\n",
    ):
        loaded = load_texts([("okrs.yaml", doc(source))])
        assert loaded.kpis[0].source is not None


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "kind: sql\nconnection: dw\nquery: SELEC x FRM\n",
            "source.query: the query does not parse",
        ),
        ("kind: sql\nconnection: dw\nquery: DROP TABLE t\n", "the query writes"),
        ("kind: sql\nconnection: nope\nquery: SELECT 1\n", "unknown connection 'nope'"),
        ("kind: sql\nquery: SELECT 1\n", "a sql source needs a connection"),
        ("kind: sql\nconnection: api\nquery: SELECT 1\n", "'api' is a http connection"),
        ("kind: http_json\nurl: https://x.test/\nexpression: 'a.[b'\n", "source.expression"),
        ("kind: http_json\nurl: /rel\nexpression: a\n", "give a full http(s) URL"),
        ("kind: prometheus\nconnection: api\nquery: sum(up\n", "is not closed"),
        ("kind: sql\nconnection: dw\nquery: SELECT 1\nschedule: daily\n", "source.schedule"),
        (
            "kind: sql\nconnection: dw\nquery: SELECT 1\nurl: https://x.test/\n",
            "not a field of an sql",
        ),
        ("kind: csv_url\nurl: https://x.test/\n", "source.value_column: is required"),
    ],
)
def test_lint_finds_a_malformed_source_with_its_line(source: str, message: str) -> None:
    found = problems(doc(source))
    assert any(message in p for p in found), found
    assert all(p.startswith("okrs.yaml:") for p in found)


def test_headway_lint_reports_source_problems_without_connecting(tmp_path: Any) -> None:
    path = tmp_path / "okrs.yaml"
    path.write_text(doc("kind: sql\nconnection: dw\nquery: SELEC 1\n"))
    result = runner.invoke(app, ["lint", str(path)])
    assert result.exit_code == 2
    assert "source.query" in result.output


@pytest.mark.django_db
def test_import_creates_missing_connections_empty_and_sets_sources(org: Any) -> None:
    text = doc("kind: sql\nconnection: dw\nquery: SELECT 1 AS value\nschedule: 0 6 * * *\n")
    result = import_document(load_texts_for_import([("okrs.yaml", text)]))
    assert result.counts["sources"].created == 1
    assert result.counts["connections"].created == 2
    dw = Connection.objects.get(name="dw")
    assert dw.incomplete
    assert not dw.has_secret
    source = Source.objects.get()
    assert (source.kind, source.config, source.schedule) == ("sql", {"query": "SELECT 1 AS value"},
                                                             "0 6 * * *")  # fmt: skip
    again = import_document(load_texts_for_import([("okrs.yaml", text)]))
    assert again.counts["sources"].unchanged == 1
    assert again.counts["sources"].created == 0
    # The placeholder's sources fail clearly until an admin completes it.
    from headway.sources.actions import run_source

    assert "not set up yet" in run_source(by=None, kpi=source.kpi).error


@pytest.mark.django_db
def test_import_refuses_a_connection_of_another_engine(org: Any) -> None:
    Connection.objects.create(name="dw", engine="mysql", host="h", database="d")
    text = doc("kind: sql\nconnection: dw\nquery: SELECT 1 AS value\n")
    with pytest.raises(DocumentError, match="is a mysql connection in Headway, not postgresql"):
        import_document(load_texts_for_import([("okrs.yaml", text)]))
    assert not Source.objects.exists()


@pytest.mark.django_db
def test_export_round_trips_sources_and_never_writes_a_secret(org: Any) -> None:
    secret = "exp-" + "Zt5Kq1Rn"
    from headway.sources import actions

    actions.create_connection(by=org.admin, name="dw", engine="postgresql", host="db",
                              database="w", user="u", password=secret)  # fmt: skip
    actions.create_connection(by=org.admin, name="api", engine="http",
                              base_url="https://x.test/", headers=f"X-Token: {secret}")  # fmt: skip
    text = doc("""\
        kind: http_json
        connection: api
        url: metrics/a
        expression: "data[*].{at: day, value: n}"
        headers: {Accept: application/json}
        timeout: 5
        enabled: false
    """)
    import_document(load_texts_for_import([("okrs.yaml", text)]))
    exported = export_text()
    assert secret not in exported
    assert "db" not in exported.split("connections:")[1].split("kpis:")[0]
    assert "  - {name: api, engine: http}" in exported
    reread = load_texts([("export.yaml", exported)])
    source = reread.kpis_by_key["rate"].source
    assert source is not None
    assert source.model_dump(exclude_defaults=True) == {
        "kind": "http_json", "connection": "api", "url": "metrics/a",
        "expression": "data[*].{at: day, value: n}", "headers": {"Accept": "application/json"},
        "timeout": 5.0, "enabled": False,
    }  # fmt: skip
    # Importing the export changes nothing.
    result = import_document(load_texts_for_import([("export.yaml", exported)]))
    assert result.counts["sources"].unchanged == 1


@pytest.mark.django_db
def test_source_null_removes_it(org: Any) -> None:
    import_document(
        load_texts_for_import([("a.yaml", doc("kind: sql\nconnection: dw\nquery: SELECT 1\n"))])
    )
    assert Source.objects.count() == 1
    without = BASE.replace("    source:\n", "")
    import_document(load_texts_for_import([("b.yaml", without)]))
    assert Source.objects.count() == 1  # no field: kept
    import_document(load_texts_for_import([("c.yaml", without + "    source: null\n")]))
    assert not Source.objects.exists()
