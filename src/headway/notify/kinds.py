"""The kinds of events people are told about, with their labels and default channels.

See docs/notifications.md for who receives which kind and why.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from headway.words import Says

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise


class EventKind(models.TextChoices):
    KR_ACHIEVED = "kr_achieved", _("Key result achieved")
    OBJECTIVE_0_7 = "objective_0_7", _("Objective reached 0.7")
    OBJECTIVE_1_0 = "objective_1_0", _("Objective reached 1.0")
    KR_OFF_TRACK = "kr_off_track", _("Key result off track")
    KPI_HEALTH = "kpi_health", _("KPI health changed")
    KPI_PROMOTION = "kpi_promotion", _("KPI promotion suggested")
    POSSIBLE_GAMING = "possible_gaming", _("Possible gaming")
    CHECKIN_OVERDUE = "checkin_overdue", _("Check-in overdue")
    KPI_REVIEW_OVERDUE = "kpi_review_overdue", _("KPI review overdue")
    CYCLE_ENDING = "cycle_ending", _("Cycle ends in 7 days")
    WEEKLY_DIGEST = "weekly_digest", _("Weekly digest")
    SOURCE_FAILING = "source_failing", _("Data source failing")
    SOURCE_RECOVERED = "source_recovered", _("Data source recovered")
    DATA_INCIDENT = "data_incident", _("Data incident")
    BACK_TO_MONITORING = "back_to_monitoring", _("Key result back to monitoring")
    MENTIONED = "mentioned", _("Mentioned in a comment")
    CHECKIN_ON_OBJECTIVE = "checkin_on_objective", _("Check-in on your objective")
    OBJECTIVE_ALIGNED = "objective_aligned", _("Objective aligned to yours")
    CYCLE_CLOSED = "cycle_closed", _("Cycle closed")
    CYCLE_REOPENED = "cycle_reopened", _("Cycle reopened")
    WORK_DONE = "work_done", _("Key result's initiatives all done")
    KPI_SELECTION_DUE = "kpi_selection_due", _("KPI due for its selection review")
    TRACKER_FAILING = "tracker_failing", _("Tracker sync failing")


class Channel(models.TextChoices):
    INBOX = "inbox", _("In-app inbox")
    EMAIL = "email", _("E-mail")
    WEBHOOK = "webhook", _("Webhook")
    #: A direct message from the Slack app's bot (docs/slack.md), when the app is set up.
    SLACK = "slack", _("Slack direct message")


class WebhookFormat(models.TextChoices):
    """What a webhook's receiver reads (notify/formats.py builds each)."""

    GENERIC = "generic", _("Generic JSON (Slack and Teams fields, plus the event)")
    SLACK = "slack", _("Slack (Block Kit)")
    TEAMS = "teams", _("Microsoft Teams Workflows (Adaptive Card 1.5)")


@dataclass(frozen=True)
class KindInfo:
    """How a kind of event is delivered unless a person says otherwise."""

    help: _StrOrPromise
    email: bool
    webhook: bool
    #: Whether team webhooks may receive it (team-level news rather than a personal nudge).
    team: bool
    #: Whether it lands in the inbox (always, except the digest, which is an e-mail).
    inbox: bool = True
    #: Whether it goes to a person as a Slack direct message by default (the Slack app).
    slack: bool = False


