"""Shared objectives (issue 18): the refusals of contributing teams, worded once.

`okrs.actions` (pages, API, CLI) and the YAML loader (`headway.document.load`, which
imports no Django) refuse with these, so this module imports nothing of Django either.
"""

from __future__ import annotations

from collections.abc import Iterable

#: The field a shared objective's contributing teams go in (form, API body, YAML).
FIELD = "contributors"


def owning_team_contributes(team: object) -> str:
    """The owning team named among the contributing teams."""
    return f"{team} owns this objective: name other teams as contributing teams."


def unknown_teams(keys: Iterable[str]) -> str:
    """Contributing teams that do not exist."""
    return f"No team {', '.join(repr(k) for k in keys)}."


def duplicate_team(key: str) -> str:
    """A contributing team named twice (files say each once)."""
    return f"team {key!r} is named twice among the contributing teams"
