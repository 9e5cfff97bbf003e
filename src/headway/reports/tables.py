"""The exports people use, as tables: the tree, the review, a team, the KPI board, a series.

Each function reads plain rows (``values()``, a fixed number of queries whatever the
size, streamed in chunks where they can be many) and returns a :class:`Table` whose rows
are produced lazily, so the CSV and XLSX writers (`reports.writers`) stream them. Every
table respects what the person may see (`teams.access.Access.objective_condition`):
private objectives appear only for those who may see them; KPIs and scores are visible to
everyone signed in (PRODUCT.md section 6).

Column headers are those `headway import` recognises (`document.spreadsheet.FIELDS`), so
an exported tree reads back as a spreadsheet of OKRs and a series as one of KPIs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from headway.kpis.models import Kpi, Measurement
from headway.okrs import scoring
from headway.okrs.models import Cycle, KeyResult, Objective
from headway.okrs.stored import display_moment
from headway.okrs.tree import core_cycle
from headway.teams.access import Access
from headway.teams.models import Team, team_subtree

__all__ = [
    "Column",
    "Table",
    "everyone",
    "kpi_board_table",
    "kpi_series_table",
    "review_table",
    "team_tables",
    "tree_table",
    "visible_objectives",
]

ColumnKind = Literal["text", "number", "score", "date", "moment", "count"]
#: Rows read per query when a table can be large.
CHUNK = 2000


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    kind: ColumnKind = "text"
    width: int = 14


@dataclass
class Table:
    """A titled table whose rows come lazily; ``count`` says how many (for progress bars)."""

    title: str
    columns: list[Column]
    rows: Callable[[], Iterator[list[Any]]]
    count: int
    #: A short name for files and sheets ("tree-2027-Q1").
    slug: str = "export"
    notes: list[str] = field(default_factory=list)


def _c(header: str, kind: ColumnKind = "text", width: int = 14) -> Column:
    return Column(header, kind, width)


# --------------------------------------------------------------------------- the tree

TREE_COLUMNS = [
    _c("cycle", width=10), _c("team", width=22), _c("team key", width=16),
    _c("objective key", width=22), _c("objective", width=44), _c("objective owner", width=24),
    _c("objective type", width=12), _c("visibility", width=10),
    _c("objective score", "score", 10), _c("objective status", width=12),
    _c("objective grade", "score", 10), _c("key result key", width=20),
    _c("key result", width=44), _c("kind", width=10), _c("start", "number", 10),
    _c("target", "number", 10), _c("current", "number", 10), _c("unit", width=8),
    _c("owner", width=24), _c("due", "date", 11), _c("weight", "number", 8),
    _c("score", "score", 8), _c("status", width=11), _c("forecast", "score", 9),
    _c("confidence", "count", 10), _c("as of", "moment", 17),
]  # fmt: skip

OBJECTIVE_FIELDS = (
    "id", "key", "title", "team__key", "team__name", "owner__email", "type", "visibility",
    "score", "forecast", "has_data", "grade",
)  # fmt: skip
KEY_RESULT_FIELDS = (
    "objective_id", "key", "title", "kind", "start", "target", "scored_value", "unit",
    "owner__email", "due", "weight", "score", "forecast", "has_data", "confidence",
    "last_checkin_at", "grade",
)  # fmt: skip


def _visible(cycle: Cycle, access: Access, team: Team | None) -> Any:
    objectives = Objective.objects.filter(access.objective_condition(), cycle=cycle)
    if team is not None:
        teams = list(Team.objects.all())
        objectives = objectives.filter(team_id__in=team_subtree(teams, team.key) or set())
    return objectives


def _status(score: float, expected: float, has_data: bool) -> str:
    return scoring.status_for(score, expected, has_data)


def tree_table(cycle: Cycle, access: Access, team: Team | None = None) -> Table:
    """One row per key result (an objective without any has one row of its own).

    Objectives come by team name, then key; key results by position. Scores are the
    stored ones (a closed cycle's as at its closing), statuses judged at the page's moment.
    """
    objectives = _visible(cycle, access, team)
    # One row per key result, and one for each objective without any.
    count = (
        KeyResult.objects.filter(objective__in=objectives.values("pk")).count()
        + objectives.filter(key_results__isnull=True).count()
    )
    expected = scoring.expected_progress(core_cycle(cycle), display_moment(cycle))

    def rows() -> Iterator[list[Any]]:
        ids = list(objectives.order_by("team__name", "key").values_list("id", flat=True))
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            found = {
                o["id"]: o for o in Objective.objects.filter(pk__in=chunk).values(*OBJECTIVE_FIELDS)
            }
            krs: dict[int, list[dict[str, Any]]] = defaultdict(list)
            for kr in (
                KeyResult.objects.filter(objective_id__in=chunk)
                .order_by("objective_id", "position", "id")
                .values(*KEY_RESULT_FIELDS)
            ):
                krs[kr["objective_id"]].append(kr)
            for pk in chunk:
                o = found[pk]
                head = [
                    cycle.key, o["team__name"], o["team__key"], o["key"], o["title"],
                    o["owner__email"] or "", o["type"], o["visibility"], o["score"],
                    _status(o["score"], expected, o["has_data"]), o["grade"],
                ]  # fmt: skip
                if not krs.get(pk):
                    yield head + [None] * (len(TREE_COLUMNS) - len(head))
                for kr in krs.get(pk, []):
                    yield [
                        *head, kr["key"], kr["title"], kr["kind"], kr["start"], kr["target"],
                        # The value the stored score came from, once there is one.
                        kr["scored_value"] if kr["has_data"] else None,
                        kr["unit"], kr["owner__email"] or "", kr["due"],
                        kr["weight"], kr["score"],
                        _status(kr["score"], expected, kr["has_data"]), kr["forecast"],
                        kr["confidence"], kr["last_checkin_at"],
                    ]  # fmt: skip

    scope = f" — {team.name} and below" if team is not None else ""
    return Table(
        title=f"{cycle} objectives and key results{scope}",
        columns=TREE_COLUMNS,
        rows=rows,
        count=count,
        slug=f"tree-{cycle.key}" + (f"-{team.key}" if team is not None else ""),
    )


# --------------------------------------------------------------------------- the review

REVIEW_COLUMNS = [
    _c("cycle", width=10), _c("team", width=22), _c("team key", width=16),
    _c("objective key", width=22), _c("objective", width=44), _c("objective type", width=12),
    _c("objective owner", width=24), _c("grade", "score", 8), _c("band", width=8),
    _c("key results", "count", 10), _c("needs reflection", width=10),
    _c("reflection", width=60),
]  # fmt: skip


def _graded(cycle: Cycle, score: float, grade: float | None) -> float:
    return grade if cycle.is_closed and grade is not None else score


def review_table(cycle: Cycle, access: Access, team: Team | None = None) -> Table:
    """Per objective: the grade (the score while the cycle is open), band and reflection."""
    objectives = _visible(cycle, access, team)
    count = objectives.count()

    def rows() -> Iterator[list[Any]]:
        query = objectives.order_by("team__name", "key").values(
            "id", "key", "title", "team__name", "team__key", "type", "owner__email", "score",
            "grade", "reflection",
        )  # fmt: skip
        counts: dict[int, int] = defaultdict(int)
        for objective_id in KeyResult.objects.filter(
            objective__in=objectives.values("pk")
        ).values_list("objective_id", flat=True):
            counts[objective_id] += 1
        for o in query.iterator(chunk_size=CHUNK):
            grade = _graded(cycle, o["score"], o["grade"])
            missing = o["type"] == "committed" and grade < 1.0 and not o["reflection"].strip()
            yield [
                cycle.key, o["team__name"], o["team__key"], o["key"], o["title"], o["type"],
                o["owner__email"] or "", grade, scoring.grade_band(grade), counts[o["id"]],
                "yes" if missing else "", o["reflection"],
            ]  # fmt: skip

    scope = f" — {team.name} and below" if team is not None else ""
    return Table(
        title=f"{cycle} review{scope}",
        columns=REVIEW_COLUMNS,
        rows=rows,
        count=count,
        slug=f"review-{cycle.key}" + (f"-{team.key}" if team is not None else ""),
    )


# --------------------------------------------------------------------------- KPIs

KPI_COLUMNS = [
    _c("kpi key", width=22), _c("kpi", width=34), _c("team", width=22), _c("team key", width=16),
    _c("owner", width=24), _c("tier", width=10), _c("unit", width=8), _c("direction", width=9),
    _c("target", "number", 10), _c("warning", "number", 10), _c("critical", "number", 10),
    _c("benchmark", "number", 10), _c("cadence", width=10), _c("latest", "number", 10),
    _c("latest at", "moment", 17), _c("health", width=10), _c("trend", width=13),
    _c("to target", "number", 10),
]  # fmt: skip


def _to_target(direction: str, latest: float | None, target: float | None) -> float | None:
    """How far the latest value is from the target, positive on the good side."""
    if latest is None or target is None:
        return None
    gap = latest - target if direction == "up" else target - latest
    return round(gap, 9)  # 96.2 - 98 is -1.8, not -1.7999999999999972


def kpi_board_table(team: Team | None = None, *, tier: str = "", health: str = "") -> Table:
    """Every KPI card (of a team and those below it), with its latest value and health."""
    kpis = Kpi.objects.all()
    if team is not None:
        kpis = kpis.filter(team_id__in=team_subtree(list(Team.objects.all()), team.key) or set())
    if tier:
        kpis = kpis.filter(tier=tier)
    if health:
        kpis = kpis.filter(health=health)
    count = kpis.count()

    def rows() -> Iterator[list[Any]]:
        for k in (
            kpis.order_by("team__name", "name", "id")
            .values(
                "key", "name", "team__name", "team__key", "owner__email", "tier", "unit",
                "direction", "target", "warning", "critical", "benchmark", "cadence",
                "latest_value", "latest_at", "health", "trend",
            )
            .iterator(chunk_size=CHUNK)
        ):  # fmt: skip
            yield [
                k["key"], k["name"], k["team__name"], k["team__key"], k["owner__email"] or "",
                k["tier"], k["unit"], k["direction"], k["target"], k["warning"], k["critical"],
                k["benchmark"], k["cadence"], k["latest_value"], k["latest_at"], k["health"],
                k["trend"], _to_target(k["direction"], k["latest_value"], k["target"]),
            ]  # fmt: skip

    return Table(
        title="KPI board" + (f" — {team.name} and below" if team is not None else ""),
        columns=KPI_COLUMNS,
        rows=rows,
        count=count,
        slug="kpis" + (f"-{team.key}" if team is not None else ""),
    )


SERIES_COLUMNS = [
    _c("kpi", width=22), _c("date", "moment", 17), _c("value", "number", 12),
    _c("unit", width=8), _c("source", width=16), _c("note", width=40),
]  # fmt: skip


def kpi_series_table(kpi: Kpi, *, since: datetime | None = None) -> Table:
    """A KPI's measurements, oldest first (reads back as a spreadsheet of KPIs)."""
    measurements = Measurement.objects.filter(kpi=kpi)
    if since is not None:
        measurements = measurements.filter(at__gte=since)
    count = measurements.count()

    def rows() -> Iterator[list[Any]]:
        for at, value, source, note in (
            measurements.order_by("at")
            .values_list("at", "value", "source", "note")
            .iterator(chunk_size=CHUNK)
        ):
            yield [kpi.key, at, value, kpi.unit, source, note]

    return Table(
        title=f"{kpi.name}: measurements",
        columns=SERIES_COLUMNS,
        rows=rows,
        count=count,
        slug=f"kpi-{kpi.key}",
    )


def team_tables(team: Team, cycle: Cycle, access: Access) -> list[Table]:
    """A team's page as tables: its OKRs in the cycle (and below it), then its KPIs."""
    okrs = tree_table(cycle, access, team)
    okrs.slug = f"team-{team.key}-{cycle.key}"
    kpis = kpi_board_table(team)
    return [okrs, kpis]


def visible_objectives(cycle: Cycle, access: Access, team: Team | None = None) -> Any:
    """The objectives of a cycle the person may see (of a team and below): a queryset."""
    return _visible(cycle, access, team)


def everyone() -> Access:
    """The access of the command line's operator: everything, private objectives included."""
    return Access(person_id=None, is_superuser=True)
