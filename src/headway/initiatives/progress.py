"""Work progress of a key result: how many of its initiatives are done. Pure: no Django.

Key results are outcomes (PRODUCT.md section 2): this count is shown beside a key
result's score and never enters it. Dropped initiatives are no longer planned work, so
they count neither as done nor in the total.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

PLANNED = "planned"
IN_PROGRESS = "in_progress"
DONE = "done"
DROPPED = "dropped"
STATUSES = (PLANNED, IN_PROGRESS, DONE, DROPPED)


@dataclass(frozen=True)
class WorkProgress:
    done: int
    total: int

    @property
    def all_done(self) -> bool:
        return self.total > 0 and self.done == self.total

    def __str__(self) -> str:
        noun = "initiative" if self.total == 1 else "initiatives"
        return f"{self.done} of {self.total} {noun} done"


def progress(statuses: Iterable[str]) -> WorkProgress:
    """Done out of planned work (dropped ones left out)."""
    kept = [s for s in statuses if s != DROPPED]
    return WorkProgress(done=sum(1 for s in kept if s == DONE), total=len(kept))
