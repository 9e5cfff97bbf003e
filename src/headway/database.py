"""What the database needs after Headway writes a lot at once."""

from __future__ import annotations

from django.db import connection

# Fewer rows than this do not move the planner's view of a table enough to matter.
BULK_ROWS = 10_000


def refresh_statistics() -> None:
    """Let PostgreSQL re-learn table sizes and value spreads (ANALYZE) after a bulk load.

    Autovacuum would do it within minutes; until then the planner takes the freshly loaded
    tables for empty and picks slow plans (the large organisation's pages ran up to twice as
    slow). SQLite plans without statistics and is left as it is.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
