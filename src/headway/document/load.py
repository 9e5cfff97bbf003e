"""Read YAML files into one :class:`~headway.document.schema.Document`, or say what is wrong.

Every problem names its file, line and field, and all of them are reported at once:
YAML syntax, unknown fields, wrong types, references to keys that do not exist,
duplicate keys, alignment loops and cycles that end before they start. Messy check-in
history (dated outside its cycle, several at one moment) is not an error: see
:mod:`headway.okrs.timing`. Items that are themselves invalid still count as defined for
references and duplicates, so one typo does not cascade into a page of follow-on errors.
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from headway.document.schema import (
    FORMAT_VERSION,
    KEY_FIELDS,
    SECTIONS,
    SLUG_PATTERN,
    Connection,
    Cycle,
    Document,
    FieldPath,
    Kpi,
    KpiSource,
    Objective,
    Person,
    SourceMap,
    Team,
    format_path,
    line_in,
    to_moment,
)

__all__ = ["DocumentError", "Problem", "load_documents", "load_texts"]

#: Alias expansion can make a tiny file huge ("billion laughs"); past this many nodes the
#: file is refused rather than expanded.
MAX_NODES = 1_000_000

_MODELS: dict[str, type[BaseModel]] = {
    "teams": Team,
    "people": Person,
    "cycles": Cycle,
    "objectives": Objective,
    "connections": Connection,
    "kpis": Kpi,
}
_SINGULAR = {
    "teams": "team",
    "people": "person",
    "cycles": "cycle",
    "objectives": "objective",
    "connections": "connection",
    "kpis": "KPI",
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a document: where (file, line, field) and what.

    ``line`` is 1-based and None when the problem concerns the file as a whole (it cannot
    be read); ``field_path`` is the path within that file, e.g.
    ``objectives[0].key_results[1].kind``, or "" for the file itself.
    """

    file: str
    line: int | None
    field_path: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        if self.field_path:
            return f"{where}: {self.field_path}: {self.message}"
        return f"{where}: {self.message}"


class DocumentError(ValueError):
    """A document that cannot be used; ``errors`` lists every problem found, in file order."""

    def __init__(self, errors: Sequence[Problem]) -> None:
        self.errors: list[Problem] = list(errors)
        super().__init__("\n".join(str(p) for p in self.errors))


# --------------------------------------------------------------------------- YAML parsing


class _Budget:
    """Caps alias expansion ("billion laughs"): only nodes visited again cost anything."""

    def __init__(self) -> None:
        self.left = MAX_NODES
        self.seen: set[int] = set()


def _parse(text: str) -> tuple[Any, dict[FieldPath, int], list[tuple[int | None, str, str]]]:
    """Parse one YAML text into plain data and a map of path → line (1-based).

    Returns (data, lines, problems) where each problem is (line, field path, message);
    data is None when the text is empty or cannot be parsed.
    """
    lines: dict[FieldPath, int] = {}
    problems: list[tuple[int | None, str, str]] = []
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, lines, problems
        data = _build(loader, node, (), lines, problems, set(), _Budget())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = None if mark is None else mark.line + 1
        what = ": ".join(p for p in (exc.context, exc.problem) if p)
        problems.append((line, "", f"YAML syntax error: {what or exc}"))
        return None, lines, problems
    except yaml.YAMLError as exc:
        problems.append((None, "", f"YAML syntax error: {exc}"))
        return None, lines, problems
    except _TooLarge:
        problems.append((1, "", f"too many nodes after alias expansion (over {MAX_NODES})"))
        return None, lines, problems
    finally:
        loader.dispose()
    return data, lines, problems


# libyaml's parser when PyYAML has it: the same nodes and marks, several times faster.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _TooLarge(Exception):
    pass


