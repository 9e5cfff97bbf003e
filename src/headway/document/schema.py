"""The YAML format, version 1: one set of pydantic models, the only definition there is.

`headway lint`, `headway score`, `headway import` and `headway export` all read and write
these models; the JSON Schema shipped beside this file is generated from them
(:func:`document_json_schema`). Every model forbids unknown fields. Cross-references
(a team's parent, an objective's cycle, ...) cannot be checked field by field: the loader
(:mod:`headway.document.load`) checks them over the whole document.

No Django here: the models load, validate and score with no database and no settings.
"""

from __future__ import annotations

import json
import re
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from functools import cached_property
from typing import Annotated, Any, ClassVar, Literal, overload

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    Strict,
    WithJsonSchema,
    field_serializer,
)

__all__ = [
    "FORMAT_VERSION",
    "SECTIONS",
    "CheckIn",
    "CoachSettings",
    "Connection",
    "Cycle",
    "Document",
    "FieldPath",
    "Initiative",
    "KeyResult",
    "Kpi",
    "KpiSource",
    "Measurement",
    "MeasurementSeries",
    "Membership",
    "Person",
    "SourceMap",
    "Team",
    "document_json_schema",
    "document_json_schema_text",
    "format_path",
    "measurement_points",
    "measurement_rows",
    "to_moment",
]

FORMAT_VERSION = 1
#: The list sections of a document, in the order they are usually written.
SECTIONS = ("teams", "people", "cycles", "objectives", "connections", "kpis")
#: The field that names an item of a section (its key, unless said here).
KEY_FIELDS = {"people": "email", "connections": "name"}

#: A path into a document: field names and list indexes, e.g. ("objectives", 0, "key").
FieldPath = tuple[str | int, ...]

SLUG_PATTERN = r"^[A-Za-z0-9_-]+$"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# --------------------------------------------------------------------------- value types


def _email(value: str) -> str:
    # People sign in by e-mail, case-insensitively: the database stores it lower-cased.
    normal = value.strip().lower()
    if not _EMAIL.match(normal):
        raise ValueError(f"not a valid e-mail address: {value!r}")
    return normal


def to_moment(value: object) -> datetime:
    """An ISO 8601 date or date-time (object or string) as a timezone-aware UTC datetime.

    A date means 00:00 UTC of that day; a date-time without a zone is UTC; one with a zone
    is converted to UTC. Anything else (numbers included) raises ValueError.
    """
    if isinstance(value, str):
        text = value.strip()
        try:
            value = datetime.fromisoformat(text) if "T" in text or " " in text else None
        except ValueError:
            value = None
        if value is None:
            try:
                value = date.fromisoformat(text)
            except ValueError:
                raise ValueError(f"expected an ISO 8601 date or date-time, got {text!r}") from None
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=UTC)
    raise ValueError(f"expected an ISO 8601 date or date-time, got {value!r}")


def _day(value: object) -> object:
    # Pydantic would read a number as a Unix timestamp; in this format it is a mistake.
    if isinstance(value, bool | int | float):
        raise ValueError(f"expected an ISO 8601 date (YYYY-MM-DD), got {value!r}")
    return value


TeamKey = Annotated[
    str,
    Strict(),
    Field(
        min_length=1,
        max_length=100,
        pattern=SLUG_PATTERN,
        description="Key of a team: letters, digits, - and _ (at most 100).",
    ),
]
CycleKey = Annotated[
    str,
    Strict(),
    Field(
        min_length=1,
        max_length=100,
        pattern=SLUG_PATTERN,
        description="Key of a cycle: letters, digits, - and _ (at most 100).",
    ),
]
ObjectiveKey = Annotated[
    str,
    Strict(),
    Field(
        min_length=1,
        max_length=150,
        pattern=SLUG_PATTERN,
        description="Key of an objective: letters, digits, - and _ (at most 150).",
    ),
]
KeyResultKey = Annotated[
    str,
    Strict(),
    Field(
        min_length=1,
        max_length=150,
        pattern=SLUG_PATTERN,
        description="Key of a key result, unique within its objective.",
    ),
]
KpiKey = Annotated[
    str,
    Strict(),
    Field(
        min_length=1,
        max_length=150,
        pattern=SLUG_PATTERN,
        description="Key of a KPI: letters, digits, - and _ (at most 150).",
    ),
]
RuleId = Annotated[
    str,
    Strict(),
    Field(min_length=1, max_length=100, pattern=SLUG_PATTERN, description="A coach rule id."),
]

