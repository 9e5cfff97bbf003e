"""Set-based storage of a validated push: a staging table and three merges.

The rows go into a temporary staging table (`COPY` on PostgreSQL, one `executemany` on
SQLite), then the database does the rest in a few statements, whatever the push's size:
which rows are there already (and unchanged), the revisions of those it replaces, their
new values, and the new rows. Only `kpis.actions.ingest_measurements` calls `store`,
inside its transaction, after locking the KPIs.

`insert_series` is the shortcut for KPIs that hold no measurement at all (an import into
new or empty KPIs): nothing can be unchanged or replaced there, so the rows go straight
into the table, `COPY` or one `executemany`, with no staging and no merge.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection

from headway.kpis.models import Measurement, MeasurementRevision

STAGING = "headway_measurement_staging"
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})

#: (KPI id, moment, value, note) of each clean row, in the push's order.
Row = tuple[int, datetime, float, str]
#: (KPI id, moment, value, source, note) of a measurement of a KPI that holds none yet.
SeriesRow = tuple[int, datetime, float, str, str]
#: Lines of COPY text built at once (bounds the text held in memory, ~50 bytes a line).
COPY_LINES = 50_000


@dataclass
class Stored:
    created: int
    replaced: int
    #: Positions (in the rows given) of rows that were there already with the same value.
    unchanged: set[int]


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _stage(c: Any, rows: Sequence[Row]) -> None:
    """(Re)fill the staging table with `rows`, numbered from 0 (`c`: a Django cursor)."""
    texts: dict[datetime, str] = {}
    if connection.vendor == "postgresql":
        c.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {STAGING} (idx integer, kpi_id integer, "
            "at timestamptz, value double precision, note text) ON COMMIT DELETE ROWS"
        )
        c.execute(f"TRUNCATE {STAGING}")
        raw = c.cursor
        # COPY's text format written at once: a moment's text is made once per push; floats
        # by repr (exact); notes escaped as COPY reads them.
        lines = []
        for index, (kpi_id, at, value, note) in enumerate(rows):
            text = texts.get(at)
            if text is None:
                text = texts[at] = at.isoformat()
            if note:
                note = note.translate(_COPY_ESCAPES)
            lines.append(f"{index}\t{kpi_id}\t{text}\t{value!r}\t{note}\n")
        with raw.copy(f"COPY {STAGING} (idx, kpi_id, at, value, note) FROM STDIN") as copy:
            copy.write("".join(lines).encode())
        c.execute(f"ANALYZE {STAGING}")
    else:
        c.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {STAGING} (idx integer, kpi_id integer, "
            "at text, value real, note text)"
        )
        c.execute(f"DELETE FROM {STAGING}")
        # The text Django stores a moment as (naive UTC), so the join compares like with like.
        adapt = connection.ops.adapt_datetimefield_value
        params = []
        for index, (kpi_id, at, value, note) in enumerate(rows):
            text = texts.get(at)
            if text is None:
                text = texts[at] = str(adapt(at))
            params.append((index, kpi_id, text, value, note))
        c.executemany(
            f"INSERT INTO {STAGING} (idx, kpi_id, at, value, note) VALUES (%s, %s, %s, %s, %s)",
            params,
        )


def store(rows: Sequence[Row], *, source: str, by_id: int | None, now: datetime) -> Stored:
    """Write `rows` (validated, one per KPI and moment): new ones, replaced ones, revisions."""
    m = _q(Measurement._meta.db_table)
    r = _q(MeasurementRevision._meta.db_table)
    stamp = connection.ops.adapt_datetimefield_value(now)
    same = "m.value = s.value AND m.note = s.note"
    join = f"{STAGING} s JOIN {m} m ON m.kpi_id = s.kpi_id AND m.at = s.at"
    with connection.cursor() as cursor:
        _stage(cursor, rows)
        cursor.execute(f"SELECT s.idx, CASE WHEN {same} THEN 1 ELSE 0 END FROM {join}")
        matched = cursor.fetchall()
        unchanged = {index for index, equal in matched if equal}
        replaced = 0
        if len(unchanged) < len(matched):
            cursor.execute(
                f"INSERT INTO {r} (measurement_id, old_value, old_source, old_note, replaced_at, "
                f"replaced_by_id) SELECT m.id, m.value, m.source, m.note, %s, %s FROM {join} "
                f"WHERE NOT ({same})",
                [stamp, by_id],
            )
            cursor.execute(
                f"UPDATE {m} SET value = s.value, note = s.note, source = %s, updated_at = %s "
                f"FROM {STAGING} s WHERE {m}.kpi_id = s.kpi_id AND {m}.at = s.at "
                f"AND NOT ({m}.value = s.value AND {m}.note = s.note)",
                [source, stamp],
            )
            replaced = cursor.rowcount
        created = 0
        if len(matched) < len(rows):
            cursor.execute(
                f"INSERT INTO {m} (kpi_id, at, value, source, note, created_at, updated_at) "
                f"SELECT s.kpi_id, s.at, s.value, %s, s.note, %s, %s FROM {STAGING} s "
                f"WHERE NOT EXISTS (SELECT 1 FROM {m} m WHERE m.kpi_id = s.kpi_id "
                "AND m.at = s.at) ORDER BY s.kpi_id, s.at",
                [source, stamp, stamp],
            )
            created = cursor.rowcount
    return Stored(created=created, replaced=replaced, unchanged=unchanged)


def insert_series(rows: Iterable[SeriesRow], *, now: datetime) -> int:
    """Insert measurements of KPIs that hold none yet; the number of rows written.

    The caller guarantees what ingestion would check: validated rows, one per KPI and
    moment, notes already stripped, KPIs locked or new in its transaction and without a
    stored measurement (so no revision can be due). `created_at` and `updated_at` are
    `now`, as `store` writes them.
    """
    m = _q(Measurement._meta.db_table)
    columns = "kpi_id, at, value, source, note, created_at, updated_at"
    written = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            stamp = now.isoformat()
            texts: dict[datetime, str] = {}
            lines: list[str] = []
            with cursor.cursor.copy(f"COPY {m} ({columns}) FROM STDIN") as copy:
                for kpi_id, at, value, source, note in rows:
                    text = texts.get(at)
                    if text is None:
                        text = texts[at] = at.isoformat()
                    if note:
                        note = note.translate(_COPY_ESCAPES)
                    if source:
                        source = source.translate(_COPY_ESCAPES)
                    lines.append(
                        f"{kpi_id}\t{text}\t{value!r}\t{source}\t{note}\t{stamp}\t{stamp}\n"
                    )
                    if len(lines) >= COPY_LINES:
                        copy.write("".join(lines).encode())
                        written += len(lines)
                        lines.clear()
                if lines:
                    copy.write("".join(lines).encode())
                    written += len(lines)
            return written
        # The text Django stores a moment as (naive UTC), made once per distinct moment;
        # one executemany per COPY_LINES rows (a list: Django's debug cursor counts them).
        adapt = connection.ops.adapt_datetimefield_value
        stamped = adapt(now)
        moments: dict[datetime, Any] = {}
        insert = f"INSERT INTO {m} ({columns}) VALUES (%s, %s, %s, %s, %s, %s, %s)"
        params: list[tuple[Any, ...]] = []
        for kpi_id, at, value, source, note in rows:
            text = moments.get(at)
            if text is None:
                text = moments[at] = adapt(at)
            params.append((kpi_id, text, value, source, note, stamped, stamped))
            if len(params) >= COPY_LINES:
                cursor.executemany(insert, params)
                written += len(params)
                params.clear()
        if params:
            cursor.executemany(insert, params)
            written += len(params)
    return written
