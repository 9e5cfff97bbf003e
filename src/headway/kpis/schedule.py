"""Targets that change by period: the one format of a KPI's target schedule, and its rules.

A schedule is a list of steps, each ``{"from": "YYYY-MM-DD", "target": t, "warning": w,
"critical": c}`` (any threshold may be null): from that day on (00:00 UTC) its thresholds
are in force, until the next step; before the first step the card's own target and
thresholds are. Monthly targets across a year are twelve steps; "a new target from a date"
is one. The card, the YAML file and the API all carry this list; the web form writes it one
step per line. No Django here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from itertools import pairwise
from typing import Any, Final

from headway.kpis.health import Step

__all__ = [
    "MAX_STEPS",
    "THRESHOLDS",
    "as_lines",
    "core_steps",
    "in_force",
    "order_errors",
    "parse_lines",
    "problems",
]

THRESHOLDS: Final = ("target", "warning", "critical")
#: Weekly targets for two years fit; more is a mistake in the file, not a plan.
MAX_STEPS: Final = 120


def order_errors(
    direction: str, target: float | None, warning: float | None, critical: float | None
) -> dict[str, str]:
    """Thresholds out of order, by field: past the target comes warning, then critical."""
    up = direction != "down"
    better = "higher" if up else "lower"
    given = [
        (name, value)
        for name, value in zip(THRESHOLDS, (target, warning, critical), strict=True)
        if value is not None
    ]
    errors = {}
    for (first, a), (second, b) in pairwise(given):
        if (a < b) if up else (a > b):
            errors[second] = (
                f"When {better} is better, the {second} threshold must not be {better} "
                f"than the {first}."
            )
    return errors


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number or null")
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return float(value)


def problems(raw: Any, direction: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The schedule normalised (sorted, numbers as floats) and what is wrong with it.

    Each problem names its step (1-based, in the order given): a missing or malformed
    date, an unknown field, a threshold that is not a number, thresholds out of order, two
    steps on one day, too many steps.
    """
    if raw is None:
        return [], []
    if not isinstance(raw, list | tuple):
        return [], ["The target schedule must be a list of steps."]
    found: list[str] = []
    steps: list[dict[str, Any]] = []
    if len(raw) > MAX_STEPS:
        found.append(f"The target schedule has {len(raw)} steps; at most {MAX_STEPS}.")
    for n, item in enumerate(raw, start=1):
        if not isinstance(item, Mapping):
            found.append(f"Step {n} must be a mapping with from, target, warning, critical.")
            continue
        unknown = sorted(set(item) - {"from", *THRESHOLDS})
        if unknown:
            found.append(f"Step {n}: unknown field {', '.join(map(repr, unknown))}.")
        start = item.get("from")
        if isinstance(start, datetime):
            start = start.date()
        if isinstance(start, str):
            try:
                start = date.fromisoformat(start)
            except ValueError:
                start = None
        if not isinstance(start, date):
            found.append(f"Step {n}: 'from' must be a date (YYYY-MM-DD).")
            continue
        values: dict[str, float | None] = {}
        for name in THRESHOLDS:
            try:
                values[name] = _number(item.get(name))
            except ValueError as exc:
                found.append(f"Step {n}: {name} {exc}.")
                values[name] = None
        if all(v is None for v in values.values()):
            found.append(f"Step {n}: give at least one of target, warning and critical.")
        for message in order_errors(direction, *values.values()).values():
            found.append(f"Step {n} (from {start.isoformat()}): {message}")
        steps.append({"from": start.isoformat(), **values})
    steps.sort(key=lambda s: s["from"])
    for a, b in pairwise(steps):
        if a["from"] == b["from"]:
            found.append(f"Two steps start on {a['from']}; each day takes one.")
    return steps, found


def core_steps(schedule: Sequence[Mapping[str, Any]]) -> tuple[Step, ...]:
    """A stored (valid) schedule as the health core's steps, from 00:00 UTC of each day."""
    return tuple(
        Step(
            starts_at=datetime.combine(date.fromisoformat(s["from"]), time(), tzinfo=UTC),
            target=s.get("target"),
            warning=s.get("warning"),
            critical=s.get("critical"),
        )
        for s in schedule
    )


def in_force(
    schedule: Sequence[Mapping[str, Any]],
    base: tuple[float | None, float | None, float | None],
    on: date,
) -> tuple[float | None, float | None, float | None]:
    """(target, warning, critical) in force on day ``on``: the last step from then or
    before, else the card's own ``base``."""
    current = base
    for step in sorted(schedule, key=lambda s: s["from"]):
        if date.fromisoformat(step["from"]) > on:
            break
        current = (step.get("target"), step.get("warning"), step.get("critical"))
    return current


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def as_lines(schedule: Sequence[Mapping[str, Any]]) -> str:
    """The schedule as the web form writes it: ``from target warning critical`` per line."""
    return "\n".join(
        " ".join([s["from"], *(_cell(s.get(name)) for name in THRESHOLDS)]) for s in schedule
    )


def parse_lines(text: str) -> list[dict[str, Any]]:
    """The web form's lines back into steps; ``-`` (or nothing) for a threshold left out.

    Raises ValueError naming each bad line. Order, duplicates and threshold order are
    `problems`' to judge, as for a schedule from the API or a file.
    """
    steps: list[dict[str, Any]] = []
    bad: list[str] = []
    for n, line in enumerate(text.splitlines(), start=1):
        parts = line.replace(",", " ").replace(";", " ").split()
        if not parts:
            continue
        if len(parts) > 4:
            bad.append(f"line {n}: a date and at most three numbers (target warning critical)")
            continue
        step: dict[str, Any] = {"from": parts[0]}
        for name, cell in zip(THRESHOLDS, [*parts[1:], "-", "-", "-"], strict=False):
            if cell == "-":
                step[name] = None
                continue
            try:
                step[name] = float(cell)
            except ValueError:
                bad.append(f"line {n}: {cell!r} is not a number")
        steps.append(step)
    if bad:
        raise ValueError("; ".join(bad))
    return steps
