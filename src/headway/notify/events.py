"""Recording events in the transaction of the change that causes them, and fanning them out.

The actions call the hooks at the bottom of this module (`snapshot_cycles` before a
check-in, `after_checkin` after it; `snapshot_for_kpis`/`after_measurements` around a
push; `after_kpi_refresh` inside `refresh_kpis`). A hook never breaks the action: its
work runs in a savepoint and a failure is logged, not raised.

`record()` inserts events with conflict-ignore on their unique `dedupe_key`, then fans
out only the rows this transaction inserted (`fanned_out=False`): a Notification row per
inbox recipient (delivered at once, exactly once) and a pending Delivery row per e-mail
or webhook recipient, which the worker sends after commit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from headway.kpis.health import deserves_promotion
from headway.notify import text
from headway.notify.kinds import KINDS, Channel, EventKind
from headway.notify.models import (
    Delivery,
    DeliveryStatus,
    Event,
    Notification,
    PersonalWebhook,
    Preference,
    SlackApp,
    TeamWebhook,
)
from headway.notify.recipients import OrgIndex
from headway.words import Number, Says, _, joined, ngettext, pack

if TYPE_CHECKING:
    from headway.kpis.models import Kpi
    from headway.okrs.models import CheckIn, Cycle, KeyResult, Objective
    from headway.okrs.stored import ScoreChanges
    from headway.teams.models import Person

logger = logging.getLogger("headway.notify")

# Floating-point slack of the scoring core: a score within this of a threshold is on it.
TOLERANCE = 1e-9
STRONG = 0.7
CHUNK = 500


@dataclass
class Draft:
    """An event before it is recorded, with what fan-out needs to find its recipients."""

    kind: str
    key: str
    #: Title, summary and fact values are sentences (`Says`) where Headway words them, so
    #: each recipient reads them in their language; a fact's label is a message id.
    title: str
    occurred_at: datetime
    summary: str = ""
    facts: list[tuple[str, str]] = field(default_factory=list)
    numbers: dict[str, Any] = field(default_factory=dict)
    link: str = ""
    team_id: int | None = None
    cycle_id: int | None = None
    objective_id: int | None = None
    key_result_id: int | None = None
    kpi_id: int | None = None
    private: bool = False
    objective_owner_id: int | None = None
    actor_id: int | None = None
    #: Owners and other people named directly, most relevant first.
    people: list[int | None] = field(default_factory=list)
    #: Teams whose nearest leads are told as well…
    lead_teams: list[int] = field(default_factory=list)
    #: …or only when nobody in `people` is left (an unowned thing falls to the leads).
    leads_only_if_nobody: bool = False
    #: Teams whose webhooks receive it (for kinds that go to teams).
    webhook_teams: list[int] = field(default_factory=list)
    #: Restrict the channels (the digest is e-mail only); None means every channel.
    channels: tuple[str, ...] | None = None
    #: Longer content (the digest): [{"title": …, "rows": [{"text", "detail", "url"}]}].
    sections: list[dict[str, Any]] = field(default_factory=list)

    def as_event(self, now: datetime) -> Event:
        return Event(
            kind=self.kind,
            dedupe_key=self.key,
            occurred_at=self.occurred_at,
            created_at=now,
            title=self.title[:300],
            summary=self.summary,
            data={
                "facts": [[str(name), str(value)] for name, value in self.facts],
                "numbers": self.numbers,
                **({"sections": self.sections} if self.sections else {}),
                "said": {
                    "title": pack(self.title),
                    "summary": pack(self.summary),
                    "facts": [[pack(name), pack(value)] for name, value in self.facts],
                },
            },
            link=self.link[:300],
            team_id=self.team_id,
            cycle_id=self.cycle_id,
            objective_id=self.objective_id,
            key_result_id=self.key_result_id,
            kpi_id=self.kpi_id,
            private=self.private,
            actor_id=self.actor_id,
        )


def _chunks(items: Sequence[str], size: int = CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def record(drafts: Iterable[Draft], *, savepoint: bool = True) -> list[Event]:
    """Insert the events not recorded yet and fan them out; returns the new events.

    Runs in the caller's transaction (a savepoint of it), so the events commit or roll
    back with the change that caused them. Safe to call twice with the same drafts and
    from concurrent transactions: the unique key lets exactly one insert win.
    `savepoint=False` when the caller already runs it in one (`guard`), which saves
    two statements.
    """
    by_key: dict[str, Draft] = {}
    for draft in drafts:
        by_key.setdefault(draft.key, draft)
    if not by_key:
        return []
    keys = sorted(by_key)
    existing: set[str] = set()
    for chunk in _chunks(keys):
        existing.update(
            Event.objects.filter(dedupe_key__in=chunk).values_list("dedupe_key", flat=True)
        )
    missing = [key for key in keys if key not in existing]
    if not missing:
        return []
    now = timezone.now()
    fresh: list[Event] = []
    with transaction.atomic(savepoint=savepoint):
        # Sorted keys: concurrent inserts of overlapping sets lock in the same order.
        Event.objects.bulk_create(
            [by_key[key].as_event(now) for key in missing], ignore_conflicts=True, batch_size=CHUNK
        )
        for chunk in _chunks(missing):
            fresh.extend(Event.objects.filter(dedupe_key__in=chunk, fanned_out=False))
        if fresh:
            _fan_out(fresh, by_key, now)
            Event.objects.filter(pk__in=[e.pk for e in fresh]).update(fanned_out=True)
    return fresh


def _fan_out(events: list[Event], drafts: dict[str, Draft], now: datetime) -> None:
    """Create the Notification and Delivery rows of freshly inserted events (set-based)."""
    from headway.teams.models import Person

    # Only the chains of the teams these events concern: leads are looked up from
    # lead_teams upwards, and visibility of a private event from its own team upwards.
    org = OrgIndex.load(
        {t for e in events for t in drafts[e.dedupe_key].lead_teams}
        | {e.team_id for e in events if e.team_id is not None}
    )
    candidates: set[int] = set()
    for event in events:
        draft = drafts[event.dedupe_key]
        candidates.update(p for p in draft.people if p is not None)
        for team_id in draft.lead_teams:
            candidates.update(org.nearest_leads(team_id))
    persons = {
        pk: is_superuser
        for pk, is_superuser in Person.objects.filter(pk__in=candidates, is_active=True)
        .order_by()
        .values_list("pk", "is_superuser")
    }
    recipients: dict[int, list[int]] = {}
    for event in events:
        draft = drafts[event.dedupe_key]
        people = [p for p in draft.people if p is not None and p in persons]
        if draft.lead_teams and (not draft.leads_only_if_nobody or not people):
            for team_id in draft.lead_teams:
                people.extend(p for p in org.nearest_leads(team_id) if p in persons)
        # The person who caused the event already knows about it.
        recipients[event.pk] = [p for p in dict.fromkeys(people) if p != draft.actor_id]
    if any(event.private for event in events):
        org.load_roles(persons)
    kinds = {event.kind for event in events}
    prefs = {
        (person_id, kind): (email, webhook, slack)
        for person_id, kind, email, webhook, slack in Preference.objects.filter(
            person_id__in=persons, kind__in=kinds
        ).values_list("person_id", "kind", "email", "webhook", "slack")
    }
    # Slack direct messages only once an admin has set up the Slack app (docs/slack.md);
    # asked (one query) only when someone would get one.
    slack_app: bool | None = None
    personal_hooks = set(
        PersonalWebhook.objects.filter(person_id__in=persons)
        .exclude(url="")
        .values_list("person_id", flat=True)
    )
    hook_teams = {t for e in events for t in drafts[e.dedupe_key].webhook_teams}
    team_hooks: dict[int, list[TeamWebhook]] = {}
    if hook_teams:
        # Each team's hooks in their default order (name, id), without joining the teams.
        for hook in TeamWebhook.objects.filter(team_id__in=hook_teams, active=True).order_by(
            "team_id", "name", "id"
        ):
            team_hooks.setdefault(hook.team_id, []).append(hook)

    notes: list[Notification] = []
    deliveries: list[Delivery] = []
    for event in events:
        draft = drafts[event.dedupe_key]
        info = KINDS[event.kind]
        allowed = set(draft.channels or Channel.values)
        for person_id in recipients[event.pk]:
            if person_id not in persons:
                continue
            if event.private and not org.can_see_private(
                person_id, event.team_id, draft.objective_owner_id, persons[person_id]
            ):
                continue
            address = f"person:{person_id}"
            want_email, want_webhook, want_slack = prefs.get(
                (person_id, event.kind), (info.email, info.webhook, None)
            )
            if want_slack is None:
                want_slack = info.slack
            if info.inbox and Channel.INBOX in allowed:
                notes.append(Notification(person_id=person_id, event=event, created_at=now))
                deliveries.append(
                    Delivery(
                        event=event,
                        channel=Channel.INBOX,
                        address=address,
                        person_id=person_id,
                        status=DeliveryStatus.SENT,
                        attempts=1,
                        sent_at=now,
                        created_at=now,
                        updated_at=now,
                    )
                )
            if want_email and Channel.EMAIL in allowed:
                deliveries.append(_pending(event, Channel.EMAIL, address, now, person_id=person_id))
            if want_webhook and Channel.WEBHOOK in allowed and person_id in personal_hooks:
                deliveries.append(
                    _pending(event, Channel.WEBHOOK, address, now, person_id=person_id)
                )
            if want_slack and Channel.SLACK in allowed:
                if slack_app is None:
                    slack_app = SlackApp.objects.exclude(bot_token="").exists()
                if slack_app:
                    deliveries.append(
                        _pending(event, Channel.SLACK, address, now, person_id=person_id)
                    )
        if info.team and Channel.WEBHOOK in allowed:
            teams = draft.webhook_teams
            if event.private:
                # A private objective's news goes to its own team's webhooks only.
                teams = [t for t in teams if t == event.team_id]
            for team_id in dict.fromkeys(teams):
                for hook in team_hooks.get(team_id, []):
                    if hook.wants(event.kind):
                        deliveries.append(
                            _pending(
                                event,
                                Channel.WEBHOOK,
                                f"team-webhook:{hook.pk}",
                                now,
                                team_webhook_id=hook.pk,
                            )
                        )
    Notification.objects.bulk_create(notes, ignore_conflicts=True, batch_size=CHUNK)
    Delivery.objects.bulk_create(deliveries, ignore_conflicts=True, batch_size=CHUNK)
    pending = sorted({d.event.pk for d in deliveries if d.status == DeliveryStatus.PENDING})
    if pending:
        _enqueue_with_the_change(pending)


def _pending(
    event: Event,
    channel: str,
    address: str,
    now: datetime,
    *,
    person_id: int | None = None,
    team_webhook_id: int | None = None,
) -> Delivery:
    return Delivery(
        event=event,
        channel=channel,
        address=address,
        person_id=person_id,
        team_webhook_id=team_webhook_id,
        status=DeliveryStatus.PENDING,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )


def _enqueue_with_the_change(event_ids: list[int]) -> None:
    """Queue the delivery task in the change's own transaction (a savepoint of it).

    The task row is in the same database as the events: it commits with them, so a
    rolled-back change queues nothing, and a committed one cannot lose its task to a
    crash between the commit and a second write; it also saves that second write and
    its commit (a flush to disk on PostgreSQL) on every check-in. The worker sees the
    task only once the deliveries it sends are committed, and claims them atomically.
    """
    from headway.notify.tasks import deliver

    try:
        with transaction.atomic():
            for start in range(0, len(event_ids), CHUNK):
                deliver.enqueue(event_ids=event_ids[start : start + CHUNK])
    except Exception:
        # The worker's polling sends them anyway; the task only makes it sooner.
        logger.exception("Could not queue the delivery task for events %s", event_ids[:5])


#: Tests set this to see hook failures instead of a log line.
RAISE_ERRORS = False


@contextmanager
def guard(what: str) -> Iterator[None]:
    """Run a hook in a savepoint; a failure is logged and never breaks the caller's action.

    Except when the database connection itself failed: then the caller's transaction is
    gone too (Django would end it without committing and without a word), so the error
    goes on up and the action fails as a whole rather than answer as if it had been kept.
    """
    try:
        with transaction.atomic():
            yield
    except Exception as exc:
        if RAISE_ERRORS or _connection_lost(exc):
            raise
        logger.exception("notify: %s failed; the change itself was kept", what)


def _connection_lost(exc: BaseException) -> bool:
    """Whether `exc` (or the state it left) means the connection, not the hook, failed."""
    from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections

    connection = connections[DEFAULT_DB_ALIAS]
    if connection.closed_in_transaction or isinstance(exc, InterfaceError):
        return True
    if connection.in_atomic_block and connection.needs_rollback:
        return True  # the savepoint could not be rolled back: the transaction is lost
    # A terminated PostgreSQL session raises OperationalError; a locked SQLite one does
    # too but is still usable (the savepoint rolled back, the change can be kept).
    return isinstance(exc, OperationalError) and not connection.is_usable()


# --------------------------------------------------------------------------- OKR transitions


def _objective_facts(objective: Objective) -> tuple[str, bool]:
    return text.link("objective", objective.key), objective.visibility == "private"


def transitions(
    changes: ScoreChanges, *, trigger_at: datetime, actor_id: int | None
) -> list[Draft]:
    """Events of what a rescore changed (`okrs.stored.rescore`), statuses judged at its moment.

    Key result achieved, key result turned off track, objective crossed 0.7 or 1.0 upwards
    (only the highest threshold crossed is announced).
    """
    from headway.okrs.scoring import grade_band

    drafts: list[Draft] = []
    for objective, old, result in changes.objectives:
        if old.score < 1.0 - TOLERANCE <= result.score:
            threshold: float | None = 1.0
        elif grade_band(old.score) != "green" and grade_band(result.score) == "green":
            threshold = STRONG
        else:
            threshold = None
        if threshold is not None:
            drafts.append(
                _objective_draft(
                    objective, objective.cycle, old.score, result.score, threshold, actor_id
                )
            )
    for kr, was, now_result in changes.key_results:
        if was.status == now_result.status:
            continue
        if now_result.status == "achieved":
            drafts.append(_kr_achieved(kr, now_result, actor_id))
        elif now_result.status == "off_track":
            moment = now_result.last_checkin_at or trigger_at
            drafts.append(kr_off_track_draft(kr, now_result, was.status, moment, actor_id))
    return drafts


def _objective_draft(
    objective: Objective,
    cycle: Cycle,
    old: float,
    new: float,
    threshold: float,
    actor_id: int | None,
) -> Draft:
    kind = EventKind.OBJECTIVE_1_0 if threshold >= 1.0 else EventKind.OBJECTIVE_0_7
    owners = [kr.owner_id for kr in objective.key_results_list]  # type: ignore[attr-defined]
    link, private = _objective_facts(objective)
    return Draft(
        kind=kind,
        key=f"{kind}:{objective.pk}",
        title=_(
            "“%(objective)s” reached %(threshold)s",
            objective=objective.title,
            threshold=Number(threshold, ".1f"),
        ),
        summary=_(
            "The objective's score rose from %(old)s to %(new)s (%(type)s; %(team)s, %(cycle)s).",
            old=text.said_score(old),
            new=text.said_score(new),
            type=_OBJECTIVE_TYPES.get(objective.type, objective.type),
            team=objective.team.name,
            cycle=str(cycle),
        ),
        facts=[
            (gettext_noop("Score"), _arrow(text.said_score(old), text.said_score(new))),
            (gettext_noop("Threshold"), Says("%(n)s", n=Number(threshold, ".1f"))),
            (gettext_noop("Type"), _OBJECTIVE_TYPES.get(objective.type, objective.type)),
            (gettext_noop("Team"), objective.team.name),
            (gettext_noop("Cycle"), str(cycle)),
        ],
        numbers={"score_before": old, "score": new, "threshold": threshold},
        occurred_at=timezone.now(),
        link=link,
        team_id=objective.team_id,
        cycle_id=objective.cycle_id,
        objective_id=objective.pk,
        private=private,
        objective_owner_id=objective.owner_id,
        actor_id=actor_id,
        people=[objective.owner_id, *owners],
        lead_teams=[objective.team_id],
        webhook_teams=[objective.team_id],
    )


#: Objective types as the sentences name them.
_OBJECTIVE_TYPES: dict[str, Says] = {"committed": _("committed"), "aspirational": _("aspirational")}


def _arrow(before: object, after: object) -> Says:
    """ "0.50 → 0.70": a change, each side in the reader's form (not a message id)."""
    return Says("%(before)s → %(after)s", before=before, after=after)


