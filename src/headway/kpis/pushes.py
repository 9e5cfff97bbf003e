"""Reading measurement pushes (CSV text, or rows already parsed) for ingest_measurements.

Shared by the API's bulk endpoints and `headway measure --csv`: the same columns, the same
checks and the same messages, whoever pushes.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from typing import Any, TextIO

from django.db import transaction

from headway.kpis.actions import IngestError, IngestResult, MeasurementRow, ingest_measurements
from headway.teams.models import Person

Problems = list[tuple[int, str]]
_PLAIN = (float, int, str)


class PushFormatError(ValueError):
    """A push that cannot be read at all (no header, bad columns, broken CSV).

    `rows` names the lines concerned, as (line, message).
    """

    def __init__(self, message: str, rows: Sequence[tuple[int, str]] = ()) -> None:
        super().__init__(message)
        self.rows = list(rows)


def clean_text(value: Any) -> str | None:
    """A problem with a text field (NUL or broken Unicode), or None."""
    if isinstance(value, str):
        if "\x00" in value:
            return "NUL characters are not allowed"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "not valid Unicode text"
    return None


def make_row(
    kpi: Any, at: Any, value: Any, note: Any, line: int, only: str | None
) -> MeasurementRow | str:
    """A row for ingest_measurements, or the message of a problem found before it."""
    if (
        only is None
        and type(kpi) is str
        and type(at) is str
        and (note is None or note == "")
        and type(value) in _PLAIN
        and kpi.isascii()
        and at.isascii()
        and "\x00" not in kpi
        and "\x00" not in at
    ):
        # The common row (ASCII key and moment, a number, no note): nothing to clean.
        return MeasurementRow(kpi=kpi, at=at, value=value, note="", line=line)
    problems = []
    if only is not None:
        if kpi in (None, ""):
            kpi = only
        elif kpi != only:
            problems.append(f"this operation takes measurements of {only!r} only, not {kpi!r}")
    if kpi is not None and not isinstance(kpi, str):
        problems.append("kpi: a KPI key (text) is required")
    if note is None:
        note = ""
    if not isinstance(note, str):
        problems.append("note: text is required")
    for name, text in (("kpi", kpi), ("at", at), ("value", value), ("note", note)):
        problem = clean_text(text)
        if problem:
            problems.append(f"{name}: {problem}")
    if problems:
        return "; ".join(problems)
    return MeasurementRow(kpi=kpi or "", at=at, value=value, note=note, line=line)


def csv_rows(
    text: TextIO, only: str | None, what: str = "CSV body"
) -> tuple[list[MeasurementRow], Problems]:
    """Rows of a CSV push `kpi,at,value[,note]` and the problems of its lines.

    Line numbers count the header as line 1; blank lines are skipped. With `only` the
    `kpi` column is optional and every row must be of that KPI. Raises PushFormatError
    when the text cannot be read as such a CSV at all.
    """
    # strict: an unterminated quote is an error, not a field that swallows every later
    # line (which would silently drop those rows).
    reader = csv.reader(text, strict=True)
    start = 1  # the line the record being read began on
    rows: list[MeasurementRow] = []
    problems: list[tuple[int, str]] = []
    try:
        header = next(reader, None)
        if header is None:
            raise PushFormatError(f"The {what} is empty: send a header line `kpi,at,value[,note]`.")
        columns = [name.strip().lower() for name in header]
        required = ["at", "value"] if only is not None else ["kpi", "at", "value"]
        missing = [name for name in required if name not in columns]
        unknown = [name for name in columns if name not in {"kpi", "at", "value", "note"}]
        repeated = sorted({name for name in columns if columns.count(name) > 1})
        if missing or unknown or repeated:
            parts = []
            if missing:
                parts.append(f"missing column {', '.join(missing)}")
            if unknown:
                parts.append(f"unknown column {', '.join(repr(u) for u in unknown)}")
            if repeated:
                parts.append(f"repeated column {', '.join(repeated)}")
            raise PushFormatError(
                "The CSV header must be `kpi,at,value[,note]`"
                + (" (kpi optional here)" if only is not None else "")
                + ": "
                + "; ".join(parts)
                + ".",
                rows=[(1, "; ".join(parts))],
            )
        index = {name: columns.index(name) for name in columns}
        width = len(columns)
        while True:
            start = reader.line_num + 1
            record = next(reader, None)
            if record is None:
                break
            line = reader.line_num
            if not record or all(not cell.strip() for cell in record):
                continue
            if len(record) != width:
                problems.append((line, f"expected {width} columns, found {len(record)}"))
                continue

            def cell(name: str, record: list[str] = record) -> str | None:
                return record[index[name]] if name in index else None

            made = make_row(cell("kpi"), cell("at"), cell("value"), cell("note"), line, only)
            if isinstance(made, str):
                problems.append((line, made))
            else:
                rows.append(made)
    except UnicodeDecodeError:
        raise PushFormatError(
            f"The {what} is not UTF-8 text (after line {reader.line_num})."
        ) from None
    except csv.Error as exc:
        reason = str(exc)
        if "unexpected end of data" in reason:
            reason = "a quote opened on this line is never closed"
        raise PushFormatError(
            f"The {what} cannot be read at line {start}: {reason}.",
            rows=[(start, reason)],
        ) from None
    return rows, problems


def push_rows(
    rows: list[MeasurementRow], problems: Problems, *, by: Person | None, source: str
) -> IngestResult:
    """Store rows through ingest_measurements: every row or none.

    Problems found while reading are reported with those ingest_measurements finds, in
    line order; nothing is written when there is any.
    """
    if not rows and not problems:
        raise IngestError([(0, "the batch is empty")])
    if not problems:
        return ingest_measurements(rows=rows, by=by, source=source)
    found = list(problems)
    if rows:
        try:
            with transaction.atomic():
                ingest_measurements(rows=rows, by=by, source=source)
                raise IngestError([])  # roll back: other rows were bad
        except IngestError as exc:
            found.extend(exc.rows)
    raise IngestError(sorted(found))