KINDS: dict[str, KindInfo] = {
    EventKind.KR_ACHIEVED: KindInfo(
        _("A key result reached its target (score 1.0)."), email=False, webhook=True, team=True
    ),
    EventKind.OBJECTIVE_0_7: KindInfo(
        _("An objective's score rose to 0.7 (a strong result)."),
        email=False,
        webhook=True,
        team=True,
    ),
    EventKind.OBJECTIVE_1_0: KindInfo(
        _("An objective's score rose to 1.0."), email=False, webhook=True, team=True
    ),
    EventKind.KR_OFF_TRACK: KindInfo(
        _("A key result fell more than 0.25 behind the expected pace."),
        email=True,
        webhook=True,
        team=True,
    ),
    EventKind.KPI_HEALTH: KindInfo(
        _("A KPI went from healthy to warning or critical, or recovered."),
        email=True,
        webhook=True,
        team=True,
    ),
    EventKind.KPI_PROMOTION: KindInfo(
        _("A KPI is critical or deteriorating: make it a key result?"),
        email=True,
        webhook=True,
        team=True,
    ),
    EventKind.POSSIBLE_GAMING: KindInfo(
        _("A key result improved while one of its counter-KPIs deteriorated."),
        email=True,
        webhook=True,
        team=True,
    ),
    EventKind.CHECKIN_OVERDUE: KindInfo(
        _("A key result you own has had no check-in for longer than the team's cadence."),
        email=True,
        webhook=False,
        team=False,
        slack=True,
    ),
    EventKind.KPI_REVIEW_OVERDUE: KindInfo(
        _("A KPI you own has had no measurement for 1.5 review periods (stale)."),
        email=True,
        webhook=False,
        team=False,
    ),
    EventKind.CYCLE_ENDING: KindInfo(
        _("The cycle ends in 7 days: time to check in and reflect."),
        email=True,
        webhook=True,
        team=True,
    ),
    EventKind.WEEKLY_DIGEST: KindInfo(
        _("Monday e-mail: your key results, KPIs in trouble and what changed."),
        email=True,
        webhook=False,
        team=False,
        inbox=False,
    ),
    EventKind.SOURCE_FAILING: KindInfo(
        _("A KPI's data source stopped fetching (once per failure spell, not per retry)."),
        email=True,
        webhook=False,
        team=False,
    ),
    EventKind.SOURCE_RECOVERED: KindInfo(
        _("A KPI's failing data source fetched again."), email=False, webhook=False, team=False
    ),
    EventKind.BACK_TO_MONITORING: KindInfo(
        _(
            "A KPI-fed key result was achieved while its KPI stayed healthy: the KPI is back to "
            "being monitored, the key result keeps its history."
        ),
        email=False,
        webhook=True,
        team=True,
    ),
    EventKind.DATA_INCIDENT: KindInfo(
        _("A fetch looked like a pipeline problem (rows missing, a gap, a jump) and was held."),
        email=True,
        webhook=False,
        team=False,
    ),
    EventKind.MENTIONED: KindInfo(
        _("Someone mentioned you (@you) in a comment on something you may see."),
        email=True,
        webhook=True,
        team=False,
    ),
    # Frequent, so the inbox only by default: a lead hears of every check-in on the team's.
    EventKind.CHECKIN_ON_OBJECTIVE: KindInfo(
        _("Someone checked in on a key result of an objective you own or lead."),
        email=False,
        webhook=False,
        team=False,
    ),
    EventKind.OBJECTIVE_ALIGNED: KindInfo(
        _("A new objective was aligned to one you own or lead (it rolls up into it)."),
        email=True,
        webhook=False,
        team=False,
    ),
    EventKind.CYCLE_CLOSED: KindInfo(
        _("A cycle was closed: its scores are frozen as grades; read the review."),
        email=True,
        webhook=True,
        team=True,
    ),
    EventKind.CYCLE_REOPENED: KindInfo(
        _("A closed cycle was reopened: check-ins and edits are possible again."),
        email=True,
        webhook=True,
        team=True,
    ),
    EventKind.WORK_DONE: KindInfo(
        _("Every initiative of a key result is done: has the outcome moved?"),
        email=False,
        webhook=True,
        team=True,
    ),
    EventKind.KPI_SELECTION_DUE: KindInfo(
        _(
            "A KPI you own is due for its review: is it still the right KPI? (Early when it "
            "no longer moves with the outcome it is linked to.)"
        ),
        email=True,
        webhook=False,
        team=False,
    ),
    EventKind.TRACKER_FAILING: KindInfo(
        _(
            "An initiative you own could not read its tracker issue several times running "
            "(once per failure spell; cleared when it syncs again)."
        ),
        email=True,
        webhook=False,
        team=False,
    ),
}

#: Kinds that a team webhook may subscribe to.
TEAM_KINDS: tuple[str, ...] = tuple(kind for kind, info in KINDS.items() if info.team)


def label(kind: str) -> str:
    """The human label of a kind ("Key result achieved"), in the active language."""
    try:
        return str(EventKind(kind).label)
    except ValueError:
        return kind.replace("_", " ").capitalize()


@functools.cache  # the digest asks once per notification of the week; labels never change
def said_label(kind: str) -> Says:
    """The label as a sentence kept in an event (its English text is its message id)."""
    with translation.override("en"):
        return Says(label(kind))
