"""Optimistic locking: a change names the version the person saw, and a newer one refuses it.

Every versioned row (objective, key result, KPI, data source) counts its real changes in
`version`. The web's edit forms carry it in a hidden field, the API in `If-Match`; the
action compares it with the locked row after its rights checks, so a viewer hears "you
may not", not "someone changed it". Pure: no Django.
"""

from __future__ import annotations

#: What a caller saw: a version from a form, an `If-Match` header as sent, or nothing (no check).
Seen = int | str | None


class StaleVersion(Exception):
    """The row moved on since the person read it; nothing was written."""

    def __init__(self, message: str, *, current: int) -> None:
        super().__init__(message)
        self.message = message
        self.current = current


def matches(current: int, seen: Seen) -> bool:
    """Whether `seen` names the current version.

    An `If-Match` header may be `"3"`, `3`, a comma-separated list or `*`; weak tags
    (`W/"3"`) never match. None means the caller did not say, which is not checked.
    """
    if seen is None:
        return True
    if isinstance(seen, int):
        return seen == current
    for raw in seen.split(","):
        tag = raw.strip()
        if tag == "*":
            return True
        if tag.startswith("W/"):
            continue
        if tag.strip('"') == str(current):
            return True
    return False


def check_version(current: int, seen: Seen) -> None:
    """Raise StaleVersion unless `seen` names the current version."""
    if matches(current, seen):
        return
    shown = f"If-Match {seen.strip()[:50]!r}" if isinstance(seen, str) else f"Version {seen}"
    raise StaleVersion(
        f'{shown} does not match the current version "{current}": someone changed it '
        "meanwhile. Fetch it again and reapply your change.",
        current=current,
    )
