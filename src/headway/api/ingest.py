"""Reading bulk measurement pushes (a JSON array or a CSV body) into MeasurementRows.

The body is read from the request stream with our own size limit, so these endpoints
take large pushes without raising DATA_UPLOAD_MAX_MEMORY_SIZE for the whole site. Line
numbers of CSV count the header as line 1. JSON rows are numbered by their position in
the array (the first item is row 1). A body of many rows is not stored in the request:
it becomes a push job (headway.api.pushjobs) that a worker stores.
"""

from __future__ import annotations

import io
import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from headway.api.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType, is_json
from headway.kpis.actions import MeasurementRow
from headway.kpis.pushes import PushFormatError, csv_rows, make_row

# Our own limit for these endpoints only (100,000 CSV rows are about 4 MB).
MAX_BYTES: int = getattr(settings, "HEADWAY_API_MAX_INGEST_BYTES", 64 * 1024 * 1024)
CSV_TYPES = frozenset({"text/csv", "application/csv"})
CHUNK = 256 * 1024
_PLAIN = (float, int, str)


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


def read_body(request: HttpRequest) -> bytes:
    """The whole body, refused with 413 as soon as it passes MAX_BYTES."""
    content_length = int(request.META.get("CONTENT_LENGTH") or 0)
    if content_length > MAX_BYTES:
        raise _too_large()
    body = _Body(request)
    chunks = []
    while chunk := body.read(CHUNK):
        chunks.append(chunk)
    return b"".join(chunks)


def _csv_rows(body: bytes, only: str | None) -> tuple[list[MeasurementRow], list[tuple[int, str]]]:
    text = io.TextIOWrapper(io.BytesIO(body), encoding="utf-8-sig", newline="")
    try:
        return csv_rows(text, only)
    except PushFormatError as exc:
        raise BadRequest(str(exc), rows=exc.rows) from None


def _json_rows(body: bytes, only: str | None) -> tuple[list[MeasurementRow], list[tuple[int, str]]]:
    try:
        data = json.loads(body)
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
        if not item.keys() <= allowed:
            unknown = sorted(str(name) for name in item if name not in allowed)
            problems.append((line, f"unknown field {', '.join(map(repr, unknown))}"))
            continue
        kpi, at, value, note = item.get("kpi"), item.get("at"), item.get("value"), item.get("note")
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
            # The common row (make_row's fast path, inline: a push is 100,000 of these).
            rows.append(MeasurementRow(kpi, at, value, "", line))
            continue
        made = make_row(kpi, at, value, note, line, only)
        if isinstance(made, str):
            problems.append((line, made))
        else:
            rows.append(made)
    return rows, problems


def kind_of(request: HttpRequest) -> str:
    """ "csv" or "json" from the content type; anything else is refused with 415."""
    content_type = (request.content_type or "").lower()
    if content_type in CSV_TYPES:
        return "csv"
    if is_json(content_type):
        return "json"
    raise UnsupportedMediaType(
        f"Send application/json or text/csv, not {content_type!r}.",
    )


def parse(
    kind: str, body: bytes, *, only: str | None
) -> tuple[list[MeasurementRow], list[tuple[int, str]]]:
    """Rows of a body and the problems found while reading them (by CSV line / JSON row)."""
    return _csv_rows(body, only) if kind == "csv" else _json_rows(body, only)


def count_rows(kind: str, body: bytes) -> int:
    """About how many rows a body holds, without parsing it: CSV lines after the header,
    JSON objects (a `{` inside a note counts too: such a push is only queued earlier)."""
    if kind == "csv":
        lines = body.count(b"\n") + (0 if body.endswith(b"\n") or not body else 1)
        return max(lines - 1, 0)
    return body.count(b"{")