def _kr_people(kr: KeyResult) -> list[int | None]:
    return [kr.owner_id, kr.objective.owner_id]


def _kr_values(kr: KeyResult, current: float | None) -> list[tuple[str, str]]:
    facts: list[tuple[str, str]] = []
    if kr.kind in {"increase", "decrease"}:
        facts.append(
            (
                gettext_noop("Start → target"),
                _arrow(text.said_number(kr.start, kr.unit), text.said_number(kr.target, kr.unit)),
            )
        )
    elif kr.kind in {"above", "below"}:
        keep = gettext_noop("Keep above") if kr.kind == "above" else gettext_noop("Keep below")
        facts.append((keep, text.said_number(kr.target, kr.unit)))
    if current is not None:
        facts.append((gettext_noop("Current value"), text.said_number(current, kr.unit)))
    return facts


def _kr_achieved(kr: KeyResult, result: Any, actor_id: int | None) -> Draft:
    objective = kr.objective
    link, private = _objective_facts(objective)
    return Draft(
        kind=EventKind.KR_ACHIEVED,
        key=f"{EventKind.KR_ACHIEVED}:{kr.pk}",
        title=_("Key result achieved: “%(key_result)s”", key_result=kr.title),
        summary=_(
            "“%(key_result)s” of “%(objective)s” reached its target (score %(score)s).",
            key_result=kr.title,
            objective=objective.title,
            score=Number(1.0, ".2f"),
        ),
        facts=[
            (gettext_noop("Score"), text.said_score(1.0)),
            *_kr_values(kr, result.current),
            (gettext_noop("Objective"), objective.title),
            (gettext_noop("Team"), objective.team.name),
        ],
        numbers={"score": result.score, "current": result.current, "target": kr.target},
        occurred_at=timezone.now(),
        link=link,
        team_id=objective.team_id,
        cycle_id=objective.cycle_id,
        objective_id=objective.pk,
        key_result_id=kr.pk,
        private=private,
        objective_owner_id=objective.owner_id,
        actor_id=actor_id,
        people=_kr_people(kr),
        lead_teams=[objective.team_id],
        webhook_teams=[objective.team_id],
    )


