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
import math
import re
import secrets
from array import array
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
    Measurement,
    MeasurementSeries,
    Objective,
    Person,
    SourceMap,
    Team,
    format_path,
    line_in,
    to_moment,
)
from headway.okrs import sharing
from headway.words import _

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


#: Below this many lines libyaml alone reads a file fast enough.
FAST_FROM_LINES = 1000


def _parse(
    text: str, fast_from: int = FAST_FROM_LINES
) -> tuple[Any, dict[FieldPath, int], list[tuple[int | None, str, str]]]:
    """Parse one YAML text into plain data and a map of path → line (1-based).

    Returns (data, lines, problems) where each problem is (line, field path, message);
    data is None when the text is empty or cannot be parsed.

    One-line rows (``- {at: 2026-01-05, value: 3.2}``), most of a large file, are read by
    :class:`_Rows` and libyaml parses the rest. Should that go wrong in any way (a problem,
    a row that turns out not to be a list item), the file is parsed again the plain way,
    so every problem is reported exactly as libyaml sees it.
    """
    rows = _Rows(text, fast_from)
    if rows.runs:
        try:
            data, lines, problems = _Events(rows).parse()
        except _NeedsNodes:  # aliases, merge keys, ...: libyaml's nodes handle them
            rows = _Rows(text, fast_from)
            data, lines, problems = _parse_text(rows.text, rows)
        if not problems and rows.used == len(rows.runs):
            return data, lines, problems
        del data, lines, problems, rows
    return _parse_text(text, None)


class _NeedsNodes(Exception):
    """The text uses what only the node tree reads (aliases, anchors, merge keys, ...)."""


_MERGE_TAGS = ("tag:yaml.org,2002:merge", "tag:yaml.org,2002:value")
_IMMUTABLE = frozenset((str, int, float, bool, type(None), date, datetime))


