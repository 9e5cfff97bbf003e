"""Time-based events, found by the worker's periodic job; running it twice records nothing new.

Every event has a key naming the object and the period it is about, so a second run, or
two workers running the job at once, insert nothing (unique key, conflict-ignore):

- check-in overdue: `checkin_overdue:<kr>:<last check-in or cycle start>:<n>`, where n
  counts the cadence windows since it became overdue (once per overdue window);
- KPI review overdue: `kpi_review_overdue:<kpi>:<latest measurement>:<n>`, n counting
  review periods since it went stale (once per period);
- cycle ends in 7 days: `cycle_ending:<cycle>:<end date>` (once per cycle);
- key result off track because time passed without progress:
  `kr_off_track:<kr>:<latest check-in>` (the same key a check-in would have used);
- weekly digest: `weekly_digest:<person>:<ISO week>` (see notify.digest);
- KPI due for its selection review: `kpi_selection_due:<kpi>:<last review or creation>:<n>`,
  n counting review intervals since it fell due (once per interval; a flag makes it due).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_noop

from headway.kpis import health as kpi_core
from headway.kpis.models import Health, Kpi
from headway.notify import text
from headway.notify.events import Draft, guard, kr_off_track_draft, record
from headway.notify.kinds import EventKind
from headway.notify.models import Event
from headway.okrs import scoring
from headway.okrs.models import Cycle, CycleState, KeyResult
from headway.okrs.tree import core_cycle, load_cycle_tree
from headway.words import Says, _, ngettext

logger = logging.getLogger("headway.notify")

DAYS_BEFORE_END = 7


def _window(now: datetime, since: datetime, length: timedelta) -> int:
    """Index of the `length`-long window holding `now`, counting from `since` (at least 0)."""
    return max(0, math.floor((now - since) / length))


def checkin_overdue(now: datetime) -> int:
    """Key results with no check-in for longer than their team's cadence."""
    drafts = []
    for kr in KeyResult.objects.overdue(now).select_related("objective__team", "objective__cycle"):
        objective = kr.objective
        cadence = timedelta(days=objective.team.checkin_cadence_days)
        last: datetime | None = kr.last_checkin_at
        since = last if last is not None else core_cycle(objective.cycle).starts_at
        window = _window(now, since + cadence, cadence)
        days = (now - since).days
        drafts.append(
            Draft(
                kind=EventKind.CHECKIN_OVERDUE,
                key=f"{EventKind.CHECKIN_OVERDUE}:{kr.pk}:{since.isoformat()}:{window}",
                title=_("Check-in overdue: “%(key_result)s”", key_result=kr.title),
                summary=Says(
                    "%(without)s; %(cadence)s",
                    without=ngettext(
                        "No check-in on “%(key_result)s” for %(n)s day",
                        "No check-in on “%(key_result)s” for %(n)s days",
                        days,
                        key_result=kr.title,
                    ),
                    cadence=ngettext(
                        "%(team)s checks in every %(n)s day.",
                        "%(team)s checks in every %(n)s days.",
                        objective.team.checkin_cadence_days,
                        team=objective.team.name,
                    ),
                ),
                facts=[
                    (gettext_noop("Last check-in"), text.said_moment(last)),
                    (gettext_noop("Days without"), str(days)),
                    (gettext_noop("Cadence"), text.said_days(objective.team.checkin_cadence_days)),
                    (gettext_noop("Objective"), objective.title),
                ],
                numbers={
                    "last_checkin_at": last.isoformat() if last else None,
                    "days": days,
                    "cadence_days": objective.team.checkin_cadence_days,
                },
                occurred_at=now,
                link=text.link("objective", objective.key),
                team_id=objective.team_id,
                cycle_id=objective.cycle_id,
                objective_id=objective.pk,
                key_result_id=kr.pk,
                private=objective.visibility == "private",
                objective_owner_id=objective.owner_id,
                people=[kr.owner_id or objective.owner_id],
                lead_teams=[objective.team_id],
                leads_only_if_nobody=True,
            )
        )
    return len(record(drafts))


def _stale_condition(now: datetime) -> Q:
    condition = Q(pk__in=[])
    for cadence in kpi_core.CADENCES:
        cadences = [cadence, ""] if cadence == "monthly" else [cadence]
        cutoff = now - kpi_core.STALE_AFTER[cadence]
        condition |= Q(cadence__in=cadences, latest_at__lt=cutoff)
    return condition