def kr_off_track_draft(
    kr: KeyResult, result: Any, was: str, moment: datetime, actor_id: int | None
) -> Draft:
    objective = kr.objective
    link, private = _objective_facts(objective)
    return Draft(
        kind=EventKind.KR_OFF_TRACK,
        key=f"{EventKind.KR_OFF_TRACK}:{kr.pk}:{moment.isoformat()}",
        title=_("Off track: “%(key_result)s”", key_result=kr.title),
        summary=_(
            "“%(key_result)s” scores %(score)s where %(expected)s was expected by now "
            "(was %(was)s).",
            key_result=kr.title,
            score=text.said_score(result.score),
            expected=text.said_score(result.expected),
            was=text.said(text.STATUS_SAID, was),
        ),
        facts=[
            (gettext_noop("Score"), text.said_score(result.score)),
            (gettext_noop("Expected by now"), text.said_score(result.expected)),
            (gettext_noop("Forecast at cycle end"), text.said_score(result.forecast)),
            *_kr_values(kr, result.current),
            (
                gettext_noop("Confidence"),
                text.DASH if result.confidence is None else f"{result.confidence}/10",
            ),
            (gettext_noop("Objective"), objective.title),
        ],
        numbers={
            "score": result.score,
            "expected": result.expected,
            "forecast": result.forecast,
            "current": result.current,
            "confidence": result.confidence,
            "previous_status": was,
        },
        occurred_at=timezone.now(),
        link=link,
        team_id=objective.team_id,
        cycle_id=objective.cycle_id,
        objective_id=objective.pk,
        key_result_id=kr.pk,
        private=private,
        objective_owner_id=objective.owner_id,
        actor_id=actor_id,
        people=_kr_people(kr),
        lead_teams=[objective.team_id],
        webhook_teams=[objective.team_id],
    )