Email = Annotated[
    str,
    Strict(),
    AfterValidator(_email),
    Field(max_length=254, description="An e-mail address (compared case-insensitively)."),
]
Number = Annotated[float, Strict(), Field(allow_inf_nan=False)]
Day = Annotated[
    date,
    BeforeValidator(_day),
    Field(description="An ISO 8601 date (YYYY-MM-DD)."),
]
Moment = Annotated[
    datetime,
    BeforeValidator(to_moment),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "date"},
                {"type": "string", "format": "date-time"},
            ],
            "description": (
                "An ISO 8601 date (00:00 UTC that day) or date-time (UTC when no zone)."
            ),
        }
    ),
]
Text = Annotated[str, Strict()]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, validate_default=False)


# --------------------------------------------------------------------------- organisation


class Team(_Model):
    """A node of the organisation tree; the root (no parent) is the company."""

    key: TeamKey
    name: str = Field(strict=True, min_length=1, max_length=200, description="Display name.")
    kind: Literal["company", "department", "team"] = Field(
        "team", description="Label of the level: company, department or team."
    )
    parent: TeamKey | None = Field(None, description="Key of the team above this one.")
    checkin_cadence_days: Annotated[int, Strict()] = Field(
        7,
        ge=1,
        le=92,
        description="A key result with no check-in for longer than this is overdue.",
    )


Role = Literal["admin", "lead", "member", "viewer"]


class Membership(_Model):
    """A role on one team (holds for that team and every team below it)."""

    team: TeamKey
    role: Role = Field("member", description="admin, lead, member or viewer.")


class Person(_Model):
    """Someone in the organisation, named by e-mail everywhere in the document.

    ``teams`` + ``role`` give the same role on every listed team; ``memberships`` gives a
    role per team. Both may be used together; a team may appear only once in all.
    """

    email: Email
    name: str = Field("", strict=True, max_length=200, description="Full name.")
    teams: list[TeamKey] = Field(
        default_factory=list, description="Teams the person belongs to, with `role`."
    )
    role: Role | None = Field(None, description="Role on every team of `teams` (default member).")
    memberships: list[Membership] = Field(
        default_factory=list, description="Per-team roles, when they differ between teams."
    )

    def roles(self) -> dict[str, str]:
        """Team key → role, from ``teams`` + ``role`` and ``memberships`` (document order)."""
        found: dict[str, str] = {team: self.role or "member" for team in self.teams}
        found.update({m.team: m.role for m in self.memberships})
        return found


class Cycle(_Model):
    """A time box from ``start`` to ``end`` (both inclusive) that objectives belong to."""

    key: CycleKey
    name: str = Field("", strict=True, max_length=200, description="Display name.")
    start: Day
    end: Day = Field(description="Last day of the cycle (inclusive).")
    state: Literal["planning", "active", "closed"] | None = Field(
        None,
        description=(
            "planning, active or closed; when absent, derived from the dates on import "
            "(before start: planning, within: active, after end: closed)."
        ),
    )
    closed_at: Moment | None = Field(None, description="When the cycle was closed.")
    closed_by: Email | None = Field(None, description="Who closed the cycle.")

    @property
    def starts_at(self) -> datetime:
        """The first instant of the cycle: ``start`` at 00:00 UTC."""
        return datetime.combine(self.start, time(), tzinfo=UTC)

    @property
    def ends_at(self) -> datetime:
        """The first instant after the cycle: the day after ``end`` at 00:00 UTC."""
        return datetime.combine(date.fromordinal(self.end.toordinal() + 1), time(), tzinfo=UTC)

    def contains(self, moment: datetime) -> bool:
        """Whether ``moment`` (aware) falls within the cycle."""
        return self.starts_at <= moment < self.ends_at


