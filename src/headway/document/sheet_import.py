"""Spreadsheet imports against the database: what it holds, the preview, and the write.

`document.spreadsheet` turns a sheet into a document with no database; this module gives
it what the database already holds (:func:`known_for`), previews the import (a dry run
of the very import that writes, so the counts are exact), and writes it through
`document.importer.import_document`: one transaction, all or nothing, the same path as a
YAML import.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone

from headway.document import spreadsheet
from headway.document.importer import ImportResult, Progress, import_document
from headway.document.load import DocumentError, Problem
from headway.document.spreadsheet import ColumnMapping, Conversion, Known, Latest, Sheet
from headway.teams.access import Access, refuse
from headway.teams.models import Person

__all__ = ["Preview", "convert_sheet", "import_sheet", "known_for", "preview_sheet"]


KPI_FIELDS = {
    "key": "key", "name": "name", "team": "team__key", "owner": "owner__email", "unit": "unit",
    "definition": "definition", "why": "why", "how": "how", "direction": "direction",
    "target": "target", "warning": "warning", "critical": "critical", "benchmark": "benchmark",
    "cadence": "cadence", "tier": "tier",
}  # fmt: skip


def _objective_rows(cycles: Iterable[str]) -> list[dict[str, Any]]:
    from headway.okrs.models import Objective

    rows = (
        Objective.objects.filter(cycle__key__in=list(cycles))
        .order_by("id")
        .values(
            "id", "key", "cycle__key", "team__key", "owner__email", "type", "visibility",
            "parent__key", "title", "description", "grade", "reflection", "coach_ignore",
            "coach_ignore_why",
        )
    )  # fmt: skip
    found: list[dict[str, Any]] = [dict(row) for row in rows]
    # Shared objectives: the contributing teams stay as they are (a sheet has no column).
    from headway.okrs.models import ObjectiveContributor

    teams: dict[int, list[str]] = {}
    for objective_id, team in (
        ObjectiveContributor.objects.filter(objective_id__in=[r["id"] for r in found])
        .order_by("objective_id", "team__name", "team__key")
        .values_list("objective_id", "team__key")
    ):
        teams.setdefault(objective_id, []).append(team)
    for row in found:
        row["contributors"] = teams.get(row["id"], [])
    return found


def _objective_item(row: dict[str, Any], key_results: list[dict[str, Any]]) -> dict[str, Any]:
    """An objective row as the YAML format writes it (so unmapped fields keep their value)."""
    item: dict[str, Any] = {
        "key": row["key"],
        "cycle": row["cycle__key"],
        "team": row["team__key"],
        "owner": row["owner__email"],
        "type": row["type"],
        "visibility": row["visibility"],
        "parent": row["parent__key"],
        "title": row["title"],
        "description": row["description"],
        "grade": row["grade"],
        "reflection": row["reflection"],
        "key_results": key_results,
    }
    if row.get("contributors"):
        item["contributors"] = list(row["contributors"])
    if row["coach_ignore"] or row["coach_ignore_why"]:
        item["coach"] = {"ignore": list(row["coach_ignore"] or []), "why": row["coach_ignore_why"]}
    return item


def known_for(sheet: Sheet, mapping: ColumnMapping, cycle: str | None) -> Known:
    """What the database holds that the sheet may refer to or update (a few queries)."""
    from headway.kpis.models import Kpi
    from headway.okrs.models import Cycle, KeyResult, Objective
    from headway.teams.models import Person, Team

    teams = list(Team.objects.order_by("id").values_list("key", "name", "kind", "parent_id"))
    company = next((key for key, _n, kind, parent in teams if parent is None), None)
    known = Known(
        teams={key: name for key, name, _k, _p in teams},
        company=company,
        people=dict(Person.objects.values_list("email", "name")),
        cycles={
            k: (start, end) for k, start, end in Cycle.objects.values_list("key", "start", "end")
        },
        objective_keys=set(Objective.objects.values_list("key", flat=True)),
    )
    if mapping.kind == "kpis":
        for card in Kpi.objects.order_by("id").values(*KPI_FIELDS.values()):
            values: dict[str, Any] = dict(card)
            known.kpis[card["key"]] = {name: values[column] for name, column in KPI_FIELDS.items()}
            known.kpis[card["key"]]["cadence"] = card["cadence"] or None
        return known
    column = mapping.columns.get("cycle")
    named = {cycle} if cycle else set()
    if column is not None:
        named |= {str(v).strip() for _line, row in sheet.rows if (v := sheet.cell(row, column))}
    rows = _objective_rows(named & set(known.cycles))
    ids = [r["id"] for r in rows]
    key_results: dict[int, list[dict[str, Any]]] = {pk: [] for pk in ids}
    kpi_keys = dict(Kpi.objects.values_list("id", "key"))
    counters: dict[int, list[str]] = {}
    through = KeyResult.counter_kpis.through
    kr_rows = list(
        KeyResult.objects.filter(objective_id__in=ids)
        .order_by("objective_id", "position", "id")
        .values(
            "id", "objective_id", "key", "title", "kind", "owner__email", "unit", "start",
            "target", "weight", "due", "kpi_id", "grade", "current", "done",
        )
    )  # fmt: skip
    for link in through.objects.filter(keyresult_id__in=[k["id"] for k in kr_rows]).order_by("id"):
        counters.setdefault(link.keyresult_id, []).append(kpi_keys[link.kpi_id])
    objective_key = {r["id"]: r["key"] for r in rows}
    latest = _latest_checkins([k["id"] for k in kr_rows])
    for kr in kr_rows:
        key_results[kr["objective_id"]].append(
            {
                "key": kr["key"], "title": kr["title"], "kind": kr["kind"],
                "owner": kr["owner__email"], "unit": kr["unit"], "start": kr["start"],
                "target": kr["target"], "weight": kr["weight"], "due": kr["due"],
                "kpi": kpi_keys.get(kr["kpi_id"]), "counter_kpis": counters.get(kr["id"], []),
                "grade": kr["grade"],
            }
        )  # fmt: skip
        if kr["id"] in latest:
            known.latest[(objective_key[kr["objective_id"]], kr["key"])] = latest[kr["id"]]
    for row in rows:
        known.objectives[row["key"]] = _objective_item(row, key_results[row["id"]])
        known.objective_titles[
            (row["cycle__key"], row["team__key"], spreadsheet._fold(row["title"]))
        ] = row["key"]
    return known


def _latest_checkins(kr_ids: list[int]) -> dict[int, Latest]:
    """Each key result's latest check-in (the last of its latest moment), in one query each
    500 key results: only the check-ins at the stored `last_checkin_at` are read."""
    from django.db.models import F

    from headway.okrs.models import CheckIn

    found: dict[int, Latest] = {}
    for start in range(0, len(kr_ids), 500):
        for kr_id, at, value, done, confidence, comment, author in (
            CheckIn.objects.filter(
                key_result_id__in=kr_ids[start : start + 500],
                at=F("key_result__last_checkin_at"),
            )
            .order_by("key_result_id", "ordinal")
            .values_list("key_result_id", "at", "value", "done", "confidence", "comment",
                         "author__email")
        ):  # fmt: skip
            found[kr_id] = Latest(at, value, done, confidence, comment, author)
    return found


def convert_sheet(
    sheet: Sheet, mapping: ColumnMapping, *, cycle: str | None = None, now: datetime | None = None
) -> Conversion:
    """The sheet as a document against the database (see `spreadsheet.convert`)."""
    return spreadsheet.convert(
        sheet, mapping, known_for(sheet, mapping, cycle), cycle=cycle, now=now or timezone.now()
    )


@dataclass
class Preview:
    """What importing a sheet would do: the counts of a dry run, what is new, or problems."""

    conversion: Conversion
    result: ImportResult | None
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems and self.result is not None


def preview_sheet(
    sheet: Sheet,
    mapping: ColumnMapping,
    *,
    cycle: str | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> Preview:
    """Convert and dry-run the import: every bad row with its line, or exact counts."""
    now = now or timezone.now()
    conversion = convert_sheet(sheet, mapping, cycle=cycle, now=now)
    if conversion.problems or conversion.document is None:
        return Preview(conversion, None, conversion.problems)
    try:
        result = import_document(conversion.document, dry_run=True, now=now, progress=progress)
    except DocumentError as exc:
        return Preview(conversion, None, exc.errors)
    return Preview(conversion, result, [])


def why_not_import(access: Access) -> str | None:
    """A spreadsheet writes anywhere in the organisation: admins only (the CLI is the system)."""
    return None if access.can_manage() else "Only admins may import spreadsheets."


def import_sheet(
    sheet: Sheet,
    mapping: ColumnMapping,
    *,
    by: Person | None = None,
    cycle: str | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import the sheet in one transaction; raises DocumentError (nothing written).

    `by=None` is the system (the CLI run by an operator); a person must be an admin.
    """
    if by is not None:
        refuse(why_not_import(Access.for_person(by)))
    now = now or timezone.now()
    document = convert_sheet(sheet, mapping, cycle=cycle, now=now).raise_problems()
    return import_document(document, now=now, progress=progress)