# --------------------------------------------------------------------------- guard rails


def period_label(at: datetime, cadence: str) -> str:
    """The review period holding `at`: 2027-W07, 2027-03 or 2027-Q1 (UTC)."""
    at = at.astimezone(UTC)
    if cadence == "weekly":
        year, week, _ = at.isocalendar()
        return f"{year}-W{week:02d}"
    if cadence == "quarterly":
        return f"{at.year}-Q{(at.month - 1) // 3 + 1}"
    return f"{at.year}-{at.month:02d}"


def gaming_drafts(
    key_results: Sequence[KeyResult], *, at: datetime, actor_id: int | None
) -> list[Draft]:
    """Possible-gaming events for these key results, once per key result and review period."""
    from headway.kpis.queries import gaming_alerts

    drafts: list[Draft] = []
    alerts = gaming_alerts(key_results, at=at)
    if not alerts:
        return drafts
    from headway.okrs.models import KeyResult

    counters: dict[int, list[Kpi]] = {}
    for kr in KeyResult.objects.filter(pk__in=[k.pk for k in alerts]).prefetch_related(
        "counter_kpis"
    ):
        counters[kr.pk] = list(kr.counter_kpis.all())
    for kr in alerts:
        objective = kr.objective
        cadence = kr.kpi.effective_cadence if kr.kpi is not None else "weekly"
        period = period_label(at, cadence)
        link, private = _objective_facts(objective)
        guards = counters.get(kr.pk, [])
        names = [
            Says("%(kpi)s (%(value)s)", kpi=k.name, value=text.said_number(k.latest_value, k.unit))
            for k in guards
        ]
        drafts.append(
            Draft(
                kind=EventKind.POSSIBLE_GAMING,
                key=f"{EventKind.POSSIBLE_GAMING}:{kr.pk}:{period}",
                title=_("Possible gaming: “%(key_result)s”", key_result=kr.title),
                summary=_(
                    "“%(key_result)s” improved over the last 3 periods while a counter-KPI "
                    "deteriorated: %(kpis)s. Check that the number moved for the right reasons.",
                    key_result=kr.title,
                    kpis=joined(names) if names else "",
                ),
                facts=[
                    *_kr_values(kr, kr.current),
                    *[
                        (
                            _("Counter-KPI %(kpi)s", kpi=k.name),
                            Says(
                                "%(value)s (%(trend)s)",
                                value=text.said_number(k.latest_value, k.unit),
                                trend=text.said(text.TREND_SAID, k.trend),
                            ),
                        )
                        for k in guards
                    ],
                    (gettext_noop("Period"), period),
                ],
                numbers={
                    "current": kr.current,
                    "counter_kpis": {k.key: k.latest_value for k in guards},
                    "period": period,
                },
                occurred_at=at,
                link=link,
                team_id=objective.team_id,
                cycle_id=objective.cycle_id,
                objective_id=objective.pk,
                key_result_id=kr.pk,
                private=private,
                objective_owner_id=objective.owner_id,
                actor_id=actor_id,
                people=[*_kr_people(kr), *(k.owner_id for k in guards)],
                lead_teams=[objective.team_id],
                webhook_teams=[objective.team_id],
            )
        )
    return drafts