# --------------------------------------------------------------------------- OKRs


class CheckIn(_Model):
    """One moment of a key result: value and/or done, confidence, note, author."""

    at: Moment
    value: Number | None = Field(None, description="The key result's value at that moment.")
    done: Annotated[bool, Strict()] | None = Field(None, description="For milestones.")
    confidence: Annotated[int, Strict()] | None = Field(
        None, ge=0, le=10, description="Confidence 0-10 that the target will be reached."
    )
    note: Text = Field("", description="What happened, why, what next.")
    author: Email | None = Field(None, description="E-mail of the person checking in.")


class Initiative(_Model):
    """Work planned to move a key result; it never counts in the key result's score."""

    title: str = Field(strict=True, min_length=1, max_length=300, description="The work.")
    owner: Email | None = None
    status: Literal["planned", "in_progress", "done", "dropped"] = Field(
        "planned", description="planned, in_progress, done or dropped."
    )
    due: Day | None = Field(None, description="When the work should be done.")
    link: str = Field(
        "", strict=True, max_length=500, description="URL of a tracker issue it follows."
    )
    follow: Annotated[bool, Strict()] = Field(
        False,
        description=(
            "Take its status from the tracker issue `link` names (GitHub, GitLab or Jira, on "
            "a tracker an admin set up in Headway); false: its status is moved by hand."
        ),
    )


class KeyResult(_Model):
    """An outcome that proves the objective was reached."""

    key: KeyResultKey
    title: str = Field(strict=True, min_length=1, max_length=300, description="The outcome.")
    kind: Literal["increase", "decrease", "above", "below", "milestone", "objectives"] = Field(
        "increase", description="How the score is computed (see the format reference)."
    )
    owner: Email | None = None
    unit: str = Field("", strict=True, max_length=30, description="Unit of measure.")
    start: Number | None = Field(None, description="Value at the start (increase, decrease).")
    target: Number | None = Field(None, description="Value to reach or to hold.")
    weight: Number = Field(1.0, ge=0, description="Weight in the objective's score.")
    due: Day | None = Field(None, description="Due date; defaults to the end of the cycle.")
    kpi: KpiKey | None = Field(None, description="KPI whose measurements feed the value.")
    counter_kpis: list[KpiKey] = Field(
        default_factory=list, description="Guard-rail KPIs that must not deteriorate."
    )
    done: Annotated[bool, Strict()] | None = Field(
        None,
        description=(
            "Milestone state when no check-in records one (done: true counts from the "
            "cycle's start)."
        ),
    )
    checkins: list[CheckIn] = Field(default_factory=list)
    grade: Number | None = Field(None, ge=0, le=1, description="Final grade (closed cycle).")
    initiatives: list[Initiative] | None = Field(
        None,
        description=(
            "The work planned to move it, in order; when given, it replaces the stored list "
            "on import, when absent the stored initiatives stay."
        ),
    )


class CoachSettings(_Model):
    """Coach rules silenced for one objective, with the reason."""

    ignore: list[RuleId] = Field(default_factory=list, description="Rule ids to silence.")
    why: Text = Field("", description="Why these rules do not apply here.")


