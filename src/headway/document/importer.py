"""`headway import`: a YAML document into the database, in one transaction, or nothing.

Everything is upserted by its key: teams by key, people by e-mail, cycles, objectives and
KPIs by key, key results by (objective, key), check-ins by (key result, moment, rank among
the check-ins of that moment in file order) and measurements by (KPI, moment).
Memberships of the people in the document are replaced by the document's. Nothing else is
deleted.

References may name rows that are only in the database (a team, a person, a parent
objective, a KPI); anything named in neither is an error with its file and line, exactly
as `headway lint` reports it. The whole document is checked, against itself and against
the database, before anything is written; every problem is reported at once and nothing
is written (:class:`~headway.document.load.DocumentError`).

Writes are set-based: bulk inserts and updates in batches. Teams, cycles, objectives, key
results and KPIs keep their history (simple-history rows written in bulk, only for rows that
were created or really changed: importing the same file twice writes nothing the second
time). Measurements of KPIs that hold some go through
:func:`headway.kpis.actions.ingest_measurements`, the same path as the API, so a replaced
value is kept as a revision; those of KPIs that hold none are written in one bulk insert
(:func:`headway.kpis.bulk.insert_series`). Finally the stored state of the KPIs involved
is refreshed (:func:`headway.kpis.actions.refresh_kpis`), the bulk-written ones at once
from the document's series.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from headway.database import (
    BULK_ROWS,
    insert_history,
    insert_objects,
    insert_rows,
    refresh_statistics,
    update_by_pk,
)
from headway.document import load as loader
from headway.document.evaluate import schedule_of
from headway.document.load import DocumentError, Problem
from headway.document.schema import (
    Document,
    FieldPath,
    format_path,
    measurement_points,
    measurement_rows,
)
from headway.document.schema import (
    KeyResult as DocKeyResult,
)
from headway.moments import MAX_YEAR, MIN_YEAR
from headway.okrs import timing

__all__ = [
    "BATCH",
    "CHANGE_REASON",
    "Counts",
    "ImportResult",
    "import_document",
    "load_for_import",
    "load_texts_for_import",
]

Progress = Callable[[str, int, int], None]

#: Rows per bulk statement.
BATCH = 1000
#: Measurements handed to one ingestion at most (the stored ones are read per KPI chunk).
MEASUREMENT_CHUNK = 100_000
#: The reason recorded in the history of every row an import creates or changes.
CHANGE_REASON = "headway import"
#: ingest_measurements refuses larger magnitudes: checked first, with the line.
MAX_ABS_VALUE = 1e15

COUNTED = (
    "people",
    "teams",
    "memberships",
    "cycles",
    "kpis",
    "connections",
    "sources",
    "objectives",
    "key_results",
    "checkins",
    "measurements",
)


@dataclass
class Counts:
    """Rows of one kind an import created, updated, left as they were and deleted."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0

    @property
    def changed(self) -> int:
        return self.created + self.updated + self.deleted


@dataclass
class ImportResult:
    """What an import did (or, with ``dry_run``, would have done) per kind of row."""

    counts: dict[str, Counts] = field(default_factory=lambda: {k: Counts() for k in COUNTED})
    dry_run: bool = False

    @property
    def changed(self) -> int:
        return sum(c.changed for c in self.counts.values())

    def __str__(self) -> str:
        parts = []
        for kind, c in self.counts.items():
            text = f"{kind}: {c.created} created, {c.updated} updated, {c.unchanged} unchanged"
            parts.append(text + (f", {c.deleted} deleted" if c.deleted else ""))
        return "; ".join(parts)


# --------------------------------------------------------------------------- loading


def _known_keys() -> dict[str, set[str]]:
    """The keys (and e-mails) the database holds, per document section."""
    from headway.kpis.models import Kpi
    from headway.okrs.models import Cycle, Objective
    from headway.sources.models import Connection
    from headway.teams.models import Person, Team

    return {
        "teams": set(Team.objects.values_list("key", flat=True)),
        "people": set(Person.objects.values_list("email", flat=True)),
        "cycles": set(Cycle.objects.values_list("key", flat=True)),
        "objectives": set(Objective.objects.values_list("key", flat=True)),
        "kpis": set(Kpi.objects.values_list("key", flat=True)),
        "connections": set(Connection.objects.values_list("name", flat=True)),
    }


def load_for_import(paths: Sequence[Path | str]) -> Document:
    """Read files as one document for an import (needs Django set up).

    Like :func:`~headway.document.load.load_documents`, but a reference to a team, person,
    cycle, objective or KPI the database already holds is not an error.
    """
    return loader.load_documents(paths, known=_known_keys())


def load_texts_for_import(sources: Sequence[tuple[str, str]]) -> Document:
    """:func:`load_for_import` for ``(name, text)`` pairs."""
    return loader.load_texts(sources, known=_known_keys())


# --------------------------------------------------------------------------- helpers


def _chunks[T](items: Sequence[T], size: int = 500) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _in[M: models.Model](
    queryset: models.QuerySet[M], field_name: str, values: Iterable[Any]
) -> list[M]:
    """``queryset.filter(<field>__in=values)`` in chunks (SQLite limits query parameters)."""
    found: list[M] = []
    for chunk in _chunks(sorted(set(values))):
        found.extend(queryset.filter(**{f"{field_name}__in": chunk}))
    return found


def _apply(row: models.Model, values: Mapping[str, Any]) -> bool:
    """Set the attributes that differ; True when any did."""
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def _field_names(values: Iterable[str]) -> list[str]:
    """Attribute names (``team_id``) as the field names bulk_update wants (``team``)."""
    return [name.removesuffix("_id") for name in values]


def _state_from_dates(start: date, end: date, today: date) -> str:
    if today < start:
        return "planning"
    return "closed" if today > end else "active"


# --------------------------------------------------------------------------- the import


