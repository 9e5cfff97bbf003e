"""Spreadsheets (CSV, XLSX) of OKRs or KPIs, read into the same document the YAML import writes.

People keep OKRs in a sheet with one row per key result (team, objective, key result,
start, target, current, owner, due; maybe a column per check-in date), and KPIs with one
row per measurement (KPI, date, value). This module reads such a sheet, guesses which
column holds what from its headers (English and German), and converts the rows into a
:class:`~headway.document.schema.Document`, so `headway import` and the admin page write it
through the one all-or-nothing path of the YAML import (``document.importer``).

Every bad cell is a :class:`~headway.document.load.Problem` naming the file, the row's
line and the column; a sheet with any problem imports nothing. No Django here: what the
database already holds comes in as :class:`Known`.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from headway.document.load import DocumentError, Problem, _message
from headway.document.schema import (
    SLUG_PATTERN,
    Cycle,
    Document,
    FieldPath,
    Kpi,
    Objective,
    Person,
    SourceMap,
    Team,
)
from headway.words import Number, Says, _

__all__ = [
    "FIELDS",
    "SPREADSHEET_SUFFIXES",
    "ColumnMapping",
    "Conversion",
    "FieldSpec",
    "Known",
    "Latest",
    "Sheet",
    "SheetError",
    "convert",
    "cycle_dates",
    "guess_kind",
    "guess_mapping",
    "parse_mapping",
    "read_sheet",
    "read_sheet_bytes",
]

SPREADSHEET_SUFFIXES = (".csv", ".tsv", ".xlsx", ".xlsm")
Kind = Literal["okrs", "kpis"]
#: Rows read at most (a sheet is held in memory while it is checked).
MAX_ROWS = 200_000
#: What makes a spreadsheet program read a text as a formula (`reports.writers` guards it).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class SheetError(ValueError):
    """The file cannot be read as a table at all (not CSV or XLSX, no header row...)."""


# --------------------------------------------------------------------------- fields


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """A column a sheet may have: its id, a label, the headers that name it, and whether
    a sheet of its kind needs it."""

    id: str
    label: str
    headers: tuple[str, ...]
    required: bool = False
    help: str = ""


def _spec(id: str, label: str, headers: str, required: bool = False, help: str = "") -> FieldSpec:
    """``headers``: the names the column goes by, separated by ``|``."""
    return FieldSpec(id, label, tuple(headers.split("|")), required, help)


#: Per kind of sheet, the columns Headway reads, with the English and German headers each
#: is recognised by (compared without case, accents, punctuation or spaces).
FIELDS: dict[Kind, tuple[FieldSpec, ...]] = {
    "okrs": (
        _spec(
            "cycle",
            "cycle",
            "cycle|quarter|period|okr cycle|zyklus|quartal|zeitraum|periode",
            help="cycle key (2027-Q1); or give --cycle",
        ),
        _spec(
            "team",
            "team",
            "team|team name|team key|department|unit name|organisational unit|"
            "organizational unit|abteilung|bereich|gruppe|organisationseinheit|teamname",
            required=True,
        ),
        _spec(
            "objective",
            "objective",
            "objective|objectives|objective title|goal|ziel|ziele|zielsetzung|objective titel",
            required=True,
        ),
        _spec(
            "objective_key",
            "objective key",
            "objective key|objective id|ziel schluessel|ziel id|zielschluessel",
        ),
        _spec(
            "objective_owner",
            "objective owner",
            "objective owner|objective responsible|ziel verantwortlich|"
            "zielverantwortlich|verantwortlich ziel",
        ),
        _spec(
            "objective_type",
            "objective type",
            "objective type|type|zieltyp|typ",
            help="committed or aspirational",
        ),
        _spec(
            "key_result",
            "key result",
            "key result|key results|kr|key result title|result|schluesselergebnis|"
            "schluesselergebnisse|kernergebnis|messbares ergebnis",
            required=True,
        ),
        _spec(
            "key_result_key",
            "key result key",
            "key result key|kr key|key result id|kr id|kr schluessel",
        ),
        _spec(
            "kind",
            "kind",
            "kind|kr kind|kr type|key result kind|measure type|art|kr art",
            help="increase, decrease, above, below, milestone",
        ),
        _spec(
            "start",
            "start",
            "start|start value|baseline|from|initial value|startwert|ausgangswert|"
            "basiswert|basis|von|ausgangslage",
        ),
        _spec(
            "target",
            "target",
            "target|target value|goal value|to|zielwert|soll|sollwert|bis|zielgroesse",
        ),
        _spec(
            "current",
            "current",
            "current|current value|actual|actual value|latest|latest value|value|ist|"
            "istwert|aktuell|aktueller wert|stand|wert",
        ),
        _spec(
            "checkin_at",
            "as of",
            "as of|checked in|check in date|checkin date|last check in|last checkin|"
            "last update|updated|updated at|date|stand vom|datum|aktualisiert|"
            "letzte aktualisierung|letzter check in",
        ),
        _spec(
            "confidence",
            "confidence",
            "confidence|zuversicht|konfidenz|vertrauen",
            help="0-10",
        ),
        _spec(
            "note",
            "note",
            "note|notes|comment|comments|remark|remarks|kommentar|kommentare|notiz|"
            "notizen|bemerkung|anmerkung",
        ),
        _spec(
            "owner",
            "owner",
            "owner|kr owner|key result owner|responsible|assignee|owner email|"
            "verantwortlich|verantwortliche|verantwortlicher|zustaendig|eigentuemer|"
            "besitzer|kr verantwortlich",
        ),
        _spec(
            "due",
            "due",
            "due|due date|deadline|end date|faellig|faelligkeit|termin|frist|enddatum|faellig am",
        ),
        _spec(
            "unit",
            "unit",
            "unit|unit of measure|uom|einheit|masseinheit",
        ),
        _spec(
            "weight",
            "weight",
            "weight|gewicht|gewichtung",
        ),
    ),
    "kpis": (
        _spec(
            "kpi",
            "KPI",
            "kpi|kpi name|kpi key|metric|indicator|measure|kennzahl|kennzahlen|metrik|"
            "indikator|kpi schluessel",
            required=True,
        ),
        _spec(
            "at",
            "date",
            "date|at|period end|period|timestamp|measured at|time|datum|zeitpunkt|"
            "stichtag|periodenende|monat|month|week|woche",
            required=True,
        ),
        _spec(
            "value",
            "value",
            "value|measurement|actual|wert|messwert|istwert|ist",
            required=True,
        ),
        _spec(
            "team",
            "team",
            "team|team name|team key|department|abteilung|bereich|gruppe|organisationseinheit",
        ),
        _spec(
            "unit",
            "unit",
            "unit|unit of measure|einheit|masseinheit",
        ),
        _spec(
            "target",
            "target",
            "target|target value|ziel|zielwert|soll|sollwert",
        ),
        _spec(
            "direction",
            "direction",
            "direction|better|richtung",
            help="up or down",
        ),
        _spec(
            "owner",
            "owner",
            "owner|responsible|verantwortlich|verantwortliche|verantwortlicher|zustaendig",
        ),
        _spec(
            "cadence",
            "cadence",
            "cadence|review cadence|frequency|rhythmus|takt|frequenz",
            help="weekly, monthly, quarterly",
        ),
        _spec(
            "note",
            "note",
            "note|notes|comment|kommentar|notiz|bemerkung",
        ),
        _spec(
            "source",
            "source",
            "source|quelle|datenquelle",
        ),
    ),
}


def _fold(text: str) -> str:
    """A header as compared: lower case, umlauts spelt out, accents and punctuation gone."""
    text = text.strip().lower()
    for old, new in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(old, new)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


# --------------------------------------------------------------------------- reading


@dataclass
class Sheet:
    """A table read from a file: its header row and its data rows, each with its line."""

    name: str
    headers: list[str]
    rows: list[tuple[int, list[Any]]]
    #: "," or "." : the decimal separator of numbers written as text (CSV).
    decimal: str = "."
    sheets: list[str] = field(default_factory=list)
    #: A CSV: a text our export guarded with an apostrophe ('=...) reads back without it.
    guarded: bool = False

    def cell(self, row: Sequence[Any], column: int | None) -> Any:
        if column is None or column >= len(row):
            return None
        value = row[column]
        if isinstance(value, str):
            if self.guarded and value[:1] == "'" and value[1:2] in FORMULA_START:
                value = value[1:]
            value = value.strip()
            return value or None
        return value


def read_sheet(path: Path | str, *, sheet: str | None = None) -> Sheet:
    """Read a CSV or XLSX file (by its suffix). Raises SheetError when it cannot."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SheetError(
            _(
                "%(file)s: cannot read the file: %(error)s",
                file=str(path),
                error=str(exc.strerror or exc),
            )
        ) from None
    return read_sheet_bytes(data, str(path), sheet=sheet)


