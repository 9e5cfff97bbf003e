"""The coach: rules that keep OKRs and KPIs honest (PRODUCT.md section 4).

Pure code over small fact records, so the same rules judge a YAML file (`headway lint`)
and the database (pages and API). Each rule has a stable id, a severity, the principle it
defends and a suggested fix; `RULES` is the registry, `run` applies it.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from headway.coach import language, wording
from headway.coach.verdict import Number, Says, _, joined, ngettext
from headway.kpis.health import STALE_AFTER
from headway.okrs import insight, timing

SEVERITIES = ("error", "warning", "info")
MAX_OBJECTIVES = 5
MIN_KEY_RESULTS, MAX_KEY_RESULTS = 2, 5
MAX_KEY_KPIS = 7
SANDBAGGING_TEAM_AVERAGE = 0.95


@dataclass(frozen=True, slots=True)
class KeyResultFacts:
    key: str
    title: str
    kind: str
    start: float | None = None
    target: float | None = None
    due: date | None = None
    kpi: str | None = None
    grade: float | None = None
    # The earliest check-in dated before the cycle's start and how many are (okrs.timing).
    first_early_checkin: datetime | None = None
    early_checkins: int = 0
    # The linked KPI's review periods before the cycle starts, oldest first, as
    # (moment, value): the evidence of `target-business-as-usual` (okrs.insight).
    kpi_history: tuple[tuple[datetime, float], ...] = ()
    # Initiatives (the work planned to move it): not dropped, and of those done.
    work_total: int = 0
    work_done: int = 0
    # Whether the outcome moved off its start (a score above 0), the latest check-in, and
    # the team's check-in cadence: the evidence of `work-without-outcome`.
    outcome_moved: bool = False
    last_checkin_at: datetime | None = None
    cadence_days: int = 7


@dataclass(frozen=True, slots=True)
class ObjectiveFacts:
    key: str
    title: str
    team: str
    cycle: str
    type: str = "aspirational"
    parent: str | None = None
    key_results: tuple[KeyResultFacts, ...] = ()
    grade: float | None = None
    reflection: str = ""
    ignore: frozenset[str] = frozenset()
    # The language its titles were stated to be in; None: the organisation's.
    language: str | None = None


@dataclass(frozen=True, slots=True)
class KpiFacts:
    key: str
    name: str
    team: str
    tier: str = "key"
    owner: str | None = None
    cadence: str | None = None
    target: float | None = None
    why: str = ""
    latest_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TeamFacts:
    key: str
    kind: str
    parent: str | None = None


@dataclass(frozen=True, slots=True)
class CycleFacts:
    key: str
    start: date
    end: date
    closed: bool = False


@dataclass(frozen=True, slots=True)
class Organisation:
    """Everything the rules look at, as of the moment `at`."""

    at: datetime
    teams: tuple[TeamFacts, ...] = ()
    cycles: tuple[CycleFacts, ...] = ()
    objectives: tuple[ObjectiveFacts, ...] = ()
    kpis: tuple[KpiFacts, ...] = ()
    # Keys of the open cycles in which some team has objectives. None: worked out from
    # `objectives`; a scoped Organisation that holds only some teams' objectives gives it.
    planned: frozenset[str] | None = None
    # The language titles are written in unless a title is plainly in another one: the
    # YAML file's `language`, else the organisation's (HEADWAY_LANGUAGE).
    language: str = language.DEFAULT


@dataclass(frozen=True, slots=True)
class Finding:
    """One piece of advice about one thing, addressed by its path in the YAML format."""

    rule: str
    severity: str
    path: str
    message: str
    fix: str

    def as_dict(self) -> dict[str, str]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "path": self.path,
            "message": self.message,
            "fix": self.fix,
        }


Check = Callable[[Organisation], Iterator[tuple[str, str]]]


@dataclass(frozen=True, slots=True)
class Rule:
    """A coach rule: `check` yields (path, message) pairs; the fix is the same for all."""

    id: str
    severity: str
    principle: str
    fix: str
    check: Check = field(repr=False)


RULES: dict[str, Rule] = {}

# A KPI's cadence in a sentence ("its weekly review is overdue").
CADENCE_WORDS = {"weekly": _("weekly"), "monthly": _("monthly"), "quarterly": _("quarterly")}


def rule(id: str, severity: str, principle: str, fix: str) -> Callable[[Check], Check]:
    """Register a check function under a stable id."""
    assert severity in SEVERITIES

    def register(check: Check) -> Check:
        assert id not in RULES, f"duplicate coach rule {id}"
        RULES[id] = Rule(id=id, severity=severity, principle=principle, fix=fix, check=check)
        return check

    return register


def _objective_path(objective: ObjectiveFacts) -> str:
    return f"objectives/{objective.key}"


def _kr_path(objective: ObjectiveFacts, kr: KeyResultFacts) -> str:
    return f"objectives/{objective.key}/key_results/{kr.key}"


def _open_cycles(org: Organisation) -> list[CycleFacts]:
    return [c for c in org.cycles if not c.closed]


def _language_of(org: Organisation, objective: ObjectiveFacts, title: str) -> str:
    """The language of `title`, one of `objective`'s titles (its own or a key result's)."""
    return language.detect(title, objective.language or org.language)


def _judged(org: Organisation, objective: ObjectiveFacts, title: str) -> str | None:
    """The language the coach reads `title` in, or None when it cannot judge that language."""
    code = _language_of(org, objective, title)
    return code if code in language.SUPPORTED else None


# --------------------------------------------------------------------------- the rules


@rule(
    "objective-count",
    "warning",
    _(
        "Focus: a team with more than five objectives in a cycle has no priorities; a team "
        "with none has no direction."
    ),
    _(
        "Keep three to five objectives per team and cycle: merge, drop or move the rest to "
        "the KPI board; give a team without objectives at least one."
    ),
)
def _objective_count(org: Organisation) -> Iterator[tuple[str, str]]:
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for objective in org.objectives:
        counts[(objective.team, objective.cycle)] += 1
    open_cycles = _open_cycles(org)
    for cycle in open_cycles:
        for team in org.teams:
            n = counts.get((team.key, cycle.key), 0)
            if n > MAX_OBJECTIVES:
                yield (
                    f"teams/{team.key}",
                    _("%(n)s objectives in %(cycle)s: more than five.", n=n, cycle=cycle.key),
                )
    # "None" is judged over all open cycles together: a team with quarterly objectives
    # needs none in the yearly cycle. A period nobody has planned yet is not a finding.
    if org.planned is not None:
        planned = [c.key for c in open_cycles if c.key in org.planned]
    else:
        planned = [c.key for c in open_cycles if any(counts.get((t.key, c.key)) for t in org.teams)]
    if planned:
        for team in org.teams:
            if not any(counts.get((team.key, key)) for key in planned):
                yield f"teams/{team.key}", _("No objective in %(names)s.", names=", ".join(planned))


@rule(
    "kr-count",
    "warning",
    _("Two to five key results make an objective measurable without drowning it."),
    _(
        "Add key results until the objective's success is unambiguous, or split an "
        "objective with more than five into two."
    ),
)
def _kr_count(org: Organisation) -> Iterator[tuple[str, str]]:
    for objective in org.objectives:
        n = len(objective.key_results)
        if n < MIN_KEY_RESULTS:
            yield (
                _objective_path(objective),
                ngettext(
                    "%(n)s key result: fewer than two.", "%(n)s key results: fewer than two.", n
                ),
            )
        elif n > MAX_KEY_RESULTS:
            yield _objective_path(objective), _("%(n)s key results: more than five.", n=n)


@rule(
    "objective-is-metric",
    "warning",
    _(
        "An objective is a qualitative change worth making; numbers belong in its key "
        "results and targets of running metrics belong on the KPI board."
    ),
    _(
        "Say what will be different and for whom, and move the number into a key result (or "
        "keep it as a KPI target)."
    ),
)
def _objective_is_metric(org: Organisation) -> Iterator[tuple[str, str]]:
    for objective in org.objectives:
        lang = _judged(org, objective, objective.title)
        verdict = wording.objective_is_metric(objective.title, lang) if lang else None
        if verdict:
            yield (
                _objective_path(objective),
                _("Reads like a KPI target: %(reason)s.", reason=verdict.reason),
            )


@rule(
    "objective-vague",
    "warning",
    _("An objective must be concrete enough to steer by: whose world changes, and how."),
    _(
        "Name the change and who benefits, e.g. what customers, patients or colleagues will "
        "experience differently."
    ),
)
def _objective_vague(org: Organisation) -> Iterator[tuple[str, str]]:
    for objective in org.objectives:
        lang = _judged(org, objective, objective.title)
        verdict = wording.objective_vague(objective.title, lang) if lang else None
        if verdict:
            yield (
                _objective_path(objective),
                _("Too vague to steer by: %(reason)s.", reason=verdict.reason),
            )


@rule(
    "kr-is-task",
    "warning",
    _(
        "A key result is an outcome that would only move if the objective were achieved, "
        "not an activity or a to-do."
    ),
    _(
        "Ask what the activity is for and measure that result instead; keep the activity as "
        "an initiative."
    ),
)
def _kr_is_task(org: Organisation) -> Iterator[tuple[str, str]]:
    for objective in org.objectives:
        for kr in objective.key_results:
            lang = _judged(org, objective, kr.title)
            verdict = wording.kr_is_task(kr.title, kr.kind, lang) if lang else None
            if verdict:
                yield (
                    _kr_path(objective, kr),
                    _("Reads like a task: %(reason)s.", reason=verdict.reason),
                )


@rule(
    "kr-not-measurable",
    "error",
    _("A key result is a number: without a start and a target nobody can tell progress."),
    _(
        "Give the key result a start and a target value (or a threshold for above/below); "
        "use a milestone only for something that is really done or not done."
    ),
)
def _kr_not_measurable(org: Organisation) -> Iterator[tuple[str, str]]:
    for objective in org.objectives:
        for kr in objective.key_results:
            lang = _judged(org, objective, kr.title) or ""
            if not lang and kr.kind == "milestone":
                continue  # a milestone is judged by its wording, which the coach cannot read
            verdict = wording.kr_not_measurable(
                kr.title, kr.kind, kr.start, kr.target, lang or language.DEFAULT
            )
            if verdict:
                yield (
                    _kr_path(objective, kr),
                    _("Not measurable: %(reason)s.", reason=verdict.reason),
                )


@rule(
    "language-unsupported",
    "info",
    _(
        "The coach judges wording in English and German only; guessing in another language "
        "would give wrong advice."
    ),
    _(
        "Nothing to fix: the other rules still apply. Write the title in English or German "
        "to have its wording judged."
    ),
)
def _language_unsupported(org: Organisation) -> Iterator[tuple[str, str]]:
    for objective in org.objectives:
        titled = [(_objective_path(objective), objective.title)] + [
            (_kr_path(objective, kr), kr.title) for kr in objective.key_results
        ]
        for path, title in titled:
            code = _language_of(org, objective, title)
            if code not in language.SUPPORTED:
                yield (
                    path,
                    _(
                        "Written in %(name)s (%(code)s): the coach cannot judge its wording.",
                        name=language.name(code),
                        code=code,
                    ),
                )


@rule(
    "kr-no-deadline",
    "error",
    _("A key result is due within its cycle; a date outside it escapes the cycle's review."),
    _("Set the due date inside the cycle, or move the key result to the cycle it belongs to."),
)
def _kr_no_deadline(org: Organisation) -> Iterator[tuple[str, str]]:
    cycles = {c.key: c for c in org.cycles}
    for objective in org.objectives:
        cycle = cycles.get(objective.cycle)
        if cycle is None:
            continue
        for kr in objective.key_results:
            if kr.due is not None and not cycle.start <= kr.due <= cycle.end:
                yield (
                    _kr_path(objective, kr),
                    _(
                        "Due %(due)s, outside %(cycle)s (%(start)s to %(end)s).",
                        due=kr.due.isoformat(),
                        cycle=cycle.key,
                        start=cycle.start.isoformat(),
                        end=cycle.end.isoformat(),
                    ),
                )


@rule(
    "checkin-before-cycle",
    "warning",
    _(
        "A cycle's history starts with the cycle: a value recorded before it began is a "
        "baseline or a date typed wrong, and either way it moves the score and the forecast."
    ),
    _(
        "Check the date: move the check-in into the cycle, or make its value the key "
        "result's start if it is the baseline."
    ),
)
def _checkin_before_cycle(org: Organisation) -> Iterator[tuple[str, str]]:
    cycles = {c.key: c for c in org.cycles}
    for objective in org.objectives:
        cycle = cycles.get(objective.cycle)
        if cycle is None:
            continue
        for kr in objective.key_results:
            first = kr.first_early_checkin
            if first is None or timing.checkin_timing(first, cycle.start, cycle.end) != "early":
                continue
            n = max(kr.early_checkins, 1)
            yield (
                _kr_path(objective, kr),
                ngettext(
                    "A check-in at %(moment)s is dated before %(cycle)s starts (%(start)s).",
                    "%(n)s check-ins, the first at %(moment)s, are dated before %(cycle)s "
                    "starts (%(start)s).",
                    n,
                    moment=_moment(first),
                    cycle=cycle.key,
                    start=cycle.start.isoformat(),
                ),
            )


@rule(
    "target-business-as-usual",
    "warning",
    _(
        "A key result asks for change: a target the KPI's own trend reaches anyway measures "
        "business as usual, not the objective."
    ),
    _(
        "Set the target beyond where the trend goes on its own, or leave the KPI on the "
        "board and measure the change the objective wants instead."
    ),
)
def _target_business_as_usual(org: Organisation) -> Iterator[tuple[str, str]]:
    cycles = {c.key: c for c in _open_cycles(org)}
    for objective in org.objectives:
        cycle = cycles.get(objective.cycle)
        if cycle is None:
            continue
        origin = datetime.combine(cycle.start, time(), tzinfo=UTC)
        end = (cycle.end - cycle.start).days + 1.0
        for kr in objective.key_results:
            if kr.target is None or not kr.kpi_history or kr.kind not in _NUMERIC_KINDS:
                continue
            points = [((at - origin).total_seconds() / 86_400, v) for at, v in kr.kpi_history]
            upwards = insight.reaches_upwards(kr.kind, kr.start, kr.target)
            verdict = insight.business_as_usual(points, end, kr.target, upwards)
            if not verdict.easy:
                continue
            assert verdict.probability is not None
            assert verdict.projected is not None
            assert verdict.low is not None
            assert verdict.high is not None
            yield (
                _kr_path(objective, kr),
                _(
                    "Its KPI's own trend reaches %(projected)s by %(date)s (80%% range "
                    "%(low)s to %(high)s): the target %(target)s is met with "
                    "%(probability)s probability without any change.",
                    projected=Number(verdict.projected, ".4g"),
                    date=cycle.end.isoformat(),
                    low=Number(verdict.low, ".4g"),
                    high=Number(verdict.high, ".4g"),
                    target=Number(kr.target, "g"),
                    probability=Number(verdict.probability, ".0%"),
                ),
            )


_NUMERIC_KINDS = ("increase", "decrease", "above", "below")


@rule(
    "kpi-too-many",
    "warning",
    _("Forty metrics are no strategy: a team watches at most seven key KPIs."),
    _("Move the KPIs that are looked at only when something goes wrong to the diagnostic tier."),
)
def _kpi_too_many(org: Organisation) -> Iterator[tuple[str, str]]:
    counts: dict[str, int] = defaultdict(int)
    for kpi in org.kpis:
        if kpi.tier == "key":
            counts[kpi.team] += 1
    for team, n in sorted(counts.items()):
        if n > MAX_KEY_KPIS:
            yield f"teams/{team}", _("%(n)s key-tier KPIs: more than seven.", n=n)


@rule(
    "kpi-card-incomplete",
    "warning",
    _("A KPI card answers what, why, how, who and when; a number nobody owns or reviews drifts."),
    _("Fill in the missing parts of the card."),
)
def _kpi_card_incomplete(org: Organisation) -> Iterator[tuple[str, str]]:
    for kpi in org.kpis:
        missing = [
            name
            for name, present in (
                (_("an owner"), kpi.owner),
                (_("a review cadence"), kpi.cadence),
                (_("a target"), kpi.target is not None),
                (_("a why"), kpi.why.strip()),
            )
            if not present
        ]
        if missing:
            yield f"kpis/{kpi.key}", _("The card lacks %(parts)s.", parts=joined(missing))


@rule(
    "kpi-not-reviewed",
    "warning",
    _("A KPI is only useful if someone looks at it on its cadence."),
    _(
        "Record this period's measurement, or change the cadence to how often it is really "
        "reviewed."
    ),
)
def _kpi_not_reviewed(org: Organisation) -> Iterator[tuple[str, str]]:
    for kpi in org.kpis:
        if kpi.cadence not in STALE_AFTER or kpi.latest_at is None:
            continue
        # A KPI's review is overdue exactly when its health goes `stale` (kpis.health).
        allowed = STALE_AFTER[kpi.cadence]
        if org.at - kpi.latest_at > allowed:
            days = (org.at - kpi.latest_at).days
            yield (
                f"kpis/{kpi.key}",
                _(
                    "Last measured %(days)s days ago; its %(cadence)s review is overdue.",
                    days=days,
                    cadence=CADENCE_WORDS.get(kpi.cadence, kpi.cadence),
                ),
            )


@rule(
    "orphan-objective",
    "warning",
    _("Alignment: every objective below the company's serves one above it."),
    _("Align the objective to the objective of the level above that it serves."),
)
def _orphan_objective(org: Organisation) -> Iterator[tuple[str, str]]:
    kinds = {t.key: t.kind for t in org.teams}
    for objective in org.objectives:
        if objective.parent is None and kinds.get(objective.team) != "company":
            yield _objective_path(objective), _("Aligns to nothing.")


@rule(
    "sandbagging",
    "info",
    _("Ambitious targets: scoring 1.0 on everything means the targets were too safe."),
    _("Set targets that feel uncomfortable; for aspirational objectives 0.7 is a strong result."),
)
def _sandbagging(org: Organisation) -> Iterator[tuple[str, str]]:
    for objective in org.objectives:
        grades = [kr.grade for kr in objective.key_results]
        if (
            objective.grade is not None
            and grades
            and all(g is not None and g >= 1.0 for g in grades)
        ):
            yield _objective_path(objective), _("Every key result scored 1.0.")
    closed = sorted((c for c in org.cycles if c.closed), key=lambda c: c.start)
    averages: dict[str, dict[str, float]] = defaultdict(dict)
    for cycle in closed:
        graded: dict[str, list[float]] = defaultdict(list)
        for objective in org.objectives:
            if objective.cycle == cycle.key and objective.grade is not None:
                graded[objective.team].append(objective.grade)
        for team, values in graded.items():
            averages[team][cycle.key] = sum(values) / len(values)
    for team, by_cycle in sorted(averages.items()):
        for earlier, later in itertools.pairwise(closed):
            a, b = by_cycle.get(earlier.key), by_cycle.get(later.key)
            if a is not None and b is not None and min(a, b) >= SANDBAGGING_TEAM_AVERAGE:
                yield (
                    f"teams/{team}",
                    _(
                        "Averaged %(earlier_grade)s in %(earlier)s and %(later_grade)s in "
                        "%(later)s.",
                        earlier_grade=Number(a, ".2f"),
                        earlier=earlier.key,
                        later_grade=Number(b, ".2f"),
                        later=later.key,
                    ),
                )


@rule(
    "committed-missed",
    "warning",
    _("A committed objective is expected to reach 1.0; missing it deserves an honest reflection."),
    _("Write what worked, what did not, and whether to carry the objective over or drop it."),
)
def _committed_missed(org: Organisation) -> Iterator[tuple[str, str]]:
    for objective in org.objectives:
        if (
            objective.type == "committed"
            and objective.grade is not None
            and objective.grade < 1.0
            and not objective.reflection.strip()
        ):
            yield (
                _objective_path(objective),
                _(
                    "Committed, graded %(grade)s, with no reflection.",
                    grade=Number(objective.grade, ".1f"),
                ),
            )


@rule(
    "kpi-as-kr-everywhere",
    "warning",
    _(
        "Key results measure what should change; linking most of them to existing KPIs "
        "measures what is already measured."
    ),
    _(
        "Keep KPI-linked key results for the few vital signs that need fixing, and write "
        "the others as outcomes of the change you want."
    ),
)
def _kpi_as_kr_everywhere(org: Organisation) -> Iterator[tuple[str, str]]:
    open_keys = {c.key for c in _open_cycles(org)}
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for objective in org.objectives:
        if objective.cycle not in open_keys:
            continue
        for kr in objective.key_results:
            totals[objective.team][0] += 1
            totals[objective.team][1] += kr.kpi is not None
    for team, (total, linked) in sorted(totals.items()):
        if total >= 3 and linked * 2 > total:
            yield (
                f"teams/{team}",
                _(
                    "%(linked)s of %(total)s key results are linked to KPIs.",
                    linked=linked,
                    total=total,
                ),
            )


# --------------------------------------------------------------------------- running


@rule(
    "work-without-outcome",
    "warning",
    _(
        "Key results are outcomes, not work: finished initiatives prove effort, and only a "
        "check-in shows whether the outcome moved."
    ),
    _(
        "Check in on the key result: if the work is done and the number did not move, say "
        "so and plan different work; if it moved, record the value."
    ),
)
def _work_without_outcome(org: Organisation) -> Iterator[tuple[str, str]]:
    cycles = {c.key: c for c in org.cycles}
    today = org.at.date()
    for objective in org.objectives:
        cycle = cycles.get(objective.cycle)
        if cycle is None or cycle.closed or cycle.start > today:
            continue
        for kr in objective.key_results:
            if kr.work_total == 0:
                continue
            if kr.work_done == kr.work_total and not kr.outcome_moved:
                yield (
                    _kr_path(objective, kr),
                    ngettext(
                        "Its initiative is done but the outcome has not moved from its start.",
                        "All %(n)s initiatives are done but the outcome has not moved from its "
                        "start.",
                        kr.work_total,
                    ),
                )
                continue
            if kr.kpi is not None or kr.kind == "objectives":
                continue  # its value is computed: nobody checks in on it
            since = kr.last_checkin_at or datetime.combine(cycle.start, time(), tzinfo=UTC)
            if org.at - since > timedelta(days=2 * kr.cadence_days):
                days = (org.at - since).days
                yield (
                    _kr_path(objective, kr),
                    ngettext(
                        "%(n)s initiative planned, but no check-in for %(days)s days (two "
                        "cadences are %(limit)s days).",
                        "%(n)s initiatives planned, but no check-in for %(days)s days (two "
                        "cadences are %(limit)s days).",
                        kr.work_total,
                        days=days,
                        limit=2 * kr.cadence_days,
                    ),
                )


def _moment(at: datetime) -> str:
    """A date alone at 00:00 UTC (how files write a day), else the full moment."""
    utc = at.astimezone(UTC)
    return utc.date().isoformat() if utc.time() == time() else utc.isoformat()


def _silenced(org: Organisation) -> dict[str, frozenset[str]]:
    return {f"objectives/{o.key}": o.ignore for o in org.objectives if o.ignore}


def run(org: Organisation, rules: Iterable[str] | None = None) -> list[Finding]:
    """Apply the rules (all by default) and return findings sorted by path, then rule.

    Findings on an objective or its key results are dropped when the objective silences
    that rule id. Unknown rule ids raise KeyError.
    """
    silenced = _silenced(org)
    findings = []
    for rule_id in rules if rules is not None else RULES:
        spec = RULES[rule_id]
        for path, message in spec.check(org):
            owner = "/".join(path.split("/")[:2])
            if rule_id in silenced.get(owner, frozenset()):
                continue
            findings.append(
                Finding(
                    rule=spec.id,
                    severity=spec.severity,
                    path=path,
                    # Said again in the reader's language by headway.speech.
                    message=Says(
                        "%(message)s %(principle)s", message=message, principle=spec.principle
                    ),
                    fix=spec.fix,
                )
            )
    return sorted(findings, key=lambda f: (f.path, f.rule, f.message))
