"""The notification of tracker sync: `tracker_failing`, once per failure spell, cleared after.

It goes to the initiative's owner (or, for an initiative without one, the leads of its
objective's team), in the transaction of the sync that crossed the threshold. The key names
the spell by its first failed moment, so later failures of the same spell record nothing;
a successful sync marks the inbox entries of the spell read (the problem is gone).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.utils.translation import gettext_noop

from headway.notify import text
from headway.notify.events import Draft, guard, record
from headway.notify.kinds import EventKind
from headway.words import _, ngettext

if TYPE_CHECKING:
    from headway.initiatives.models import TrackedIssue


def key(tracked: TrackedIssue, since: datetime) -> str:
    return f"{EventKind.TRACKER_FAILING}:{tracked.pk}:{since.isoformat()}"


def failing(tracked: TrackedIssue, at: datetime) -> None:
    """Tell the owner that the initiative stopped following its issue (once per spell)."""
    assert tracked.failing_since is not None
    initiative = tracked.initiative
    objective = initiative.key_result.objective
    draft = Draft(
        kind=EventKind.TRACKER_FAILING,
        key=key(tracked, tracked.failing_since),
        title=_("Tracker sync failing: %(initiative)s", initiative=initiative.title),
        summary=ngettext(
            "“%(initiative)s” could not read %(link)s %(n)s time running: %(error)s Its "
            "status stays as it was; Headway keeps trying with a back-off.",
            "“%(initiative)s” could not read %(link)s %(n)s times running: %(error)s Its "
            "status stays as it was; Headway keeps trying with a back-off.",
            tracked.failures,
            initiative=initiative.title,
            link=initiative.link,
            error=tracked.last_error,
        ),
        facts=[
            (gettext_noop("Error"), tracked.last_error),
            (gettext_noop("Failing since"), text.said_moment(tracked.failing_since)),
            (gettext_noop("Last synced"), text.said_moment(tracked.last_synced_at)),
            (gettext_noop("Tracker"), tracked.tracker.name),
        ],
        numbers={"failures": tracked.failures, "initiative": initiative.pk},
        occurred_at=at,
        link=text.link("objective", objective.key),
        team_id=objective.team_id,
        cycle_id=objective.cycle_id,
        objective_id=objective.pk,
        key_result_id=initiative.key_result_id,
        private=objective.visibility == "private",
        objective_owner_id=objective.owner_id,
        people=[initiative.owner_id],
        lead_teams=[objective.team_id],
        leads_only_if_nobody=True,
    )
    with guard("tracker failing"):
        record([draft])


def cleared(tracked: TrackedIssue, since: datetime, at: datetime) -> int:
    """The spell ended: mark its unread inbox entries read; returns how many."""
    from headway.notify.models import Notification

    return Notification.objects.filter(
        event__dedupe_key=key(tracked, since), read_at__isnull=True
    ).update(read_at=at)