def _build(
    loader: yaml.SafeLoader,
    node: yaml.Node,
    path: FieldPath,
    lines: dict[FieldPath, int],
    problems: list[tuple[int | None, str, str]],
    active: set[int],
    budget: _Budget,
) -> Any:
    if id(node) in budget.seen:
        budget.left -= 1
        if budget.left < 0:
            raise _TooLarge
    else:
        budget.seen.add(id(node))
    lines.setdefault(path, node.start_mark.line + 1)
    if id(node) in active:
        problems.append((node.start_mark.line + 1, format_path(path), "recursive YAML alias"))
        return None
    if isinstance(node, yaml.MappingNode):
        active.add(id(node))
        loader.flatten_mapping(node)  # resolves `<<: *anchor` merge keys
        result: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                problems.append((key_line, format_path(path), "a field name must be plain text"))
                continue
            raw_key = _scalar(loader, key_node, path, problems)
            key = raw_key if isinstance(raw_key, str) else str(key_node.value)
            sub = (*path, key)
            if key in result:
                problems.append(
                    (
                        key_line,
                        format_path(sub),
                        f"field {key!r} is written twice (first on line {first_line[key]})",
                    )
                )
                continue
            first_line[key] = key_line
            lines[sub] = key_line
            result[key] = _build(loader, value_node, sub, lines, problems, active, budget)
        active.discard(id(node))
        return result
    if isinstance(node, yaml.SequenceNode):
        active.add(id(node))
        items = [
            _build(loader, item, (*path, i), lines, problems, active, budget)
            for i, item in enumerate(node.value)
        ]
        active.discard(id(node))
        return items
    return _scalar(loader, node, path, problems)


def _scalar(
    loader: yaml.SafeLoader,
    node: yaml.Node,
    path: FieldPath,
    problems: list[tuple[int | None, str, str]],
) -> Any:
    """Construct a scalar; an impossible value (2027-13-01, !!int x) is a problem, not a crash."""
    try:
        return loader.construct_object(node, deep=True)
    except yaml.YAMLError:
        raise
    except (ValueError, TypeError, OverflowError) as exc:
        problems.append(
            (node.start_mark.line + 1, format_path(path), f"cannot read {node.value!r}: {exc}")
        )
        return None


# --------------------------------------------------------------------------- pydantic errors


def _unwrap(annotation: Any) -> Any:
    """The model class inside list[...], X | None and Annotated[...], if any."""
    while True:
        origin = get_origin(annotation)
        if origin is None:
            return annotation
        args = [a for a in get_args(annotation) if a is not type(None)]
        if not args:
            return annotation
        annotation = args[0]


