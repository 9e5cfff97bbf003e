"""Run the coach on the database: gather the facts in a constant number of queries.

`findings` judges the whole organisation; the `findings_for_*` functions judge one
objective, KPI, team or cycle by loading only what its rules look at, so a page can show
the coach beside the thing it concerns without loading everything. Each returns exactly
the findings `findings()` has for that thing (the tests check it on the demo).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from django.conf import settings
from django.db.models import Count, Exists, IntegerField, Min, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from headway.coach.rules import (
    CycleFacts,
    Finding,
    KeyResultFacts,
    KpiFacts,
    ObjectiveFacts,
    Organisation,
    TeamFacts,
    run,
)
from headway.initiatives.models import Initiative
from headway.kpis.models import Kpi, Measurement
from headway.okrs import insight
from headway.okrs.models import CheckIn, CheckInQuerySet, Cycle, CycleState, KeyResult, Objective
from headway.teams.models import Team

# The rules that judge a draft while it is typed: those about its own fields. Counting
# rules (how many key results, objectives, KPIs) wait until it is saved.
DRAFT_OBJECTIVE_RULES = (
    "objective-is-metric",
    "objective-vague",
    "language-unsupported",
    "orphan-objective",
)
DRAFT_KEY_RESULT_RULES = (
    "kr-is-task",
    "kr-not-measurable",
    "language-unsupported",
    "kr-no-deadline",
)
# The rules of a cycle's review: how the objectives were graded and reflected on.
REVIEW_RULES = ("sandbagging", "committed-missed")
# The one rule that reads check-ins (those dated before their cycle).
CHECKIN_RULE = "checkin-before-cycle"
# The one rule that reads KPI measurements (the linked KPI's trend before the cycle).
BAU_RULE = "target-business-as-usual"
DRAFT_KEY = "draft"


KEY_RESULT_COLUMNS = (
    "id", "objective_id", "key", "title", "kind", "start", "target", "due", "kpi__key", "grade",
    "kpi_id", "kpi__cadence", "objective__cycle__start", "objective__cycle__state",
    "score", "last_checkin_at", "objective__team__checkin_cadence_days", "work_total",
    "work_done",
)  # fmt: skip


def _with_work(key_results: QuerySet[KeyResult]) -> QuerySet[KeyResult]:
    """Annotate the initiatives not dropped and those done (`work-without-outcome`), in the
    same query."""

    def counted(**condition: Any) -> Any:
        rows = (
            Initiative.objects.filter(key_result=OuterRef("pk"), **condition)
            .exclude(status="dropped")
            .order_by()
            .values("key_result")
            .annotate(n=Count("id"))
            .values("n")
        )
        return Coalesce(Subquery(rows, output_field=IntegerField()), 0)

    return key_results.annotate(work_total=counted(), work_done=counted(status="done"))


# The longest trend window (three years of quarters) bounds the history that is read.
HISTORY_DAYS = 3 * 366


def _kpi_histories(
    rows: Sequence[tuple[Any, ...]],
) -> dict[int, tuple[tuple[datetime, float], ...]]:
    """Key result id → its KPI's review periods before its cycle (`target-business-as-usual`).

    Only key results of cycles that are not closed, with a target and a KPI, are looked at;
    one query for all of them, none when there is none.
    """
    wanted = [
        row for row in rows if row[10] is not None and row[6] is not None
        and row[13] != CycleState.CLOSED
    ]  # fmt: skip
    if not wanted:
        return {}
    starts = [row[12] for row in wanted]
    since = datetime.combine(min(starts) - timedelta(days=HISTORY_DAYS), time(), tzinfo=UTC)
    until = datetime.combine(max(starts), time(), tzinfo=UTC)
    series: dict[int, list[tuple[datetime, float]]] = defaultdict(list)
    for kpi_id, at, value in (
        Measurement.objects.filter(
            kpi_id__in={row[10] for row in wanted}, at__gte=since, at__lt=until
        )
        .order_by("kpi_id", "at", "id")
        .values_list("kpi_id", "at", "value")
    ):
        series[kpi_id].append((at, value))
    histories = {}
    for row in wanted:
        before = datetime.combine(row[12], time(), tzinfo=UTC)
        history = insight.kpi_history(series.get(row[10], ()), row[11] or None, before)
        if history:
            histories[row[0]] = history
    return histories


def _early_checkins(checkins: CheckInQuerySet) -> dict[int, tuple[datetime, int]]:
    """Key result id → (first, count) of its check-ins dated before its cycle (1 query)."""
    rows = (
        checkins.before_cycle()
        .order_by()
        .values("key_result_id")
        .annotate(first=Min("at"), count=Count("id"))
        .values_list("key_result_id", "first", "count")
    )
    return {kr_id: (first, count) for kr_id, first, count in rows}


def _key_result_facts(
    row: tuple[Any, ...],
    early: dict[int, tuple[datetime, int]],
    histories: dict[int, tuple[tuple[datetime, float], ...]],
) -> KeyResultFacts:
    pk, _objective_id, key, title, kind, start, target, due, kpi, grade = row[:10]
    first, count = early.get(pk, (None, 0))
    score, last_checkin_at, cadence, work_total, work_done = row[14:19]
    return KeyResultFacts(
        key, title, kind, start, target, due, kpi, grade,
        first_early_checkin=first, early_checkins=count, kpi_history=histories.get(pk, ()),
        work_total=work_total, work_done=work_done, outcome_moved=bool(score and score > 0),
        last_checkin_at=last_checkin_at, cadence_days=cadence,
    )  # fmt: skip


def organisation_facts(at: datetime | None = None) -> Organisation:
    """The whole organisation as the coach sees it (6 queries whatever its size)."""
    at = at or timezone.now()
    teams = tuple(
        TeamFacts(key=key, kind=kind, parent=parent)
        for key, kind, parent in Team.objects.values_list("key", "kind", "parent__key")
    )
    cycles = tuple(
        CycleFacts(key=key, start=start, end=end, closed=state == CycleState.CLOSED)
        for key, start, end, state in Cycle.objects.values_list("key", "start", "end", "state")
    )
    early = _early_checkins(CheckIn.objects.all())
    key_results: dict[int, list[KeyResultFacts]] = defaultdict(list)
    rows = list(
        _with_work(KeyResult.objects.order_by("objective_id", "position", "id"))
        .values_list(*KEY_RESULT_COLUMNS)
        .iterator(chunk_size=5000)
    )
    histories = _kpi_histories(rows)
    for row in rows:
        key_results[row[1]].append(_key_result_facts(row, early, histories))
    objectives = tuple(
        ObjectiveFacts(
            key=key,
            title=title,
            team=team,
            cycle=cycle,
            type=type_,
            parent=parent,
            key_results=tuple(key_results.get(pk, ())),
            grade=grade,
            reflection=reflection,
            ignore=frozenset(ignore or ()),
            language=language or None,
        )
        for pk, key, title, team, cycle, type_, parent, grade, reflection, ignore, language in (
            Objective.objects.order_by("id")
            .values_list(
                "pk", "key", "title", "team__key", "cycle__key", "type", "parent__key", "grade",
                "reflection", "coach_ignore", "language",
            )
            .iterator(chunk_size=5000)
        )
    )  # fmt: skip
    kpis = tuple(
        KpiFacts(
            key=key, name=name, team=team, tier=tier, owner=owner, cadence=cadence or None,
            target=target, why=why, latest_at=latest_at,
        )
        for key, name, team, tier, owner, cadence, target, why, latest_at in (
            Kpi.objects.order_by("id").values_list(
                "key", "name", "team__key", "tier", "owner__email", "cadence", "target", "why",
                "latest_at",
            )
        )
    )  # fmt: skip
    return Organisation(
        language=settings.COACH_LANGUAGE,
        at=at,
        teams=teams,
        cycles=cycles,
        objectives=objectives,
        kpis=kpis,
    )


def findings(at: datetime | None = None) -> list[Finding]:
    """Every finding of the coach on the database as of `at` (default now)."""
    return run(organisation_facts(at))


def findings_by_path(at: datetime | None = None) -> dict[str, list[Finding]]:
    """Findings grouped by the object they concern: `objectives/<key>`, `kpis/<key>`, ...

    A key result's findings are listed under its own path and under its objective's.
    """
    grouped: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings(at):
        grouped[finding.path].append(finding)
        parts = finding.path.split("/")
        if len(parts) > 2:
            grouped["/".join(parts[:2])].append(finding)
    return dict(grouped)


def under(path: str, prefix: str) -> bool:
    """Whether `path` is `prefix` or below it (`objectives/ab` is not under `objectives/a`)."""
    return path == prefix or path.startswith(prefix + "/")


def _cycle_facts(key: str, start: date, end: date, state: str) -> CycleFacts:
    return CycleFacts(key=key, start=start, end=end, closed=state == CycleState.CLOSED)


def _objectives(
    objectives: QuerySet[Objective], *, checkins: bool = True, histories_needed: bool = True
) -> tuple[tuple[ObjectiveFacts, ...], dict[str, TeamFacts], dict[str, CycleFacts]]:
    """Facts of `objectives` with their key results, and of their teams and cycles (3 queries).

    Without `checkins` (for rules that do not look at them) early check-ins are not
    read: 2 queries. KPI histories (`target-business-as-usual`) take one more query when
    some key result of an open cycle with a target is linked to a KPI.
    """
    early = (
        _early_checkins(CheckIn.objects.filter(key_result__objective__in=objectives.values("pk")))
        if checkins
        else {}
    )
    key_results: dict[int, list[KeyResultFacts]] = defaultdict(list)
    rows = list(
        _with_work(KeyResult.objects.filter(objective__in=objectives.values("pk")))
        .order_by("objective_id", "position", "id")
        .values_list(*KEY_RESULT_COLUMNS)
    )
    histories = _kpi_histories(rows) if histories_needed else {}
    for row in rows:
        key_results[row[1]].append(_key_result_facts(row, early, histories))
    facts: list[ObjectiveFacts] = []
    teams: dict[str, TeamFacts] = {}
    cycles: dict[str, CycleFacts] = {}
    for (
        pk, key, title, team, kind, cycle, cycle_start, cycle_end, state, type_, parent, grade,
        reflection, ignore, language,
    ) in objectives.order_by("id").values_list(
        "pk", "key", "title", "team__key", "team__kind", "cycle__key", "cycle__start",
        "cycle__end", "cycle__state", "type", "parent__key", "grade", "reflection",
        "coach_ignore", "language",
    ):  # fmt: skip
        teams.setdefault(team, TeamFacts(key=team, kind=kind))
        cycles.setdefault(cycle, _cycle_facts(cycle, cycle_start, cycle_end, state))
        facts.append(
            ObjectiveFacts(
                key=key,
                title=title,
                team=team,
                cycle=cycle,
                type=type_,
                parent=parent,
                key_results=tuple(key_results.get(pk, ())),
                grade=grade,
                reflection=reflection,
                ignore=frozenset(ignore or ()),
                language=language or None,
            )
        )
    return tuple(facts), teams, cycles


def findings_for_objective(objective: Objective, at: datetime | None = None) -> list[Finding]:
    """The findings on one objective and its key results (3 queries).

    Its rules look only at the objective, its key results, its cycle and its team's kind.
    """
    objectives, teams, cycles = _objectives(Objective.objects.filter(pk=objective.pk))
    org = Organisation(
        language=settings.COACH_LANGUAGE,
        at=at or timezone.now(),
        teams=tuple(teams.values()),
        cycles=tuple(cycles.values()),
        objectives=objectives,
    )
    prefix = f"objectives/{objective.key}"
    return [f for f in run(org) if under(f.path, prefix)]


def findings_for_objectives(
    objectives: QuerySet[Objective],
    rules: Iterable[str] | None = None,
    at: datetime | None = None,
) -> dict[str, list[Finding]]:
    """Findings on each of `objectives` and their key results, by objective key (2-3 queries).

    E.g. a cycle's review with `rules=REVIEW_RULES` (2 queries: no check-in is read unless
    the rules include `checkin-before-cycle`).
    """
    chosen = list(rules) if rules is not None else None
    facts, teams, cycles = _objectives(
        objectives,
        checkins=chosen is None or CHECKIN_RULE in chosen,
        histories_needed=chosen is None or BAU_RULE in chosen,
    )
    org = Organisation(
        language=settings.COACH_LANGUAGE,
        at=at or timezone.now(),
        teams=tuple(teams.values()),
        cycles=tuple(cycles.values()),
        objectives=facts,
    )
    keys = {o.key for o in facts}
    grouped: dict[str, list[Finding]] = defaultdict(list)
    for finding in run(org, chosen):
        parts = finding.path.split("/")
        if parts[0] == "objectives" and parts[1] in keys:
            grouped[parts[1]].append(finding)
    return dict(grouped)


def _kpi_facts(kpis: QuerySet[Kpi]) -> tuple[KpiFacts, ...]:
    return tuple(
        KpiFacts(
            key=key, name=name, team=team, tier=tier, owner=owner, cadence=cadence or None,
            target=target, why=why, latest_at=latest_at,
        )
        for key, name, team, tier, owner, cadence, target, why, latest_at in (
            kpis.order_by("id").values_list(
                "key", "name", "team__key", "tier", "owner__email", "cadence", "target", "why",
                "latest_at",
            )
        )
    )  # fmt: skip


def findings_for_kpi(kpi: Kpi, at: datetime | None = None) -> list[Finding]:
    """The findings on one KPI's card and reviews (1 query)."""
    org = Organisation(
        language=settings.COACH_LANGUAGE,
        at=at or timezone.now(),
        kpis=_kpi_facts(Kpi.objects.filter(pk=kpi.pk)),
    )
    path = f"kpis/{kpi.key}"
    return [f for f in run(org) if f.path == path]