@dataclass(frozen=True, slots=True)
class _CheckIn:
    at: datetime
    value: float | None
    done: bool | None
    confidence: int | None
    comment: str
    author_id: int | None

    def fields(self) -> tuple[Any, ...]:
        return (self.value, self.done, self.confidence, self.comment, self.author_id)


class _Importer:
    def __init__(self, doc: Document, now: datetime, progress: Progress | None) -> None:
        from headway.kpis.models import Kpi
        from headway.okrs.models import Cycle, Objective
        from headway.teams.models import Person, Team

        self.doc = doc
        self.now = now
        self.progress = progress
        self.result = ImportResult()
        self.problems: list[tuple[int, int, int, Problem]] = []
        self.files = {f.name: i for i, f in enumerate(doc.source.files)}
        self.teams: dict[str, Team] = {}
        self.people: dict[str, Person] = {}
        self.cycles: dict[str, Cycle] = {}
        self.kpis: dict[str, Kpi] = {}
        self.objectives: dict[str, Objective] = {}
        # every objective of the database: key -> (id, parent key, cycle id)
        self.objective_rows: dict[str, tuple[int, str | None, int]] = {}
        # measurements waiting for ingestion, by source: ((KPI key, measurement), path)
        self.pending: dict[str, list[tuple[Any, FieldPath]]] = defaultdict(list)
        self.measured = 0
        # KPIs whose measurements were written in bulk (they held none): id -> document index
        self.series: dict[int, int] = {}

    # ---- reporting

    def tick(self, phase: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(phase, done, total)

    def problem(self, path: FieldPath, message: str) -> None:
        found = self.doc.source.locate(path)
        if found is None:
            file, line, local = "<document>", None, tuple(path)
        else:
            file, line, local = found
        self.problems.append(
            (
                self.files.get(file, 0),
                line or 0,
                len(self.problems),
                Problem(file, line, format_path(local), message),
            )
        )

    # ---- reading the database and checking the document against it

    def read(self) -> None:
        from headway.kpis.models import Kpi
        from headway.okrs.models import Cycle, Objective
        from headway.teams.models import Person, Team

        doc = self.doc
        self.teams = {t.key: t for t in Team.objects.all()}
        emails = set(doc.people_by_email)
        emails |= {c.closed_by for c in doc.cycles if c.closed_by}
        emails |= {o.owner for o in doc.objectives if o.owner}
        for _objective, kr in doc.key_results():
            if kr.owner:
                emails.add(kr.owner)
            emails |= {c.author for c in kr.checkins if c.author}
            emails |= {i.owner for i in kr.initiatives or () if i.owner}
        emails |= {k.owner for k in doc.kpis if k.owner}
        self.people = {p.email: p for p in _in(Person.objects.all(), "email", emails)}
        self.cycles = {c.key: c for c in Cycle.objects.all()}
        self.kpis = {k.key: k for k in Kpi.objects.all()}
        rows = Objective.objects.values_list("id", "key", "parent__key", "cycle_id")
        self.objective_rows = {key: (pk, parent, cycle) for pk, key, parent, cycle in rows}
        wanted = set(doc.objectives_by_key) | {o.parent for o in doc.objectives if o.parent}
        wanted |= {o.copied_from for o in doc.objectives if o.copied_from}
        self.objectives = {
            o.key: o for o in _in(Objective.objects.all(), "key", wanted & set(self.objective_rows))
        }

    def check(self) -> None:
        self.check_team_loops()
        self.check_objective_loops()
        self.check_measurements()
        self.check_connections()
        self.check_trackers()
        if self.problems:
            raise DocumentError([p for *_, p in sorted(self.problems, key=lambda x: x[:3])])

    def _loops(self, parents: dict[str, str | None], starts: Sequence[str]) -> list[list[str]]:
        """Loops of ``parents`` through any key of ``starts``, each once."""
        loops: list[list[str]] = []
        seen: set[str] = set()
        for start in starts:
            if start in seen:
                continue
            walk = [start]
            node = parents.get(start)
            while (
                node is not None
                and node != start
                and node not in walk
                and len(walk) <= len(parents)
            ):
                walk.append(node)
                node = parents.get(node)
            if node == start:
                loops.append(walk)
                seen.update(walk)
        return loops

    def check_team_loops(self) -> None:
        by_id = {t.pk: t.key for t in self.teams.values()}
        parents: dict[str, str | None] = {
            t.key: by_id.get(t.parent_id) if t.parent_id else None for t in self.teams.values()
        }
        parents.update({t.key: t.parent for t in self.doc.teams})
        index = {t.key: i for i, t in enumerate(self.doc.teams)}
        for loop in self._loops(parents, [t.key for t in self.doc.teams]):
            chain = " -> ".join([*loop, loop[0]])
            self.problem(
                ("teams", index[loop[0]], "parent"),
                f"team parent loop with the database: {chain}",
            )

    def check_objective_loops(self) -> None:
        parents: dict[str, str | None] = {
            key: parent for key, (_pk, parent, _c) in self.objective_rows.items()
        }
        parents.update({o.key: o.parent for o in self.doc.objectives})
        index = {o.key: i for i, o in enumerate(self.doc.objectives)}
        for loop in self._loops(parents, [o.key for o in self.doc.objectives]):
            chain = " -> ".join([*loop, loop[0]])
            self.problem(
                ("objectives", index[loop[0]], "parent"),
                f"alignment loop with the database: {chain}",
            )

    def window_of(self, cycle_key: str) -> tuple[date, date]:
        cycle = self.doc.cycles_by_key.get(cycle_key)
        if cycle is not None:
            return cycle.start, cycle.end
        row = self.cycles[cycle_key]
        return row.start, row.end

    def check_measurements(self) -> None:
        """What the ingestion refuses that the document's own checks allow, with the line
        (KPIs without stored measurements are written in bulk, past the ingestion)."""
        for i, kpi in enumerate(self.doc.kpis):
            for j, (at, value) in enumerate(measurement_points(kpi.measurements)):
                if abs(value) > MAX_ABS_VALUE:
                    self.problem(
                        ("kpis", i, "measurements", j, "value"),
                        f"{value!r} is out of range (at most ±1e15)",
                    )
                if not MIN_YEAR <= at.year <= MAX_YEAR:
                    # The ingestion's wording (moments.to_utc), on the measurement's line.
                    self.problem(
                        ("kpis", i, "measurements", j),
                        f"at: the year must be between {MIN_YEAR} and {MAX_YEAR}",
                    )

    def check_trackers(self) -> None:
        """An initiative that follows its issue needs a tracker (set up by an admin; the
        file carries no token) that knows its link."""
        from headway.initiatives.actions import match_tracker

        for i, objective in enumerate(self.doc.objectives):
            for j, kr in enumerate(objective.key_results):
                for k, item in enumerate(kr.initiatives or []):
                    if item.follow and (not item.link or match_tracker(item.link) is None):
                        self.problem(
                            ("objectives", i, "key_results", j, "initiatives", k, "follow"),
                            "no tracker in Headway knows this link (GitHub …/issues/N, GitLab "
                            "…/-/issues/N, Jira …/browse/KEY-N): an admin adds one on the "
                            "Trackers page first",
                        )

    def check_connections(self) -> None:
        """A declared connection must match the database's (the file carries no secret, so
        it cannot redefine one); a missing one is created for an admin to complete."""
        from headway.sources.models import Connection

        existing = dict(Connection.objects.values_list("name", "engine"))
        for i, connection in enumerate(self.doc.connections):
            engine = existing.get(connection.name)
            if engine is not None and engine != connection.engine:
                self.problem(
                    ("connections", i, "engine"),
                    f"connection {connection.name!r} is a {engine} connection in Headway, "
                    f"not {connection.engine}",
                )

    # ---- writing

    def write(self) -> None:
        self.write_people()
        self.write_teams()
        self.write_memberships()
        self.write_cycles()
        self.write_kpis()
        self.write_connections()
        self.write_sources()
        self.write_objectives()
        self.write_key_results()
        self.write_initiatives()
        self.write_measurements()
        self.refresh()

    def write_people(self) -> None:
        from headway.teams.models import Person

        counts = self.result.counts["people"]
        new: list[Person] = []
        changed: list[Person] = []
        for person in self.doc.people:
            row = self.people.get(person.email)
            if row is None:
                # Imported people sign in once an administrator sets a password or SSO knows them.
                row = Person(email=person.email, name=person.name, password=make_password(None))
                new.append(row)
                self.people[person.email] = row
            elif row.name != person.name:
                row.name = person.name
                changed.append(row)
            else:
                counts.unchanged += 1
        Person.objects.bulk_create(new, batch_size=BATCH)
        Person.objects.bulk_update(changed, ["name"], batch_size=BATCH)
        counts.created, counts.updated = len(new), len(changed)
        self.tick("people", len(self.doc.people), len(self.doc.people))

    def write_teams(self) -> None:
        from simple_history.utils import bulk_create_with_history, bulk_update_with_history

        from headway.teams.models import Team

        counts = self.result.counts["teams"]
        pending = [t for t in self.doc.teams if t.key not in self.teams]
        # Parents first: one insert per level of the tree.
        while pending:
            wave = [t for t in pending if t.parent is None or t.parent in self.teams]
            if not wave:  # pragma: no cover - loops were refused by the checks
                raise RuntimeError("team parent loop")
            objs = [
                Team(
                    key=t.key,
                    name=t.name,
                    kind=t.kind,
                    parent=self.teams[t.parent] if t.parent else None,
                    checkin_cadence_days=t.checkin_cadence_days,
                )
                for t in wave
            ]
            created = bulk_create_with_history(
                objs, Team, batch_size=BATCH, default_change_reason=CHANGE_REASON
            )
            self.teams.update({t.key: t for t in created})
            counts.created += len(created)
            done = {t.key for t in wave}
            pending = [t for t in pending if t.key not in done]
        changed = []
        for team in self.doc.teams:
            row = self.teams[team.key]
            values = {
                "name": team.name,
                "kind": team.kind,
                "parent_id": self.teams[team.parent].pk if team.parent else None,
                "checkin_cadence_days": team.checkin_cadence_days,
            }
            if _apply(row, values):
                changed.append(row)
        bulk_update_with_history(
            changed,
            Team,
            _field_names(["name", "kind", "parent_id", "checkin_cadence_days"]),
            batch_size=BATCH,
            default_change_reason=CHANGE_REASON,
        )
        counts.updated = len(changed)
        counts.unchanged = len(self.doc.teams) - counts.created - counts.updated
        self.tick("teams", len(self.doc.teams), len(self.doc.teams))

    def write_memberships(self) -> None:
        from headway.teams.models import Membership

        counts = self.result.counts["memberships"]
        person_ids = [self.people[p.email].pk for p in self.doc.people]
        existing = {
            (m.person_id, m.team_id): m
            for m in _in(Membership.objects.all(), "person_id", person_ids)
        }
        desired: dict[tuple[int, int], str] = {}
        for person in self.doc.people:
            pk = self.people[person.email].pk
            for team_key, role in person.roles().items():
                desired[(pk, self.teams[team_key].pk)] = role
        gone = [m.pk for key, m in existing.items() if key not in desired]
        new = [
            Membership(person_id=p, team_id=t, role=role)
            for (p, t), role in desired.items()
            if (p, t) not in existing
        ]
        changed = []
        for key, role in desired.items():
            row = existing.get(key)
            if row is not None and row.role != role:
                row.role = role
                changed.append(row)
        for chunk in _chunks(gone):
            Membership.objects.filter(pk__in=chunk).delete()
        Membership.objects.bulk_create(new, batch_size=BATCH)
        Membership.objects.bulk_update(changed, ["role"], batch_size=BATCH)
        counts.created, counts.updated, counts.deleted = len(new), len(changed), len(gone)
        counts.unchanged = len(desired) - len(new) - len(changed)

    def write_cycles(self) -> None:
        from simple_history.utils import bulk_create_with_history, bulk_update_with_history

        from headway.okrs.models import Cycle

        counts = self.result.counts["cycles"]
        today = self.now.astimezone(UTC).date()
        new: list[Cycle] = []
        changed: list[Cycle] = []
        names = ["name", "start", "end", "state", "closed_at", "closed_by_id"]
        for cycle in self.doc.cycles:
            row = self.cycles.get(cycle.key)
            values = {
                "name": cycle.name,
                "start": cycle.start,
                "end": cycle.end,
                # No state written: a new cycle takes it from its dates, an existing one
                # keeps its own.
                "state": cycle.state
                or (row.state if row else _state_from_dates(cycle.start, cycle.end, today)),
                "closed_at": cycle.closed_at,
                "closed_by_id": self.people[cycle.closed_by].pk if cycle.closed_by else None,
            }
            if row is None:
                row = Cycle(key=cycle.key, **values)
                new.append(row)
                self.cycles[cycle.key] = row
            elif _apply(row, values):
                changed.append(row)
        bulk_create_with_history(new, Cycle, batch_size=BATCH, default_change_reason=CHANGE_REASON)
        bulk_update_with_history(
            changed,
            Cycle,
            _field_names(names),
            batch_size=BATCH,
            default_change_reason=CHANGE_REASON,
        )
        counts.created, counts.updated = len(new), len(changed)
        counts.unchanged = len(self.doc.cycles) - len(new) - len(changed)
        self.tick("cycles", len(self.doc.cycles), len(self.doc.cycles))

    def write_kpis(self) -> None:
        from simple_history.utils import bulk_create_with_history, bulk_update_with_history

        from headway.kpis.models import Kpi

        counts = self.result.counts["kpis"]
        new: list[Kpi] = []
        changed: list[Kpi] = []
        names = [
            "name", "unit", "definition", "why", "how", "team_id", "owner_id", "direction",
            "target", "warning", "critical", "target_schedule", "benchmark", "cadence", "tier",
        ]  # fmt: skip
        for kpi in self.doc.kpis:
            row = self.kpis.get(kpi.key)
            values = {
                "name": kpi.name,
                "unit": kpi.unit,
                "definition": kpi.definition,
                "why": kpi.why,
                "how": kpi.how,
                "team_id": self.teams[kpi.team].pk,
                "owner_id": self.people[kpi.owner].pk if kpi.owner else None,
                "direction": kpi.direction,
                "target": kpi.target,
                "warning": kpi.warning,
                "critical": kpi.critical,
                "target_schedule": schedule_of(kpi),
                "benchmark": kpi.benchmark,
                "cadence": kpi.cadence or "",
                "tier": kpi.tier,
            }
            if row is None:
                row = Kpi(key=kpi.key, **values)
                new.append(row)
                self.kpis[kpi.key] = row
            elif _apply(row, values):
                row.version += 1
                row.updated_at = self.now
                changed.append(row)
        bulk_create_with_history(new, Kpi, batch_size=BATCH, default_change_reason=CHANGE_REASON)
        bulk_update_with_history(
            changed,
            Kpi,
            [*_field_names(names), "version", "updated_at"],
            batch_size=BATCH,
            default_change_reason=CHANGE_REASON,
        )
        counts.created, counts.updated = len(new), len(changed)
        counts.unchanged = len(self.doc.kpis) - len(new) - len(changed)
        self.tick("kpis", len(self.doc.kpis), len(self.doc.kpis))

    def write_connections(self) -> None:
        """Declared connections Headway lacks, as placeholders an admin completes (address,
        user, secret) on the Connections page; their sources fail clearly until then."""
        from headway.sources.models import Connection

        counts = self.result.counts["connections"]
        existing = set(Connection.objects.values_list("name", flat=True))
        new = [
            Connection(name=c.name, engine=c.engine, description=c.description)
            for c in self.doc.connections
            if c.name not in existing
        ]
        Connection.objects.bulk_create(new)
        counts.created = len(new)
        counts.unchanged = len(self.doc.connections) - len(new)

    def write_sources(self) -> None:
        """Each KPI's `source` through `sources.actions.set_source` (its checks and messages);
        `source: null` removes one; a KPI without the field keeps what it has."""
        from headway.sources.actions import SourceSpec, remove_source, set_source
        from headway.sources.models import Source

        counts = self.result.counts["sources"]
        versions = dict(Source.objects.values_list("kpi_id", "version"))
        failed = False
        for i, kpi in enumerate(self.doc.kpis):
            row = self.kpis[kpi.key]
            if kpi.source is None:
                if "source" in kpi.model_fields_set and remove_source(by=None, kpi=row):
                    counts.deleted += 1
                continue
            spec = SourceSpec(
                kind=kpi.source.kind,
                config=kpi.source.config(),
                connection=kpi.source.connection or "",
                schedule=kpi.source.schedule,
                enabled=kpi.source.enabled,
            )
            try:
                source = set_source(by=None, kpi=row, spec=spec)
            except ValidationError as exc:
                failed = True
                for name, messages in exc.message_dict.items():
                    path = (
                        ("kpis", i, "source")
                        if name in ("kind", "version")
                        else ("kpis", i, "source", name)
                    )
                    for message in messages:
                        self.problem(path, message[0].lower() + message[1:])
                continue
            before = versions.get(row.pk)
            if before is None:
                counts.created += 1
            elif before != source.version:
                counts.updated += 1
            else:
                counts.unchanged += 1
        if failed:
            raise DocumentError([p for *_, p in sorted(self.problems, key=lambda x: x[:3])])

    def write_objectives(self) -> None:
        from simple_history.utils import bulk_update_with_history

        from headway.okrs.models import Objective

        counts = self.result.counts["objectives"]
        names = [
            "cycle_id", "team_id", "owner_id", "title", "description", "type", "visibility",
            "grade", "reflection", "coach_ignore", "coach_ignore_why", "language", "copy_kind",
        ]  # fmt: skip
        new: list[Objective] = []
        changed: list[Objective] = []
        for objective in self.doc.objectives:
            coach = objective.coach
            values = {
                "cycle_id": self.cycles[objective.cycle].pk,
                "team_id": self.teams[objective.team].pk,
                "owner_id": self.people[objective.owner].pk if objective.owner else None,
                "title": objective.title,
                "description": objective.description,
                "type": objective.type,
                "visibility": objective.visibility,
                "grade": objective.grade,
                "reflection": objective.reflection,
                "coach_ignore": list(coach.ignore) if coach else [],
                "coach_ignore_why": coach.why if coach else "",
                "language": self.doc.language or "",
                "copy_kind": objective.copy_kind or "",
            }
            row = self.objectives.get(objective.key)
            if row is None:
                row = Objective(key=objective.key, **values)
                new.append(row)
                self.objectives[objective.key] = row
            elif _apply(row, values):
                changed.append(row)
        # New objectives are inserted in document order (so an export lists them in that
        # order); parents among them are set right after, then one history row each.
        insert_objects(Objective, new)
        for row in new:
            parent = self.doc.objectives_by_key[row.key].parent
            row.parent_id = self.objectives[parent].pk if parent else None
            source = self.doc.objectives_by_key[row.key].copied_from
            row.copied_from_id = self.objectives[source].pk if source else None
        update_by_pk(
            Objective,
            [r for r in new if r.parent_id is not None or r.copied_from_id is not None],
            ["parent", "copied_from"],
        )
        insert_history(Objective, new, reason=CHANGE_REASON)
        new_ids = {r.pk for r in new}
        for objective in self.doc.objectives:
            row = self.objectives[objective.key]
            if row.pk in new_ids:
                continue
            parent_id = self.objectives[objective.parent].pk if objective.parent else None
            source = objective.copied_from
            copied_from_id = self.objectives[source].pk if source else None
            if row.parent_id != parent_id or row.copied_from_id != copied_from_id:
                row.parent_id = parent_id
                row.copied_from_id = copied_from_id
                if row not in changed:
                    changed.append(row)
        for row in changed:
            row.version += 1
            row.updated_at = self.now
        bulk_update_with_history(
            changed,
            Objective,
            [*_field_names(names), "parent", "copied_from", "version", "updated_at"],
            batch_size=BATCH,
            default_change_reason=CHANGE_REASON,
        )
        counts.created, counts.updated = len(new), len(changed)
        counts.unchanged = len(self.doc.objectives) - len(new) - len(changed)
        self.write_contributors()
        self.tick("objectives", len(self.doc.objectives), len(self.doc.objectives))

    def write_contributors(self) -> None:
        """Each objective's contributing teams as the document names them (a shared
        objective); additions and removals land in the history."""
        from simple_history.utils import bulk_create_with_history

        from headway.okrs.models import ObjectiveContributor

        ids = [self.objectives[o.key].pk for o in self.doc.objectives]
        existing = {
            (c.objective_id, c.team_id): c
            for c in _in(ObjectiveContributor.objects.all(), "objective_id", ids)
        }
        wanted = {
            (self.objectives[o.key].pk, self.teams[team].pk)
            for o in self.doc.objectives
            for team in o.contributors
        }
        for pair in sorted(set(existing) - wanted):
            existing[pair].delete()
        bulk_create_with_history(
            [
                ObjectiveContributor(objective_id=objective_id, team_id=team_id)
                for objective_id, team_id in sorted(wanted - set(existing))
            ],
            ObjectiveContributor,
            batch_size=BATCH,
            default_change_reason=CHANGE_REASON,
        )

    def _desired_checkins(
        self, kr: DocKeyResult, cycle_start: date
    ) -> dict[tuple[datetime, int], _CheckIn]:
        """The document's check-ins of a key result by (moment, ordinal), with ``done: true``.

        Check-ins at one moment keep their file order as ordinals 0, 1, ... (okrs.timing).
        """
        wanted = {
            (c.at, ordinal): _CheckIn(
                at=c.at,
                value=c.value,
                done=c.done,
                confidence=c.confidence,
                comment=c.note,
                author_id=self.people[c.author].pk if c.author else None,
            )
            for c, ordinal in zip(
                kr.checkins, timing.ordinals(c.at for c in kr.checkins), strict=True
            )
        }
        if kr.kind == "milestone" and kr.done and all(c.done is None for c in kr.checkins):
            # `done: true` with no check-in saying so: done since the cycle's start.
            at = datetime.combine(cycle_start, time(), tzinfo=UTC)
            same = wanted.get((at, 0))
            if same is None:
                wanted[(at, 0)] = _CheckIn(at, None, True, None, "", None)
            else:
                wanted[(at, 0)] = _CheckIn(
                    at, same.value, True, same.confidence, same.comment, same.author_id
                )
        return wanted

    def write_initiatives(self) -> None:
        """Each key result that lists initiatives gets exactly that list, in its order.

        Rows are matched by position: one whose fields differ is updated (its version
        bumped), extra ones are created, surplus ones deleted, all with history. A key
        result whose document entry has no `initiatives` keeps what is stored.
        """
        from simple_history.utils import bulk_create_with_history, bulk_update_with_history

        from headway.initiatives.models import Initiative
        from headway.okrs.models import KeyResult

        given = [
            (objective, kr)
            for objective, kr in self.doc.key_results()
            if kr.initiatives is not None
        ]
        if not given:
            return
        objective_ids = [self.objectives[o.key].pk for o, _kr in given]
        kr_ids = {
            (kr.objective_id, kr.key): kr.pk
            for kr in _in(KeyResult.objects.all(), "objective_id", objective_ids)
        }
        stored: dict[int, list[Initiative]] = defaultdict(list)
        for row in _in(
            Initiative.objects.order_by("key_result_id", "position", "id"),
            "key_result_id",
            list(kr_ids.values()),
        ):
            stored[row.key_result_id].append(row)
        names = ["title", "owner_id", "status", "due", "link", "position"]
        new: list[Initiative] = []
        changed: list[Initiative] = []
        gone: list[Initiative] = []
        for objective, kr in given:
            kr_id = kr_ids[(self.objectives[objective.key].pk, kr.key)]
            have = stored.get(kr_id, [])
            for position, item in enumerate(kr.initiatives or []):
                values = {
                    "title": item.title,
                    "owner_id": self.people[item.owner].pk if item.owner else None,
                    "status": item.status,
                    "due": item.due,
                    "link": item.link,
                    "position": position,
                }
                if position < len(have):
                    row = have[position]
                    if _apply(row, values):
                        row.version += 1
                        changed.append(row)
                else:
                    new.append(Initiative(key_result_id=kr_id, **values))
            gone.extend(have[len(kr.initiatives or []) :])
        bulk_create_with_history(
            new, Initiative, batch_size=BATCH, default_change_reason=CHANGE_REASON
        )
        bulk_update_with_history(
            changed,
            Initiative,
            [*names, "version"],
            batch_size=BATCH,
            default_change_reason=CHANGE_REASON,
        )
        for chunk in _chunks([row.pk for row in gone]):
            Initiative.objects.filter(pk__in=chunk).delete()
        self.write_following(given, kr_ids)

    def write_following(
        self, given: list[tuple[Any, Any]], kr_ids: dict[tuple[int, str], int]
    ) -> None:
        """Initiatives marked `follow` follow their tracker issue; the others stop."""
        from headway.initiatives.actions import follow_issue
        from headway.initiatives.models import Initiative, TrackedIssue, Tracker

        if (
            not any(i.follow for _o, kr in given for i in kr.initiatives or [])
            and not (
                TrackedIssue.objects.filter(initiative__key_result_id__in=list(kr_ids.values()))
            ).exists()
        ):
            return
        trackers = list(Tracker.objects.all())
        rows: dict[int, list[Initiative]] = defaultdict(list)
        for row in _in(
            Initiative.objects.select_related("tracked").order_by(
                "key_result_id", "position", "id"
            ),
            "key_result_id",
            list(kr_ids.values()),
        ):
            rows[row.key_result_id].append(row)
        stop: list[int] = []
        for objective, kr in given:
            kr_id = kr_ids[(self.objectives[objective.key].pk, kr.key)]
            for row, item in zip(rows.get(kr_id, []), kr.initiatives or [], strict=False):
                tracked = row.sync_state
                if item.follow:
                    follow_issue(row, tracked, among=trackers)
                elif tracked is not None:
                    stop.append(tracked.pk)
        for chunk in _chunks(stop):
            TrackedIssue.objects.filter(pk__in=chunk).delete()

    def write_key_results(self) -> None:
        from simple_history.utils import bulk_update_with_history

        from headway.okrs.models import CheckIn, KeyResult

        counts = self.result.counts["key_results"]
        checkin_counts = self.result.counts["checkins"]
        objective_ids = [self.objectives[o.key].pk for o in self.doc.objectives]
        existing = {
            (kr.objective_id, kr.key): kr
            for kr in _in(KeyResult.objects.all(), "objective_id", objective_ids)
        }
        stored: dict[int, dict[tuple[datetime, int], CheckIn]] = defaultdict(dict)
        for checkin in _in(
            CheckIn.objects.all(), "key_result_id", [kr.pk for kr in existing.values()]
        ):
            stored[checkin.key_result_id][(checkin.at, checkin.ordinal)] = checkin
        through = KeyResult.counter_kpis.through
        stored_counters: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for link in _in(
            through.objects.order_by("id"), "keyresult_id", [kr.pk for kr in existing.values()]
        ):
            stored_counters[link.keyresult_id].append((link.pk, link.kpi_id))

        names = [
            "title", "kind", "owner_id", "unit", "start", "target", "weight", "due",
            "position", "kpi_id", "grade",
        ]  # fmt: skip
        new: list[KeyResult] = []
        changed: list[KeyResult] = []
        live: list[KeyResult] = []  # current/done moved by the check-ins
        plan: list[tuple[KeyResult, dict[tuple[datetime, int], _CheckIn], list[int]]] = []
        for objective in self.doc.objectives:
            obj_row = self.objectives[objective.key]
            cycle_start = self.window_of(objective.cycle)[0]
            for position, kr in enumerate(objective.key_results):
                values = {
                    "title": kr.title,
                    "kind": kr.kind,
                    "owner_id": self.people[kr.owner].pk if kr.owner else None,
                    "unit": kr.unit,
                    "start": kr.start,
                    "target": kr.target,
                    "weight": kr.weight,
                    "due": kr.due,
                    "position": position,
                    "kpi_id": self.kpis[kr.kpi].pk if kr.kpi else None,
                    "grade": kr.grade,
                }
                wanted = self._desired_checkins(kr, cycle_start)
                row = existing.get((obj_row.pk, kr.key))
                merged: dict[tuple[datetime, int], Any] = (
                    dict(stored[row.pk]) if row is not None else {}
                )
                merged.update(wanted)
                latest = merged[max(merged)] if merged else None
                current = latest.value if latest is not None else None
                done = bool(latest.done) if latest is not None else False
                if row is None:
                    row = KeyResult(objective_id=obj_row.pk, key=kr.key, done=done, **values)
                    if kr.kpi is None:
                        row.current = current
                    new.append(row)
                else:
                    if _apply(row, values):
                        row.version += 1
                        row.updated_at = self.now
                        changed.append(row)
                    moved = {"done": done} if kr.kpi else {"current": current, "done": done}
                    if _apply(row, moved):
                        live.append(row)
                counters = [self.kpis[key].pk for key in kr.counter_kpis]
                plan.append((row, wanted, counters))
        # 20,000 new key results at the large organisation's size: inserted and historied
        # without bulk_create's per-value compilation (database.insert_objects).
        created = insert_objects(KeyResult, new)
        insert_history(KeyResult, created, reason=CHANGE_REASON)
        assert all(r.pk is not None for r in created)
        bulk_update_with_history(
            changed,
            KeyResult,
            [*_field_names(names), "version", "updated_at"],
            batch_size=BATCH,
            default_change_reason=CHANGE_REASON,
        )
        # Like a check-in: the value follows the history, not a new version of the card.
        KeyResult.objects.bulk_update(live, ["current", "done"], batch_size=BATCH)
        counts.created = len(new)
        self.tick("key results", len(plan), len(plan))

        # ---- counter-KPIs (guard rails), in the document's order
        gone: list[int] = []
        add: list[Any] = []
        counters_changed: set[int] = set()
        for kr_row, _wanted, counters in plan:
            links = stored_counters.get(kr_row.pk, [])
            if [kpi for _pk, kpi in links] == counters:
                continue
            # Replaced as a whole, so the stored order is the document's.
            gone.extend(pk for pk, _kpi in links)
            add.extend(through(keyresult_id=kr_row.pk, kpi_id=kpi) for kpi in counters)
            counters_changed.add(kr_row.pk)
        for chunk in _chunks(gone):
            through.objects.filter(pk__in=chunk).delete()
        through.objects.bulk_create(add, batch_size=BATCH)
        changed_ids = {r.pk for r in changed} | (counters_changed - {r.pk for r in new})
        counts.updated = len(changed_ids)
        counts.unchanged = len(plan) - counts.created - counts.updated

        # ---- check-ins, upserted by moment; new ones as plain rows (no model instances)
        create: list[tuple[Any, ...]] = []
        update: list[CheckIn] = []
        total = sum(len(wanted) for _row, wanted, _c in plan)
        created_at = timezone.now()
        for kr_row, wanted, _counters in plan:
            have = stored.get(kr_row.pk, {})
            for (at, ordinal), c in wanted.items():
                old = have.get((at, ordinal))
                if old is None:
                    create.append(
                        (kr_row.pk, at, ordinal, c.value, c.done, c.confidence, c.comment,
                         c.author_id, created_at)
                    )  # fmt: skip
                elif (
                    old.value,
                    old.done,
                    old.confidence,
                    old.comment,
                    old.author_id,
                ) != c.fields():
                    old.value, old.done, old.confidence = c.value, c.done, c.confidence
                    old.comment, old.author_id = c.comment, c.author_id
                    update.append(old)
        fields = ("key_result_id", "at", "ordinal", "value", "done", "confidence", "comment",
                  "author_id", "created_at")  # fmt: skip
        for n, rows in enumerate(_chunks(create, 50 * BATCH), start=1):
            insert_rows(CheckIn, fields, rows)
            self.tick("check-ins", min(n * 50 * BATCH, len(create)), total)
        CheckIn.objects.bulk_update(
            update, ["value", "done", "confidence", "comment", "author"], batch_size=BATCH
        )
        checkin_counts.created, checkin_counts.updated = len(create), len(update)
        checkin_counts.unchanged = total - len(create) - len(update)
        self.tick("check-ins", total, total)

    def write_measurements(self) -> None:
        """New and changed measurements: in one bulk insert for KPIs that hold none, through
        the ingestion the API uses for the others.

        A KPI without a stored measurement (new, or empty) has nothing to compare and no
        value to keep as a revision, so its series goes straight into the table
        (`kpis.bulk.insert_series`: `COPY` or one `executemany` for all such KPIs) and is
        evaluated once, from the document's series, by `refresh`; the end state is that of
        one push of the whole series (tests/test_import_bulk.py compares the two).

        For the other KPIs, stored values are read a few KPIs at a time to leave out what is
        unchanged; the rest is handed to ``ingest_measurements`` in batches of one source
        each (a push has one source), up to MEASUREMENT_CHUNK rows per batch.
        """
        from headway.kpis.models import Measurement

        counts = self.result.counts["measurements"]
        total = sum(len(k.measurements) for k in self.doc.kpis)
        order = [i for i, k in enumerate(self.doc.kpis) if k.measurements]
        self.series = self.empty_kpis(order)
        self.write_series(total)
        order = [i for i in order if self.kpis[self.doc.kpis[i].key].pk not in self.series]
        for chunk in _chunks(order, max(1, MEASUREMENT_CHUNK // 1000)):
            kpi_ids = [self.kpis[self.doc.kpis[i].key].pk for i in chunk]
            stored: dict[tuple[int, datetime], tuple[float, str, str]] = {}
            for ids in _chunks(kpi_ids):
                for kpi_id, at, value, note, source in Measurement.objects.filter(
                    kpi_id__in=ids
                ).values_list("kpi_id", "at", "value", "note", "source"):
                    stored[(kpi_id, at)] = (value, note, source)
            for i, pk in zip(chunk, kpi_ids, strict=True):
                kpi = self.doc.kpis[i]
                for j, m in enumerate(measurement_rows(kpi.measurements)):
                    at, value, note, source = m
                    if stored.get((pk, at)) == (value, note.strip(), source):
                        counts.unchanged += 1
                        self.measured += 1
                        continue
                    rows = self.pending[source]
                    rows.append(((kpi.key, m), ("kpis", i, "measurements", j)))
                    if len(rows) >= MEASUREMENT_CHUNK:
                        self.ingest(source)
            self.tick("measurements", self.measured, total)
        for source in sorted(self.pending):
            self.ingest(source)
        self.tick("measurements", total, total)

    def empty_kpis(self, order: Sequence[int]) -> dict[int, int]:
        """Document index by KPI id of the KPIs given measurements that hold none and may take
        them (a retired KPI refuses a push: the ingestion says so, with the lines)."""
        from django.db.models import Exists, OuterRef

        from headway.kpis.models import Kpi, Measurement

        candidates = {
            self.kpis[self.doc.kpis[i].key].pk: i
            for i in order
            if self.kpis[self.doc.kpis[i].key].retired_at is None
        }
        measured: set[int] = set()
        for ids in _chunks(sorted(candidates)):
            measured.update(
                Kpi.objects.filter(pk__in=ids)
                .filter(Exists(Measurement.objects.filter(kpi_id=OuterRef("pk"))))
                .values_list("pk", flat=True)
            )
        return {pk: i for pk, i in candidates.items() if pk not in measured}

    def write_series(self, total: int) -> None:
        """The measurements of KPIs that hold none, in one bulk insert (KPI by KPI, in time)."""
        from headway.kpis.bulk import insert_series
        from headway.kpis.models import Kpi

        if not self.series:
            return
        # Locked as a push locks them, so a push arriving meanwhile waits for the import.
        ids = sorted(self.series)
        for chunk in _chunks(ids):
            list(Kpi.objects.select_for_update().filter(pk__in=chunk).order_by("pk").values("pk"))
        counts = self.result.counts["measurements"]

        def rows() -> Iterator[tuple[int, datetime, float, str, str]]:
            for pk in ids:
                series = self.doc.kpis[self.series[pk]].measurements
                for at, value, note, source in sorted(
                    measurement_rows(series), key=lambda row: row[0]
                ):
                    yield pk, at, value, source, note.strip() if note else note
                self.measured += len(series)
                self.tick("measurements", self.measured, total)

        counts.created += insert_series(rows(), now=self.now)

    def ingest(self, source: str) -> None:
        from headway.kpis.actions import IngestError, MeasurementRow, ingest_measurements

        counts = self.result.counts["measurements"]
        batch = self.pending.pop(source, [])
        if not batch:
            return
        rows = [
            MeasurementRow(kpi=key, at=at, value=value, note=note, line=n)
            for n, ((key, (at, value, note, _source)), _path) in enumerate(batch, start=1)
        ]
        # A document may hold measurements dated after now (a plan, an example): the
        # ingestion's "not in the future" rule is for pushes, not for imports.
        latest = max(row.at for row in rows)
        try:
            result = ingest_measurements(
                rows=rows, by=None, source=source, now=max(self.now, latest)
            )
        except IngestError as exc:
            for line, message in exc.rows:
                path = batch[line - 1][1] if 0 < line <= len(batch) else ("kpis",)
                self.problem(path, message)
            raise DocumentError(
                [p for *_, p in sorted(self.problems, key=lambda x: x[:3])]
            ) from None
        counts.created += result.created
        counts.updated += result.replaced
        counts.unchanged += result.unchanged
        self.measured += len(rows)

    def refresh(self) -> None:
        """Re-evaluate every KPI the document names.

        Those whose series were written in bulk are evaluated at once, from the document's
        series (their whole history, read lazily, KPI by KPI), as one push of all of them
        would be, and told of as a push tells of them (possible gaming of the guard rails
        they feed). The others, already evaluated by their ingestion, 100 at a time.
        """
        from headway.kpis.actions import refresh_kpis
        from headway.notify import events as notify_events

        ids = {self.kpis[k.key].pk for k in self.doc.kpis}
        ids |= {self.kpis[kr.kpi].pk for _o, kr in self.doc.key_results() if kr.kpi}
        ids |= {self.kpis[key].pk for _o, kr in self.doc.key_results() for key in kr.counter_kpis}
        total = len(ids)
        if self.series:
            refresh_kpis(kpi_ids=sorted(self.series), at=self.now, histories=_Histories(self))
            notify_events.after_measurements(kpi_ids=self.series, by=None, at=self.now)
            self.tick("refreshing KPIs", len(self.series), total)
        ordered = sorted(ids - set(self.series))
        for n, chunk in enumerate(_chunks(ordered, 100), start=1):
            refresh_kpis(kpi_ids=chunk, at=self.now)
            self.tick("refreshing KPIs", len(self.series) + min(n * 100, len(ordered)), total)
        self.tick("refreshing KPIs", total, total)


class _Histories(Mapping[int, Sequence[Any]]):
    """The whole history of each KPI written in bulk, as points built when asked for (a
    million points at once would outweigh the document's columns)."""

    def __init__(self, importer: _Importer) -> None:
        self.importer = importer

    def __getitem__(self, kpi_id: int) -> list[Any]:
        from headway.kpis import health as core

        index = self.importer.series[kpi_id]
        series = self.importer.doc.kpis[index].measurements
        return [core.Point(at=at, value=value) for at, value in measurement_points(series)]

    def __contains__(self, kpi_id: object) -> bool:
        return kpi_id in self.importer.series  # without building its points

    def __iter__(self) -> Iterator[int]:
        return iter(self.importer.series)

    def __len__(self) -> int:
        return len(self.importer.series)


def import_document(
    doc: Document,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> ImportResult:
    """Upsert a loaded document into the database in one transaction; all or nothing.

    Raises DocumentError listing every problem found against the database (nothing is
    written then). With ``dry_run`` everything is done and then rolled back, so the counts
    are exactly what a real import would do. Progress is reported as (phase, done, total).
    """
    now = now or timezone.now()
    with transaction.atomic():
        importer = _Importer(doc, now, progress)
        importer.read()
        importer.check()
        importer.write()
        # Check-ins and key results were written in bulk: store the scores they give.
        from headway.okrs.stored import rescore_all

        rescore_all()
        importer.result.dry_run = dry_run
        if dry_run:
            transaction.set_rollback(True)
    if not dry_run and importer.result.changed >= BULK_ROWS:
        refresh_statistics()
    return importer.result