def kpi_review_overdue(now: datetime) -> int:
    """KPIs with no measurement for 1.5 review periods; their stored health becomes stale."""
    from headway.kpis.actions import refresh_kpis

    stale = _stale_condition(now)
    outdated = list(
        Kpi.objects.filter(stale).exclude(health=Health.STALE).values_list("pk", flat=True)
    )
    if outdated:
        # Keep the boards right: the stored health goes stale (no health event for that).
        with transaction.atomic():
            refresh_kpis(kpi_ids=outdated, at=now)
    drafts = []
    for kpi in Kpi.objects.filter(stale).select_related("team"):
        assert kpi.latest_at is not None
        cadence = kpi.effective_cadence
        overdue_since = kpi.latest_at + kpi_core.STALE_AFTER[cadence]
        period = timedelta(days=kpi_core.CADENCE_DAYS[cadence])
        window = _window(now, overdue_since, period)
        days = (now - kpi.latest_at).days
        drafts.append(
            Draft(
                kind=EventKind.KPI_REVIEW_OVERDUE,
                key=f"{EventKind.KPI_REVIEW_OVERDUE}:{kpi.pk}:{kpi.latest_at.isoformat()}:{window}",
                title=_("KPI review overdue: %(kpi)s", kpi=kpi.name),
                summary=ngettext(
                    "%(kpi)s has had no measurement for %(n)s day; it is reviewed "
                    "%(cadence)s. Push a measurement or review its card.",
                    "%(kpi)s has had no measurement for %(n)s days; it is reviewed "
                    "%(cadence)s. Push a measurement or review its card.",
                    days,
                    kpi=kpi.name,
                    cadence=text.said(text.CADENCE_SAID, cadence),
                ),
                facts=[
                    (gettext_noop("Latest value"), text.said_number(kpi.latest_value, kpi.unit)),
                    (gettext_noop("Measured"), text.said_moment(kpi.latest_at)),
                    (gettext_noop("Days without"), str(days)),
                    (gettext_noop("Cadence"), text.said(text.CADENCE_SAID, cadence)),
                ],
                numbers={
                    "value": kpi.latest_value,
                    "measured_at": kpi.latest_at.isoformat(),
                    "days": days,
                    "cadence": cadence,
                },
                occurred_at=now,
                link=text.link("kpi", kpi.key),
                team_id=kpi.team_id,
                kpi_id=kpi.pk,
                people=[kpi.owner_id],
                lead_teams=[kpi.team_id],
                leads_only_if_nobody=True,
            )
        )
    return len(record(drafts))


def cycle_ending(now: datetime) -> int:
    """Active cycles ending within 7 days: once per cycle (and end date)."""
    today = now.astimezone(UTC).date()
    cycles = Cycle.objects.filter(
        state=CycleState.ACTIVE, end__gte=today, end__lte=today + timedelta(days=DAYS_BEFORE_END)
    )
    created = 0
    for cycle in cycles:
        key = f"{EventKind.CYCLE_ENDING}:{cycle.pk}:{cycle.end.isoformat()}"
        if Event.objects.filter(dedupe_key=key).exists():
            continue
        tree = load_cycle_tree(cycle, at=now)
        objectives = tree.objectives
        scores = [tree.objective_result(o).score for o in objectives]
        statuses = [tree.key_result_result(kr).status for kr in tree.key_results()]
        mean = sum(scores) / len(scores) if scores else None
        days_left = (cycle.end - today).days
        people: list[int | None] = [o.owner_id for o in objectives]
        people += [kr.owner_id for kr in tree.key_results()]
        teams = sorted({o.team_id for o in objectives})
        when = (
            _("today") if days_left == 0 else ngettext("in %(n)s day", "in %(n)s days", days_left)
        )
        draft = Draft(
            kind=EventKind.CYCLE_ENDING,
            key=key,
            title=_("%(cycle)s ends %(when)s", cycle=str(cycle), when=when),
            summary=_(
                "%(cycle)s ends on %(end)s: check in on every key result and "
                "write the reflections before it closes.",
                cycle=str(cycle),
                end=f"{cycle.end:%Y-%m-%d}",
            ),
            facts=[
                (
                    gettext_noop("Ends"),
                    Says("%(end)s (%(when)s)", end=f"{cycle.end:%Y-%m-%d}", when=when),
                ),
                (gettext_noop("Objectives"), str(len(objectives))),
                (gettext_noop("Mean score"), text.said_score(mean)),
                (gettext_noop("Key results off track"), str(statuses.count("off_track"))),
                (gettext_noop("Key results at risk"), str(statuses.count("at_risk"))),
                (gettext_noop("Key results without data"), str(statuses.count("no_data"))),
            ],
            numbers={
                "end": cycle.end.isoformat(),
                "days_left": days_left,
                "objectives": len(objectives),
                "mean_score": mean,
                "off_track": statuses.count("off_track"),
                "at_risk": statuses.count("at_risk"),
            },
            occurred_at=now,
            link=text.link("cycle", cycle.key),
            cycle_id=cycle.pk,
            people=people,
            lead_teams=teams,
            webhook_teams=teams,
        )
        created += len(record([draft]))
    return created


