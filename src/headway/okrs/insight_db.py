"""Insight across cycles on the database: load the history, call the pure core.

`okrs.insight` holds every method (docs/scoring.md, "Insight across cycles"); this module
reads what each needs in a fixed number of queries whatever the size of the organisation:

- `probability`: from points a page has already loaded (no query);
- `objective_forecasts`: one objective's key results (2-3 queries);
- `calibration`: confidences of closed cycles against what landed, for a person, a team
  or the organisation (1 aggregate query, cached under the closed cycles' state: 1-3);
- `team_history`: grades cycle over cycle (1 query) with the team's calibration (1);
- `kpi_moves`: "did it move the KPI?" for achieved KPI-linked key results (a query per
  cadence), cached under a key made of its inputs, so a new or corrected measurement is a
  new key.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.core.cache import cache
from django.db.models import Case, Count, Max, Q, Value, When
from django.db.models.fields import BooleanField
from django.utils import formats
from django.utils.translation import gettext, gettext_noop

from headway.kpis import health
from headway.kpis.queries import latest_of_periods
from headway.okrs import insight, scoring
from headway.okrs.models import CheckIn, Cycle, CycleState, KeyResult, Objective
from headway.okrs.tree import attach_key_results, core_cycle, load_points
from headway.teams.models import Person, Team

__all__ = [
    "CycleHistory",
    "KpiMoveRow",
    "calibration",
    "calibration_line",
    "kpi_moves",
    "objective_forecasts",
    "probability",
    "team_history",
]

# A key result "landed" when its grade (its score at closing) reached 1.0.
LANDED_FROM = 1.0 - scoring.TOLERANCE
NUMERIC = ("increase", "decrease", "above", "below")
MOVES_CACHE_SECONDS = 7 * 86_400
CALIBRATION_CACHE_SECONDS = 86_400


def probability(
    kr: KeyResult, cycle: Cycle, values: Iterable[tuple[datetime, float | None]], at: datetime
) -> insight.Probability | None:
    """The probabilistic forecast of a numeric key result from points already loaded."""
    if kr.kind not in NUMERIC:
        return None
    core = scoring.KeyResult(
        key=kr.key,
        kind=kr.kind,
        start=kr.start,
        target=kr.target,
        checkins=tuple(scoring.CheckIn(at=when, value=v) for when, v in values if v is not None),
    )
    return insight.kr_probability(core, core_cycle(cycle), at)


def objective_forecasts(objective: Objective, at: datetime) -> dict[str, insight.Probability]:
    """Key-result key → its probabilistic forecast at `at` (2-3 queries)."""
    grouped = attach_key_results([objective], KeyResult.objects.filter(objective=objective))
    key_results = grouped.get(objective.pk, [])
    points = load_points(key_results, objective_filter={"pk": objective.pk}, at=at)
    result = {}
    for kr in key_results:
        p = probability(kr, objective.cycle, ((c.at, c.value) for c in points.get(kr.pk, ())), at)
        if p is not None:
            result[kr.key] = p
    return result


def calibration(
    *, person: Person | None = None, team: Team | None = None, cycle: Cycle | None = None
) -> insight.Calibration:
    """Check-in confidences in closed cycles against whether the key result landed (1 query).

    `person`: the confidences that person gave; `team`: those on the team's key results;
    `cycle`: those of one closed cycle; none: the whole organisation's.

    Closed cycles hardly change (actions refuse to touch them; a close, a reopen or an
    import does), so the result is cached under what they are: which cycles are closed
    and when they closed, the newest check-in and the newest change of one of their key
    results (2-3 small queries). The count itself reads every check-in of every closed
    cycle: 35 ms for 150,000 of them, on every review and check-in form.
    """
    state = _closed_state()
    if state is None:
        return insight.calibration([])  # no cycle has closed: nothing to score yet
    scope = (person.pk if person else None, team.pk if team else None, cycle.pk if cycle else None)
    key = "calibration:" + hashlib.sha256(repr((scope, state)).encode()).hexdigest()
    found = cache.get(key)
    if found is not None:
        return found  # type: ignore[no-any-return]
    result = _calibration(person=person, team=team, cycle=cycle)
    cache.set(key, result, CALIBRATION_CACHE_SECONDS)
    return result


def _closed_state() -> tuple[object, ...] | None:
    """What the confidences of closed cycles depend on, or None when no cycle is closed."""
    closed = list(
        Cycle.objects.filter(state=CycleState.CLOSED).order_by("pk").values_list("pk", "closed_at")
    )
    if not closed:
        return None
    newest_checkin = CheckIn.objects.aggregate(newest=Max("pk"))["newest"]
    newest_change = KeyResult.objects.filter(objective__cycle__state=CycleState.CLOSED).aggregate(
        newest=Max("updated_at")
    )["newest"]
    return (tuple(closed), newest_checkin, newest_change)


def _calibration(
    *, person: Person | None, team: Team | None, cycle: Cycle | None
) -> insight.Calibration:
    rows = CheckIn.objects.filter(
        confidence__isnull=False,
        key_result__objective__cycle__state=CycleState.CLOSED,
        key_result__grade__isnull=False,
    )
    if person is not None:
        rows = rows.filter(author=person)
    if team is not None:
        rows = rows.filter(key_result__objective__team=team)
    if cycle is not None:
        rows = rows.filter(key_result__objective__cycle=cycle)
    counts = (
        rows.annotate(
            landed=Case(
                When(key_result__grade__gte=LANDED_FROM, then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            )
        )
        .order_by()
        .values_list("confidence", "landed")
        .annotate(n=Count("id"))
    )
    pairs: list[tuple[int, bool]] = []
    for confidence, landed, n in counts:
        pairs.extend([(int(confidence), bool(landed))] * n)
    return insight.calibration(pairs)


def calibration_line(result: insight.Calibration, confidence: int | None, who: str) -> str:
    """One sentence for a form: "Your 8s have landed 45% of the time (11 of 24)."."""
    mine = who == "your"  # the check-in form speaks to the person; other callers name whose
    if result.forecasts == 0:
        if mine:
            return gettext(
                "None of your confidences has been scored yet: no cycle with them has closed."
            )
        return f"None of {who} confidences has been scored yet: no cycle with them has closed."
    row = result.row(confidence) if confidence is not None else None
    if row is None:
        row = max(result.rows, key=lambda r: r.forecasts)
    assert result.brier is not None
    numbers = {
        "confidence": row.confidence,
        "rate": f"{row.rate:.0%}",
        "landed": row.landed,
        "forecasts": row.forecasts,
        "brier": formats.number_format(result.brier, 2),
        "confidences": result.forecasts,
    }
    if mine:
        line = (
            gettext(
                "Your %(confidence)ss have landed %(rate)s of the time (%(landed)s of "
                "%(forecasts)s); Brier score %(brier)s over %(confidences)s confidences."
            )
            % numbers
        )
    else:
        line = (
            f"{who.capitalize()} {row.confidence}s have landed {numbers['rate']} of the time "
            f"({row.landed} of {row.forecasts}); Brier score {numbers['brier']} over "
            f"{result.forecasts} confidences."
        )
    if result.overconfident:
        line += " " + gettext("Over-confident: fewer key results land than the confidences say.")
    return line


@dataclass(frozen=True, slots=True)
class CycleHistory:
    """One closed cycle of a team: its grades and what became of them."""

    cycle: Cycle
    grades: tuple[float, ...]
    bands: dict[str, int]
    committed: tuple[float, ...]
    aspirational: tuple[float, ...]
    unfinished: int
    carried_over: int

    @property
    def mean(self) -> float | None:
        return sum(self.grades) / len(self.grades) if self.grades else None

    @property
    def committed_mean(self) -> float | None:
        return sum(self.committed) / len(self.committed) if self.committed else None

    @property
    def aspirational_mean(self) -> float | None:
        return sum(self.aspirational) / len(self.aspirational) if self.aspirational else None

    @property
    def carried_over_rate(self) -> float | None:
        return self.carried_over / self.unfinished if self.unfinished else None

    def as_dict(self) -> dict[str, object]:
        return {
            "cycle": self.cycle.key,
            "start": self.cycle.start.isoformat(),
            "end": self.cycle.end.isoformat(),
            "objectives": len(self.grades),
            "mean": self.mean,
            "bands": self.bands,
            "committed": {"objectives": len(self.committed), "mean": self.committed_mean},
            "aspirational": {"objectives": len(self.aspirational), "mean": self.aspirational_mean},
            "unfinished": self.unfinished,
            "carried_over": self.carried_over,
            "carried_over_rate": self.carried_over_rate,
        }


def team_history(team: Team, visible: Q | None = None) -> list[CycleHistory]:
    """The team's closed cycles, oldest first, with grades, bands and carry-overs (2 queries).

    An objective is carried over when it was graded below 1.0 and the team has an objective
    of the same title in a cycle that starts later (what "carry over" creates). `visible`
    restricts the objectives to those the reader may see.
    """
    rows = list(
        Objective.objects.filter(visible or Q(), team=team)
        .order_by("cycle__start", "key")
        .values_list("cycle_id", "cycle__start", "cycle__state", "title", "type", "grade")
    )
    later_titles: dict[str, list[date]] = defaultdict(list)
    for _cycle, start, _state, title, _type, _grade in rows:
        later_titles[title.strip().casefold()].append(start)
    closed_ids = {c for c, _s, state, *_ in rows if state == CycleState.CLOSED}
    cycles = {c.pk: c for c in Cycle.objects.filter(pk__in=closed_ids)}
    by_cycle: dict[int, list[tuple[str, str, float]]] = defaultdict(list)
    carried: Counter[int] = Counter()
    for cycle_id, start, state, title, type_, grade in rows:
        if state != CycleState.CLOSED or grade is None:
            continue
        by_cycle[cycle_id].append((title, type_, grade))
        if grade < LANDED_FROM and any(s > start for s in later_titles[title.strip().casefold()]):
            carried[cycle_id] += 1
    history = []
    for cycle_id, items in by_cycle.items():
        grades = tuple(g for _t, _k, g in items)
        bands = Counter(scoring.grade_band(g) for g in grades)
        history.append(
            CycleHistory(
                cycle=cycles[cycle_id],
                grades=grades,
                bands={band: bands.get(band, 0) for band in scoring.GRADE_BANDS},
                committed=tuple(g for _t, k, g in items if k == "committed"),
                aspirational=tuple(g for _t, k, g in items if k == "aspirational"),
                unfinished=sum(1 for g in grades if g < LANDED_FROM),
                carried_over=carried[cycle_id],
            )
        )
    return sorted(history, key=lambda h: h.cycle.start)


@dataclass(frozen=True, slots=True)
class KpiMoveRow:
    """The verdict of "did it move the KPI?" for one achieved, KPI-linked key result."""

    key_result: KeyResult
    move: insight.KpiMove
    achieved: bool = True
    periods_before: int = 0
    periods_after: int = 0
    label: str = field(default="")

    def as_dict(self) -> dict[str, object]:
        return {
            "objective": self.key_result.objective.key,
            "key_result": self.key_result.key,
            "kpi": self.key_result.kpi.key if self.key_result.kpi else None,
            "achieved": self.achieved,
            "verdict": self.move.verdict,
            "label": self.label,
            "p_value": self.move.p_value,
            "level_change": self.move.level_change,
            "slope_change": self.move.slope_change,
            "periods_before": self.periods_before,
            "periods_after": self.periods_after,
            "reason": self.move.reason,
        }


LABELS = {
    "moved": gettext_noop("moved the KPI"),
    "already_heading": gettext_noop("the KPI was already heading there"),
    "not_enough_data": gettext_noop("not enough data"),
}
# A key result that fell short, on a KPI that kept its course: "heading there" would mislead.
SHORT_LABEL = gettext_noop("no change in the KPI's course")


def _achieved(cycle: Cycle, kr: KeyResult) -> bool:
    graded = kr.grade if cycle.is_closed and kr.grade is not None else kr.score
    return graded >= LANDED_FROM


def kpi_moves(cycle: Cycle, key_results: Sequence[KeyResult]) -> dict[int, KpiMoveRow]:
    """Key result id → "did it move the KPI?" for the KPI-linked ones (a query per cadence).

    The KPI's review periods (its cadence; weekly without one) over its trend window before
    the cycle's start and up to the cycle's end are tested for a change at the start. The
    question is about achieved key results; one that fell short is answered too (a KPI it
    moved is worth knowing), with `achieved` false.
    """
    linked = [kr for kr in key_results if kr.kpi_id is not None]
    if not linked:
        return {}
    window = core_cycle(cycle)
    cadences: dict[int, str] = {
        kr.kpi.pk: (kr.kpi.cadence if kr.kpi.cadence in health.CADENCES else "weekly")
        for kr in linked
        if kr.kpi is not None
    }
    # Only the trend window before the start is tested: a year of weeks, two years of
    # months, three of quarters, each KPI its own; the database keeps each period's latest.
    series = latest_of_periods(
        {
            kpi_id: (
                cadence,
                window.starts_at
                - timedelta(days=health.CADENCE_DAYS[cadence] * (health.TREND_WINDOW[cadence] + 1)),
            )
            for kpi_id, cadence in cadences.items()
        },
        window.ends_at,
    )
    result = {}
    for kr in linked:
        kpi_id = kr.kpi_id or 0
        cadence = cadences.get(kpi_id, "weekly")
        periods = health.review_periods(series.get(kpi_id, []), cadence, window.ends_at)
        before = [p for p in periods if p.at < window.starts_at][-health.TREND_WINDOW[cadence] :]
        after = [p for p in periods if p.at >= window.starts_at]
        values = [p.value for p in before + after]
        move = _cached_move(values, len(before), _intended(kr))
        achieved = _achieved(cycle, kr)
        label = gettext(LABELS[move.verdict])
        if move.verdict == "already_heading" and not achieved:
            label = gettext(SHORT_LABEL)
        result[kr.pk] = KpiMoveRow(kr, move, achieved, len(before), len(after), label)
    return result


def _intended(kr: KeyResult) -> bool | None:
    """Which way the key result wants its KPI to go: up, down, or None when it has no target."""
    if kr.kind not in NUMERIC or kr.target is None:
        return None
    return insight.reaches_upwards(kr.kind, kr.start, kr.target)


def _cached_move(values: list[float], first_after: int, upwards: bool | None) -> insight.KpiMove:
    """`moved_the_kpi`, cached under a digest of its inputs (any new value is a new key)."""
    digest = hashlib.sha256(repr((first_after, values, upwards)).encode()).hexdigest()[:32]
    # The method's version is in the key: a changed test never serves an old verdict.
    key = f"headway:kpi-move:v4:{digest}"
    found = cache.get(key)
    if isinstance(found, insight.KpiMove):
        return found
    move = insight.moved_the_kpi(values, first_after, upwards=upwards)
    cache.set(key, move, MOVES_CACHE_SECONDS)
    return move
