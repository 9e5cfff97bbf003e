"""Moments as Headway stores them: timezone-aware, in UTC, within a sane range of years."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

MIN_YEAR, MAX_YEAR = 1900, 2999
#: How far ahead of the server's clock a check-in or a measurement may be: a little slack
#: for the clocks of machines that push them. Every way in (forms, API, sources) uses it.
FUTURE_TOLERANCE = timedelta(minutes=5)


def to_utc(at: datetime) -> datetime:
    """`at` in UTC; a naive moment is read as UTC.

    Raises ValueError (with a readable message) for a year outside 1900-2999 or a moment
    that cannot be expressed in UTC. Storing UTC matters: PostgreSQL refuses offsets
    beyond ±15:59 that ISO 8601 allows.
    """
    if at.tzinfo is None or at.utcoffset() is None:
        at = at.replace(tzinfo=UTC)
    try:
        at = at.astimezone(UTC)
    except OverflowError:
        raise ValueError("the moment is out of range") from None
    if not MIN_YEAR <= at.year <= MAX_YEAR:
        raise ValueError(f"the year must be between {MIN_YEAR} and {MAX_YEAR}")
    return at