class _Events:
    """:func:`_build` over libyaml's events instead of its node tree.

    A large file's tree of nodes and marks took a third of a gigabyte; events are read one
    at a time. The result (data, lines, problems) is the same as :func:`_parse_text`'s;
    anything that needs the tree (an anchor, an alias, a merge key, a key that is not
    text, several documents) raises _NeedsNodes.
    """

    def __init__(self, rows: _Rows) -> None:
        self.rows = rows
        self.lines = _Lines()
        self.problems: list[tuple[int | None, str, str]] = []
        self.loader: Any = _Loader(rows.text)  # PyYAML's event API is untyped
        self.constructed: dict[tuple[str, str, str | None], Any] = {}

    def parse(self) -> tuple[Any, dict[FieldPath, int], list[tuple[int | None, str, str]]]:
        loader = self.loader
        try:
            loader.get_event()  # the stream's start
            if loader.check_event(yaml.StreamEndEvent):
                return None, self.lines, self.problems
            loader.get_event()  # the document's start
            data = self.node(())
            loader.get_event()  # the document's end
            if not loader.check_event(yaml.StreamEndEvent):
                raise _NeedsNodes
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = None if mark is None else mark.line + 1
            what = ": ".join(p for p in (exc.context, exc.problem) if p)
            self.problems.append((line, "", f"YAML syntax error: {what or exc}"))
            return None, self.lines, self.problems
        except yaml.YAMLError as exc:
            self.problems.append((None, "", f"YAML syntax error: {exc}"))
            return None, self.lines, self.problems
        finally:
            loader.dispose()
        return data, self.lines, self.problems

    def scalar(self, event: Any, path: FieldPath) -> Any:
        loader = self.loader
        tag = event.tag
        if tag is None or tag == "!":
            tag = loader.resolve(yaml.ScalarNode, event.value, event.implicit)
        # Field names, e-mails, kinds and numbers repeat: construct each text once.
        key = (tag, event.value, event.style)
        value = self.constructed.get(key, _UNSET)
        if value is not _UNSET:
            return value
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        failed = len(self.problems)
        value = _scalar(loader, node, path, self.problems)
        loader.constructed_objects.pop(node, None)
        if len(self.problems) == failed and type(value) in _IMMUTABLE:
            self.constructed[key] = value
        return value

    def node(self, path: FieldPath) -> Any:
        loader = self.loader
        event = loader.get_event()
        if isinstance(event, yaml.AliasEvent) or event.anchor is not None:
            raise _NeedsNodes
        self.lines.setdefault(path, event.start_mark.line + 1)
        if isinstance(event, yaml.ScalarEvent):
            return self.scalar(event, path)
        if isinstance(event, yaml.MappingStartEvent):
            result: dict[str, Any] = {}
            first_line: dict[str, int] = {}
            while not loader.check_event(yaml.MappingEndEvent):
                key_event: Any = loader.get_event()
                if not isinstance(key_event, yaml.ScalarEvent) or key_event.anchor is not None:
                    raise _NeedsNodes
                tag = key_event.tag
                if tag is None or tag == "!":
                    tag = loader.resolve(yaml.ScalarNode, key_event.value, key_event.implicit)
                if tag in _MERGE_TAGS:
                    raise _NeedsNodes
                key_line: int = getattr(key_event, "start_mark").line + 1  # noqa: B009 (untyped)
                raw_key = self.scalar(key_event, path)
                key = raw_key if isinstance(raw_key, str) else str(key_event.value)
                sub = (*path, key)
                if key in result:
                    self.problems.append(
                        (
                            key_line,
                            format_path(sub),
                            f"field {key!r} is written twice (first on line {first_line[key]})",
                        )
                    )
                    self.skip()
                    continue
                first_line[key] = key_line
                self.lines[sub] = key_line
                result[key] = self.node(sub)
            loader.get_event()
            return result
        # a sequence
        rows = self.rows
        items: list[Any] = []
        item_lines: array[int] | None = None
        measurements = len(path) == 3 and path[0] == "kpis" and path[2] == "measurements"
        while not loader.check_event(yaml.SequenceEndEvent):
            peek = loader.peek_event()
            if isinstance(peek, yaml.ScalarEvent) and peek.tag == rows.tag:
                loader.get_event()
                rows.used += 1
                found, first = rows.runs[int(peek.value)]
                rows.runs[int(peek.value)] = ([], 0)
                if item_lines is None:
                    item_lines = array("I", (self.lines[(*path, i)] for i in range(len(items))))
                items.extend(found if measurements else map(_row_dict, found))
                item_lines.extend(range(first, first + len(found)))
                continue
            if item_lines is not None:
                item_lines.append(peek.start_mark.line + 1)
            items.append(self.node((*path, len(items))))
        loader.get_event()
        if item_lines is not None:
            self.lines.seqs[path] = item_lines
        return items

    def skip(self) -> None:
        """Read past one node (the value of a field written twice)."""
        depth = 0
        while True:
            event = self.loader.get_event()
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
                raise _NeedsNodes
            if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                depth += 1
            elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                depth -= 1
            if depth == 0:
                return


def _parse_text(
    text: str, rows: _Rows | None
) -> tuple[Any, dict[FieldPath, int], list[tuple[int | None, str, str]]]:
    lines: _Lines = _Lines()
    problems: list[tuple[int | None, str, str]] = []
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, lines, problems
        data = _build(loader, node, (), lines, problems, set(), _Budget(), rows)
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


class _Lines(dict[FieldPath, int]):
    """Path → line, where the items of a long list of one-line rows keep only their lines.

    ``seqs`` maps the path of such a list to the line of each of its items; the fields of
    a one-line row are on its line, so :func:`~headway.document.schema.line_in` (which
    falls back to the nearest ancestor) finds them without a dict entry per field.
    """

    __slots__ = ("seqs",)

    def __init__(self) -> None:
        super().__init__()
        self.seqs: dict[FieldPath, array[int]] = {}  # line of each item

    def get(self, path: FieldPath, default: Any = None) -> Any:
        line = super().get(path)
        if line is not None:
            return line
        if path and type(path[-1]) is int:
            items = self.seqs.get(path[:-1])
            if items is not None and 0 <= path[-1] < len(items):
                return items[path[-1]]
        return default