# --------------------------------------------------------------------------- KPI transitions


@dataclass(frozen=True)
class KpiState:
    """What a KPI row said before an evaluation overwrote it."""

    health: str
    trend: str
    wrong_way_streak: int

    @property
    def deserves_promotion(self) -> bool:
        """kpis.health.deserves_promotion (its one home) on the stored state."""
        return deserves_promotion(self)


def kpi_state(kpi: Kpi) -> KpiState:
    return KpiState(health=kpi.health, trend=kpi.trend, wrong_way_streak=kpi.wrong_way_streak)


LEVELS = {"healthy": 0, "warning": 1, "critical": 2}


def _kpi_facts(kpi: Kpi) -> list[tuple[str, str]]:
    facts: list[tuple[str, str]] = [
        (gettext_noop("Latest value"), text.said_number(kpi.latest_value, kpi.unit))
    ]
    if kpi.latest_at is not None:
        facts.append((gettext_noop("Measured"), text.moment(kpi.latest_at)))
    # The thresholds the latest value was judged by (targets may change by period).
    for label, value in zip(
        (gettext_noop("Target"), gettext_noop("Warning at"), gettext_noop("Critical at")),
        kpi.thresholds_latest,
        strict=True,
    ):
        if value is not None:
            facts.append((label, text.said_number(value, kpi.unit)))
    facts.append(
        (
            gettext_noop("Direction"),
            _("higher is better") if kpi.direction == "up" else _("lower is better"),
        )
    )
    return facts