class Objective(_Model):
    """A qualitative change worth making, in one cycle, owned by a team."""

    key: ObjectiveKey
    cycle: CycleKey
    team: TeamKey
    owner: Email | None = None
    type: Literal["committed", "aspirational"] = Field(
        "aspirational", description="committed (expected 1.0) or aspirational (0.7 is strong)."
    )
    visibility: Literal["public", "private"] = Field(
        "public", description="public (whole organisation) or private (the team only)."
    )
    parent: ObjectiveKey | None = Field(None, description="Objective this one aligns to.")
    contributors: list[TeamKey] = Field(
        default_factory=list,
        description="Contributing teams besides the owning one (a shared objective): it "
        "shows in their trees, people on them check in on their key results, and it "
        "counts once, for its team.",
    )
    copied_from: ObjectiveKey | None = Field(
        None, description="Objective this one was carried over or duplicated from."
    )
    copy_kind: Literal["carried", "template"] | None = Field(
        None,
        description="How it came from `copied_from`: carried over unfinished (numeric key "
        "results starting from the last value) or duplicated as a template.",
    )
    title: str = Field(
        strict=True, min_length=1, max_length=300, description="The change worth making."
    )
    description: Text = ""
    grade: Number | None = Field(None, ge=0, le=1, description="Final grade (closed cycle).")
    reflection: Text = Field("", description="What worked, what did not, carry over or drop.")
    coach: CoachSettings | None = None
    key_results: list[KeyResult] = Field(default_factory=list)


# --------------------------------------------------------------------------- KPIs


class Measurement(_Model):
    """One value of a KPI at one moment (a period end or a timestamp)."""

    at: Moment
    value: Number
    note: Text = ""
    source: str = Field("", strict=True, max_length=100, description="Where it comes from.")


class MeasurementSeries(Sequence[Measurement]):
    """A KPI's measurements as columns: how the loader keeps a long history.

    The large organisation's export holds 1.1 million measurements; as models they took
    about 530 bytes each, as columns about 40 (the loader shares equal moments and
    texts). Items are :class:`Measurement` models built when asked for; what only needs
    moments and values reads :func:`measurement_points`.
    """

    __slots__ = ("at", "note", "source", "value")

    def __init__(self) -> None:
        self.at: list[datetime] = []
        self.value = array("d")
        self.note: list[str] = []
        self.source: list[str] = []

    def append(self, at: datetime, value: float, note: str, source: str) -> None:
        self.at.append(at)
        self.value.append(value)
        self.note.append(note)
        self.source.append(source)

    def __len__(self) -> int:
        return len(self.at)

    @overload
    def __getitem__(self, index: int) -> Measurement: ...
    @overload
    def __getitem__(self, index: slice) -> list[Measurement]: ...
    def __getitem__(self, index: int | slice) -> Measurement | list[Measurement]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return Measurement.model_construct(
            at=self.at[index], value=self.value[index], note=self.note[index],
            source=self.source[index],
        )  # fmt: skip

    def __iter__(self) -> Iterator[Measurement]:
        for i in range(len(self.at)):
            yield self[i]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"MeasurementSeries({len(self)} measurements)"


def measurement_rows(
    measurements: Sequence[Measurement],
) -> Iterable[tuple[datetime, float, str, str]]:
    """(at, value, note, source) of each measurement, without building models for a series."""
    if isinstance(measurements, MeasurementSeries):
        m = measurements
        return zip(m.at, m.value, m.note, m.source, strict=True)
    return ((m.at, m.value, m.note, m.source) for m in measurements)


def measurement_points(measurements: Sequence[Measurement]) -> Iterable[tuple[datetime, float]]:
    """(moment, value) of each measurement, without building models for a series."""
    if isinstance(measurements, MeasurementSeries):
        return zip(measurements.at, measurements.value, strict=True)
    return ((m.at, m.value) for m in measurements)


ConnectionName = Annotated[
    str,
    Strict(),
    Field(
        min_length=1,
        max_length=100,
        pattern=SLUG_PATTERN,
        description="Name of a connection: letters, digits, - and _ (at most 100).",
    ),
]


class Connection(_Model):
    """A connection that sources name: declared here by name and engine, never its secret.

    The connection itself (host, user, password, base URL, secret headers) is defined by an
    admin in Headway; `headway import` checks that it exists with this engine.
    """

    name: ConnectionName
    engine: Literal["postgresql", "mysql", "sqlite", "http"] = Field(
        description="postgresql, mysql (MySQL or MariaDB), sqlite or http."
    )
    description: str = Field("", strict=True, max_length=300)


