"""Teams as plain rows, for pages that list every team (`teams.models.team_refs`)."""

from __future__ import annotations

from typing import NamedTuple


class TeamRef(NamedTuple):
    """A team as a list of many reads it: what `team_subtree` and a name in a table need.

    A thousand of these cost a tenth of a thousand `Team` rows, which pages listing every
    team (the review's team grades) paid on every request.
    """

    pk: int
    key: str
    name: str
    kind: str
    parent_id: int | None

    def __str__(self) -> str:
        return self.name