def findings_for_team(team: Team, at: datetime | None = None) -> list[Finding]:
    """The team-level findings of one team (4 queries).

    Team rules count the team's objectives per open cycle (knowing which open cycles any
    team has planned), its key results linked to KPIs, its key-tier KPIs, and its average
    grades in closed cycles: only the team's own objectives and KPIs are loaded.
    """
    planned = Objective.objects.filter(cycle=OuterRef("pk"))
    cycles: list[CycleFacts] = []
    planned_keys: set[str] = set()
    for key, start, end, state, has_objectives in Cycle.objects.annotate(
        planned=Exists(planned)
    ).values_list("key", "start", "end", "state", "planned"):
        cycles.append(_cycle_facts(key, start, end, state))
        if has_objectives and state != CycleState.CLOSED:
            planned_keys.add(key)
    objectives, _teams, _cycles = _objectives(
        Objective.objects.filter(team=team).filter(
            ~Q(cycle__state=CycleState.CLOSED) | Q(grade__isnull=False)
        ),
        checkins=False,  # team rules count objectives and key results, not check-ins
        histories_needed=False,
    )
    org = Organisation(
        language=settings.COACH_LANGUAGE,
        at=at or timezone.now(),
        teams=(TeamFacts(key=team.key, kind=team.kind),),
        cycles=tuple(cycles),
        objectives=objectives,
        kpis=_kpi_facts(Kpi.objects.filter(team=team)),
        planned=frozenset(planned_keys),
    )
    path = f"teams/{team.key}"
    return [f for f in run(org) if f.path == path]


