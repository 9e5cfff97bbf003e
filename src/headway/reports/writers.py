"""Tables as CSV or XLSX files, streamed row by row.

XLSX is written with XlsxWriter in `constant_memory` mode: each row goes to a temporary
file as it is written, so the large organisation's tree takes flat memory (see
docs/performance.md). Text cells are always written as text (``write_string``), never as
formulas; in CSV a text starting with ``= + - @`` gets a leading apostrophe, which
`headway import` removes again, so neither file runs what someone typed into a title
("CSV injection").
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TextIO

from headway.document.exporter import format_moment, format_number
from headway.document.spreadsheet import FORMULA_START
from headway.reports.tables import Table

__all__ = ["CONTENT_TYPES", "csv_cell", "sheet_name", "write_csv", "write_xlsx"]

Progress = Callable[[str, int, int], None]
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
TICK_EVERY = 2000


def csv_cell(value: Any) -> str:
    """One cell as CSV text that reads back as the same value (dates ISO, moments UTC)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_number(value)
    if isinstance(value, datetime):
        return format_moment(value)
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def write_csv(table: Table, out: TextIO, progress: Progress | None = None) -> int:
    """Write ``table`` as CSV (comma, UTF-8, header row); returns the number of rows."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.header for c in table.columns])
    n = 0
    for n, row in enumerate(table.rows(), start=1):
        writer.writerow([csv_cell(v) for v in row])
        if progress is not None and n % TICK_EVERY == 0:
            progress(table.title, n, table.count)
    if progress is not None:
        progress(table.title, table.count, table.count)
    return n


def sheet_name(title: str, taken: set[str]) -> str:
    """A valid, unique worksheet name (at most 31 characters, none of ``[]:*?/\\``)."""
    base = re.sub(r"[\[\]:*?/\\]", " ", title).strip()[:31] or "Sheet"
    name, n = base, 2
    while name.lower() in taken:
        suffix = f" ({n})"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(name.lower())
    return name


def write_xlsx(
    tables: Sequence[Table],
    path: Path | str,
    *,
    progress: Progress | None = None,
    title: str = "",
    author: str = "Headway",
) -> int:
    """Write the tables as sheets of one XLSX file at ``path``; returns the rows written."""
    import xlsxwriter

    book = xlsxwriter.Workbook(
        str(path),
        {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False},
    )
    book.set_properties({"title": title or tables[0].title, "author": author})
    header = book.add_format({"bold": True, "bg_color": "#E8ECF2", "bottom": 1})
    formats = {
        "number": book.add_format({"num_format": "General"}),
        "score": book.add_format({"num_format": "0.00"}),
        "count": book.add_format({"num_format": "0"}),
        "date": book.add_format({"num_format": "yyyy-mm-dd"}),
        "moment": book.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
        "text": book.add_format({}),
    }
    taken: set[str] = set()
    total = 0
    for table in tables:
        sheet = book.add_worksheet(sheet_name(table.title, taken))
        for i, column in enumerate(table.columns):
            sheet.set_column(i, i, column.width)
        sheet.freeze_panes(1, 0)
        for i, column in enumerate(table.columns):
            sheet.write_string(0, i, column.header, header)
        kinds = [c.kind for c in table.columns]
        r = 0
        for r, row in enumerate(table.rows(), start=1):
            for i, value in enumerate(row):
                if value is None or value == "":
                    continue
                _write(sheet, r, i, value, formats[kinds[i]], formats)
            if progress is not None and r % TICK_EVERY == 0:
                progress(table.title, r, table.count)
        sheet.autofilter(0, 0, max(r, 1), len(table.columns) - 1)
        total += r
        if progress is not None:
            progress(table.title, table.count, table.count)
    book.close()
    return total


def _write(sheet: Any, r: int, c: int, value: Any, fmt: Any, formats: dict[str, Any]) -> None:
    if isinstance(value, bool):
        sheet.write_boolean(r, c, value)
    elif isinstance(value, int | float):
        sheet.write_number(r, c, value, fmt)
    elif isinstance(value, datetime):
        moment = value.astimezone(UTC).replace(tzinfo=None)
        sheet.write_datetime(r, c, moment, formats["moment"])
    elif isinstance(value, date):
        sheet.write_datetime(r, c, datetime(value.year, value.month, value.day), formats["date"])
    else:
        sheet.write_string(r, c, str(value))
