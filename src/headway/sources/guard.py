"""The data guard: does a fetch look like the pipeline broke, rather than the business?

Pure Python, no Django. `judge` compares a fetch with the source's own history before
anything is stored and returns the reasons it is suspicious (empty: store it). The rules
(docs/sources.md, "Data guard") look only at the data's shape, never at the KPI's
thresholds, so a real drop in sales is still stored and announced as business news:

1. **Row count**: the source's last successful fetches (at least 3) returned at least 4
   rows each, and this fetch returns fewer than half of their median: rows went missing.
2. **Gap**: inside the fetched rows, two consecutive moments are further apart than
   4 times the series' median spacing (at least 8 stored points): a hole in the extract.
3. **Jump**: with at least 8 stored points, a fetched value moves from the value before it
   by more than 5 times the largest move the series has ever made between two consecutive
   points (for a series that never moved: by more than half its level): a unit, scale or
   join mistake rather than a business change.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from statistics import median

MIN_HISTORY = 8
MIN_FETCHES = 3
MIN_ROWS = 4
ROW_DROP = 0.5
GAP_FACTOR = 4.0
JUMP_FACTOR = 5.0
FLAT_JUMP = 0.5


@dataclass(frozen=True)
class Point:
    at: datetime
    value: float


def judge(
    history: Sequence[Point], fetched: Sequence[Point], past_row_counts: Sequence[int]
) -> list[str]:
    """Reasons this fetch is a data incident (see the module doc), most telling first."""
    reasons: list[str] = []
    counts = [c for c in past_row_counts if c >= 0]
    if len(counts) >= MIN_FETCHES and min(counts) >= MIN_ROWS:
        usual = median(counts)
        if len(fetched) < usual * ROW_DROP:
            reasons.append(
                f"row count: {len(fetched)} rows where this source usually returns {usual:g}"
            )
    stored = sorted(history, key=lambda p: p.at)
    if len(stored) < MIN_HISTORY or not fetched:
        return reasons
    rows = sorted(fetched, key=lambda p: p.at)
    spacings = [(b.at - a.at).total_seconds() for a, b in itertools.pairwise(stored)]
    usual_spacing = median(s for s in spacings if s > 0) if any(s > 0 for s in spacings) else 0
    if usual_spacing > 0:
        for a, b in itertools.pairwise(rows):
            gap = (b.at - a.at).total_seconds()
            if gap > GAP_FACTOR * usual_spacing:
                reasons.append(
                    f"gap: nothing between {a.at:%Y-%m-%d %H:%M} and {b.at:%Y-%m-%d %H:%M} "
                    f"({_days(gap)}) where the series has a point every {_days(usual_spacing)}"
                )
                break
    steps = [abs(b.value - a.value) for a, b in itertools.pairwise(stored)]
    largest = max(steps, default=0.0)
    before = {p.at: p.value for p in stored}
    # Each fetched row is compared with the point just before it, stored or fetched, so a
    # range fetch that trends steadily is judged step by step.
    merged = sorted({**before, **{p.at: p.value for p in rows}}.items())
    combined = [Point(at, value) for at, value in merged]
    for row in rows:
        previous = _value_before(combined, row.at)
        if previous is None or before.get(row.at) == row.value:
            continue
        move = abs(row.value - previous)
        limit = JUMP_FACTOR * largest if largest > 0 else FLAT_JUMP * abs(previous)
        if limit > 0 and move > limit:
            what = (
                f"the largest move it ever made is {largest:g}"
                if largest > 0
                else f"it has never moved from {previous:g}"
            )
            reasons.append(
                f"jump: {row.value:g} at {row.at:%Y-%m-%d %H:%M} after {previous:g}; {what}"
            )
            break
    return reasons


def _value_before(stored: Sequence[Point], at: datetime) -> float | None:
    """The stored value just before `at` (the one a new point is compared with)."""
    previous = None
    for point in stored:
        if point.at >= at:
            break
        previous = point.value
    return previous


def _days(seconds: float) -> str:
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds / 60:.0f} minutes"