def _kpi_numbers(kpi: Kpi) -> dict[str, Any]:
    target, warning, critical = kpi.thresholds_latest
    return {
        "value": kpi.latest_value,
        "measured_at": kpi.latest_at.isoformat() if kpi.latest_at else None,
        "target": target,
        "warning": warning,
        "critical": critical,
        "unit": kpi.unit,
        "health": kpi.health,
        "trend": kpi.trend,
    }


def kpi_drafts(old_states: dict[int, KpiState], kpis: Sequence[Kpi], at: datetime) -> list[Draft]:
    """Health changes among healthy/warning/critical, and new promotion suggestions."""
    from headway.kpis.models import Kpi

    drafts: list[Draft] = []
    promotable: list[Kpi] = []
    for kpi in kpis:
        old = old_states.get(kpi.pk)
        if old is None:
            continue
        new_level = LEVELS.get(kpi.health)
        old_level = LEVELS.get(old.health)
        # A first measurement or one after a stale spell is news only when it is bad.
        if (
            new_level is not None
            and new_level != old_level
            and (old_level is not None or new_level > 0)
        ):
            drafts.append(_kpi_health(kpi, old.health, at))
        if not old.deserves_promotion and kpi_state(kpi).deserves_promotion:
            promotable.append(kpi)
    if promotable:
        allowed = set(
            Kpi.objects.filter(pk__in=[k.pk for k in promotable])
            .deserving_promotion()
            .values_list("pk", flat=True)
        )
        drafts.extend(_kpi_promotion(kpi, at) for kpi in promotable if kpi.pk in allowed)
    return drafts


def _kpi_health(kpi: Kpi, old: str, at: datetime) -> Draft:
    moment = kpi.latest_at.isoformat() if kpi.latest_at else "none"
    health = text.said(text.HEALTH_SAID, kpi.health)
    was = text.said(text.HEALTH_SAID, old)
    if kpi.health == "healthy":
        title = _("%(kpi)s recovered: healthy again", kpi=kpi.name)
    elif old in LEVELS and LEVELS[kpi.health] < LEVELS[old]:
        title = _("%(kpi)s improved to %(health)s", kpi=kpi.name, health=health)
    else:
        title = _("%(kpi)s is %(health)s", kpi=kpi.name, health=health)
    return Draft(
        kind=EventKind.KPI_HEALTH,
        key=f"{EventKind.KPI_HEALTH}:{kpi.pk}:{moment}:{kpi.health}",
        title=title,
        summary=_(
            "%(kpi)s is %(value)s: health went from %(was)s to %(health)s.",
            kpi=kpi.name,
            value=text.said_number(kpi.latest_value, kpi.unit),
            was=was,
            health=health,
        ),
        facts=[
            (gettext_noop("Health"), _arrow(was, health)),
            *_kpi_facts(kpi),
        ],
        numbers={**_kpi_numbers(kpi), "previous_health": old},
        occurred_at=kpi.latest_at or at,
        link=text.link("kpi", kpi.key),
        team_id=kpi.team_id,
        kpi_id=kpi.pk,
        people=[kpi.owner_id],
        lead_teams=[kpi.team_id],
        webhook_teams=[kpi.team_id],
    )


def _kpi_promotion(kpi: Kpi, at: datetime) -> Draft:
    moment = kpi.latest_at.isoformat() if kpi.latest_at else "none"
    why = (
        _("it is critical")
        if kpi.health == "critical"
        else ngettext(
            "it moved the wrong way %(n)s period running",
            "it moved the wrong way %(n)s periods running",
            kpi.wrong_way_streak,
        )
    )
    return Draft(
        kind=EventKind.KPI_PROMOTION,
        key=f"{EventKind.KPI_PROMOTION}:{kpi.pk}:{moment}",
        title=_("Make %(kpi)s a key result?", kpi=kpi.name),
        summary=_(
            "%(kpi)s deserves attention: %(why)s (latest %(value)s, target %(target)s). "
            "A lead can promote it to a key result of the current cycle.",
            kpi=kpi.name,
            why=why,
            value=text.said_number(kpi.latest_value, kpi.unit),
            target=text.said_number(kpi.thresholds_latest[0], kpi.unit),
        ),
        facts=[
            (gettext_noop("Health"), text.said(text.HEALTH_SAID, kpi.health)),
            (gettext_noop("Trend"), text.said(text.TREND_SAID, kpi.trend)),
            (gettext_noop("Wrong-way periods"), str(kpi.wrong_way_streak)),
            *_kpi_facts(kpi),
        ],
        numbers={**_kpi_numbers(kpi), "wrong_way_streak": kpi.wrong_way_streak},
        occurred_at=kpi.latest_at or at,
        link=text.link("kpi", kpi.key),
        team_id=kpi.team_id,
        kpi_id=kpi.pk,
        people=[kpi.owner_id],
        lead_teams=[kpi.team_id],
        webhook_teams=[kpi.team_id],
    )


