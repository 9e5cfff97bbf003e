"""The loader's fast path for large files: one-line rows read without libyaml, the rest from
its events, measurements kept as columns. It must read exactly what libyaml reads, put every
line where libyaml puts it, and step aside whenever it is not sure."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headway.document import load
from headway.document.load import DocumentError, load_texts
from headway.document.schema import FieldPath, MeasurementSeries, line_in

ODD_ROWS = [
    '{at: 2027-01-04, value: 3, note: "a, b: c", source: x}',
    '{at: 2027-01-04T10:00:00Z, value: 1.5e+3, note: "tab\\tand \\"quotes\\" \\\\ /"}',
    "{at: 2027-01-04 10:00:00+02:00, value: -0.5, note: it's fine}",
    "{ at: 2027-01-05, value: 7 }",
    "{at: 2027-01-06,value: 8}",
    "{at: 2027-01-07, value: yes, note: null, source: ~}",
    "{at: 2027-01-08, value: 0x1F, note: 1_000, source: .inf}",
    "{at: 2027-01-09, value: 12:30, note: Über 5 % — gut}",
    "{at: 2027-01-10, value: 1, tags: [a, b]}",
    "{at: 2027-01-11, value: 1, note: 'single quoted'}",
    "{at: 2027-01-12, value: 1, note: x} # a comment",
    "{at: 2027-01-13, value: 1,}",
    "{at: 2027-01-14, value: 1, at: 2027-01-15}",
    "{at: 2027-01-16, value: &anchor 1}",
    "{at: 2027-01-17, value: !!str 1}",
    "{at: 2027-01-18, value: '2'}",
    "{at: 2027-13-40, value: 1}",
    "{at: 2027-01-19, value: =}",
    "{at: 2027-01-20, value: 1, note: -x, source: a:b}",
]


def _document(rows: list[str], filler: int = 1100) -> str:
    """A valid document: a KPI with ``filler`` plain measurements around the odd rows."""
    lines = [
        "version: 1",
        "teams:",
        "  - {key: ops, name: Operations, kind: company}",
        "kpis:",
        "  - key: on-time",
        "    name: On-time rate",
        "    team: ops",
        "    definition: |",
        "      - {at: 2027-01-01, value: 1}",
        "      a block scalar that looks like a row",
        "    measurements:",
    ]
    for n in range(filler // 2):
        lines.append(f"      - {{at: 2020-01-01T{n // 60 % 24:02}:{n % 60:02}:00Z, value: {n}.5}}")
    lines += [f"      - {row}" for row in rows]
    for n in range(filler // 2):
        day = date(2021, 1, 1) + timedelta(days=n)
        lines.append(f"      - {{at: {day}, value: {n}, source: wms}}")
    return "\n".join(lines) + "\n"


def _plain(data: Any) -> Any:
    """Data with the fast path's rows (tuples) as the dicts they stand for."""
    if isinstance(data, tuple):
        return dict(zip(data[0], data[1:], strict=True))
    if isinstance(data, dict):
        return {k: _plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_plain(v) for v in data]
    return data


def _paths(data: Any, path: FieldPath = ()) -> list[FieldPath]:
    found = [path]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found += _paths(value, (*path, i))
    return found


def _same_as_libyaml(text: str) -> None:
    data, lines, problems = load._parse(text)
    expected, expected_lines, expected_problems = load._parse_text(text, None)
    assert problems == expected_problems
    assert _plain(data) == expected
    for path in _paths(expected):
        assert line_in(lines, path) == line_in(expected_lines, path), path


def test_rows_read_exactly_what_libyaml_reads() -> None:
    text = _document(ODD_ROWS)
    rows = load._Rows(text)
    assert sum(len(found) for found, _ in rows.runs) > 1000  # the fast path did the work
    _same_as_libyaml(text)


@pytest.mark.parametrize("row", ODD_ROWS)
def test_each_odd_row_reads_as_libyaml_reads_it(row: str) -> None:
    _same_as_libyaml(_document([row] * 3, filler=1000))