def off_track_by_pace(now: datetime) -> int:
    """Key results that fell off track because time passed without enough progress.

    With the data unchanged a score stays put while the expected pace rises, so the
    status right after the latest check-in tells whether time alone made the difference.
    Rolled-up key results (no check-ins of their own) are left to the check-in events.
    """
    drafts = []
    for cycle in Cycle.objects.filter(state=CycleState.ACTIVE):
        tree = load_cycle_tree(cycle, at=now)
        core = core_cycle(cycle)
        for objective in tree.objectives:
            for kr in tree.key_results_of(objective):
                result = tree.key_result_result(kr)
                last = result.last_checkin_at
                if result.status != "off_track" or last is None:
                    continue
                then = scoring.status_for(
                    result.score, scoring.expected_progress(core, last), has_data=True
                )
                if then != "off_track":
                    drafts.append(kr_off_track_draft(kr, result, then, last, None))
    return len(record(drafts))


def weekly_digest(now: datetime) -> int:
    from headway.notify.digest import weekly_digests

    return weekly_digests(now)


def kpi_selection_due(now: datetime) -> int:
    """KPIs due for their selection review, by date or because a link to an outcome decayed."""
    from headway.kpis import links, selection

    links.refresh_flags(now)
    due = Q(pk__in=[]) | ~Q(selection_flag="")
    since = Coalesce("selection_reviewed_at", "created_at")
    for cadence, days in selection.REVIEW_EVERY_DAYS.items():
        cadences = [cadence, ""] if cadence == "monthly" else [cadence]
        due |= Q(cadence__in=cadences, since__lte=now - timedelta(days=days))
    drafts = []
    for kpi in Kpi.objects.in_use().annotate(since=since).filter(due).select_related("team"):
        started = kpi.selection_reviewed_at or kpi.created_at
        fell_due = kpi.selection_review_due
        interval = selection.review_due(started, kpi.effective_cadence) - started
        window = _window(now, fell_due, interval)
        why = kpi.selection_flag or (
            _("Its last review was %(when)s.", when=text.moment(kpi.selection_reviewed_at))
            if kpi.selection_reviewed_at
            else _("It has not been reviewed since it was added.")
        )
        drafts.append(
            Draft(
                kind=EventKind.KPI_SELECTION_DUE,
                key=f"{EventKind.KPI_SELECTION_DUE}:{kpi.pk}:{started.isoformat()}:{window}",
                title=_("Still the right KPI? %(kpi)s is due for its review", kpi=kpi.name),
                summary=_(
                    "%(why)s Confirm %(kpi)s, change its target, retire it or replace it, "
                    "and say why.",
                    why=why,
                    kpi=kpi.name,
                ),
                facts=[
                    (gettext_noop("Due since"), text.moment(fell_due)),
                    (gettext_noop("Last reviewed"), text.said_moment(kpi.selection_reviewed_at)),
                    (gettext_noop("Flag"), kpi.selection_flag or _("none")),
                ],
                numbers={
                    "due_at": fell_due.isoformat(),
                    "reviewed_at": (
                        kpi.selection_reviewed_at.isoformat() if kpi.selection_reviewed_at else None
                    ),
                    "flagged": bool(kpi.selection_flag),
                },
                occurred_at=now,
                link=text.link("kpi_review", kpi.key),
                team_id=kpi.team_id,
                kpi_id=kpi.pk,
                people=[kpi.owner_id],
                lead_teams=[kpi.team_id],
                leads_only_if_nobody=True,
            )
        )
    return len(record(drafts))


JOBS: dict[str, Callable[[datetime], int]] = {
    "checkin_overdue": checkin_overdue,
    "kpi_review_overdue": kpi_review_overdue,
    "cycle_ending": cycle_ending,
    "off_track_by_pace": off_track_by_pace,
    "weekly_digest": weekly_digest,
    "kpi_selection_due": kpi_selection_due,
}


def run_periodic(now: datetime | None = None) -> dict[str, int]:
    """Run every time-based job once; returns how many events each recorded (-1: it failed).

    Each job runs in its own transaction, so one failing job does not hold back the others.
    """
    now = now or timezone.now()
    counts: dict[str, int] = {}
    for name, job in JOBS.items():
        counts[name] = -1
        with guard(f"periodic job {name}"):
            counts[name] = job(now)
    return counts