# A row the fast path reads: a list item that is one flow mapping of plain or simply
# double-quoted scalars on one line, such as `headway export` writes for check-ins and
# measurements. Anything else (quotes with other escapes, nested lists, comments,
# anchors, tags, characters YAML treats specially) stays with libyaml.
_SAFE = "\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff"
_LINE = f"- \\{{[{_SAFE}]*\\}} *$"
_RUN = re.compile(f"^( *){_LINE}(?:\\n\\1{_LINE})*", re.MULTILINE)
_PLAIN = (
    r"(?:[A-Za-z0-9_.+~/(]|-(?=[A-Za-z0-9.]))"
    r"(?:[^,\[\]{}#:\s]|:(?=[^\s,\[\]{}])| +(?=[^\s,\[\]{}#:]))*"
)
_PLAIN_VALUE = re.compile(_PLAIN)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_QUOTED = r'"(?:[^"\\]|\\["\\/bfnrt])*"'
_PAIR = re.compile(rf" *({_NAME.pattern}): +({_QUOTED}|{_PLAIN}) *(,|$)")
_ESCAPES = {"\\\\": "\\", '\\"': '"', "\\/": "/", "\\b": "\b", "\\f": "\f", "\\n": "\n",
            "\\r": "\r", "\\t": "\t"}  # fmt: skip
_UNSET = object()

#: One row as the fast path keeps it: (field names, value, value, ...); the names tuple is
#: shared by every row of that shape. A YAML document never yields a tuple, so rows are
#: told from data by type; :func:`_build` turns them into dicts except for measurements.
Row = tuple[Any, ...]


def _row_dict(row: Row) -> dict[str, Any]:
    return dict(zip(row[0], row[1:], strict=True))