def test_a_document_with_an_alias_is_read_by_libyaml_alone() -> None:
    text = _document([]).replace("    name: On-time rate", "    name: &name On-time rate")
    text += "  - {key: other, name: *name, team: ops}\n"
    _same_as_libyaml(text)
    doc = load_texts([("big.yaml", text)])
    assert doc.kpis[1].name == "On-time rate"


def test_problems_in_a_large_file_name_their_lines() -> None:
    text = _document([])
    lines = text.splitlines()
    lines[600] = lines[600].replace("value: ", "value: x")  # a row whose value is text
    lines[700] = lines[700].replace("}", ", colour: red}")  # an unknown field
    text = "\n".join(lines) + "\n"
    with pytest.raises(DocumentError) as caught:
        load_texts([("big.yaml", text)])
    errors = [str(p) for p in caught.value.errors]
    assert errors[0].startswith("big.yaml:601: kpis[0].measurements[589].value: ")
    assert errors[1] == (
        "big.yaml:701: kpis[0].measurements[689].colour: unknown field 'colour' "
        "(allowed: at, note, source, value)"
    )


def test_a_yaml_error_in_a_large_file_is_reported_as_libyaml_reports_it() -> None:
    text = _document([]) + "  - key: [unclosed\n"
    expected = load._parse_text(text, None)[2]
    assert expected  # a syntax error
    with pytest.raises(DocumentError) as caught:
        load_texts([("big.yaml", text)])
    assert [p.line for p in caught.value.errors] == [line for line, _, _ in expected]


def test_duplicate_moments_are_found_among_columns() -> None:
    text = _document(["{at: 2021-01-02, value: 9, source: wms}"])
    with pytest.raises(DocumentError) as caught:
        load_texts([("big.yaml", text)])
    (problem,) = caught.value.errors
    assert problem.field_path.endswith(".at")
    assert "two measurements at 2021-01-02" in problem.message


def test_a_loaded_kpi_keeps_its_measurements_as_columns() -> None:
    doc = load_texts([("big.yaml", _document(ODD_ROWS[:3]))])
    series = doc.kpis[0].measurements
    assert isinstance(series, MeasurementSeries)
    assert len(series) == 1103
    assert series[550].at == datetime(2027, 1, 4, tzinfo=UTC)
    assert series[550].note == "a, b: c"
    assert series[552].at == datetime(2027, 1, 4, 8, tzinfo=UTC)
    assert [m.value for m in series[549:552]] == [549.5, 3.0, 1500.0]
    assert doc.model_dump()["kpis"][0]["measurements"][550]["source"] == "x"
    assert doc.line_of(("kpis", 0, "measurements", 550, "value")) == 562


_plain_text = st.text(
    alphabet=st.sampled_from(list("abcXYZ019 .:-_+/'\"#,!&*?|>%@`{}[]~é")), min_size=1, max_size=8
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["at", "value", "note", "x"]), _plain_text), max_size=4))
def test_any_row_reads_as_libyaml_reads_it(pairs: list[tuple[str, str]]) -> None:
    row = "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}"
    text = "\n".join(["items:", *[f"  - {row}"] * 3, "  - {a: 1}", "other: [1]"]) + "\n"
    data, lines, problems = load._parse(text, fast_from=0)
    expected, expected_lines, expected_problems = load._parse_text(text, None)
    assert problems == expected_problems
    assert _plain(data) == expected
    if expected is not None:
        for path in _paths(expected):
            assert line_in(lines, path) == line_in(expected_lines, path)


def test_moments_are_shared_between_kpis() -> None:
    text = _document([]).replace("kpis:\n", "kpis:\n" + _kpi_copy(_document([])), 1)
    doc = load_texts([("big.yaml", text)])
    first, second = (k.measurements for k in doc.kpis)
    assert isinstance(first, MeasurementSeries)
    assert isinstance(second, MeasurementSeries)
    assert first.at[-1] is second.at[-1]
    assert first.at[-1].date() == date(2021, 1, 1) + timedelta(days=549)


def _kpi_copy(text: str) -> str:
    body = text.split("kpis:\n", 1)[1].replace("key: on-time", "key: on-time-copy")
    return body.replace("      - {at: 2027-01-01, value: 1}\n", "")