Short = Annotated[str, Strict(), Field(max_length=2000)]


class KpiSource(_Model):
    """Where a KPI's values come from and when to fetch them (see docs/sources.md).

    Which fields apply depends on `kind`: sql {connection, query}; http_json {url,
    expression, headers, connection}; csv_url {url, value_column, at_column, connection};
    prometheus {connection, query, mode, lookback, step}. Every kind takes `timeout`.
    """

    kind: Literal["sql", "http_json", "csv_url", "prometheus"]
    connection: ConnectionName | None = Field(
        None, description="Name of a connection declared in `connections`."
    )
    schedule: str = Field(
        "", strict=True, max_length=100,
        description="Cron expression (minute hour day month weekday); empty: the KPI's cadence.",
    )  # fmt: skip
    enabled: Annotated[bool, Strict()] = True
    query: Annotated[str, Strict(), Field(max_length=20_000)] | None = Field(
        None, description="sql: the SELECT; prometheus: the PromQL expression."
    )
    url: Short | None = Field(None, description="http_json, csv_url: the address.")
    expression: Short | None = Field(None, description="http_json: the JMESPath expression.")
    headers: dict[str, Short] | None = Field(
        None, description="http_json: headers that are not secret (secrets go in a connection)."
    )
    value_column: Short | None = Field(None, description="csv_url: the column of values.")
    at_column: Short | None = Field(None, description="csv_url: the column of moments.")
    mode: Literal["instant", "range"] | None = Field(None, description="prometheus.")
    lookback: Short | None = Field(None, description="prometheus range mode, e.g. 7d.")
    step: Short | None = Field(None, description="prometheus range mode, e.g. 1d.")
    timeout: Annotated[float, Field(gt=0, le=3600, allow_inf_nan=False)] | None = Field(
        None, description="Seconds; at most the site's limit."
    )

    CONFIG: ClassVar[tuple[str, ...]] = ("query", "url", "expression", "headers", "value_column",
                               "at_column", "mode", "lookback", "step", "timeout")  # fmt: skip

    def config(self) -> dict[str, Any]:
        """The kind's fields as given (what the kind's `clean` takes)."""
        return {n: getattr(self, n) for n in self.CONFIG if getattr(self, n) is not None}


class TargetStep(_Model):
    """One step of a KPI's target schedule: in force from `from` (00:00 UTC) to the next."""

    model_config = ConfigDict(
        extra="forbid", allow_inf_nan=False, validate_default=False, populate_by_name=True
    )

    starts: Day = Field(alias="from", description="The day the step starts (YYYY-MM-DD).")
    target: Number | None = None
    warning: Number | None = None
    critical: Number | None = None


class Kpi(_Model):
    """A KPI card: what, why, how, who and when, with direction and thresholds."""

    key: KpiKey
    name: str = Field(strict=True, min_length=1, max_length=200, description="What is measured.")
    team: TeamKey
    owner: Email | None = None
    unit: str = Field("", strict=True, max_length=30, description="Unit of measure.")
    definition: Text = Field("", description="What exactly is measured, and how.")
    why: Text = Field("", description="Which objective or outcome it protects.")
    how: Text = Field("", description="The process or initiative that drives it.")
    direction: Literal["up", "down"] = Field(
        "up", description="up: higher is better; down: lower is better."
    )
    target: Number | None = None
    warning: Number | None = None
    critical: Number | None = None
    target_schedule: list[TargetStep] = Field(
        default_factory=list,
        description=(
            "Targets that change by period: each step's thresholds are in force from its "
            "day until the next step; before the first, target, warning and critical above."
        ),
    )
    benchmark: Number | None = Field(None, description="Context, e.g. the industry average.")
    cadence: Literal["weekly", "monthly", "quarterly"] | None = Field(
        None, description="Review cadence; health is judged monthly when absent."
    )
    tier: Literal["key", "diagnostic"] = "key"
    source: KpiSource | None = Field(
        None, description="Where its values are fetched from; `null` removes it on import."
    )
    measurements: Sequence[Measurement] = Field(default_factory=list)

    @field_serializer("measurements")
    def _measurements_as_list(self, measurements: Sequence[Measurement]) -> list[Measurement]:
        # A loaded document holds a MeasurementSeries; dumped, it is a list like any other.
        return list(measurements)


