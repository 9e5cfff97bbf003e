"""The PDF review pack of a cycle or a team: what a quarterly review puts on the wall.

Grades and their distribution, team grades, each objective with its reflection and its
key results' charts (values over the cycle against the expected pace and the target),
the KPIs with their series against target and thresholds, and the coach's findings, on
A4 landscape pages that print and project alike, with the organisation's name and the
date on every page. Charts are SVG drawn on the server (`reports.charts`); WeasyPrint
(with Debian's Pango) lays the HTML out as PDF: no browser involved.

What the pack shows follows what the person may see (private objectives only for those
who may see them), like every export.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone

from headway.coach.db import findings_for_objectives, findings_for_team
from headway.coach.rules import Finding
from headway.kpis.models import Kpi, Measurement
from headway.okrs import scoring
from headway.okrs.models import Cycle, Objective
from headway.okrs.stored import display_moment, scored_at, stored_tree
from headway.okrs.tree import core_cycle, load_points
from headway.reports import charts
from headway.reports.tables import visible_objectives
from headway.teams.access import Access
from headway.teams.models import Team, TeamKind, team_subtree

__all__ = ["MAX_KPIS", "MAX_OBJECTIVES", "pack_context", "render_pack_html", "render_pack_pdf"]

#: Objectives shown one by one with their charts (the rest are counted, and in the XLSX):
#: about fifteen pages, what a review meeting can go through, laid out in seconds.
MAX_OBJECTIVES = 40
#: KPIs charted (the scope's key-tier KPIs, the unhealthy ones first).
MAX_KPIS = 24
TEAM_ROWS = 40
KIND_ORDER: dict[str, int] = {TeamKind.COMPANY: 0, TeamKind.DEPARTMENT: 1, TeamKind.TEAM: 2}
HEALTH_ORDER = {"critical": 0, "warning": 1, "stale": 2, "healthy": 3, "no_data": 4}


def amount(value: float | None, unit: str) -> str:
    """``96%`` but ``4.38 EUR``: a unit that starts with a letter or digit gets a space."""
    if value is None:
        return "—"
    gap = " " if unit[:1].isalnum() else ""
    return f"{value:.6g}{gap}{unit}"


@dataclass
class PackKeyResult:
    title: str
    kind: str
    unit: str
    start: float | None
    target: float | None
    current: float | None
    score: float
    band: str
    status: str
    chart: str

    @property
    def status_label(self) -> str:
        return self.status.replace("_", " ")

    @property
    def now_text(self) -> str:
        return amount(self.current, self.unit)

    @property
    def target_text(self) -> str:
        return amount(self.target, self.unit)


@dataclass
class PackObjective:
    key: str
    title: str
    team: str
    type: str
    owner: str
    grade: float
    band: str
    reflection: str
    needs_reflection: bool
    key_results: list[PackKeyResult] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


@dataclass
class PackKpi:
    name: str
    team: str
    unit: str
    latest: float | None
    target: float | None
    health: str
    trend: str
    chart: str

    @property
    def health_label(self) -> str:
        return self.health.replace("_", " ")

    @property
    def latest_text(self) -> str:
        return amount(self.latest, self.unit)

    @property
    def target_text(self) -> str:
        return amount(self.target, self.unit)


def _organisation() -> str:
    root = Team.objects.filter(parent__isnull=True).order_by("id").values_list("name", flat=True)
    return root.first() or "Headway"


def _graded(cycle: Cycle, score: float, grade: float | None) -> float:
    return grade if cycle.is_closed and grade is not None else score


def _bins(grades: list[float]) -> tuple[list[int], list[str]]:
    counts = [0] * 11
    for grade in grades:
        counts[10 if grade >= 1.0 else max(0, min(9, int(grade * 10 + 1e-9)))] += 1
    bands = [scoring.grade_band(i / 10) for i in range(11)]
    return counts, bands


def pack_context(
    cycle: Cycle, access: Access, team: Team | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Everything the pack's template shows, in a fixed number of queries."""
    now = now or timezone.now()
    visible = visible_objectives(cycle, access, team)
    teams = {t.pk: t for t in Team.objects.all()}
    summary = list(visible.values_list("pk", "team_id", "score", "grade", "type", "reflection"))
    grades = [_graded(cycle, score, grade) for _pk, _t, score, grade, _ty, _r in summary]
    counts, bin_bands = _bins(grades)
    bands = {"red": 0, "yellow": 0, "green": 0}
    for grade in grades:
        bands[scoring.grade_band(grade)] += 1
    by_team: dict[int, list[float]] = defaultdict(list)
    for (_pk, team_id, *_rest), grade in zip(summary, grades, strict=True):
        by_team[team_id].append(grade)
    team_rows = sorted(
        (
            {
                "team": teams[team_id].name,
                "kind": teams[team_id].kind,
                "grade": sum(values) / len(values),
                "band": scoring.grade_band(sum(values) / len(values)),
                "objectives": len(values),
            }
            for team_id, values in by_team.items()
        ),
        key=lambda r: (KIND_ORDER.get(str(r["kind"]), 3), str(r["team"])),
    )
    missing = sum(
        1
        for (_pk, _t, _s, _g, kind, reflection), grade in zip(summary, grades, strict=True)
        if kind == "committed" and grade < 1.0 and not reflection.strip()
    )

    # ---- the objectives shown one by one: company first, then departments, then teams
    ordered = sorted(
        visible.values_list("pk", "team__kind", "team__name", "key"),
        key=lambda r: (KIND_ORDER.get(r[1], 3), r[2], r[3]),
    )
    shown_ids = [pk for pk, *_ in ordered[:MAX_OBJECTIVES]]
    tree = stored_tree(
        cycle, objectives=Objective.objects.filter(pk__in=shown_ids), at=display_moment(cycle)
    )
    key_results = [kr for o in tree.objectives for kr in tree.key_results_of(o)]
    for kr in key_results:
        kr.objective.cycle = cycle
    points = load_points(key_results, objective_filter={"pk__in": shown_ids}, at=scored_at(cycle))
    window = core_cycle(cycle)
    coach = findings_for_objectives(Objective.objects.filter(pk__in=shown_ids))
    position = {pk: i for i, pk in enumerate(shown_ids)}
    objectives: list[PackObjective] = []
    for o in sorted(tree.objectives, key=lambda o: position[o.pk]):
        grade = _graded(cycle, o.score, o.grade)
        pack_krs = []
        for kr in tree.key_results_of(o):
            result = tree.key_result_result(kr)
            series = [(p.at, p.value) for p in points.get(kr.pk, []) if p.value is not None]
            kr_grade = kr.grade if cycle.is_closed and kr.grade is not None else result.score
            pace = (
                (kr.start, kr.target)
                if kr.kind in ("increase", "decrease")
                and kr.start is not None
                and kr.target is not None
                else None
            )
            lines = [charts.Line(kr.target, "target")] if kr.target is not None else []
            pack_krs.append(
                PackKeyResult(
                    title=kr.title,
                    kind=kr.kind,
                    unit=kr.unit,
                    start=kr.start,
                    target=kr.target,
                    current=result.current,
                    score=kr_grade,
                    band=scoring.grade_band(kr_grade),
                    status=result.status,
                    chart=charts.series_svg(
                        series,
                        start=window.starts_at,
                        end=window.ends_at,
                        lines=lines,
                        pace=pace,
                        width=300,
                        height=110,
                        title=kr.title,
                    )
                    if kr.kind not in ("milestone", "objectives")
                    else "",
                )
            )
        objectives.append(
            PackObjective(
                key=o.key,
                title=o.title,
                team=o.team.name,
                type=o.type,
                owner=(o.owner.name or o.owner.email) if o.owner else "",
                grade=grade,
                band=scoring.grade_band(grade),
                reflection=o.reflection,
                needs_reflection=o.type == "committed" and grade < 1.0 and not o.reflection,
                key_results=pack_krs,
                findings=coach.get(o.key, []),
            )
        )

    # ---- KPIs of the scope
    kpis_query = Kpi.objects.select_related("team").filter(tier="key")
    if team is not None:
        kpis_query = kpis_query.filter(
            team_id__in=team_subtree(list(teams.values()), team.key) or set()
        )
    chosen = sorted(kpis_query, key=lambda k: (HEALTH_ORDER.get(k.health, 5), k.team.name, k.name))
    chosen = chosen[:MAX_KPIS]
    series_by_kpi: dict[int, list[tuple[datetime, float]]] = defaultdict(list)
    low, high = window.starts_at, window.ends_at
    for kpi_id, at, value in (
        Measurement.objects.filter(kpi__in=chosen, at__gte=low, at__lt=high)
        .order_by("kpi_id", "at")
        .values_list("kpi_id", "at", "value")
    ):
        series_by_kpi[kpi_id].append((at, value))
    kpis = []
    for kpi in chosen:
        lines = [
            charts.Line(v, label, colour)
            for v, label, colour in (
                (kpi.target, "target", charts.INK),
                (kpi.warning, "warning", charts.BAND_COLOURS["yellow"]),
                (kpi.critical, "critical", charts.BAND_COLOURS["red"]),
            )
            if v is not None
        ]
        kpis.append(
            PackKpi(
                name=kpi.name,
                team=kpi.team.name,
                unit=kpi.unit,
                latest=kpi.latest_value,
                target=kpi.target,
                health=kpi.health,
                trend=kpi.trend,
                chart=charts.series_svg(
                    series_by_kpi.get(kpi.pk, []),
                    start=low,
                    end=high,
                    lines=lines,
                    width=300,
                    height=120,
                    title=kpi.name,
                ),
            )
        )
    findings = [f for o in objectives for f in o.findings]
    if team is not None:
        findings = findings_for_team(team) + findings
    local = timezone.localtime(now)
    return {
        "organisation": _organisation(),
        "cycle": cycle,
        "team": team,
        "generated": local,
        "graded": len(grades),
        "mean": sum(grades) / len(grades) if grades else None,
        "bands": bands,
        "histogram": charts.histogram_svg(counts, bin_bands),
        "team_rows": team_rows[:TEAM_ROWS],
        "more_teams": max(0, len(team_rows) - TEAM_ROWS),
        "missing": missing,
        "objectives": objectives,
        "more_objectives": max(0, len(ordered) - len(shown_ids)),
        "kpis": kpis,
        "findings": findings,
        "expected": scoring.expected_progress(window, display_moment(cycle)),
        "band_colours": charts.BAND_COLOURS,
    }


def render_pack_html(context: dict[str, Any]) -> str:
    return render_to_string("reports/pack.html", context)


def render_pack_pdf(
    cycle: Cycle, access: Access, team: Team | None = None, now: datetime | None = None
) -> bytes:
    """The review pack as PDF bytes."""
    from weasyprint import HTML

    html = render_pack_html(pack_context(cycle, access, team, now))
    pdf = HTML(string=html, base_url=None).write_pdf()
    assert pdf is not None
    return bytes(pdf)
