"""The whole-cycle tree and scores as rendered bodies, kept per reader while nothing changed.

A whole cycle is 25,000 objectives and key results: reading their rows costs 150 to 300 ms
on SQLite at the large organisation's size whatever the encoder, so a body is kept once
rendered. What it holds is everything read from stored rows; what depends on the clock
is left as marks and filled in at each reading:

- the head (`tree_head`, `scores_head`: the cycle, the moment, the expected progress) is
  rendered afresh every time;
- every `status` is a mark standing for its result's score and data flag, judged against
  the expected progress of the moment of reading (`scoring.status_for`, as the pages do);
- every `expected` (the scores' results) is a mark for that moment's expected progress.

A body is kept under everything it depends on (`Key`): the database's version of what the
bodies read (`readversion.current`: it moves with every committed write to them), the
cycle, what the reader may see (`Access.objective_condition`'s inputs), the `team` asked
for and which body. Statuses and the head are never kept, so a kept body reads exactly as
one rendered afresh at the same moment (tests/test_api_bulk.py). Kept in the process
(each web worker its own), the least recently read dropped beyond `MAX_BYTES`.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass

from headway.api.tree import dumps
from headway.okrs import scoring

# orjson writes the marks as `\u0001`, `\u0002`. Only a mark can match `_MARKS`: a text's
# quotes are escaped, so `"status":"` is the structural key, and the only other keys
# (teams, objectives, key results) are slugs with numbers or objects for values.
_STATUS_MARK = "\x01"
_EXPECTED_MARK = "\x02"
_MARKS = re.compile(rb'"status":"\\u0001(\d+)"|"expected":"\\u0002"')
_STATUSES = {
    status: b'"status":' + dumps(status)
    for status in ("achieved", "no_data", "on_track", "at_risk", "off_track")
}

MAX_BYTES = 64 * 1024 * 1024


class Marks:
    """Hands out the marks of one body: `status` and `expected` are `tree.Fill`s."""

    def __init__(self) -> None:
        self.scored: list[tuple[float, bool]] = []

    def status(self, result: scoring.ObjectiveResult | scoring.KeyResultResult) -> object:
        self.scored.append((result.score, result.has_data))
        return f"{_STATUS_MARK}{len(self.scored) - 1}"

    def expected(self, result: scoring.ObjectiveResult | scoring.KeyResultResult) -> object:
        return _EXPECTED_MARK


@dataclass(frozen=True, slots=True)
class Template:
    """A body's bytes cut at its marks: `segments` has one more item than `slots`.

    A slot is the (score, has data) of a status, or None for the expected progress.
    """

    segments: tuple[bytes, ...]
    slots: tuple[tuple[float, bool] | None, ...]
    size: int

    @classmethod
    def of(cls, tail: dict[str, object], marks: Marks) -> Template:
        """`tail` (a body without its head, its statuses and expectations `marks`')."""
        encoded = dumps(tail)
        assert encoded[:1] == b"{", "a body is an object"
        segments = []
        slots: list[tuple[float, bool] | None] = []
        cut = 1  # the head brings the opening brace
        for found in _MARKS.finditer(encoded):
            segments.append(encoded[cut : found.start()])
            index = found.group(1)
            slots.append(marks.scored[int(index)] if index is not None else None)
            cut = found.end()
        segments.append(encoded[cut:])
        return cls(tuple(segments), tuple(slots), len(encoded))

    def render(self, head: dict[str, object], expected: float) -> bytes:
        """The whole body: `head` first, statuses judged at `expected` progress."""
        expected_bytes = b'"expected":' + dumps(expected)
        statuses = _STATUSES
        status_for = scoring.status_for
        fills = [
            expected_bytes if slot is None else statuses[status_for(slot[0], expected, slot[1])]
            for slot in self.slots
        ]
        parts = [dumps(head)[:-1], b","]
        for segment, fill in zip(self.segments, fills, strict=False):
            parts.append(segment)
            parts.append(fill)
        parts.append(self.segments[-1])
        return b"".join(parts)


@dataclass(frozen=True, slots=True)
class Key:
    """Everything a kept body depends on besides the clock."""

    version: str
    what: str
    cycle_id: int
    team: str | None
    viewer: Hashable


class Kept:
    """The bodies of one process, least recently read first."""

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._bodies: OrderedDict[Key, Template] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Key) -> Template | None:
        with self._lock:
            template = self._bodies.get(key)
            if template is None:
                self.misses += 1
                return None
            self._bodies.move_to_end(key)
            self.hits += 1
            return template

    def put(self, key: Key, template: Template) -> None:
        size = template.size
        if size > self.max_bytes:
            return
        with self._lock:
            # A body of an older version is never read again: drop it at once.
            for old in [k for k in self._bodies if k.version != key.version]:
                self._bytes -= self._bodies.pop(old).size
            if key in self._bodies:
                self._bytes -= self._bodies.pop(key).size
            self._bodies[key] = template
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, dropped = self._bodies.popitem(last=False)
                self._bytes -= dropped.size

    def clear(self) -> None:
        """Forget every body and the counts of readings."""
        with self._lock:
            self._bodies.clear()
            self._bytes = 0
            self.hits = self.misses = 0


KEPT = Kept()