class _Rows:
    """The one-line rows of a text, read without libyaml, and the text without them.

    Each run of such rows (same indentation, consecutive lines) becomes one placeholder
    item, ``- !<tag> <run>``, followed by blank lines, so every other line keeps its
    number. :func:`_build` puts the rows back in place of the placeholder. Scalars are
    resolved and constructed by PyYAML's own safe loader, once per distinct text.
    """

    def __init__(self, text: str, fast_from: int = FAST_FROM_LINES) -> None:
        self.tag = f"!headway-rows-{secrets.token_hex(8)}"
        self.runs: list[tuple[list[Row], int]] = []  # (rows, line of the first)
        self.used = 0
        self.text = text
        if text.count("\n") < fast_from:
            return
        self._loader = _Loader("")
        self._plain: dict[str, Any] = {}
        self._names: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._pairs: dict[str, Any] = {}  # "value: 91.5" -> ("value", 91.5)
        try:
            self._scan(text)
        finally:
            self._loader.dispose()
            del self._loader, self._plain, self._names, self._pairs

    def _scan(self, text: str) -> None:
        out: list[str] = []
        done = 0  # text[:done] is in out
        line = 1  # number of the line at position `counted`
        counted = 0
        for match in _RUN.finditer(text):
            start = match.start()
            line += text.count("\n", counted, start)
            counted = start
            skip = len(match.group(1)) + 3  # the indentation and "- {"
            kept: list[str] = []
            rows: list[Row] = []
            for n, source in enumerate(match.group().split("\n")):
                row = self._row(source[skip : source.rindex("}")])
                if row is None:
                    if rows:
                        self.runs.append((rows, line + n - len(rows)))
                        rows = []
                    kept.append(source)
                    continue
                if not rows:
                    kept.append(f"{match.group(1)}- {self.tag} {len(self.runs)}")
                else:
                    kept.append("")
                rows.append(row)
            if rows:
                self.runs.append((rows, line + len(kept) - len(rows)))
            out.append(text[done:start])
            out.append("\n".join(kept))
            done = match.end()
        if self.runs:
            out.append(text[done:])
            self.text = "".join(out)

    def _row(self, inner: str) -> Row | None:
        """The row ``{inner}`` as the fast path keeps it, or None to leave it to libyaml."""
        pairs = self._pairs
        names: list[str] = []
        values: list[Any] = [None]
        for text in inner.split(", "):
            pair = pairs.get(text)
            if pair is None:
                pair = self._pair(text)
                if pair is None:
                    return self._quoted_row(inner)
                if pair is _UNSET:
                    return None
                pairs[text] = pair
            names.append(pair[0])
            values.append(pair[1])
        values[0] = self._shape(names)
        return None if values[0] is None else tuple(values)

    def _pair(self, text: str) -> Any:
        """(name, value) of ``name: plain value``; None if it is not that simple, _UNSET
        if the value cannot be read."""
        name, colon, raw = text.partition(": ")
        if not colon or not _NAME.fullmatch(name) or not _PLAIN_VALUE.fullmatch(raw):
            return None
        value = self._plain.get(raw, _UNSET)
        if value is _UNSET:
            value = self._construct(raw)
            if value is _UNSET:
                return _UNSET
            self._plain[raw] = value
        return name, value

    def _quoted_row(self, inner: str) -> Row | None:
        """A row with quoted values or odd spacing: read pair by pair."""
        names: list[str] = []
        values: list[Any] = []
        at = 0
        end = len(inner)
        while at < end:
            pair = _PAIR.match(inner, at)
            if pair is None:
                return None
            name, text, comma = pair.groups()
            if text[0] == '"':
                value: Any = text[1:-1]
                if "\\" in value:
                    value = re.sub(r"\\.", lambda m: _ESCAPES[m.group()], value)
            else:
                value = self._plain.get(text, _UNSET)
                if value is _UNSET:
                    value = self._construct(text)
                    if value is _UNSET:
                        return None
                    self._plain[text] = value
            names.append(name)
            values.append(value)
            at = pair.end()
            if comma == "," and at >= end:
                return None  # a trailing comma
        shape = self._shape(names)
        return None if shape is None else (shape, *values)

    def _shape(self, names: list[str]) -> tuple[str, ...] | None:
        """The shared tuple of a row's field names; None when empty or a name repeats."""
        key = tuple(names)
        shared = self._names.get(key)
        if shared is None:
            if not names or len(set(names)) < len(names):
                return None  # empty, or a field written twice: libyaml reports it
            if not all(_NAME.fullmatch(name) for name in names):
                return None
            shared = self._names[key] = key
        return shared

    def _construct(self, text: str) -> Any:
        loader = self._loader
        tag = loader.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
        try:
            return loader.construct_object(yaml.ScalarNode(tag, text), deep=True)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError):
            return _UNSET

    def take(self, node: yaml.Node) -> tuple[list[Row], int] | None:
        """The run a placeholder stands for, or None when ``node`` is not one."""
        if not isinstance(node, yaml.ScalarNode) or node.tag != self.tag:
            return None
        self.used += 1
        run = self.runs[int(node.value)]
        self.runs[int(node.value)] = ([], 0)  # the rows now belong to the data
        return run


# libyaml's parser when PyYAML has it: the same nodes and marks, several times faster.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _TooLarge(Exception):
    pass