def read_sheet_bytes(data: bytes, name: str, *, sheet: str | None = None) -> Sheet:
    """Read the bytes of a CSV or XLSX file called ``name``. Raises SheetError."""
    suffix = Path(name).suffix.lower()
    if suffix in (".xlsx", ".xlsm") or data[:4] == b"PK\x03\x04":
        return _read_xlsx(data, name, sheet)
    if suffix in (".csv", ".tsv", ".txt", ""):
        if sheet is not None:
            raise SheetError(
                _(
                    "%(file)s: a CSV file has no sheets (--sheet %(sheet)s)",
                    file=name,
                    sheet=repr(sheet),
                )
            )
        return _read_csv(data, name)
    raise SheetError(_("%(file)s: not a spreadsheet Headway reads (CSV or XLSX)", file=name))


def _trim(rows: Iterable[tuple[int, list[Any]]]) -> list[tuple[int, list[Any]]]:
    kept = []
    for line, row in rows:
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in row):
            continue  # blank rows between blocks are common and mean nothing
        kept.append((line, row))
        if len(kept) > MAX_ROWS:
            raise SheetError(
                _("more than %(rows)s rows: split the file", rows=Number(MAX_ROWS, ",.0f"))
            )
    return kept


def _headers(name: str, row: Sequence[Any] | None) -> list[str]:
    if row is None:
        raise SheetError(_empty_file(name))
    headers = ["" if v is None else _header_text(v) for v in row]
    while headers and not headers[-1]:
        headers.pop()
    if not any(headers):
        raise SheetError(_("%(file)s: the first row is empty; it must name the columns", file=name))
    return headers


def _header_text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _read_csv(data: bytes, name: str) -> Sheet:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel on Windows saves "CSV" in the ANSI code page: Western European by default.
        text = data.decode("cp1252", errors="replace")
    if "\x00" in text:
        raise SheetError(
            _("%(file)s: not a text file (a CSV is text; XLSX files end in .xlsx)", file=name)
        )
    sample = text[:20_000]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = "\t" if name.lower().endswith(".tsv") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        rows = [(n, list(row)) for n, row in enumerate(reader, start=1)]
    except csv.Error as exc:
        raise SheetError(
            _(
                "%(file)s:%(line)s: not readable as CSV: %(error)s",
                file=name,
                line=reader.line_num,
                error=str(exc),
            )
        ) from None
    rows = _trim(rows)
    if not rows:
        raise SheetError(_empty_file(name))
    headers = _headers(name, rows[0][1])
    # A semicolon-separated file is what Excel writes where the comma is the decimal mark.
    return Sheet(name, headers, rows[1:], decimal="," if delimiter == ";" else ".", guarded=True)


def _read_xlsx(data: bytes, name: str, sheet: str | None) -> Sheet:
    import zipfile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise SheetError(
            _("%(file)s: not a readable XLSX workbook (%(error)s)", file=name, error=str(exc))
        ) from None
    try:
        names = list(book.sheetnames)
        if sheet is not None and sheet not in names:
            raise SheetError(
                _(
                    "%(file)s: no sheet %(sheet)s (sheets: %(sheets)s)",
                    file=name,
                    sheet=repr(sheet),
                    sheets=", ".join(names),
                )
            )
        worksheet: Any = book[sheet] if sheet is not None else book.worksheets[0]
        rows = _trim(
            (n, list(row)) for n, row in enumerate(worksheet.iter_rows(values_only=True), start=1)
        )
    finally:
        book.close()
    if not rows:
        raise SheetError(
            _("%(file)s: the sheet is empty; the first row must name the columns", file=name)
        )
    headers = _headers(name, rows[0][1])
    return Sheet(name, headers, rows[1:], sheets=names)


# --------------------------------------------------------------------------- mapping


@dataclass
class ColumnMapping:
    """Which column holds which field (field id → column index), and the check-in columns
    (a column headed by a date holds the key result's value at that date)."""

    kind: Kind
    columns: dict[str, int]
    checkin_columns: list[tuple[int, datetime]] = field(default_factory=list)
    #: How each field was matched ("exact" or "close") for the confirmation.
    how: dict[str, str] = field(default_factory=dict)

    def header(self, sheet: Sheet, field_id: str) -> str:
        column = self.columns.get(field_id)
        return "" if column is None else sheet.headers[column]

    def missing(self) -> list[FieldSpec]:
        return [s for s in FIELDS[self.kind] if s.required and s.id not in self.columns]

    def describe(self, sheet: Sheet) -> list[tuple[str, str, str]]:
        """(field label, column header or "—", how) for every field, then check-in columns."""
        lines = [
            (spec.label, self.header(sheet, spec.id) or "—", self.how.get(spec.id, ""))
            for spec in FIELDS[self.kind]
        ]
        for column, at in self.checkin_columns:
            lines.append((f"check-in {_day_text(at)}", sheet.headers[column], "date header"))
        return lines

    def as_text(self, sheet: Sheet) -> str:
        """The mapping as `--mapping` takes it: ``field=Header,...``."""
        return ",".join(f"{f}={sheet.headers[c]}" for f, c in self.columns.items())


