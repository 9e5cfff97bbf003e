"""Exports as HTTP responses, shared by the web pages and the API: one way to download.

CSV streams row by row; XLSX is written (in constant memory) to a temporary file that is
unlinked at once and streamed from the open handle; the PDF is rendered in memory. Each
answer is an attachment with a plain file name and its own content type.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from typing import Literal

from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.utils import timezone

from headway.okrs.models import Cycle
from headway.reports.tables import Table
from headway.reports.writers import CONTENT_TYPES, csv_cell, write_xlsx
from headway.teams.access import Access
from headway.teams.models import Team

__all__ = ["EXPORT_FORMATS", "filename", "pack_response", "table_response"]

ExportFormat = Literal["csv", "xlsx", "pdf"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("csv", "xlsx", "pdf")


def filename(slug: str, fmt: str) -> str:
    """``tree-2027-Q1-2027-02-15.xlsx``: the export's name, dated, safe in any header."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", slug).strip("-") or "export"
    return f"{safe}-{timezone.localdate().isoformat()}.{fmt}"


def _disposition(response: HttpResponse | StreamingHttpResponse, name: str) -> None:
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_lines(table: Table) -> Iterator[str]:
    import csv

    writer = csv.writer(_Echo(), lineterminator="\r\n")
    yield "\ufeff"  # a BOM, so spreadsheet programs read the file as UTF-8
    yield writer.writerow([c.header for c in table.columns])
    for row in table.rows():
        yield writer.writerow([csv_cell(v) for v in row])


def table_response(tables: Sequence[Table], fmt: str) -> HttpResponse | StreamingHttpResponse:
    """The first table as CSV (``fmt`` "csv"), or every table as a sheet of one XLSX."""
    if fmt not in ("csv", "xlsx"):
        raise ValueError(f"a table is exported as csv or xlsx, not {fmt!r}")
    if fmt == "csv":
        response: HttpResponse | StreamingHttpResponse = StreamingHttpResponse(
            _csv_lines(tables[0]), content_type=CONTENT_TYPES["csv"]
        )
        _disposition(response, filename(tables[0].slug, "csv"))
        return response
    handle = tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False)  # noqa: SIM115
    try:
        handle.close()
        write_xlsx(list(tables), handle.name)
        stream = open(handle.name, "rb")  # noqa: SIM115 - FileResponse closes it
    finally:
        os.unlink(handle.name)
    response = FileResponse(stream, content_type=CONTENT_TYPES["xlsx"])
    _disposition(response, filename(tables[0].slug, "xlsx"))
    return response


def pack_response(cycle: Cycle, access: Access, team: Team | None = None) -> HttpResponse:
    """The PDF review pack of a cycle (or a team) as a download."""
    from headway.reports.pack import render_pack_pdf

    pdf = render_pack_pdf(cycle, access, team)
    response = HttpResponse(pdf, content_type=CONTENT_TYPES["pdf"])
    slug = f"review-pack-{cycle.key}" + (f"-{team.key}" if team is not None else "")
    _disposition(response, filename(slug, "pdf"))
    return response
