"""`csv_url`: a CSV published at a URL (a spreadsheet's "publish as CSV" link).

`value_column` names the column of values; `at_column` the column of moments. Without
`at_column`, the last row with a value is read, at the moment of the fetch. Column names
match without regard to case or surrounding spaces; the delimiter (`,`, `;`, tab) is
detected. Values may carry a trailing `%` and thousands separators (`1,234.5`).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from typing import Any

from headway.sources.kinds.base import (
    ConfigError,
    ConnectionInfo,
    FetchError,
    FieldSpec,
    Limits,
    Row,
    text_field,
    timeout_field,
)
from headway.sources.kinds.web import check_url, get
from headway.words import Number, _, gettext_noop

THOUSANDS = re.compile(r"^[-+]?\d{1,3}(,\d{3})+(\.\d+)?$")


class CsvUrlKind:
    id: str = "csv_url"
    label: str = gettext_noop("CSV at a URL")
    engines: frozenset[str] = frozenset({"http"})
    connection: str = "optional"
    fields: tuple[FieldSpec, ...] = (
        FieldSpec("url", "URL", "The published CSV link (https://…).", required=True),
        FieldSpec("value_column", "Value column", "Header of the column of values.", required=True),
        FieldSpec(
            "at_column",
            "Moment column",
            "Header of the column of dates or date-times; empty: the last row, now.",
        ),
        FieldSpec("timeout", "Timeout (seconds)", "Optional; at most the site's limit."),
    )

    def clean(self, config: Mapping[str, Any]) -> dict[str, Any]:
        errors: dict[str, str] = {}
        url = text_field(config, "url", errors, required=True, max_length=2000)
        if "url" not in errors and (problem := check_url(url, relative_ok=True)):
            errors["url"] = problem
        value_column = text_field(config, "value_column", errors, required=True, max_length=200)
        at_column = text_field(config, "at_column", errors, max_length=200)
        timeout = timeout_field(config, errors)
        unknown = set(config) - {"url", "value_column", "at_column", "timeout"}
        if unknown:
            errors[sorted(unknown)[0]] = _("is not a field of a csv_url source")
        if errors:
            raise ConfigError(errors)
        cleaned: dict[str, Any] = {"url": url, "value_column": value_column}
        if at_column:
            cleaned["at_column"] = at_column
        if timeout is not None:
            cleaned["timeout"] = timeout
        return cleaned

    def lint(self, config: Mapping[str, Any], engine: str | None) -> list[str]:
        return []

    def fetch(
        self, config: Mapping[str, Any], connection: ConnectionInfo | None, limits: Limits
    ) -> list[Row]:
        timeout = min(float(config.get("timeout") or limits.timeout), limits.timeout)
        body, _type = get(
            str(config["url"]), connection=connection, headers={}, limits=limits, timeout=timeout
        )
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise FetchError(_("the answer is not UTF-8 text")) from None
        return parse(text, str(config["value_column"]), str(config.get("at_column") or ""), limits)


def parse(text: str, value_column: str, at_column: str, limits: Limits) -> list[Row]:
    if not text.strip():
        raise FetchError(_("the CSV is empty"))
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        raise FetchError(_("the CSV has no header row")) from None
    names = [h.strip().lower() for h in header]

    def column(name: str) -> int:
        try:
            return names.index(name.strip().lower())
        except ValueError:
            shown = ", ".join(repr(h.strip()) for h in header[:12])
            raise FetchError(
                _(
                    "the CSV has no column %(name)s (its columns: %(columns)s)",
                    name=repr(name),
                    columns=shown,
                )
            ) from None

    v = column(value_column)
    a = column(at_column) if at_column else None
    rows: list[Row] = []
    try:
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue
            value = record[v].strip() if v < len(record) else ""
            if a is None:
                if value:
                    rows = [Row(at=None, value=number(value))]
                continue
            if len(rows) >= limits.max_rows:
                raise FetchError(
                    _("the CSV has more than %(rows)s rows", rows=Number(limits.max_rows, ",.0f"))
                )
            at = record[a].strip() if a < len(record) else ""
            rows.append(Row(at=at, value=number(value)))
    except csv.Error as error:
        raise FetchError(
            _(
                "the CSV cannot be read: line %(line)s: %(error)s",
                line=str(reader.line_num),
                error=str(error),
            )
        ) from None
    return rows


def number(text: str) -> str:
    """A spreadsheet's formatted number as plain text: no %, no thousands separators."""
    text = text.strip()
    if text.endswith("%"):
        text = text[:-1].strip()
    if THOUSANDS.match(text):
        text = text.replace(",", "")
    return text


KIND = CsvUrlKind()