def _model_at(model: type[BaseModel], loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The model whose fields apply at ``loc`` (a path inside an instance of ``model``)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        info = current.model_fields.get(part)
        if info is None:
            return None
        current = _unwrap(info.annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _unknown_field(name: str, allowed: Iterable[str]) -> str:
    allowed = sorted(allowed)
    hint = _suggest(name, allowed)
    return f"unknown field {name!r}{hint or ' (allowed: ' + ', '.join(allowed) + ')'}"


def _message(error: Mapping[str, Any], model: type[BaseModel]) -> str:
    """A short, plain message for one pydantic error."""
    kind: str = error["type"]
    loc: tuple[str | int, ...] = tuple(error["loc"])
    value = error.get("input")
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    if kind == "extra_forbidden":
        parent = _model_at(model, loc[:-1])
        allowed = parent.model_fields if parent is not None else []
        return _unknown_field(str(loc[-1]), allowed)
    if kind == "missing":
        return "required field is missing"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"must be a mapping (field: value), got {_show(value)}"
    if kind == "list_type":
        return f"must be a list, got {_show(value)}"
    if kind == "string_pattern_mismatch" and ctx.get("pattern") == SLUG_PATTERN:
        return f"not a valid key {_show(value)}: use only letters, digits, - and _"
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        return "must not be empty"
    if kind == "literal_error":
        return f"must be {ctx.get('expected', '?')}, got {_show(value)}"
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    text = str(error["msg"]).replace("Input should be", "must be")
    return f"{text}, got {_show(value)}"


# --------------------------------------------------------------------------- checking


@dataclass(slots=True)
class _Item:
    """One entry of a section as written: where, the raw data and, if valid, the model."""

    section: str
    file: int
    index: int  # within its file
    raw: Any
    model: Any = None

    @property
    def key(self) -> str | None:
        if not isinstance(self.raw, dict):
            return None
        value = self.raw.get(KEY_FIELDS.get(self.section, "key"))
        if not isinstance(value, str):
            return None
        return value.strip().lower() if self.section == "people" else value


@dataclass(slots=True)
class _File:
    name: str
    lines: dict[FieldPath, int]


@dataclass(slots=True)
class _Collector:
    files: list[_File] = field(default_factory=list)
    found: list[tuple[int, int, int, Problem]] = field(default_factory=list)
    language: str | None = None  # the `language` the files name, if any

    def at_file(self, file: int, line: int | None, path: str, message: str) -> None:
        name = self.files[file].name
        sort_line = line if line is not None else 0
        self.found.append((file, sort_line, len(self.found), Problem(name, line, path, message)))

    def at(self, item: _Item, rel: Sequence[str | int], message: str) -> None:
        local: FieldPath = (item.section, item.index, *rel)
        lines = self.files[item.file].lines
        self.at_file(item.file, line_in(lines, local), format_path(local), message)

    def where(self, item: _Item) -> str:
        line = line_in(self.files[item.file].lines, (item.section, item.index))
        return f"{self.files[item.file].name}:{line}"

    def problems(self) -> list[Problem]:
        return [p for *_, p in sorted(self.found, key=lambda f: f[:3])]


def _read_file(collector: _Collector, file: int, text: str, items: dict[str, list[_Item]]) -> None:
    data, lines, yaml_problems = _parse(text)
    collector.files[file].lines = lines
    for line, path, message in yaml_problems:
        collector.at_file(file, line, path, message)
    if data is None and yaml_problems:
        return  # the text could not be parsed at all
    # A value the parser could not read was already reported; do not report it again.
    reported = {path for _, path, _ in yaml_problems}
    if data is None:
        collector.at_file(
            file, 1, "", f"the file is empty; it must start with `version: {FORMAT_VERSION}`"
        )
        return
    if not isinstance(data, dict):
        collector.at_file(
            file,
            1,
            "",
            f"the file must be a mapping with `version: {FORMAT_VERSION}` and sections "
            f"({', '.join(SECTIONS)}), got {type(data).__name__}",
        )
        return
    if "version" not in data:
        collector.at_file(file, 1, "version", f"missing `version: {FORMAT_VERSION}`")
    elif data["version"] != FORMAT_VERSION or isinstance(data["version"], bool):
        collector.at_file(
            file,
            lines.get(("version",), 1),
            "version",
            f"unsupported format version {_show(data['version'])}: "
            f"this Headway reads version {FORMAT_VERSION}",
        )
    for name, value in data.items():
        if name == "version":
            continue
        if name == "language":
            if not isinstance(value, str) or not re.fullmatch(r"[a-z]{2}", value):
                collector.at_file(
                    file,
                    lines.get((name,)),
                    name,
                    f"must be a two-letter ISO 639-1 language code such as en or de, "
                    f"got {_show(value)}",
                )
            elif collector.language not in (None, value):
                collector.at_file(
                    file,
                    lines.get((name,)),
                    name,
                    f"the files of one document must name one language: {value!r} here, "
                    f"{collector.language!r} before",
                )
            else:
                collector.language = value
            continue
        if name not in SECTIONS:
            collector.at_file(
                file,
                lines.get((name,)),
                name,
                _unknown_field(name, ("version", "language", *SECTIONS)),
            )
            continue
        if value is None:
            continue  # `teams:` with nothing under it: an empty section
        if not isinstance(value, list):
            collector.at_file(file, lines.get((name,)), name, f"must be a list, got {_show(value)}")
            continue
        for index, raw in enumerate(value):
            item = _Item(name, file, index, raw)
            items[name].append(item)
            try:
                item.model = _MODELS[name].model_validate(raw)
            except ValidationError as exc:
                for error in exc.errors(include_url=False):
                    loc: FieldPath = (name, index, *error["loc"])
                    if format_path(loc) not in reported:
                        collector.at(item, tuple(error["loc"]), _message(error, _MODELS[name]))


def _loops(parents: dict[str, str | None]) -> list[list[str]]:
    """Each loop of ``parents`` links once, starting at its first key in ``parents`` order."""
    order = {key: i for i, key in enumerate(parents)}
    state: dict[str, int] = {}  # 1 on the current walk, 2 finished
    loops: list[list[str]] = []
    for start in parents:
        walk: list[str] = []
        node: str | None = start
        while node is not None and node in parents and state.get(node) is None:
            state[node] = 1
            walk.append(node)
            node = parents[node]
        if node is not None and state.get(node) == 1:
            loop = walk[walk.index(node) :]
            first = min(range(len(loop)), key=lambda i: order[loop[i]])
            loops.append(loop[first:] + loop[:first])
        for key in walk:
            state[key] = 2
    return loops


def _moment_text(moment: datetime) -> str:
    if moment.time() == time() and moment.utcoffset() is not None:
        return moment.date().isoformat()
    return moment.isoformat()


def _str(raw: Any, name: str) -> str | None:
    """``raw[name]`` when ``raw`` is a mapping and the value is text, else None."""
    value = raw.get(name) if isinstance(raw, dict) else None
    return value if isinstance(value, str) else None


def _email_of(raw: Any, name: str) -> str | None:
    value = _str(raw, name)
    return None if value is None else value.strip().lower()


def _list(raw: Any, name: str) -> list[Any]:
    value = raw.get(name) if isinstance(raw, dict) else None
    return value if isinstance(value, list) else []


def _day_of(raw: Any, name: str) -> date | None:
    value = raw.get(name) if isinstance(raw, dict) else None
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    if isinstance(value, datetime):
        return None
    return value if isinstance(value, date) else None


def _moment_of(raw: Any, name: str) -> datetime | None:
    value = raw.get(name) if isinstance(raw, dict) else None
    if value is None:
        return None
    try:
        return to_moment(value)
    except ValueError:
        return None


class _Checker:
    """Cross-reference checks over every item of every file.

    They read the raw data defensively, so an item with a wrong field elsewhere still has
    its references checked; values of the wrong type were already reported and are skipped.
    """

    def __init__(self, collector: _Collector, items: dict[str, list[_Item]]) -> None:
        self.c = collector
        self.items = items
        self.known: dict[str, set[str]] = {
            section: {k for item in items[section] if (k := item.key) is not None}
            for section in SECTIONS
        }

    def ref(self, item: _Item, rel: Sequence[str | int], section: str, key: str | None) -> bool:
        """Report ``key`` unless it names something in ``section``; True when it does."""
        if key is None:
            return True
        if section == "people":
            key = key.strip().lower()
        if key in self.known[section]:
            return True
        what = _SINGULAR[section]
        by = "e-mail" if section == "people" else "key"
        hint = _suggest(key, self.known[section])
        self.c.at(item, rel, f"unknown {what} {key!r} (no {what} has this {by}){hint}")
        return False

    def run(self) -> None:
        self.duplicates()
        self.teams()
        self.people()
        self.cycles()
        self.objectives()
        self.kpis()

    def duplicates(self) -> None:
        for section in SECTIONS:
            first: dict[str, _Item] = {}
            for item in self.items[section]:
                key = item.key
                if key is None:
                    continue
                if key in first:
                    name = KEY_FIELDS.get(section, "key")
                    what = "e-mail" if section == "people" else name
                    self.c.at(
                        item,
                        (name,),
                        f"duplicate {_SINGULAR[section]} {what} {key!r} "
                        f"(first at {self.c.where(first[key])})",
                    )
                else:
                    first[key] = item

    def teams(self) -> None:
        parents: dict[str, str | None] = {}
        where: dict[str, _Item] = {}
        for item in self.items["teams"]:
            key, parent = item.key, _str(item.raw, "parent")
            if not isinstance(item.raw, dict) or key is None:
                continue
            if item.raw.get("parent") is None:
                kind = item.raw.get("kind", "team")
                if kind in ("department", "team"):
                    self.c.at(
                        item,
                        ("parent",),
                        f"team {key!r} has no parent: only the company "
                        "(kind: company) may be the root",
                    )
            elif self.ref(item, ("parent",), "teams", parent) and parent is not None:
                where.setdefault(key, item)
                parents.setdefault(key, parent)
        for loop in _loops(parents):
            chain = " -> ".join([*loop, loop[0]])
            self.c.at(where[loop[0]], ("parent",), f"team parent loop: {chain}")

    def people(self) -> None:
        for item in self.items["people"]:
            seen: set[str] = set()
            teams = _list(item.raw, "teams")
            for i, team in enumerate(teams):
                if not isinstance(team, str):
                    continue
                self.ref(item, ("teams", i), "teams", team)
                if team in seen:
                    self.c.at(item, ("teams", i), f"team {team!r} is listed twice")
                seen.add(team)
            for i, membership in enumerate(_list(item.raw, "memberships")):
                team = _str(membership, "team")
                if team is None:
                    continue
                self.ref(item, ("memberships", i, "team"), "teams", team)
                if team in seen:
                    self.c.at(
                        item,
                        ("memberships", i, "team"),
                        f"team {team!r} is listed twice (one role per team)",
                    )
                seen.add(team)
            if _str(item.raw, "role") is not None and not teams:
                self.c.at(
                    item, ("role",), "`role` applies to the teams in `teams`, and none are listed"
                )

    def cycles(self) -> None:
        for item in self.items["cycles"]:
            start, end = _day_of(item.raw, "start"), _day_of(item.raw, "end")
            if start is not None and end is not None and end < start:
                self.c.at(
                    item,
                    ("end",),
                    f"cycle {item.key!r} ends ({end}) before it starts ({start})",
                )
            self.ref(item, ("closed_by",), "people", _str(item.raw, "closed_by"))

    def objectives(self) -> None:
        parents: dict[str, str | None] = {}
        where: dict[str, _Item] = {}
        for item in self.items["objectives"]:
            key = item.key
            cycle = _str(item.raw, "cycle")
            self.ref(item, ("cycle",), "cycles", cycle)
            self.ref(item, ("team",), "teams", _str(item.raw, "team"))
            self.ref(item, ("owner",), "people", _str(item.raw, "owner"))
            self.ref(item, ("copied_from",), "objectives", _str(item.raw, "copied_from"))
            parent = _str(item.raw, "parent")
            if self.ref(item, ("parent",), "objectives", parent) and parent and key:
                where.setdefault(key, item)
                parents.setdefault(key, parent)
            self.key_results(item)
        for loop in _loops(parents):
            if len(loop) == 1:
                message = f"objective {loop[0]!r} aligns to itself"
            else:
                message = f"alignment loop: {' -> '.join([*loop, loop[0]])}"
            self.c.at(where[loop[0]], ("parent",), message)

    def key_results(self, item: _Item) -> None:
        seen: dict[str, int] = {}
        for k, kr in enumerate(_list(item.raw, "key_results")):
            base: FieldPath = ("key_results", k)
            key = _str(kr, "key")
            if key is not None and key in seen:
                self.c.at(
                    item,
                    (*base, "key"),
                    f"duplicate key result key {key!r} in objective {item.key!r} "
                    f"(first is key_results[{seen[key]}])",
                )
            if key is not None:
                seen.setdefault(key, k)
            self.ref(item, (*base, "owner"), "people", _str(kr, "owner"))
            self.ref(item, (*base, "kpi"), "kpis", _str(kr, "kpi"))
            counters: set[str] = set()
            for i, counter in enumerate(_list(kr, "counter_kpis")):
                if not isinstance(counter, str):
                    continue
                self.ref(item, (*base, "counter_kpis", i), "kpis", counter)
                if counter in counters:
                    self.c.at(item, (*base, "counter_kpis", i), f"KPI {counter!r} listed twice")
                counters.add(counter)
            self.checkins(item, base, _list(kr, "checkins"))

    def checkins(self, item: _Item, base: FieldPath, checkins: list[Any]) -> None:
        # Messy history is not an error (okrs.timing): a check-in dated outside its cycle
        # is kept (the coach warns about early ones), and check-ins at one moment keep
        # their file order, the last being the latest.
        for i, checkin in enumerate(checkins):
            if not isinstance(checkin, dict):
                continue
            here: FieldPath = (*base, "checkins", i)
            self.ref(item, (*here, "author"), "people", _str(checkin, "author"))
            if checkin.get("value") is None and checkin.get("done") is None:
                self.c.at(item, here, "a check-in needs a `value` or `done`")

    def kpis(self) -> None:
        engines = {
            c.model.name: c.model.engine for c in self.items["connections"] if c.model is not None
        }
        for item in self.items["kpis"]:
            self.ref(item, ("team",), "teams", _str(item.raw, "team"))
            self.ref(item, ("owner",), "people", _str(item.raw, "owner"))
            if item.model is not None and item.model.source is not None:
                self.source(item, item.model.source, engines)
            moments: dict[datetime, int] = {}
            for i, measurement in enumerate(_list(item.raw, "measurements")):
                at = _moment_of(measurement, "at")
                if at is None:
                    continue
                if at in moments:
                    self.c.at(
                        item,
                        ("measurements", i, "at"),
                        f"two measurements at {_moment_text(at)} "
                        f"(the other is measurements[{moments[at]}])",
                    )
                moments.setdefault(at, i)

    def source(self, item: _Item, source: KpiSource, engines: Mapping[str, str]) -> None:
        """A source is well formed without connecting: its kind's fields, its connection
        (declared, of an engine the kind reads), its cron schedule, and what can be checked
        offline (the SQL parses in the engine's dialect, the JMESPath compiles, PromQL
        brackets close)."""
        from headway.sources.kinds import KINDS, ConfigError
        from headway.sources.kinds.base import cron_problem

        kind = KINDS[source.kind]
        name = source.connection
        engine = engines.get(name) if name else None
        if name is not None and self.ref(item, ("source", "connection"), "connections", name):
            if engine is not None and engine not in kind.engines:
                self.c.at(
                    item,
                    ("source", "connection"),
                    f"{name!r} is a {engine} connection; a {kind.id} source needs "
                    f"{' or '.join(sorted(kind.engines))}",
                )
        elif name is None and kind.connection == "required":
            self.c.at(item, ("source", "connection"), f"a {kind.id} source needs a connection")
        if (problem := cron_problem(source.schedule)) is not None:
            self.c.at(item, ("source", "schedule"), problem)
        try:
            config = kind.clean(source.config())
        except ConfigError as error:
            for field_name, message in error.errors.items():
                self.c.at(item, ("source", field_name), message)
            return
        if name is None and "url" in config and "://" not in str(config["url"]):
            self.c.at(item, ("source", "url"), "without a connection, give a full http(s) URL")
        for problem in kind.lint(config, engine):
            self.c.at(
                item, ("source", "query" if kind.id != "http_json" else "expression"), problem
            )


# --------------------------------------------------------------------------- entry points


def load_texts(
    sources: Sequence[tuple[str, str]], known: Mapping[str, Set[str]] | None = None
) -> Document:
    """Read ``(name, YAML text)`` pairs as one document (sections concatenated in order).

    ``known`` is as for :func:`load_documents`.

    Raises DocumentError listing every problem, each with the name, line and field path.
    """
    return _load([(name, _constant(text)) for name, text in sources], known)


def load_documents(
    paths: Sequence[Path | str], known: Mapping[str, Set[str]] | None = None
) -> Document:
    """Read several YAML files as one document (their sections concatenated in order).

    Problems name each file as given in ``paths``. Raises DocumentError listing every
    problem of every file; ValueError when ``paths`` is empty. ``known`` maps a section
    (``teams``, ``people``, ``cycles``, ``objectives``, ``kpis``) to keys defined
    elsewhere (the database, for an import), which references may then name.
    """
    return _load([(str(path), _reader(Path(path))) for path in paths], known)


def _constant(text: str) -> Callable[[], str]:
    return lambda: text


def _reader(path: Path) -> Callable[[], str]:
    def read() -> str:
        return path.read_bytes().decode("utf-8-sig")

    return read


def _load(
    sources: Sequence[tuple[str, Callable[[], str]]], known: Mapping[str, Set[str]] | None
) -> Document:
    if not sources:
        raise ValueError("no file to read")
    collector = _Collector()
    items: dict[str, list[_Item]] = defaultdict(list)
    for file, (name, read) in enumerate(sources):
        collector.files.append(_File(name, {}))
        try:
            text = read()
        except OSError as exc:
            collector.at_file(file, None, "", f"cannot read the file: {exc.strerror or exc}")
            continue
        except UnicodeDecodeError as exc:
            collector.at_file(file, None, "", f"not UTF-8 text (byte {exc.start})")
            continue
        _read_file(collector, file, text, items)
    checker = _Checker(collector, items)
    for section, keys in (known or {}).items():
        checker.known[section] |= keys
    checker.run()
    problems = collector.problems()
    if problems:
        raise DocumentError(problems)

    source = SourceMap()
    for f in collector.files:
        source.add_file(f.name, f.lines)
    sections: dict[str, list[Any]] = {}
    for section in SECTIONS:
        sections[section] = []
        for item in items[section]:
            sections[section].append(item.model)
            source.add_item(section, item.file, item.index)
    document = Document(version=1, language=collector.language, **sections)
    document._source = source
    return document