def findings_for_draft(
    subject: Literal["objective", "key_result"],
    *,
    title: str,
    kind: str = "increase",
    start: float | None = None,
    target: float | None = None,
    due: date | None = None,
    cycle: Cycle | None = None,
    parent: Objective | None = None,
    team: Team | None = None,
    objective: Objective | None = None,
    type: str = "aspirational",
    ignore: Iterable[str] | None = None,
    at: datetime | None = None,
) -> list[Finding]:
    """What the coach says about an objective or key result that is not saved yet.

    For live coaching while a form is typed. An objective draft is judged on its wording
    and alignment (`parent`: the objective it aligns to; `team`: whether it is the
    company's); a key-result draft on its wording, numbers and due date. `objective` is
    the saved objective being edited, or the one the key result belongs to: its key, cycle
    and team apply unless given, and its silenced rules unless `ignore` is given (as typed
    in the form). No query when the instances come with their cycle and team loaded.
    Paths use the objective's key, or `draft` for a new objective or key result.
    """
    if not title.strip():
        return []
    owner = objective
    if owner is not None:
        cycle = cycle or owner.cycle
        team = team or owner.team
        if ignore is None:
            ignore = owner.coach_ignore or ()
    if subject == "key_result":
        rules: Sequence[str] = DRAFT_KEY_RESULT_RULES
        key_results: tuple[KeyResultFacts, ...] = (
            KeyResultFacts(key=DRAFT_KEY, title=title, kind=kind, start=start, target=target,
                           due=due),
        )  # fmt: skip
        objective_title = owner.title if owner is not None else DRAFT_KEY
        objective_type = owner.type if owner is not None else type
    else:
        # Without a team it is not known whether the objective is the company's.
        rules = DRAFT_OBJECTIVE_RULES if team is not None else DRAFT_OBJECTIVE_RULES[:3]
        key_results = ()
        objective_title = title
        objective_type = type
    key = owner.key if owner is not None else DRAFT_KEY
    facts = ObjectiveFacts(
        key=key,
        title=objective_title,
        team=team.key if team is not None else DRAFT_KEY,
        cycle=cycle.key if cycle is not None else DRAFT_KEY,
        type=objective_type,
        parent=parent.key if parent is not None else None,
        key_results=key_results,
        ignore=frozenset(ignore or ()),
        language=(owner.language or None) if owner is not None else None,
    )
    org = Organisation(
        language=settings.COACH_LANGUAGE,
        at=at or timezone.now(),
        teams=(TeamFacts(key=team.key, kind=team.kind),) if team is not None else (),
        cycles=(_cycle_facts(cycle.key, cycle.start, cycle.end, cycle.state),)
        if cycle is not None
        else (),
        objectives=(facts,),
    )
    return run(org, rules)