def back_to_monitoring_draft(key_result: KeyResult, kpi: Kpi, *, by: Person) -> Draft:
    """A key result handed its KPI back to monitoring (kpis.actions.return_to_monitoring)."""
    objective = key_result.objective
    return Draft(
        kind=EventKind.BACK_TO_MONITORING,
        key=f"{EventKind.BACK_TO_MONITORING}:{key_result.pk}:{kpi.pk}",
        title=_("%(kpi)s is back to monitoring", kpi=kpi.name),
        summary=ngettext(
            "“%(key_result)s” reached its target while %(kpi)s stayed healthy %(n)s period "
            "running: %(person)s handed the KPI back to monitoring. The key result keeps its "
            "history and final value.",
            "“%(key_result)s” reached its target while %(kpi)s stayed healthy %(n)s periods "
            "running: %(person)s handed the KPI back to monitoring. The key result keeps its "
            "history and final value.",
            kpi.healthy_streak,
            key_result=key_result.title,
            kpi=kpi.name,
            person=str(by),
        ),
        facts=[
            (gettext_noop("Key result"), key_result.title),
            (gettext_noop("Objective"), objective.title),
            *_kpi_facts(kpi),
        ],
        numbers={**_kpi_numbers(kpi), "healthy_streak": kpi.healthy_streak},
        occurred_at=timezone.now(),
        link=text.link("kpi", kpi.key),
        team_id=objective.team_id,
        cycle_id=objective.cycle_id,
        objective_id=objective.pk,
        key_result_id=key_result.pk,
        kpi_id=kpi.pk,
        private=objective.visibility == "private",
        objective_owner_id=objective.owner_id,
        actor_id=by.pk,
        people=[kpi.owner_id, *_kr_people(key_result)],
        lead_teams=[objective.team_id, kpi.team_id],
        webhook_teams=[objective.team_id],
    )


# --------------------------------------------------------------------------- hooks


def after_checkin(
    changes: ScoreChanges, *, checkin: CheckIn, key_result: KeyResult, by: Person | None
) -> None:
    """Announce what a check-in changed (called by okrs.actions.record_checkin)."""
    actor_id = by.pk if by is not None else None
    with guard("after_checkin"):
        drafts = transitions(changes, trigger_at=checkin.at, actor_id=actor_id)
        drafts += gaming_drafts([key_result], at=max(changes.at, checkin.at), actor_id=actor_id)
        drafts.append(checkin_draft(checkin, key_result, actor_id=actor_id))
        record(drafts, savepoint=False)  # guard's savepoint is the one it needs


def checkin_draft(checkin: CheckIn, key_result: KeyResult, *, actor_id: int | None) -> Draft:
    """A check-in, told to the objective's owner and the team's leads (not its author)."""
    objective = key_result.objective
    link, private = _objective_facts(objective)
    value = (
        (_("Done") if checkin.done else _("Not done"))
        if key_result.kind == "milestone"
        else text.said_number(checkin.value, key_result.unit)
    )
    facts: list[tuple[str, str]] = [(gettext_noop("Value"), value)]
    if checkin.confidence is not None:
        facts.append((gettext_noop("Confidence"), f"{checkin.confidence}/10"))
    if checkin.comment:
        facts.append((gettext_noop("Comment"), checkin.comment[:300]))
    summary_of = {"key_result": key_result.title, "objective": objective.title}
    return Draft(
        kind=EventKind.CHECKIN_ON_OBJECTIVE,
        key=f"{EventKind.CHECKIN_ON_OBJECTIVE}:{checkin.pk}",
        title=_("Check-in on “%(key_result)s”", key_result=key_result.title),
        summary=(
            _(
                "%(person)s checked in on “%(key_result)s” of “%(objective)s”.",
                person=str(checkin.author),
                **summary_of,
            )
            if checkin.author_id
            else _("A data source checked in on “%(key_result)s” of “%(objective)s”.", **summary_of)
        ),
        facts=[
            *facts,
            (gettext_noop("Objective"), objective.title),
            (gettext_noop("Team"), objective.team.name),
        ],
        numbers={"value": checkin.value, "confidence": checkin.confidence},
        occurred_at=checkin.at,
        link=link,
        team_id=objective.team_id,
        cycle_id=objective.cycle_id,
        objective_id=objective.pk,
        key_result_id=key_result.pk,
        private=private,
        objective_owner_id=objective.owner_id,
        actor_id=actor_id,
        people=[objective.owner_id],
        lead_teams=[objective.team_id],
    )


