"""Spreadsheet import (CSV, XLSX): guessed and confirmed columns, bad rows with their lines,
all or nothing through the YAML import's path, and round trips through the XLSX export."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter
from openpyxl import load_workbook
from typer.testing import CliRunner

from headway.cli import app
from headway.document.load import DocumentError
from headway.document.sheet_import import import_sheet, preview_sheet
from headway.document.spreadsheet import (
    Known,
    convert,
    guess_mapping,
    parse_mapping,
    read_sheet,
    read_sheet_bytes,
)
from headway.kpis.models import Kpi, Measurement
from headway.okrs.models import CheckIn, KeyResult, Objective
from headway.reports.tables import everyone, kpi_series_table, tree_table
from headway.reports.writers import write_csv, write_xlsx
from headway.teams.models import Person, Team

DATA = Path(__file__).resolve().parent / "data" / "spreadsheets"
NOW = datetime(2027, 2, 15, 12, tzinfo=UTC)
runner = CliRunner()


def known() -> Known:
    return Known(
        teams={"acme": "Acme", "ops": "Operations", "sales": "Sales"},
        company="acme",
        people={"ana@northwind.test": "Ana", "ben@northwind.test": "Ben"},
        cycles={"2027-Q1": (date(2027, 1, 1), date(2027, 3, 31))},
    )


# --------------------------------------------------------------------------- other programs' files


@pytest.mark.parametrize(
    "name", ["okrs-libreoffice.xlsx", "okrs-libreoffice.csv", "okrs-de-libreoffice.xlsx",
             "okrs-de-libreoffice.csv"],
)  # fmt: skip
def test_libreoffice_files_read_as_okrs(name: str) -> None:
    sheet = read_sheet(DATA / name)
    mapping = guess_mapping(sheet.headers)
    assert mapping.kind == "okrs"
    assert {"team", "objective", "key_result", "start", "target", "current", "owner", "due"} <= set(
        mapping.columns
    )
    result = convert(sheet, mapping, known(), cycle="2027-Q1", now=NOW)
    assert result.problems == []
    assert result.document is not None
    krs = [kr for _o, kr in result.document.key_results()]
    first = krs[0]
    assert (first.start, first.target, first.due) == (88, 96, date(2027, 3, 31))
    current = first.checkins[0].value
    assert current == (90.5 if "-de-" in name else 91.5)
    if "-de-" in name:
        assert krs[1].title == "Schäden je 1.000 Pakete von 4 auf 2 senken"  # Windows-1252 read
        assert krs[1].checkins[0].value == 3.25
        assert {o.team for o in result.document.objectives} == {"betrieb", "vertrieb"}
        assert [t.name for t in result.document.teams] == ["Betrieb", "Vertrieb"]
    else:
        assert krs[3].checkins == []  # no current value: no check-in
        assert krs[0].checkins[0].confidence == 7
        assert krs[0].checkins[0].note == "new routing in two depots"


def test_libreoffice_kpi_history_reads_one_row_per_measurement() -> None:
    sheet = read_sheet(DATA / "kpis-libreoffice.xlsx")
    mapping = guess_mapping(sheet.headers)
    assert mapping.kind == "kpis"
    result = convert(sheet, mapping, known(), now=NOW)
    assert result.problems == []
    assert result.document is not None
    kpis = {k.name: k for k in result.document.kpis}
    on_time = kpis["On-time delivery rate"]
    assert [(m.at.date(), m.value) for m in on_time.measurements] == [
        (date(2027, 1, 7), 88.1), (date(2027, 1, 14), 89.0), (date(2027, 1, 21), 89.6),
    ]  # fmt: skip
    assert on_time.measurements[2].note == "holiday backlog cleared"
    assert (on_time.team, on_time.target, on_time.direction, on_time.unit) == ("ops", 95, "up", "%")
    assert kpis["Damage claims per 1000 parcels"].direction == "down"


# --------------------------------------------------------------------------- the mapping


def test_headers_are_guessed_in_english_and_german_and_close_spellings() -> None:
    mapping = guess_mapping(
        ["Abteilung", "Ziele", "Key Reslts", "Ausgangswert", "Soll", "Aktueller Wert",
         "Verantwortliche", "Deadline", "Einheit", "2027-01-31", "28.02.2027", "Whatever"]
    )  # fmt: skip
    assert mapping.columns == {
        "team": 0, "objective": 1, "key_result": 2, "start": 3, "target": 4, "current": 5,
        "owner": 6, "due": 7, "unit": 8,
    }  # fmt: skip
    assert [(c, at.date()) for c, at in mapping.checkin_columns] == [
        (9, date(2027, 1, 31)), (10, date(2027, 2, 28)),
    ]  # fmt: skip
    assert mapping.how["key_result"] == "close"
    assert guess_mapping(["Kennzahl", "Datum", "Wert"]).kind == "kpis"


def test_a_mapping_given_by_the_user_wins() -> None:
    headers = ["Bereich", "Was", "Wie messen", "Von", "Nach", "Heute"]
    guessed = guess_mapping(headers)
    assert "objective" not in guessed.columns
    mapping = parse_mapping(
        "objective=Was, key result=Wie messen, target=F, current=", headers, guessed
    )
    assert mapping.columns["objective"] == 1
    assert mapping.columns["key_result"] == 2
    assert mapping.columns["target"] == 5
    assert "current" not in mapping.columns
    with pytest.raises(ValueError, match="no column 'Nope'"):
        parse_mapping("team=Nope", headers, guessed)
    with pytest.raises(ValueError, match="is not FIELD=HEADER"):
        parse_mapping("colour=Bereich", headers, guessed)


def test_cells_in_every_usual_spelling() -> None:
    text = (
        "team;objective;key result;start;target;current;due;as of\n"
        "ops;O;A;1.000;2.500,5;1.750;31.03.27;15.01.2027\n"
        "ops;O;B;10%;20 %;12,5%;2027-03-31;2027-01-15T10:30\n"
    ).encode("cp1252")
    sheet = read_sheet_bytes(text, "de.csv")
    result = convert(sheet, guess_mapping(sheet.headers), known(), cycle="2027-Q1", now=NOW)
    assert result.problems == []
    assert result.document is not None
    a, b = result.document.objectives[0].key_results
    assert (a.start, a.target, a.checkins[0].value, a.due) == (
        1000,
        2500.5,
        1750,
        date(2027, 3, 31),
    )
    assert a.checkins[0].at == datetime(2027, 1, 15, tzinfo=UTC)
    assert (b.start, b.target, b.checkins[0].value) == (10, 20, 12.5)
    assert b.checkins[0].at == datetime(2027, 1, 15, 10, 30, tzinfo=UTC)
    slash = read_sheet_bytes(
        b"team,objective,key result,due\nops,O,A,3/31/2027\nops,O,B,1/2/2027\n", "us.csv"
    )
    converted = convert(slash, guess_mapping(slash.headers), known(), cycle="2027-Q1", now=NOW)
    assert converted.document is not None
    assert [kr.due for kr in converted.document.objectives[0].key_results] == [
        date(2027, 3, 31), date(2027, 1, 2),  # the 31 says the sheet writes months first
    ]  # fmt: skip
    ambiguous = read_sheet_bytes(b"team,objective,key result,due\nops,O,A,1/2/2027\n", "x.csv")
    problems = convert(
        ambiguous, guess_mapping(ambiguous.headers), known(), cycle="2027-Q1", now=NOW
    ).problems
    assert [str(p) for p in problems] == [
        "x.csv:2: column 'due': '1/2/2027' could be day/month or month/day: "
        "write dates as 2027-01-31"
    ]


# --------------------------------------------------------------------------- the acceptance test


def sheet_of(tmp_path: Path, rows: list[list[Any]], name: str = "okrs.xlsx") -> Path:
    """An XLSX as a spreadsheet program writes it (dates as date cells)."""
    path = tmp_path / name
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("OKRs")
    dates = book.add_format({"num_format": "dd.mm.yyyy"})
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, date):
                sheet.write_datetime(r, c, datetime(value.year, value.month, value.day), dates)
            elif value is not None:
                sheet.write(r, c, value)
    book.close()
    return path


HEADER = ["Team", "Objective", "Key result", "Start", "Target", "Current", "Owner", "Due"]
TEAMS = ["Operations", "Depot North", "Sales"]
OWNERS = ["member@acme.test", "lead@acme.test", "admin@acme.test"]


def big_rows() -> list[list[Any]]:
    rows: list[list[Any]] = [HEADER]
    for o in range(400):
        for k in range(5):
            n = o * 5 + k
            rows.append([
                TEAMS[o % 3], f"Objective number {o} makes customers happier",
                f"Raise measure {k} of objective {o} from {n} to {n + 10}", n, n + 10.5,
                n + (k % 4) * 2.25, OWNERS[n % 3], date(2027, 3, 1 + k),
            ])  # fmt: skip
    return rows


BAD = {  # data row index -> (column, bad value, the message's start)
    7: (4, "ten", "column 'Target': must be a number, got 'ten'"),
    350: (2, None, "column 'Key result': the key result is missing"),
    901: (7, "31.02.2027", "column 'Due': not a real date: '31.02.2027'"),
    1502: (6, "Nobody Known", "column 'Owner': unknown person 'Nobody Known'"),
    1999: (5, "n/a", "column 'Current': must be a number, got 'n/a'"),
}


@pytest.mark.django_db
@pytest.mark.slow
def test_two_thousand_key_results_with_five_bad_rows(org: Any, tmp_path: Path) -> None:
    rows = big_rows()
    for index, (column, value, _message) in BAD.items():
        rows[index + 1][column] = value
    path = sheet_of(tmp_path, rows)
    sheet = read_sheet(path)
    mapping = guess_mapping(sheet.headers)
    before = (Objective.objects.count(), KeyResult.objects.count(), CheckIn.objects.count())

    preview = preview_sheet(sheet, mapping, cycle="2027-Q1", now=NOW)
    assert not preview.ok
    # Exactly those five rows, each with its line (the header is line 1).
    assert [
        (p.line, f"{p.field_path}: {p.message}"[: len(BAD[(p.line or 0) - 2][2])])
        for p in preview.problems
    ] == [(index + 2, message) for index, (_c, _v, message) in BAD.items()]
    with pytest.raises(DocumentError):
        import_sheet(sheet, mapping, cycle="2027-Q1", now=NOW)
    assert (Objective.objects.count(), KeyResult.objects.count(), CheckIn.objects.count()) == before

    fixed = sheet_of(tmp_path, big_rows(), "fixed.xlsx")
    sheet = read_sheet(fixed)
    preview = preview_sheet(sheet, mapping, cycle="2027-Q1", now=NOW)
    assert preview.ok, preview.problems
    assert preview.result is not None
    assert preview.result.counts["key_results"].created == 2000
    assert KeyResult.objects.count() == before[1]  # a preview writes nothing
    result = import_sheet(sheet, mapping, cycle="2027-Q1", now=NOW)
    assert result.counts["objectives"].created == 400
    assert result.counts["key_results"].created == 2000
    assert result.counts["checkins"].created == 2000

    # spreadsheet -> import -> export (XLSX): every value kept.
    out = tmp_path / "tree.xlsx"
    write_xlsx([tree_table(org.cycle, everyone())], out)
    book = load_workbook(out, read_only=True)
    exported: list[Any] = list(book.worksheets[0].iter_rows(values_only=True))
    book.close()
    header = list(exported[0])
    names = ("team", "objective", "key result", "start", "target", "current", "owner", "due")
    col = {name: header.index(name) for name in names}
    got = sorted(
        (r[col["team"]], r[col["objective"]], r[col["key result"]], r[col["start"]],
         r[col["target"]], r[col["current"]], r[col["owner"]], r[col["due"]].date())
        for r in exported[1:]
    )  # fmt: skip
    want = sorted(tuple(row) for row in big_rows()[1:])
    assert got == want
    # ... and reading the export back changes nothing.
    again = import_sheet(read_sheet(out), guess_mapping(header), now=NOW)
    assert again.changed == 0


@pytest.mark.django_db
def test_an_import_keeps_what_the_sheet_has_no_column_for(org: Any, tmp_path: Path) -> None:
    path = sheet_of(
        tmp_path,
        [
            HEADER,
            [
                "Operations",
                "Calm depots",
                "Cut delays from 9 to 3",
                9,
                3,
                None,
                "lead@acme.test",
                None,
            ],
        ],
    )
    import_sheet(read_sheet(path), guess_mapping(HEADER), cycle="2027-Q1", now=NOW)
    objective = Objective.objects.get(title="Calm depots")
    objective.reflection, objective.visibility, objective.parent = "kept", "private", None
    objective.save()
    kr = objective.key_results.get()
    assert kr.kind == "decrease"  # the target below the start says so
    kr.unit = "days"
    kr.save()
    rows: list[list[Any]] = [
        HEADER,
        ["Operations", "Calm depots", "Cut delays from 9 to 3", 9, 2, 7, "lead@acme.test", None],
    ]
    import_sheet(
        read_sheet(sheet_of(tmp_path, rows, "again.xlsx")),
        guess_mapping(HEADER),
        cycle="2027-Q1",
        now=NOW,
    )
    objective.refresh_from_db()
    kr.refresh_from_db()
    assert (objective.reflection, objective.visibility) == ("kept", "private")
    assert (kr.unit, kr.target, kr.current) == ("days", 2, 7)
    assert Objective.objects.filter(title="Calm depots").count() == 1


# --------------------------------------------------------------------------- KPIs


@pytest.mark.django_db
def test_kpi_history_imports_and_exports_back(org: Any, tmp_path: Path) -> None:
    sheet = read_sheet(DATA / "kpis-libreoffice.xlsx")
    result = import_sheet(sheet, guess_mapping(sheet.headers), now=NOW)
    assert result.counts["kpis"].created == 2
    assert result.counts["measurements"].created == 5
    kpi = Kpi.objects.get(name="On-time delivery rate")
    assert kpi.team == org.ops
    assert list(kpi.measurements.values_list("value", flat=True)) == [88.1, 89.0, 89.6]
    # A KPI's series exported as CSV reads back as the same measurements: nothing changes.
    out = tmp_path / "series.csv"
    with out.open("w", newline="") as handle:
        write_csv(kpi_series_table(kpi), handle)
    again = import_sheet(read_sheet(out), guess_mapping(read_sheet(out).headers), now=NOW)
    assert again.changed == 0
    assert Measurement.objects.count() == 5


def test_two_values_of_a_kpi_at_one_moment_are_a_bad_row() -> None:
    sheet = read_sheet_bytes(
        b"KPI,Date,Value,Team\nNPS,2027-01-31,30,Sales\nNPS,2027-01-31,31,Sales\nNPS,2027-02-28,x,Sales\n",
        "kpis.csv",
    )
    problems = convert(sheet, guess_mapping(sheet.headers), known(), now=NOW).problems
    assert [str(p) for p in problems] == [
        "kpis.csv:3: column 'Date': a second value for 'NPS' at 2027-01-31 (the first is on "
        "line 2): one measurement per moment",
        "kpis.csv:4: column 'Value': must be a number, got 'x'",
    ]


# --------------------------------------------------------------------------- the command


@pytest.mark.django_db
def test_the_command_shows_the_columns_and_waits_for_a_confirmation(
    org: Any, tmp_path: Path
) -> None:
    path = tmp_path / "okrs.csv"
    path.write_text(
        "Abteilung,Ziel,Schlüsselergebnis,Startwert,Zielwert\n"
        "Operations,Ruhe,Weniger Staus von 9 auf 3,9,3\n"
    )
    result = runner.invoke(app, ["import", str(path), "--cycle", "2027-Q1"])
    assert result.exit_code == 1
    assert "Schlüsselergebnis" in result.output
    assert "--yes" in result.output
    assert not Objective.objects.filter(title="Ruhe").exists()
    result = runner.invoke(app, ["import", str(path), "--cycle", "2027-Q1", "--yes", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Dry run" in result.output
    assert not Objective.objects.filter(title="Ruhe").exists()
    result = runner.invoke(
        app, ["import", str(path), "--cycle", "2027-Q1", "--mapping", "target=Zielwert"]
    )
    assert result.exit_code == 0, result.output
    assert Objective.objects.get(title="Ruhe").team == org.ops
    bad = tmp_path / "bad.csv"
    bad.write_text("Team,Objective,Key result,Target\nOperations,Ruhe,X,zehn\n")
    result = runner.invoke(app, ["import", str(bad), "--cycle", "2027-Q1", "--yes"])
    assert result.exit_code == 2
    assert "bad.csv:2: column 'Target': must be a number, got 'zehn'" in result.output
    assert "nothing was written" in result.output


@pytest.mark.django_db
def test_a_formula_in_a_title_is_exported_as_text_and_read_back(org: Any, tmp_path: Path) -> None:
    path = tmp_path / "okrs.csv"
    path.write_text(
        'Team,Objective,Key result,Start,Target\nOperations,"=HYPERLINK(""x"")",-1 errors,5,1\n'
    )
    import_sheet(
        read_sheet(path), guess_mapping(read_sheet(path).headers), cycle="2027-Q1", now=NOW
    )
    out = tmp_path / "tree.csv"
    with out.open("w", newline="") as handle:
        write_csv(tree_table(org.cycle, everyone()), handle)
    text = out.read_text()
    assert "'=HYPERLINK" in text
    assert "'-1 errors" in text
    again = import_sheet(read_sheet(out), guess_mapping(read_sheet(out).headers), now=NOW)
    assert again.changed == 0
    assert Objective.objects.get(key__startswith="hyperlink").title == '=HYPERLINK("x")'
    assert (Person.objects.count(), Team.objects.count()) == (5, 4)


# --------------------------------------------------------------------------- the admin page


@pytest.mark.django_db
def test_the_admin_page_uploads_maps_previews_and_imports(org: Any, tmp_path: Path) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from headway.web.testing import client_for

    client = client_for(org.admin)
    assert client.get("/settings/import/").status_code == 200
    bad = (
        "Bereich;Ziel;Messgröße;Startwert;Zielwert;Istwert\n"
        "Operations;Ruhige Depots;Verspätungen von 9 auf 3;9;3;7,5\n"
        "Operations;Ruhige Depots;Staus von 5 auf 1;5;eins;\n"
    )
    upload = SimpleUploadedFile("okrs.csv", bad.encode("cp1252"), content_type="text/csv")
    response = client.post("/settings/import/", {"file": upload})
    assert response.status_code == 302
    url = response["Location"]
    page = client.get(url).content.decode()
    assert "Messgröße" in page  # every column offered
    assert 'name="col-team"' in page
    form = {"kind": "okrs", "cycle": "2027-Q1", "col-team": "0", "col-objective": "1",
            "col-key_result": "2", "col-start": "3", "col-target": "4",
            "col-current": "5"}  # fmt: skip
    page = client.post(url, {**form, "action": "preview"}).content.decode()
    assert "1 problem" in page
    assert "must be a number, got &#x27;eins&#x27;" in page
    assert ">3<" in page  # its line
    assert 'value="import"' not in page  # no import button while a row is bad
    before = Objective.objects.count()
    response = client.post(url, {**form, "action": "import"})
    assert Objective.objects.count() == before  # refused: the preview has a problem
    form["col-target"] = ""  # leave the bad column out: the target is then unknown
    page = client.post(url, {**form, "action": "preview"}).content.decode()
    assert 'value="import"' in page
    assert "Ruhige Depots" in page  # what will be created
    assert Objective.objects.count() == before
    response = client.post(url, {**form, "action": "import"})
    assert response.status_code == 302
    objective = Objective.objects.get(title="Ruhige Depots")
    assert objective.key_results.count() == 2
    assert objective.key_results.get(title="Verspätungen von 9 auf 3").current == 7.5
    assert client.get(url).status_code == 404  # the upload is gone once imported


@pytest.mark.django_db
def test_only_admins_import_and_only_their_own_uploads(org: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from headway.web.testing import client_for

    assert client_for(org.lead).get("/settings/import/").status_code == 403
    upload = SimpleUploadedFile("k.csv", b"KPI,Date,Value,Team\nNPS,2027-01-31,30,Sales\n")
    url = client_for(org.admin).post("/settings/import/", {"file": upload})["Location"]
    other = Person.objects.create_user("admin2@acme.test", "a-long-test-password", name="A2")
    other.is_superuser = True
    other.save()
    assert client_for(other).get(url).status_code == 404
    assert client_for(org.admin).get("/settings/import/not-a-token/").status_code == 404
    wrong = SimpleUploadedFile("notes.txt", b"hello")
    page = client_for(org.admin).post("/settings/import/", {"file": wrong}).content.decode()
    assert "Headway reads CSV and XLSX files" in page


def test_every_column_the_import_reads_is_documented() -> None:
    from headway.document.spreadsheet import FIELDS

    doc = (Path(__file__).resolve().parent.parent / "docs" / "data-in-and-out.md").read_text()
    table = doc[doc.index("### Columns and the headers") : doc.index("### Confirming")]
    for kind, specs in FIELDS.items():
        for spec in specs:
            assert spec.label in table, (kind, spec.label)
            # The first German or English header people write is listed too.
            assert any(h in table.lower() for h in spec.headers[:3]), (kind, spec.id)


@pytest.mark.django_db
def test_a_german_admin_reads_the_preview_and_its_problems_in_german(org: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from headway.web.testing import client_for

    org.admin.language = "de"
    org.admin.save(update_fields=["language"])
    client = client_for(org.admin)
    sheet = "Team,Objective,Key result,Start,Target\nOperations,Calm depots,Delays,9,eins\n"
    upload = SimpleUploadedFile("okrs.csv", sheet.encode(), content_type="text/csv")
    url = client.post("/settings/import/", {"file": upload})["Location"]
    form = {"kind": "okrs", "cycle": "2027-Q1", "col-team": "0", "col-objective": "1",
            "col-key_result": "2", "col-start": "3", "col-target": "4"}  # fmt: skip
    page = client.post(url, {**form, "action": "preview"}).content.decode()
    assert "muss eine Zahl sein, gefunden: &#x27;eins&#x27;" in page
    assert "Spalte &#x27;Target&#x27;" in page
    assert "must be a number" not in page
    form["col-target"] = ""
    page = client.post(url, {**form, "action": "preview"}).content.decode()
    assert "<td>Ziele</td>" in page  # the sections of the counts
    response = client.post(url, {**form, "action": "import"}, follow=True)
    assert "okrs.csv importiert: Ziele 1 angelegt" in response.content.decode()
    empty = SimpleUploadedFile("empty.csv", b"", content_type="text/csv")
    page = client.post("/settings/import/", {"file": empty}).content.decode()
    assert "die Datei ist leer" in page
    # The command line and the English stored problems are unchanged.
    from headway.document.spreadsheet import SheetError, read_sheet_bytes

    with pytest.raises(SheetError, match="the file is empty"):
        read_sheet_bytes(b"", "empty.csv")