def _build(
    loader: yaml.SafeLoader,
    node: yaml.Node,
    path: FieldPath,
    lines: _Lines,
    problems: list[tuple[int | None, str, str]],
    active: set[int],
    budget: _Budget,
    rows: _Rows | None = None,
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
            result[key] = _build(loader, value_node, sub, lines, problems, active, budget, rows)
        active.discard(id(node))
        return result
    if isinstance(node, yaml.SequenceNode):
        active.add(id(node))
        items: list[Any] = []
        item_lines: array[int] | None = None
        measurements = len(path) == 3 and path[0] == "kpis" and path[2] == "measurements"
        for item in node.value:
            run = None if rows is None else rows.take(item)
            if run is None:
                items.append(
                    _build(loader, item, (*path, len(items)), lines, problems, active, budget, rows)
                )
                if item_lines is not None:
                    item_lines.append(item.start_mark.line + 1)
                continue
            if item_lines is None:
                item_lines = array("I", (lines[(*path, i)] for i in range(len(items))))
            found, first = run
            # Measurements stay rows (read by _read_kpi); anything else is data as usual.
            items.extend(found if measurements else map(_row_dict, found))
            item_lines.extend(range(first, first + len(found)))
        if item_lines is not None:
            lines.seqs[path] = item_lines
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
    # Sentences (`Says`): the web import says them in its reader's language; the YAML
    # tools print their English. Pydantic's own wording below stays English.
    if kind == "missing":
        return _("required field is missing")
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return _("must be a mapping (field: value), got %(value)s", value=_show(value))
    if kind == "list_type":
        return _("must be a list, got %(value)s", value=_show(value))
    if kind == "string_pattern_mismatch" and ctx.get("pattern") == SLUG_PATTERN:
        return _("not a valid key %(value)s: use only letters, digits, - and _", value=_show(value))
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        return _("must not be empty")
    if kind == "literal_error":
        return _(
            "must be %(expected)s, got %(value)s",
            expected=str(ctx.get("expected", "?")),
            value=_show(value),
        )
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
    #: a KPI's measurement moments, in order (None where unreadable), once its raw
    #: measurements are dropped (see _read_kpi)
    moments: Sequence[datetime | None] | None = None

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
    # equal moments shared by every measurement (a date is 48 bytes, a million of them add up)
    moments: dict[tuple[type, date], datetime] = field(default_factory=dict)
    shapes: dict[tuple[str, ...], Any] = field(default_factory=dict)  # see _shape_of

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
            if (
                name == "kpis"
                and isinstance(raw, dict)
                and isinstance(raw.get("measurements"), list)
            ):
                _read_kpi(collector, item, reported)
                continue
            try:
                item.model = _MODELS[name].model_validate(raw)
            except ValidationError as exc:
                for error in exc.errors(include_url=False):
                    loc: FieldPath = (name, index, *error["loc"])
                    if format_path(loc) not in reported:
                        collector.at(item, tuple(error["loc"]), _message(error, _MODELS[name]))


_MEASUREMENT_FIELDS = frozenset(Measurement.model_fields)
_LARGEST_EXACT = 2**53


def _read_kpi(collector: _Collector, item: _Item, reported: Set[str]) -> None:
    """Validate a KPI card and its measurements, keeping the measurements as columns.

    Each measurement is checked on its own (the common shapes by :func:`_measurement`,
    anything else by the model, for its messages), so the raw rows can go as soon as they
    are read; the card is validated without them. Problems are those, and in the order,
    that validating the whole card would give.
    """
    raw: dict[str, Any] = item.raw
    rows = raw.pop("measurements")
    series = MeasurementSeries()
    moments: list[datetime | None] = []
    item.moments = moments
    found: list[Mapping[str, Any]] = []
    cache = collector.moments
    shapes = collector.shapes
    add = series.append
    for j, row in enumerate(rows):
        if type(row) is tuple:
            shape = shapes.get(row[0], _UNSET)
            if shape is _UNSET:
                shape = shapes[row[0]] = _shape_of(row[0])
            got = None if shape is None else _measurement(row, shape, cache)
            if got is None:
                row = _row_dict(row)
        else:
            got = _measurement_of(row, cache)
        if got is None:
            try:
                m = Measurement.model_validate(row)
            except ValidationError as exc:
                found += [
                    {**error, "loc": ("measurements", j, *error["loc"])}
                    for error in exc.errors(include_url=False)
                ]
                moments.append(_moment_of(row, "at"))
                continue
            got = (m.at, m.value, m.note, m.source)
        add(*got)
        moments.append(got[0])
    del rows
    if not found:
        item.moments = series.at  # the same moments: no second list of a million
    model: Kpi | None = None
    try:
        model = Kpi.model_validate(raw)
    except ValidationError as exc:
        found[:0] = exc.errors(include_url=False)
    if found:
        for error in found:
            if format_path(("kpis", item.index, *error["loc"])) not in reported:
                collector.at(item, tuple(error["loc"]), _message(error, Kpi))
        return
    assert model is not None
    model.measurements = series
    item.model = model


#: Where a row's at, value, note and source are (0: absent), by the row's field names.
_Shape = tuple[int, int, int, int]


def _shape_of(names: tuple[str, ...]) -> _Shape | None:
    if not set(names) <= _MEASUREMENT_FIELDS or "at" not in names or "value" not in names:
        return None
    where = {name: i for i, name in enumerate(names, start=1)}
    return where["at"], where["value"], where.get("note", 0), where.get("source", 0)


def _measurement_of(
    row: Any, cache: dict[tuple[type, date], datetime]
) -> tuple[datetime, float, str, str] | None:
    if type(row) is not dict or not row.keys() <= _MEASUREMENT_FIELDS:
        return None
    values = (row.get("at"), row.get("value"), row.get("note", ""), row.get("source", ""))
    return _measurement(values, (0, 1, 2, 3), cache)


def _measurement(
    row: Sequence[Any], shape: _Shape, cache: dict[tuple[type, date], datetime]
) -> tuple[datetime, float, str, str] | None:
    """(at, value, note, source) of a measurement the model would accept as is, else None.

    Only the plain shapes, for speed: a date or date-time `at`, a finite number, texts;
    anything else (a quoted moment, a problem) is left to the model. ``shape`` says where
    in ``row`` each field is (for note and source, 0 means absent: "").
    """
    at_i, value_i, note_i, source_i = shape
    note = row[note_i] if note_i else ""
    source = row[source_i] if source_i else ""
    if type(note) is not str or type(source) is not str or len(source) > 100:
        return None
    value = row[value_i]
    if type(value) is float:
        if not math.isfinite(value):
            return None
    elif type(value) is int and -_LARGEST_EXACT <= value <= _LARGEST_EXACT:
        value = float(value)
    else:
        return None
    at = row[at_i]
    kind = type(at)
    if (kind is not date and kind is not datetime) or not isinstance(at, date):
        return None
    moment = cache.get((kind, at))
    if moment is None:
        moment = cache[(kind, at)] = to_moment(at)
    return moment, value, note, source


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
            self.contributors(item)
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

    def contributors(self, item: _Item) -> None:
        """A shared objective's contributing teams: known teams, each once, not its own."""
        team = _str(item.raw, "team")
        named: set[str] = set()
        for i, contributor in enumerate(_list(item.raw, sharing.FIELD)):
            if not isinstance(contributor, str):
                continue
            here: FieldPath = (sharing.FIELD, i)
            self.ref(item, here, "teams", contributor)
            if contributor == team:
                self.c.at(item, here, sharing.owning_team_contributes(f"team {team!r}"))
            elif contributor in named:
                self.c.at(item, here, sharing.duplicate_team(contributor))
            named.add(contributor)

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
            for i, initiative in enumerate(_list(kr, "initiatives")):
                if isinstance(initiative, dict):
                    here: FieldPath = (*base, "initiatives", i, "owner")
                    self.ref(item, here, "people", _str(initiative, "owner"))

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
            if item.model is not None and item.model.target_schedule:
                from headway.document.evaluate import schedule_of
                from headway.kpis import schedule

                _steps, problems = schedule.problems(schedule_of(item.model), item.model.direction)
                for problem in problems:
                    self.c.at(item, ("target_schedule",), problem)
            moments: dict[datetime, int] = {}
            ats = item.moments
            if ats is None:
                ats = [_moment_of(m, "at") for m in _list(item.raw, "measurements")]
            for i, at in enumerate(ats):
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
