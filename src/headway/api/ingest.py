"""Reading bulk measurement pushes (a JSON array or a CSV body) into MeasurementRows.

The body is read from the request stream with our own size limit, so these endpoints
take large pushes without raising DATA_UPLOAD_MAX_MEMORY_SIZE for the whole site. CSV is
parsed as it streams in; line numbers count the header as line 1. JSON rows are numbered
by their position in the array (the first item is row 1).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest

from headway.api.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from headway.kpis.actions import (
    IngestError,
    IngestResult,
    MeasurementRow,
    ingest_measurements,
)
from headway.teams.models import Person

# Our own limit for these endpoints only (100,000 CSV rows are about 4 MB).
MAX_BYTES: int = getattr(settings, "HEADWAY_API_MAX_INGEST_BYTES", 64 * 1024 * 1024)
CSV_TYPES = frozenset({"text/csv", "application/csv"})
JSON_TYPES = frozenset({"application/json", ""})
CHUNK = 256 * 1024


def _too_large() -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The body is larger than {MAX_BYTES // (1024 * 1024)} MiB: split the push in parts."
    )


class _Body(io.RawIOBase):
    """The request body as a raw stream, counting bytes against MAX_BYTES."""

    def __init__(self, request: HttpRequest) -> None:
        self.request = request
        self.total = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.request.read(len(buffer))
        self.total += len(data)
        if self.total > MAX_BYTES:
            raise _too_large()
        buffer[: len(data)] = data
        return len(data)


def _clean(value: Any) -> str | None:
    """A problem with a text field (NUL or broken Unicode), or None."""
    if isinstance(value, str):
        if "\x00" in value:
            return "NUL characters are not allowed"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "not valid Unicode text"
    return None


def _row(
    kpi: Any, at: Any, value: Any, note: Any, line: int, only: str | None
) -> MeasurementRow | str:
    """A row for ingest_measurements, or the message of a problem found before it."""
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
        problem = _clean(text)
        if problem:
            problems.append(f"{name}: {problem}")
    if problems:
        return "; ".join(problems)
    return MeasurementRow(kpi=kpi or "", at=at, value=value, note=note, line=line)


def _csv_rows(
    request: HttpRequest, only: str | None
) -> tuple[list[MeasurementRow], list[tuple[int, str]]]:
    content_length = int(request.META.get("CONTENT_LENGTH") or 0)
    if content_length > MAX_BYTES:
        raise _too_large()
    text = io.TextIOWrapper(
        io.BufferedReader(_Body(request), CHUNK), encoding="utf-8-sig", newline=""
    )
    reader = csv.reader(text)
    rows: list[MeasurementRow] = []
    problems: list[tuple[int, str]] = []
    try:
        header = next(reader, None)
        if header is None:
            raise BadRequest("The CSV body is empty: send a header line `kpi,at,value[,note]`.")
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
            raise BadRequest(
                "The CSV header must be `kpi,at,value[,note]`"
                + (" (kpi optional here)" if only is not None else "")
                + ": "
                + "; ".join(parts)
                + ".",
                rows=[(1, "; ".join(parts))],
            )
        index = {name: columns.index(name) for name in columns}
        width = len(columns)
        for record in reader:
            line = reader.line_num
            if not record or all(not cell.strip() for cell in record):
                continue
            if len(record) != width:
                problems.append((line, f"expected {width} columns, found {len(record)}"))
                continue

            def cell(name: str, record: list[str] = record) -> str | None:
                return record[index[name]] if name in index else None

            made = _row(cell("kpi"), cell("at"), cell("value"), cell("note"), line, only)
            if isinstance(made, str):
                problems.append((line, made))
            else:
                rows.append(made)
    except UnicodeDecodeError:
        raise BadRequest(
            f"The CSV body is not UTF-8 text (after line {reader.line_num})."
        ) from None
    except csv.Error as exc:
        raise BadRequest(
            f"The CSV body cannot be read at line {reader.line_num + 1}: {exc}.",
            rows=[(reader.line_num + 1, str(exc))],
        ) from None
    return rows, problems


def _json_rows(
    request: HttpRequest, only: str | None
) -> tuple[list[MeasurementRow], list[tuple[int, str]]]:
    content_length = int(request.META.get("CONTENT_LENGTH") or 0)
    if content_length > MAX_BYTES:
        raise _too_large()
    body = _Body(request)
    chunks = []
    while chunk := body.read(CHUNK):
        chunks.append(chunk)
    try:
        data = json.loads(b"".join(chunks))
    except (ValueError, RecursionError):
        raise BadRequest("The body is not valid JSON.") from None
    if not isinstance(data, list):
        raise BadRequest(
            "Send a JSON array of measurements: "
            + ('[{"at": …, "value": …, "note": …}]' if only else '[{"kpi": …, "at": …, …}]')
        )
    allowed = {"kpi", "at", "value", "note"}
    rows: list[MeasurementRow] = []
    problems: list[tuple[int, str]] = []
    for line, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            problems.append((line, "each measurement is an object"))
            continue
        unknown = sorted(str(name) for name in item if name not in allowed)
        if unknown:
            problems.append((line, f"unknown field {', '.join(map(repr, unknown))}"))
            continue
        made = _row(
            item.get("kpi"), item.get("at"), item.get("value"), item.get("note"), line, only
        )
        if isinstance(made, str):
            problems.append((line, made))
        else:
            rows.append(made)
    return rows, problems


def read_rows(
    request: HttpRequest, *, only: str | None
) -> tuple[list[MeasurementRow], list[tuple[int, str]]]:
    """Rows of the body and the problems found while reading them (by CSV line / JSON row)."""
    content_type = (request.content_type or "").lower()
    if content_type in CSV_TYPES:
        return _csv_rows(request, only)
    if content_type in JSON_TYPES or content_type.endswith("+json"):
        return _json_rows(request, only)
    raise UnsupportedMediaType(
        f"Send application/json or text/csv, not {content_type!r}.",
    )


def push(request: HttpRequest, *, by: Person, only: str | None, source: str) -> IngestResult:
    """Parse the body and store it through ingest_measurements: every row or none.

    Problems found while reading (bad CSV rows, a row of another KPI) are reported with
    those ingest_measurements finds, in line order.
    """
    rows, problems = read_rows(request, only=only)
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