def guess_kind(headers: Sequence[str]) -> Kind:
    """ "kpis" when the headers name a KPI and no objective, else "okrs"."""
    folded = {_fold(h) for h in headers}
    kpi = {_fold(h) for h in FIELDS["kpis"][0].headers}
    objective = {
        _fold(h) for s in FIELDS["okrs"] if s.id in ("objective", "key_result") for h in s.headers
    }
    return "kpis" if folded & kpi and not folded & objective else "okrs"


def _date_header(text: str) -> datetime | None:
    value = text.strip()
    for pattern, order in (
        (r"^(\d{4})-(\d{1,2})-(\d{1,2})$", "ymd"),
        (r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$", "dmy"),
    ):
        found = re.match(pattern, value)
        if found:
            a, b, c = (int(g) for g in found.groups())
            y, m, d = (a, b, c) if order == "ymd" else (c, b, a)
            try:
                return datetime(y, m, d, tzinfo=UTC)
            except ValueError:
                return None
    return None


def guess_mapping(headers: Sequence[str], kind: Kind | None = None) -> ColumnMapping:
    """The columns guessed from the headers: a known header first, then a close one.

    Each field takes at most one column and each column at most one field; an OKR sheet's
    columns headed by a date (2027-01-31 or 31.01.2027) are check-ins.
    """
    kind = kind or guess_kind(headers)
    specs = FIELDS[kind]
    folded = [_fold(h) for h in headers]
    columns: dict[str, int] = {}
    how: dict[str, str] = {}
    used: set[int] = set()
    checkins: list[tuple[int, datetime]] = []
    if kind == "okrs":
        for i, header in enumerate(headers):
            at = _date_header(header)
            if at is not None:
                checkins.append((i, at))
                used.add(i)
    for spec in specs:  # exact matches first, in the order of the fields
        names = {_fold(h) for h in spec.headers} | {_fold(spec.id), _fold(spec.label)}
        for i, header in enumerate(folded):
            if i not in used and header in names:
                columns[spec.id], how[spec.id] = i, "exact"
                used.add(i)
                break
    for spec in specs:  # then a close spelling ("Key-Results", "Startwert (Basis)")
        if spec.id in columns:
            continue
        close = [_fold(h) for h in spec.headers]
        best: tuple[float, int] | None = None
        for i, header in enumerate(folded):
            if i in used or not header:
                continue
            score = max(difflib.SequenceMatcher(None, header, n).ratio() for n in close)
            if score >= 0.84 and (best is None or score > best[0]):
                best = (score, i)
        if best is not None:
            columns[spec.id], how[spec.id] = best[1], "close"
            used.add(best[1])
    ordered = {s.id: columns[s.id] for s in specs if s.id in columns}
    return ColumnMapping(kind, ordered, sorted(checkins, key=lambda c: c[1]), how)


def parse_mapping(text: str, headers: Sequence[str], base: ColumnMapping) -> ColumnMapping:
    """``field=Header,field=Header`` (or ``field=`` to leave a field out) over ``base``.

    A header is matched exactly, then without case and punctuation, or by its column
    letter (``C``) or number (``3``). Raises SheetError naming what does not fit.
    """
    specs = {s.id: s for s in FIELDS[base.kind]}
    labels = {_fold(s.label): s.id for s in specs.values()}
    columns = dict(base.columns)
    how = dict(base.how)
    for part in _split_mapping(text):
        name, sep, header = part.partition("=")
        field_id = name.strip().replace("-", "_").replace(" ", "_").lower()
        field_id = labels.get(_fold(name), field_id)
        if not sep or field_id not in specs:
            known = ", ".join(specs)
            raise SheetError(f"--mapping: {part.strip()!r} is not FIELD=HEADER (fields: {known})")
        header = header.strip()
        if not header:
            columns.pop(field_id, None)
            how.pop(field_id, None)
            continue
        column = _column_of(header, headers)
        if column is None:
            raise SheetError(
                f"--mapping: no column {header!r} for {field_id} "
                f"(columns: {', '.join(h for h in headers if h)})"
            )
        for other, at in list(columns.items()):
            if at == column and other != field_id:
                del columns[other]
        columns[field_id] = column
        how[field_id] = "given"
    ordered = {s: columns[s] for s in specs if s in columns}
    checkins = [(c, at) for c, at in base.checkin_columns if c not in ordered.values()]
    return ColumnMapping(base.kind, ordered, checkins, how)


def _split_mapping(text: str) -> Iterator[str]:
    for part in re.split(r"[,\n]", text):
        if part.strip():
            yield part


def _column_of(header: str, headers: Sequence[str]) -> int | None:
    if header in headers:
        return list(headers).index(header)
    folded = [_fold(h) for h in headers]
    if _fold(header) in folded:
        return folded.index(_fold(header))
    if header.isdigit() and 1 <= int(header) <= len(headers):
        return int(header) - 1
    if re.fullmatch(r"[A-Za-z]{1,3}", header):
        n = 0
        for ch in header.upper():
            n = n * 26 + ord(ch) - 64
        if 1 <= n <= len(headers):
            return n - 1
    return None


# --------------------------------------------------------------------------- what the DB has


@dataclass(frozen=True, slots=True)
class Latest:
    """A key result's latest check-in as stored."""

    at: datetime
    value: float | None
    done: bool | None
    confidence: int | None = None
    note: str = ""
    author: str | None = None


@dataclass
class Known:
    """What the database already holds, as the conversion needs it (built by the caller).

    ``objectives``/``kpis`` map a key to the item as the YAML format writes it (without
    check-ins or measurements), so fields a sheet has no column for keep their value.
    """

    teams: dict[str, str] = field(default_factory=dict)  # key -> name
    company: str | None = None  # key of the root team new teams go under
    people: dict[str, str] = field(default_factory=dict)  # e-mail -> name
    cycles: dict[str, tuple[date, date]] = field(default_factory=dict)
    objectives: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: (cycle, team, folded title) -> objective key, to find an objective again by title
    objective_titles: dict[tuple[str, str, str], str] = field(default_factory=dict)
    objective_keys: set[str] = field(default_factory=set)  # every key in the database
    #: (objective key, kr key) -> its latest check-in, so a sheet that repeats it (an
    #: exported tree read back) changes nothing
    latest: dict[tuple[str, str], Latest] = field(default_factory=dict)
    kpis: dict[str, dict[str, Any]] = field(default_factory=dict)
    _team_names: dict[str, str] | None = field(default=None, repr=False)
    _people_names: dict[str, list[str]] | None = field(default=None, repr=False)

    def team_key(self, text: str, new: Mapping[str, str]) -> str | None:
        """The key of the team named ``text`` (by key, then by name), in the DB or new."""
        if text in self.teams or text in new:
            return text
        folded = _fold(text)
        if self._team_names is None:  # built once: a sheet asks for every row
            self._team_names = {}
            for key, name in self.teams.items():
                self._team_names.setdefault(_fold(key), key)
                self._team_names.setdefault(_fold(name), key)
        found = self._team_names.get(folded)
        if found is not None:
            return found
        return next((k for k, n in new.items() if folded in (_fold(k), _fold(n))), None)

    def person_email(self, text: str) -> str | None:
        """The e-mail of the person named ``text`` (an e-mail, or a unique full name)."""
        if "@" in text:
            return text.strip().lower()
        if self._people_names is None:
            self._people_names = defaultdict(list)
            for email, name in self.people.items():
                if name:
                    self._people_names[_fold(name)].append(email)
        found = self._people_names.get(_fold(text), [])
        return found[0] if len(found) == 1 else None


# --------------------------------------------------------------------------- cells


_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2}))?)?Z?$")
# Day.month.year (German) and slash dates, with a four- or two-digit year (27 is 2027).
_DMY = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})(?:,? (\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_SLASH = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})(?:,? (\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_DONE = {"done", "yes", "true", "erledigt", "ja", "fertig", "abgeschlossen", "x", "1", "✓"}
_NOT_DONE = {"not done", "no", "false", "open", "offen", "nein", "0", "todo", "pending"}


class _Bad(ValueError):
    """A cell that cannot be read; its one argument is the sentence (`Says`) saying why."""

    @property
    def said(self) -> Says:
        return self.args[0]  # type: ignore[no-any-return]


def _not_a_number(value: str) -> Says:
    return _("must be a number, got %(value)s", value=value)


def _empty_file(name: str) -> Says:
    return _("%(file)s: the file is empty; the first row must name the columns", file=name)


def _number(value: Any, decimal: str) -> float:
    if isinstance(value, bool):
        raise _Bad(_not_a_number(repr(value)))
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = str(value).strip().replace("\u00a0", "").replace(" ", "").replace("'", "")
        percent = text.endswith("%")
        text = text.removesuffix("%")
        thousands = "." if decimal == "," else ","
        if decimal == "." and re.fullmatch(r"-?\d+,\d{1,2}|-?\d+,\d{4,}", text):
            text = text.replace(",", ".")  # "88,5" in a comma file is a quoted decimal
        elif re.fullmatch(rf"-?\d{{1,3}}(\{thousands}\d{{3}})+(\{decimal}\d+)?", text):
            text = text.replace(thousands, "")
        text = text.replace(decimal, ".")
        if percent and not text:
            raise _Bad(_not_a_number(repr(str(value))))
        try:
            number = float(text)
        except ValueError:
            raise _Bad(_not_a_number(repr(str(value)))) from None
    if number != number or number in (float("inf"), float("-inf")):
        raise _Bad(_("must be a finite number, got %(value)s", value=repr(value)))
    return number


def _moment(value: Any, day_first: bool | None) -> datetime:
    """A cell as a moment (UTC); a date alone is 00:00 UTC."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=UTC)
    text = str(value).strip()
    for pattern, order in ((_ISO, "ymd"), (_DMY, "dmy"), (_SLASH, "slash")):
        found = pattern.match(text)
        if not found:
            continue
        a, b, c = (int(g) for g in found.groups()[:3])
        if order != "ymd" and len(found.group(3)) == 2:
            c += 2000 if c < 70 else 1900  # as strptime's %y: 27 is 2027, 85 is 1985
        hh, mm, ss = (int(g) if g else 0 for g in found.groups()[3:])
        if order == "ymd":
            y, m, d = a, b, c
        elif order == "dmy":
            y, m, d = c, b, a
        else:
            if day_first is None:
                raise _Bad(
                    _(
                        "%(value)s could be day/month or month/day: write dates as 2027-01-31",
                        value=repr(text),
                    )
                )
            y, m, d = (c, b, a) if day_first else (c, a, b)
        try:
            return datetime(y, m, d, hh, mm, ss, tzinfo=UTC)
        except ValueError:
            raise _Bad(_("not a real date: %(value)s", value=repr(text))) from None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _Bad(
            _("must be a date (2027-01-31 or 31.01.2027), got %(value)s", value=repr(text))
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _day(value: Any, day_first: bool | None) -> date:
    moment = _moment(value, day_first)
    if moment.time() != time():
        raise _Bad(_("must be a date without a time, got %(value)s", value=repr(value)))
    return moment.date()


def _slash_order(values: Iterable[Any]) -> bool | None:
    """Whether the slash dates of a sheet put the day first: the sheet decides as a whole."""
    day_first = month_first = False
    for value in values:
        if isinstance(value, str) and (found := _SLASH.match(value.strip())):
            a, b = int(found.group(1)), int(found.group(2))
            day_first |= a > 12
            month_first |= b > 12
    if day_first and not month_first:
        return True
    if month_first and not day_first:
        return False
    return None


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return _header_text(value)
    return str(value).strip()


def _slug(text: str) -> str:
    folded = _fold(text).replace(" ", "-")
    return folded[:60].strip("-") or "item"


def _free(base: str, taken: set[str]) -> str:
    key, n = base, 2
    while key in taken:
        key, n = f"{base}-{n}", n + 1
    taken.add(key)
    return key


def _day_text(at: datetime) -> str:
    return at.date().isoformat() if at.time() == time() else at.isoformat()


_QUARTER = re.compile(r"^(\d{4})-?(q|h)([1-4])$", re.IGNORECASE)


def cycle_dates(key: str) -> tuple[date, date] | None:
    """The dates a cycle key like 2027-Q1, 2027-H2 or 2027 stands for, if it is one."""
    if re.fullmatch(r"\d{4}", key):
        return date(int(key), 1, 1), date(int(key), 12, 31)
    found = _QUARTER.match(key)
    if not found:
        return None
    year, part, n = int(found.group(1)), found.group(2).lower(), int(found.group(3))
    months = 3 if part == "q" else 6
    if part == "h" and n > 2:
        return None
    first = date(year, (n - 1) * months + 1, 1)
    after = date(year + 1, 1, 1) if n * months == 12 else date(year, n * months + 1, 1)
    return first, after - timedelta(days=1)


# --------------------------------------------------------------------------- converting


@dataclass
class Conversion:
    """A sheet as a document, or the problems that keep it from being one."""

    document: Document | None
    problems: list[Problem]
    mapping: ColumnMapping
    rows: int
    #: what the sheet would add that the database does not have, for the preview
    new: dict[str, list[str]] = field(default_factory=dict)

    def raise_problems(self) -> Document:
        if self.problems or self.document is None:
            raise DocumentError(self.problems)
        return self.document


#: The objective's fields a later row may contradict, as a sentence names them.
_FIELD_WORDS = {"cycle": _("cycle"), "team": _("team")}


class _Rows:
    """Collects problems per (line, column) and the source lines of document paths."""

    def __init__(self, sheet: Sheet, mapping: ColumnMapping) -> None:
        self.sheet = sheet
        self.mapping = mapping
        self.problems: list[tuple[int, int, Problem]] = []
        self.lines: dict[FieldPath, int] = {}

    def bad(self, line: int, field_id: str | None, message: str, column: int | None = None) -> None:
        """A problem on `line`: `message` is a sentence (`Says`) except pydantic's own."""
        if column is None and field_id is not None:
            column = self.mapping.columns.get(field_id)
        header = self.sheet.headers[column] if column is not None else ""
        where = _("column %(header)s", header=repr(header)) if header else (field_id or "")
        self.problems.append(
            (
                line,
                column if column is not None else -1,
                Problem(self.sheet.name, line, where, message),
            )
        )

    def sorted(self) -> list[Problem]:
        return [p for *_, p in sorted(self.problems, key=lambda x: (x[0], x[1]))]


def _value(
    rows: _Rows, line: int, cells: Sequence[Any], field_id: str, parse: Any, *args: Any
) -> Any:
    raw = rows.sheet.cell(cells, rows.mapping.columns.get(field_id))
    if raw is None:
        return None
    try:
        return parse(raw, *args)
    except _Bad as exc:
        rows.bad(line, field_id, exc.said)
        return None


def convert(
    sheet: Sheet,
    mapping: ColumnMapping,
    known: Known,
    *,
    cycle: str | None = None,
    now: datetime,
) -> Conversion:
    """The sheet as a document to import, with every bad row and its line (or none).

    ``cycle`` is the cycle of every row when the sheet has no cycle column; a cycle that is
    neither in the database nor a key like 2027-Q1 (whose dates it names) is a problem.
    ``now`` dates a current value that comes with no date.
    """
    rows = _Rows(sheet, mapping)
    for spec in mapping.missing():
        rows.bad(1, None, _("no column for %(field)s: map one (it is required)", field=spec.label))
    if rows.problems:
        return Conversion(None, rows.sorted(), mapping, len(sheet.rows))
    if mapping.kind == "okrs":
        return _convert_okrs(sheet, mapping, known, rows, cycle, now)
    return _convert_kpis(sheet, mapping, known, rows)


def _slash_first(sheet: Sheet, mapping: ColumnMapping, fields: Sequence[str]) -> bool | None:
    columns = [mapping.columns[f] for f in fields if f in mapping.columns]
    return _slash_order(sheet.cell(row, c) for _line, row in sheet.rows for c in columns)


@dataclass
class _Draft:
    """One objective being built from its rows."""

    data: dict[str, Any]
    line: int
    key_results: dict[str, dict[str, Any]] = field(default_factory=dict)
    kr_lines: dict[str, int] = field(default_factory=dict)
    checkin_lines: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    stored_krs: list[dict[str, Any]] = field(default_factory=list)


def _convert_okrs(
    sheet: Sheet,
    mapping: ColumnMapping,
    known: Known,
    rows: _Rows,
    default_cycle: str | None,
    now: datetime,
) -> Conversion:
    day_first = _slash_first(sheet, mapping, ("due", "checkin_at"))
    if "cycle" not in mapping.columns and not default_cycle:
        rows.bad(1, None, _("no cycle: map a cycle column, or name the cycle (--cycle 2027-Q1)"))
        return Conversion(None, rows.sorted(), mapping, len(sheet.rows))
    new_teams: dict[str, str] = {}
    new_people: dict[str, int] = {}
    new_cycles: dict[str, tuple[date, date]] = {}
    drafts: dict[str, _Draft] = {}
    taken_objectives = set(known.objective_keys)
    by_title: dict[tuple[str, str, str], str] = dict(known.objective_titles)

    def person(line: int, field_id: str) -> str | None:
        raw = sheet.cell(cells, mapping.columns.get(field_id))
        if raw is None:
            return None
        email = known.person_email(_text(raw))
        if email is None:
            rows.bad(
                line,
                field_id,
                _("unknown person %(person)s: give an e-mail address", person=repr(_text(raw))),
            )
            return None
        try:
            Person.model_validate({"email": email})
        except ValidationError:
            rows.bad(
                line, field_id, _("not a valid e-mail address: %(value)s", value=repr(_text(raw)))
            )
            return None
        if email not in known.people:
            new_people.setdefault(email, line)
        return email

    for line, cells in sheet.rows:
        before = len(rows.problems)
        # ---- cycle
        cycle_key = _text(c) if (c := sheet.cell(cells, mapping.columns.get("cycle"))) else None
        cycle_key = cycle_key or default_cycle
        assert cycle_key is not None
        if cycle_key not in known.cycles and cycle_key not in new_cycles:
            dates = cycle_dates(cycle_key)
            if dates is None or not re.match(SLUG_PATTERN, cycle_key):
                rows.bad(
                    line,
                    "cycle",
                    _(
                        "unknown cycle %(cycle)s: create it first, or use a key like "
                        "2027-Q1, 2027-H1 or 2027 (its dates are then known)",
                        cycle=repr(cycle_key),
                    ),
                )
                continue
            new_cycles[cycle_key] = dates
        # ---- team
        raw_team = sheet.cell(cells, mapping.columns.get("team"))
        team_key: str | None = None
        if raw_team is None:
            rows.bad(line, "team", _("the team is missing"))
        else:
            team_key = known.team_key(_text(raw_team), new_teams)
            if team_key is None:
                if known.company is None:
                    rows.bad(
                        line,
                        "team",
                        _(
                            "unknown team %(team)s, and no company to put a new team under: "
                            "create the organisation first",
                            team=repr(_text(raw_team)),
                        ),
                    )
                else:
                    team_key = _free(
                        _slug(_text(raw_team))[:100], set(known.teams) | set(new_teams)
                    )
                    new_teams[team_key] = _text(raw_team)[:200]
        # ---- objective
        title = sheet.cell(cells, mapping.columns.get("objective"))
        if title is None:
            rows.bad(line, "objective", _("the objective is missing"))
        kr_title = sheet.cell(cells, mapping.columns.get("key_result"))
        if kr_title is None:
            rows.bad(line, "key_result", _("the key result is missing"))
        owner = person(line, "owner")
        objective_owner = person(line, "objective_owner")
        start = _value(rows, line, cells, "start", _number, sheet.decimal)
        target = _value(rows, line, cells, "target", _number, sheet.decimal)
        weight = _value(rows, line, cells, "weight", _number, sheet.decimal)
        due = _value(rows, line, cells, "due", _day, day_first)
        at = _value(rows, line, cells, "checkin_at", _moment, day_first)
        confidence = _value(rows, line, cells, "confidence", _number, sheet.decimal)
        if confidence is not None and not (confidence.is_integer() and 0 <= confidence <= 10):
            rows.bad(
                line,
                "confidence",
                _("must be a whole number from 0 to 10, got %(value)s", value=Number(confidence)),
            )
            confidence = None
        raw_kind = sheet.cell(cells, mapping.columns.get("kind"))
        kind = _kind(_text(raw_kind)) if raw_kind is not None else None
        if raw_kind is not None and kind is None:
            rows.bad(
                line,
                "kind",
                _(
                    "must be increase, decrease, above, below, milestone or objectives, "
                    "got %(value)s",
                    value=repr(_text(raw_kind)),
                ),
            )
        raw_type = sheet.cell(cells, mapping.columns.get("objective_type"))
        objective_type = _objective_type(_text(raw_type)) if raw_type is not None else None
        if raw_type is not None and objective_type is None:
            rows.bad(
                line,
                "objective_type",
                _("must be committed or aspirational, got %(value)s", value=repr(_text(raw_type))),
            )
        raw_current = sheet.cell(cells, mapping.columns.get("current"))
        current: float | None = None
        done: bool | None = None
        if raw_current is not None:
            flag = _fold(_text(raw_current)) if isinstance(raw_current, str) else None
            if (kind == "milestone" or (kind is None and start is None and target is None)) and (
                flag in _DONE or flag in _NOT_DONE or isinstance(raw_current, bool)
            ):
                done = raw_current if isinstance(raw_current, bool) else flag in _DONE
                kind = kind or "milestone"
            else:
                current = _value(rows, line, cells, "current", _number, sheet.decimal)
        wide: list[tuple[datetime, float, int]] = []
        for column, when in mapping.checkin_columns:
            raw = sheet.cell(cells, column)
            if raw is None:
                continue
            try:
                wide.append((when, _number(raw, sheet.decimal), column))
            except _Bad as exc:
                rows.bad(line, None, exc.said, column=column)
        if len(rows.problems) > before or title is None or kr_title is None or team_key is None:
            continue

        # ---- the objective this row belongs to
        objective_key_cell = sheet.cell(cells, mapping.columns.get("objective_key"))
        folded_title = _fold(_text(title))
        if objective_key_cell is not None:
            objective_key = _text(objective_key_cell)
            if not re.match(SLUG_PATTERN, objective_key) or len(objective_key) > 150:
                rows.bad(
                    line,
                    "objective_key",
                    _(
                        "not a valid key %(key)s: use letters, digits, - and _",
                        key=repr(objective_key),
                    ),
                )
                continue
        else:
            found = by_title.get((cycle_key, team_key, folded_title))
            objective_key = found or _free(_slug(_text(title)), taken_objectives)
            by_title[(cycle_key, team_key, folded_title)] = objective_key
        draft = drafts.get(objective_key)
        if draft is None:
            base = dict(known.objectives.get(objective_key) or {})
            stored_krs = list(base.pop("key_results", []))
            base.update(
                {"key": objective_key, "cycle": cycle_key, "team": team_key, "title": _text(title)}
            )
            draft = _Draft(base, line, stored_krs=stored_krs)
            drafts[objective_key] = draft
            taken_objectives.add(objective_key)
        else:
            for name, value, field_id in (
                ("cycle", cycle_key, "cycle"),
                ("team", team_key, "team"),
            ):
                if draft.data[name] != value:
                    rows.bad(
                        line,
                        field_id,
                        _(
                            "objective %(objective)s is in %(field)s %(was)s on line "
                            "%(line)s, here %(value)s",
                            objective=repr(objective_key),
                            field=_FIELD_WORDS[name],
                            was=repr(draft.data[name]),
                            line=draft.line,
                            value=repr(value),
                        ),
                    )
        if objective_owner:
            draft.data["owner"] = objective_owner
        if objective_type:
            draft.data["type"] = objective_type

        # ---- the key result
        kr_key_cell = sheet.cell(cells, mapping.columns.get("key_result_key"))
        if kr_key_cell is not None:
            kr_key = _text(kr_key_cell)
        else:
            kr_key = _kr_key_for(draft, _text(kr_title))
        fields = {
            "title": _text(kr_title),
            "owner": owner,
            "start": start,
            "target": target,
            "weight": weight,
            "due": due,
            "kind": kind,
        }
        unit = sheet.cell(cells, mapping.columns.get("unit"))
        if unit is not None:
            fields["unit"] = _text(unit)
        kr = draft.key_results.get(kr_key)
        if kr is None:
            was = next((k for k in draft.stored_krs if k["key"] == kr_key), None)
            kr = dict(was) if was is not None else {"key": kr_key}
            for name, value in fields.items():
                if value is not None:
                    kr[name] = value
            if kind is None and was is None:
                kr["kind"] = _kind_from(start, target)
            kr["checkins"] = []
            draft.key_results[kr_key] = kr
            draft.kr_lines[kr_key] = line
        else:
            # The same key result on another row: a further check-in (long format). Its
            # other cells must agree with the first row's, or it is ambiguous.
            for name, value in fields.items():
                if value is not None and name in kr and kr[name] != value and name != "title":
                    rows.bad(
                        line,
                        _FIELD_OF.get(name, name),
                        _(
                            "differs from line %(line)s for the same key result (%(was)s)",
                            line=draft.kr_lines[kr_key],
                            was=repr(kr[name]),
                        ),
                    )
        for when, number, _column in wide:
            kr["checkins"].append({"at": when, "value": number})
            draft.checkin_lines[kr_key].append(line)
        if (current is not None or done is not None) and not kr.get("kpi"):
            # A KPI-linked key result takes its value from the KPI, not from the sheet.
            checkin = _current_checkin(
                known.latest.get((objective_key, kr_key)),
                current=current,
                done=done,
                at=at,
                now=now,
                confidence=None if confidence is None else int(confidence),
                note=sheet.cell(cells, mapping.columns.get("note")),
                last_dated=max(wide, key=lambda w: w[0])[1] if wide else None,
            )
            if checkin is not None:
                kr["checkins"].append(checkin)
                draft.checkin_lines[kr_key].append(line)

    new = {
        "cycles": sorted(new_cycles),
        "teams": [f"{name} ({key})" for key, name in new_teams.items()],
        "people": sorted(new_people),
        "objectives": [d.data["title"] for k, d in drafts.items() if k not in known.objectives],
        "key_results": [
            f"{d.data['title']} → {kr['title']}"
            for k, d in drafts.items()
            for kr_key, kr in d.key_results.items()
            if kr_key not in {s["key"] for s in d.stored_krs}
        ],
    }
    document = _document(rows, sheet, known, new_teams, new_people, new_cycles, drafts)
    return Conversion(document, rows.sorted(), mapping, len(sheet.rows), new)


_FIELD_OF = {"title": "key_result"}


def _current_checkin(
    latest: Latest | None,
    *,
    current: float | None,
    done: bool | None,
    at: datetime | None,
    now: datetime,
    confidence: int | None,
    note: Any,
    last_dated: float | None,
) -> dict[str, Any] | None:
    """The check-in a row's current value makes, or None when it repeats what is known.

    Without a date the value is checked in at ``now``, unless the key result's latest value
    (stored, or the row's last dated check-in) is already that one. With the date of the
    stored latest check-in it corrects that check-in, keeping its note and author.
    """
    same_value = latest is not None and (latest.value, latest.done) == (current, done)
    if at is None:
        if same_value or (done is None and last_dated is not None and last_dated == current):
            return None
    elif (
        latest is not None
        and latest.at == at
        and same_value
        and (confidence is None or confidence == latest.confidence)
        and (note is None or _text(note) == latest.note)
    ):
        return None
    checkin: dict[str, Any] = {"at": at or now}
    if done is not None:
        checkin["done"] = done
    else:
        checkin["value"] = current
    keep = latest is not None and at is not None and latest.at == at
    if confidence is not None:
        checkin["confidence"] = confidence
    elif keep and latest is not None and latest.confidence is not None:
        checkin["confidence"] = latest.confidence
    if note is not None:
        checkin["note"] = _text(note)
    elif keep and latest is not None and latest.note:
        checkin["note"] = latest.note
    if keep and latest is not None and latest.author:
        checkin["author"] = latest.author
    return checkin


def _kr_key_for(draft: _Draft, title: str) -> str:
    """The key of the draft's key result with this title (listed or stored), or a new one."""
    folded = _fold(title)
    for key, kr in draft.key_results.items():
        if _fold(kr["title"]) == folded:
            return key
    for kr in draft.stored_krs:
        if _fold(kr["title"]) == folded:
            return str(kr["key"])
    return _free(_slug(title), set(draft.key_results) | {kr["key"] for kr in draft.stored_krs})


_KINDS = {
    "objectives": "objectives",
    "roll up": "objectives",
    "rollup": "objectives",
    "increase": "increase",
    "up": "increase",
    "higher": "increase",
    "erhoehen": "increase",
    "steigern": "increase",
    "decrease": "decrease",
    "down": "decrease",
    "lower": "decrease",
    "reduce": "decrease",
    "senken": "decrease",
    "verringern": "decrease",
    "above": "above",
    "at least": "above",
    "mindestens": "above",
    "ueber": "above",
    "below": "below",
    "at most": "below",
    "hoechstens": "below",
    "unter": "below",
    "milestone": "milestone",
    "meilenstein": "milestone",
    "done": "milestone",
    "binary": "milestone",
}


def _kind(text: str) -> str | None:
    return _KINDS.get(_fold(text))


def _objective_type(text: str) -> str | None:
    return {
        "committed": "committed",
        "aspirational": "aspirational",
        "verbindlich": "committed",
        "ambitioniert": "aspirational",
        "ambitioniertes": "aspirational",
        "commit": "committed",
        "stretch": "aspirational",
    }.get(_fold(text))


def _kind_from(start: float | None, target: float | None) -> str:
    if start is not None and target is not None and target < start:
        return "decrease"
    return "increase"


def _document(
    rows: _Rows,
    sheet: Sheet,
    known: Known,
    new_teams: dict[str, str],
    new_people: dict[str, int],
    new_cycles: dict[str, tuple[date, date]],
    drafts: dict[str, _Draft],
) -> Document | None:
    """Validate the drafts against the format's models; problems point at their rows."""
    teams = [
        {"key": key, "name": name, "kind": "team", "parent": known.company}
        for key, name in new_teams.items()
    ]
    people = [{"email": email} for email in new_people]
    cycles = [{"key": key, "start": s, "end": e} for key, (s, e) in new_cycles.items()]
    objectives: list[Objective] = []
    lines: dict[FieldPath, int] = {}
    for index, draft in enumerate(drafts.values()):
        data = dict(draft.data)
        data["key_results"] = list(draft.key_results.values())
        # Key results of the objective the sheet does not list stay as they are stored.
        listed = set(draft.key_results)
        data["key_results"] += [
            {k: v for k, v in kr.items() if k != "checkins"}
            for kr in draft.stored_krs
            if kr["key"] not in listed
        ]
        lines[("objectives", index)] = draft.line
        for k, kr_key in enumerate(draft.key_results):
            lines[("objectives", index, "key_results", k)] = draft.kr_lines[kr_key]
            for c, line in enumerate(draft.checkin_lines.get(kr_key, [])):
                lines[("objectives", index, "key_results", k, "checkins", c)] = line
        try:
            objectives.append(Objective.model_validate(data))
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                loc: FieldPath = ("objectives", index, *error["loc"])
                line = _line_in(lines, loc) or draft.line
                rows.bad(line, _column_for(error["loc"]), _message(error, Objective))
    if rows.problems:
        return None
    return _assemble(sheet, lines, teams, people, cycles, objectives, [])


def _column_for(loc: Sequence[str | int]) -> str | None:
    names = [p for p in loc if isinstance(p, str)]
    last = names[-1] if names else None
    if last == "title":
        return "key_result" if "key_results" in names else "objective"
    if last == "key" and "key_results" in names:
        return "key_result_key"
    if last == "key":
        return "objective_key"
    if "checkins" in names:
        return {"value": "current", "at": "checkin_at"}.get(str(last), str(last))
    return last


def _line_in(lines: dict[FieldPath, int], path: FieldPath) -> int | None:
    for end in range(len(path), 0, -1):
        line = lines.get(path[:end])
        if line is not None:
            return line
    return None


def _assemble(
    sheet: Sheet,
    lines: dict[FieldPath, int],
    teams: list[dict[str, Any]],
    people: list[dict[str, Any]],
    cycles: list[dict[str, Any]],
    objectives: list[Objective],
    kpis: list[Kpi],
) -> Document:
    document = Document(
        version=1,
        teams=[Team.model_validate(t) for t in teams],
        people=[Person.model_validate(p) for p in people],
        cycles=[Cycle.model_validate(c) for c in cycles],
        objectives=objectives,
        kpis=kpis,
    )
    source = SourceMap()
    source.add_file(sheet.name, lines)
    for section in ("teams", "people", "cycles", "objectives", "kpis"):
        for index, _item in enumerate(getattr(document, section)):
            source.add_item(section, 0, index)
    document._source = source
    return document


# --------------------------------------------------------------------------- KPIs


def _convert_kpis(sheet: Sheet, mapping: ColumnMapping, known: Known, rows: _Rows) -> Conversion:
    day_first = _slash_first(sheet, mapping, ("at",))
    new_teams: dict[str, str] = {}
    new_people: dict[str, int] = {}
    cards: dict[str, dict[str, Any]] = {}
    card_lines: dict[str, int] = {}
    measurement_lines: dict[str, list[int]] = defaultdict(list)
    seen: dict[tuple[str, datetime], int] = {}
    by_name = {_fold(str(k.get("name", ""))): key for key, k in known.kpis.items()}
    for line, cells in sheet.rows:
        before = len(rows.problems)
        raw = sheet.cell(cells, mapping.columns.get("kpi"))
        if raw is None:
            rows.bad(line, "kpi", _("the KPI is missing"))
            continue
        name = _text(raw)
        key = name if name in known.kpis or name in cards else by_name.get(_fold(name))
        if key is None:
            key = next((k for k, c in cards.items() if _fold(c["name"]) == _fold(name)), None)
        at = _value(rows, line, cells, "at", _moment, day_first)
        value = _value(rows, line, cells, "value", _number, sheet.decimal)
        if at is None and sheet.cell(cells, mapping.columns.get("at")) is None:
            rows.bad(line, "at", _("the date is missing"))
        if value is None and sheet.cell(cells, mapping.columns.get("value")) is None:
            rows.bad(line, "value", _("the value is missing"))
        target = _value(rows, line, cells, "target", _number, sheet.decimal)
        raw_team = sheet.cell(cells, mapping.columns.get("team"))
        team: str | None = None
        if raw_team is not None:
            team = known.team_key(_text(raw_team), new_teams)
            if team is None:
                if known.company is None:
                    rows.bad(line, "team", _("unknown team %(team)s", team=repr(_text(raw_team))))
                else:
                    team = _free(_slug(_text(raw_team)), set(known.teams) | set(new_teams))
                    new_teams[team] = _text(raw_team)
        owner_cell = sheet.cell(cells, mapping.columns.get("owner"))
        owner = None
        if owner_cell is not None:
            owner = known.person_email(_text(owner_cell))
            if owner is None:
                rows.bad(
                    line,
                    "owner",
                    _("unknown person %(person)s: give an e-mail", person=repr(_text(owner_cell))),
                )
            elif owner not in known.people:
                new_people.setdefault(owner, line)
        direction = sheet.cell(cells, mapping.columns.get("direction"))
        direction_value = None
        if direction is not None:
            direction_value = {
                "up": "up",
                "higher": "up",
                "hoch": "up",
                "steigend": "up",
                "down": "down",
                "lower": "down",
                "runter": "down",
                "fallend": "down",
            }.get(_fold(_text(direction)))
            if direction_value is None:
                rows.bad(
                    line,
                    "direction",
                    _("must be up or down, got %(value)s", value=repr(_text(direction))),
                )
        cadence = sheet.cell(cells, mapping.columns.get("cadence"))
        cadence_value = None
        if cadence is not None:
            cadence_value = {
                "weekly": "weekly",
                "monthly": "monthly",
                "quarterly": "quarterly",
                "woechentlich": "weekly",
                "monatlich": "monthly",
                "quartalsweise": "quarterly",
                "vierteljaehrlich": "quarterly",
            }.get(_fold(_text(cadence)))
            if cadence_value is None:
                rows.bad(
                    line,
                    "cadence",
                    _(
                        "must be weekly, monthly or quarterly, got %(value)s",
                        value=repr(_text(cadence)),
                    ),
                )
        if len(rows.problems) > before or at is None or value is None:
            continue
        if key is None:
            if team is None:
                rows.bad(
                    line,
                    "kpi",
                    _("unknown KPI %(kpi)s: give its team to create it", kpi=repr(name)),
                )
                continue
            key = _free(_slug(name), set(known.kpis) | set(cards))
        card = cards.get(key)
        if card is None:
            card = dict(known.kpis.get(key) or {"key": key, "name": name, "team": team})
            card["measurements"] = []
            cards[key] = card
            card_lines[key] = line
        for field_name, field_value in (
            ("team", team),
            ("owner", owner),
            ("target", target),
            ("direction", direction_value),
            ("cadence", cadence_value),
        ):
            if field_value is not None:
                card[field_name] = field_value
        unit = sheet.cell(cells, mapping.columns.get("unit"))
        if unit is not None:
            card["unit"] = _text(unit)
        first = seen.get((key, at))
        if first is not None:
            rows.bad(
                line,
                "at",
                _(
                    "a second value for %(kpi)s at %(at)s (the first is on line %(line)s): one "
                    "measurement per moment",
                    kpi=repr(name),
                    at=_day_text(at),
                    line=first,
                ),
            )
            continue
        seen[(key, at)] = line
        measurement: dict[str, Any] = {"at": at, "value": value}
        for field_id in ("note", "source"):
            cell = sheet.cell(cells, mapping.columns.get(field_id))
            if cell is not None:
                measurement[field_id] = _text(cell)[:100] if field_id == "source" else _text(cell)
        card["measurements"].append(measurement)
        measurement_lines[key].append(line)
    kpis: list[Kpi] = []
    lines: dict[FieldPath, int] = {}
    for index, (key, card) in enumerate(cards.items()):
        lines[("kpis", index)] = card_lines[key]
        for m, line in enumerate(measurement_lines[key]):
            lines[("kpis", index, "measurements", m)] = line
        try:
            kpis.append(Kpi.model_validate(card))
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                line = _line_in(lines, ("kpis", index, *error["loc"])) or card_lines[key]
                names = [p for p in error["loc"] if isinstance(p, str)]
                rows.bad(line, names[-1] if names else None, _message(error, Kpi))
    new = {
        "teams": [f"{name} ({key})" for key, name in new_teams.items()],
        "people": sorted(new_people),
        "kpis": [c["name"] for k, c in cards.items() if k not in known.kpis],
        "measurements": [f"{sum(len(c['measurements']) for c in cards.values())}"],
    }
    if rows.problems:
        return Conversion(None, rows.sorted(), mapping, len(sheet.rows), new)
    teams = [
        {"key": key, "name": name, "kind": "team", "parent": known.company}
        for key, name in new_teams.items()
    ]
    document = _assemble(sheet, lines, teams, [{"email": e} for e in new_people], [], [], kpis)
    return Conversion(document, [], mapping, len(sheet.rows), new)