def aligned_draft(child: Objective, parent: Objective, *, actor_id: int | None) -> Draft:
    """A new objective rolls up into `parent`: its owner and team's leads hear of it.

    Private children are told only to those who may see them (the fan-out's visibility
    check runs on the child's team, which is the event's team).
    """
    link, private = _objective_facts(child)
    return Draft(
        kind=EventKind.OBJECTIVE_ALIGNED,
        key=f"{EventKind.OBJECTIVE_ALIGNED}:{child.pk}:{parent.pk}",
        title=_("“%(child)s” is aligned to “%(parent)s”", child=child.title, parent=parent.title),
        summary=_(
            "%(team)s's objective “%(child)s” now rolls up into “%(parent)s” (%(cycle)s).",
            team=child.team.name,
            child=child.title,
            parent=parent.title,
            cycle=str(child.cycle),
        ),
        facts=[
            (gettext_noop("Objective"), child.title),
            (gettext_noop("Team"), child.team.name),
            (gettext_noop("Aligned to"), parent.title),
            (gettext_noop("Cycle"), str(child.cycle)),
        ],
        occurred_at=timezone.now(),
        link=link,
        team_id=child.team_id,
        cycle_id=child.cycle_id,
        objective_id=child.pk,
        private=private,
        objective_owner_id=child.owner_id,
        actor_id=actor_id,
        people=[parent.owner_id],
        lead_teams=[parent.team_id],
    )


def cycle_state_draft(cycle: Cycle, *, closed: bool, actor_id: int | None) -> Draft:
    """A cycle closed or reopened: owners in it, their teams' leads and webhooks."""
    from headway.okrs.models import KeyResult, Objective

    objectives = list(
        Objective.objects.filter(cycle=cycle).values_list("team_id", "owner_id", "grade")
    )
    owners = list(
        KeyResult.objects.filter(objective__cycle=cycle).values_list("owner_id", flat=True)
    )
    teams = sorted({team_id for team_id, _, _ in objectives})
    people: list[int | None] = [owner for _, owner, _ in objectives]
    people += owners
    grades = [g for _, _, g in objectives if g is not None]
    kind = EventKind.CYCLE_CLOSED if closed else EventKind.CYCLE_REOPENED
    now = timezone.now()
    moment = cycle.closed_at if closed and cycle.closed_at else now
    mean = sum(grades) / len(grades) if grades else None
    facts: list[tuple[str, str]] = [(gettext_noop("Objectives"), str(len(objectives)))]
    if closed:
        facts.append((gettext_noop("Mean grade"), text.said_score(mean)))
    return Draft(
        kind=kind,
        key=f"{kind}:{cycle.pk}:{moment.isoformat()}",
        title=(
            _("%(cycle)s was closed", cycle=str(cycle))
            if closed
            else _("%(cycle)s was reopened", cycle=str(cycle))
        ),
        summary=(
            _(
                "%(cycle)s is closed: every score is frozen as its grade. Read the review.",
                cycle=str(cycle),
            )
            if closed
            else _(
                "%(cycle)s is open again: check-ins and edits are possible until it closes.",
                cycle=str(cycle),
            )
        ),
        facts=facts,
        numbers={"objectives": len(objectives), "mean_grade": mean if closed else None},
        occurred_at=moment,
        link=text.link("cycle", cycle.key),
        cycle_id=cycle.pk,
        actor_id=actor_id,
        people=people,
        lead_teams=teams,
        webhook_teams=teams,
    )


def after_aligned(child: Objective, parent: Objective, *, by: Person | None) -> None:
    """Announce a new roll-up child (create_objective with a parent, align_objective)."""
    with guard("after_aligned"):
        record([aligned_draft(child, parent, actor_id=by.pk if by else None)])


def after_cycle_state(cycle: Cycle, *, closed: bool, by: Person | None) -> None:
    """Announce a cycle closed or reopened (close_cycle, reopen_cycle)."""
    with guard("after_cycle_state"):
        record([cycle_state_draft(cycle, closed=closed, actor_id=by.pk if by else None)])


def after_rescore(changes: ScoreChanges, *, by: Person | None) -> None:
    """Announce what new KPI values changed in the key results they feed (in refresh_kpis)."""
    with guard("after_rescore"):
        record(transitions(changes, trigger_at=changes.at, actor_id=by.pk if by else None))


def after_measurements(*, kpi_ids: Iterable[int], by: Person | None, at: datetime) -> None:
    """Announce possible gaming of the guard rails a push touched."""
    from django.db.models import Q

    from headway.okrs.models import CycleState, KeyResult

    ids = list(set(kpi_ids))
    actor_id = by.pk if by is not None else None
    with guard("after_measurements"):
        guarded = list(
            KeyResult.objects.filter(
                Q(kpi_id__in=ids) | Q(counter_kpis__in=ids),
                objective__cycle__state=CycleState.ACTIVE,
                counter_kpis__isnull=False,
            )
            .select_related("objective__team", "objective__cycle", "kpi")
            .distinct()
        )
        if guarded:
            record(gaming_drafts(guarded, at=at, actor_id=actor_id))


def after_back_to_monitoring(key_result: KeyResult, kpi: Kpi, *, by: Person) -> None:
    """Announce that a key result handed its KPI back to monitoring."""
    with guard("after_back_to_monitoring"):
        record([back_to_monitoring_draft(key_result, kpi, by=by)])


def after_kpi_refresh(old_states: dict[int, KpiState], kpis: Sequence[Kpi], at: datetime) -> None:
    """Announce KPI health changes and new promotion suggestions (inside refresh_kpis)."""
    with guard("after_kpi_refresh"):
        record(kpi_drafts(old_states, kpis, at))
