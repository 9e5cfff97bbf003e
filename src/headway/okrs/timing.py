"""When a check-in may be dated, and how check-ins at one moment are ordered: one rule for all.

Real history is messy (a late update after the quarter ended, a baseline written down the
week before it started, two updates typed on one day), and refusing a whole file or form
for it loses more than it protects. So every path that takes check-ins — `headway lint`,
`score` and `import` on YAML and spreadsheets, the web form and the API
(`okrs.actions.record_checkin`) — follows this module:

- a check-in after its cycle's end (**late**) is accepted as it is;
- a check-in before its cycle's start (**early**) is accepted, and the coach warns about
  it (rule `checkin-before-cycle` in `coach.rules`, on files and on the database);
- check-ins at the same moment keep the order they were given in (file order, or the
  order they were recorded): the last one given is the latest. The database keeps that
  order in `CheckIn.ordinal` (0 for the first at a moment, 1 for the next, ...).

Pure code: no Django, so the YAML loader and the coach use it with no settings.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

__all__ = ["Timing", "checkin_timing", "cycle_bounds", "describe", "ordinals"]

Timing = Literal["early", "within", "late"]


def cycle_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """The cycle as instants: from ``start`` 00:00 UTC up to (excluding) the day after ``end``."""
    return (
        datetime.combine(start, time(), tzinfo=UTC),
        datetime.combine(end + timedelta(days=1), time(), tzinfo=UTC),
    )


def checkin_timing(at: datetime, start: date, end: date) -> Timing:
    """Whether a check-in at ``at`` (aware) lies before, within or after the cycle."""
    starts_at, ends_at = cycle_bounds(start, end)
    if at < starts_at:
        return "early"
    return "late" if at >= ends_at else "within"


def describe(at: datetime, start: date, end: date) -> str | None:
    """A sentence about a check-in dated outside its cycle, for the person recording it."""
    timing = checkin_timing(at, start, end)
    if timing == "early":
        return (
            f"This check-in is dated before the cycle starts ({start}); it is kept, "
            "and the coach points it out (checkin-before-cycle)."
        )
    if timing == "late":
        return f"This check-in is dated after the cycle ended ({end}): kept as a late update."
    return None


def ordinals(moments: Iterable[datetime]) -> list[int]:
    """For moments in the order given, each one's rank among the equal moments before it.

    ``[d1, d2, d1, d1] -> [0, 0, 1, 2]``: the database stores it as `CheckIn.ordinal`, so
    check-ins at one moment are read back (and scored) in the order they were given.
    """
    seen: dict[datetime, int] = {}
    ranks: list[int] = []
    for moment in moments:
        rank = seen.get(moment, 0)
        ranks.append(rank)
        seen[moment] = rank + 1
    return ranks
