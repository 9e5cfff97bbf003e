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

import bisect
import re
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

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


# A slot's code: the five statuses (their `_FILLS` order), the expected progress, and
# "judged by pace": a score with data short of achieved, whose status moves with the clock.
_ORDER = ("achieved", "no_data", "on_track", "at_risk", "off_track")
_ON_TRACK, _AT_RISK, _OFF_TRACK = 2, 3, 4
_EXPECTED = 5
_PACE = 6


@dataclass(frozen=True, slots=True)
class Template:
    """A body's bytes cut at its marks: `segments` has one more item than `codes`.

    A slot judged by pace has the rank of its score among `paced` (the distinct such
    scores, ascending): at a given moment the scores from some rank on are on track,
    from a lower one at risk, below off track, so two binary searches with
    `scoring.status_for` itself judge them all.
    """

    segments: tuple[bytes, ...]
    codes: npt.NDArray[np.int8]
    ranks: npt.NDArray[np.int64]
    paced: tuple[float, ...]
    size: int

    @classmethod
    def of(cls, tail: dict[str, Any], marks: Marks) -> Template:
        """`tail` (a body without its head, its statuses and expectations `marks`')."""
        encoded = dumps(tail)
        assert encoded[:1] == b"{", "a body is an object"
        segments = []
        codes = []
        scores = []
        cut = 1  # the head brings the opening brace
        for found in _MARKS.finditer(encoded):
            segments.append(encoded[cut : found.start()])
            cut = found.end()
            index = found.group(1)
            if index is None:
                codes.append(_EXPECTED)
                scores.append(0.0)
                continue
            score, has_data = marks.scored[int(index)]
            if has_data and score < 1.0 - scoring.TOLERANCE:
                codes.append(_PACE)
            else:  # achieved, or no data: the same at any moment
                codes.append(_ORDER.index(scoring.status_for(score, 0.0, has_data)))
            scores.append(score)
        segments.append(encoded[cut:])
        code_array = np.array(codes, dtype=np.int8)
        score_array = np.array(scores, dtype=np.float64)
        paced = np.unique(score_array[code_array == _PACE])
        return cls(
            segments=tuple(segments),
            codes=code_array,
            ranks=np.searchsorted(paced, score_array),
            paced=tuple(paced.tolist()),
            size=len(encoded),
        )

    def render(self, head: dict[str, Any], expected: float) -> bytes:
        """The whole body: `head` first, statuses judged at `expected` progress."""

        def judged(score: float) -> str:
            return scoring.status_for(score, expected, True)

        at_risk_from = bisect.bisect_left(self.paced, True, key=lambda s: judged(s) != "off_track")
        on_track_from = bisect.bisect_left(self.paced, True, key=lambda s: judged(s) == "on_track")
        by_pace = np.where(
            self.ranks >= on_track_from,
            _ON_TRACK,
            np.where(self.ranks >= at_risk_from, _AT_RISK, _OFF_TRACK),
        )
        codes = np.where(self.codes == _PACE, by_pace, self.codes)
        fills = np.array([*(_STATUSES[s] for s in _ORDER), b'"expected":' + dumps(expected)],
                         dtype=object)  # fmt: skip
        parts: list[bytes] = [b""] * (2 * len(self.segments) - 1)
        parts[0::2] = self.segments
        parts[1::2] = fills[codes].tolist()
        return dumps(head)[:-1] + b"," + b"".join(parts)


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