# --------------------------------------------------------------------------- document


def format_path(path: Sequence[str | int]) -> str:
    """``("objectives", 0, "key_results", 1, "kind")`` → ``objectives[0].key_results[1].kind``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


@dataclass(frozen=True, slots=True)
class _FileLines:
    name: str
    lines: dict[FieldPath, int]


@dataclass(slots=True)
class SourceMap:
    """Where each part of a (possibly multi-file) document was written.

    Paths are document paths (list indexes counted over all files); :meth:`locate` turns
    one into (file, line, path within that file). A document built in code has none.
    """

    files: list[_FileLines] = field(default_factory=list)
    # section → for each item of the merged list: (file index, index within that file)
    items: dict[str, list[tuple[int, int]]] = field(default_factory=dict)

    def add_file(self, name: str, lines: dict[FieldPath, int]) -> int:
        self.files.append(_FileLines(name, lines))
        return len(self.files) - 1

    def add_item(self, section: str, file_index: int, local_index: int) -> int:
        entries = self.items.setdefault(section, [])
        entries.append((file_index, local_index))
        return len(entries) - 1

    def local(self, path: Sequence[str | int]) -> tuple[int, FieldPath] | None:
        """(file index, path within the file) of a document path, if known."""
        if len(path) >= 2 and isinstance(path[0], str) and isinstance(path[1], int):
            entries = self.items.get(path[0], [])
            if 0 <= path[1] < len(entries):
                file_index, local_index = entries[path[1]]
                return file_index, (path[0], local_index, *path[2:])
            return None
        return (0, tuple(path)) if self.files else None

    def locate(self, path: Sequence[str | int]) -> tuple[str, int | None, FieldPath] | None:
        """(file name, line, path within the file) of a document path.

        The line is that of the nearest written ancestor when the path itself was not
        written (a missing field); None when not even the file is known.
        """
        found = self.local(path)
        if found is None:
            return None
        file_index, local_path = found
        source = self.files[file_index]
        return source.name, line_in(source.lines, local_path), local_path


def line_in(lines: dict[FieldPath, int], path: FieldPath) -> int | None:
    """Line of ``path``, or of its nearest ancestor that has one."""
    for end in range(len(path), -1, -1):
        line = lines.get(path[:end])
        if line is not None:
            return line
    return None


class Document(_Model):
    """A whole YAML document (one file or several read as one).

    Treat a loaded document as read-only: the lookup maps below are computed once.
    """

    model_config = ConfigDict(
        title="Headway document",
        json_schema_extra={
            "description": (
                "Headway 'OKRs as code', format version 1: teams, people, cycles, "
                "objectives with key results and check-ins, KPIs with measurements."
            )
        },
    )

    version: Literal[1] = Field(description="Format version; this is version 1.")
    language: str | None = Field(
        default=None,
        pattern=r"^[a-z]{2}$",
        description=(
            "ISO 639-1 code of the language the titles are written in (e.g. en, de). The "
            "coach reads each title in it unless the title is plainly in another language; "
            "default: the organisation's language (HEADWAY_LANGUAGE)."
        ),
    )
    teams: list[Team] = Field(default_factory=list)
    people: list[Person] = Field(default_factory=list)
    cycles: list[Cycle] = Field(default_factory=list)
    objectives: list[Objective] = Field(default_factory=list)
    connections: list[Connection] = Field(
        default_factory=list, description="Connections the KPIs' sources name (no secrets)."
    )
    kpis: list[Kpi] = Field(default_factory=list)

    _source: SourceMap = PrivateAttr(default_factory=SourceMap)

    # ---- lookups (first occurrence wins; a loaded document has no duplicates)

    @cached_property
    def teams_by_key(self) -> dict[str, Team]:
        return _first_by(self.teams, lambda t: t.key)

    @cached_property
    def people_by_email(self) -> dict[str, Person]:
        return _first_by(self.people, lambda p: p.email)

    @cached_property
    def cycles_by_key(self) -> dict[str, Cycle]:
        return _first_by(self.cycles, lambda c: c.key)

    @cached_property
    def objectives_by_key(self) -> dict[str, Objective]:
        return _first_by(self.objectives, lambda o: o.key)

    @cached_property
    def kpis_by_key(self) -> dict[str, Kpi]:
        return _first_by(self.kpis, lambda k: k.key)

    # ---- source map

    @property
    def source(self) -> SourceMap:
        """Where each part was written (empty for a document built in code)."""
        return self._source

    def line_of(self, path: Sequence[str | int] | str) -> int | None:
        """Line where ``path`` was written (see :meth:`locate`)."""
        found = self.locate(path)
        return None if found is None else found[1]

    def file_of(self, path: Sequence[str | int] | str) -> str | None:
        """File where ``path`` was written (see :meth:`locate`)."""
        found = self.locate(path)
        return None if found is None else found[0]

    def locate(self, path: Sequence[str | int] | str) -> tuple[str, int | None] | None:
        """(file, line) of a document path or of a coach key path.

        ``path`` is a tuple like ``("objectives", 3, "key_results", 0)`` (indexes over the
        whole document) or a key path like ``"objectives/<key>/key_results/<kr>"``,
        ``"kpis/<key>"``, ``"teams/<key>"``, ``"cycles/<key>"`` or ``"people/<email>"``.
        None when unknown (a document built in code, or no such thing).
        """
        tuple_path = self.index_path(path) if isinstance(path, str) else tuple(path)
        if tuple_path is None:
            return None
        found = self._source.locate(tuple_path)
        return None if found is None else (found[0], found[1])

    def index_path(self, key_path: str) -> FieldPath | None:
        """``"objectives/<key>/key_results/<kr>"`` → ``("objectives", i, "key_results", j)``."""
        parts = [p for p in key_path.split("/") if p]
        if len(parts) < 2 or parts[0] not in SECTIONS:
            return None
        section, key = parts[0], parts[1]
        index = self._indexes[section].get(key)
        if index is None:
            return None
        path: FieldPath = (section, index)
        rest = parts[2:]
        if section == "objectives" and len(rest) >= 2 and rest[0] == "key_results":
            krs = self.objectives[index].key_results
            kr_index = next((j for j, kr in enumerate(krs) if kr.key == rest[1]), None)
            if kr_index is None:
                return None
            return (*path, "key_results", kr_index, *rest[2:])
        return (*path, *rest)

    @cached_property
    def _indexes(self) -> dict[str, dict[str, int]]:
        # section -> key -> index of its first item: the linter locates every finding
        indexes: dict[str, dict[str, int]] = {}
        for section in SECTIONS:
            attr = KEY_FIELDS.get(section, "key")
            found = indexes[section] = {}
            for i, x in enumerate(getattr(self, section)):
                found.setdefault(getattr(x, attr), i)
        return indexes

    # ---- walking

    def key_results(self) -> Iterator[tuple[Objective, KeyResult]]:
        """Every (objective, key result) pair in document order."""
        for objective in self.objectives:
            for kr in objective.key_results:
                yield objective, kr


def _first_by[T](items: Sequence[T], key: Any) -> dict[str, T]:
    found: dict[str, T] = {}
    for item in items:
        found.setdefault(key(item), item)
    return found


def document_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the format, generated from :class:`Document`."""
    schema = Document.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://headway.local/schema/headway-1.schema.json",
        **schema,
    }


def document_json_schema_text() -> str:
    """:func:`document_json_schema` as the text of the shipped ``headway.schema.json``."""
    return json.dumps(document_json_schema(), indent=2, ensure_ascii=False) + "\n"
