"""The changes of initiatives: plan, change and drop the work behind a key result.

Whoever may check in on a key result (members of its team, its owner and the
objective's owner) plans its initiatives; an initiative's own owner may change it too
(to move its status as the work goes). A closed cycle's initiatives are frozen like its
scores. Every change names the version it saw (optimistic locking) and is kept in the
history. Work never moves a score: see initiatives/progress.py.

Trackers (GitHub, GitLab, Jira; initiatives/trackers.py) are set up by admins; an
initiative linked to one of their issues may follow it (as for editing the initiative),
and the worker's sync (initiatives/sync.py) then moves its status through
`store_sync`, with the history and the "all done" announcement of any other change.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from headway import secrets
from headway.initiatives import notices, trackers
from headway.initiatives.models import Initiative, TrackedIssue, Tracker
from headway.initiatives.progress import WorkProgress, progress
from headway.teams.access import Access, refuse
from headway.versions import Seen, check_version
from headway.writes import real_changes, refuse_unknown, save_checked

if TYPE_CHECKING:
    from headway.okrs.models import KeyResult
    from headway.teams.models import Person

FIELDS = frozenset({"title", "owner", "status", "due", "link", "position"})


def why_not_plan_work(access: Access, key_result: KeyResult) -> str | None:
    if access.can_check_in(key_result):
        return None
    return _("Only members of the team and the key result's owners may plan its initiatives.")


def why_not_edit_initiative(access: Access, initiative: Initiative) -> str | None:
    if access.can_check_in(initiative.key_result):
        return None
    if access.person_id is not None and initiative.owner_id == access.person_id:
        return None
    return _("Only the team, the key result's owners and the initiative's owner may change it.")


def _clean(fields: dict[str, Any]) -> dict[str, Any]:
    if "title" in fields:
        fields["title"] = str(fields["title"] or "").strip()
    if "link" in fields:
        fields["link"] = str(fields["link"] or "").strip()
    due = fields.get("due")
    if due is not None and not isinstance(due, date):
        try:
            fields["due"] = date.fromisoformat(str(due)) if str(due).strip() else None
        except ValueError:
            raise ValidationError({"due": _("Give the due date as YYYY-MM-DD.")}) from None
    return fields


@transaction.atomic
def create_initiative(*, by: Person, key_result: KeyResult, **fields: Any) -> Initiative:
    """Plan a piece of work under a key result; it goes last unless `position` is given."""
    refuse_unknown(fields, FIELDS)
    refuse(why_not_plan_work(Access.for_person(by), key_result))
    key_result.objective.cycle.refuse_if_closed()
    fields = _clean(fields)
    if fields.get("position") is None:
        fields["position"] = key_result.initiatives.count()
    before = _work(key_result.pk)
    initiative = Initiative(key_result=key_result, **fields)
    save_checked(initiative, by=by)
    _announce_if_done(key_result, before, by=by)
    return initiative


def _locked(initiative: Initiative) -> Initiative:
    return (
        Initiative.objects.select_for_update(of=("self",))
        .select_related("key_result__objective__cycle", "key_result__objective__team")
        .get(pk=initiative.pk)
    )


@transaction.atomic
def update_initiative(
    *, by: Person, initiative: Initiative, version: Seen = None, **changes: Any
) -> Initiative:
    """Change an initiative (its status, most often); a real change bumps its version."""
    refuse_unknown(changes, FIELDS)
    initiative = _locked(initiative)
    refuse(why_not_edit_initiative(Access.for_person(by), initiative))
    check_version(initiative.version, version)
    initiative.key_result.objective.cycle.refuse_if_closed()
    moved = real_changes(initiative, _clean(changes))
    if not moved:
        return initiative
    before = _work(initiative.key_result_id)
    for name, value in moved.items():
        setattr(initiative, name, value)
    initiative.version += 1
    save_checked(initiative, by=by)
    if "link" in moved:
        _relink(initiative)
    _announce_if_done(initiative.key_result, before, by=by)
    return initiative


@transaction.atomic
def delete_initiative(*, by: Person, initiative: Initiative, version: Seen = None) -> None:
    """Remove an initiative (whoever may change it); the history keeps it."""
    initiative = _locked(initiative)
    refuse(why_not_edit_initiative(Access.for_person(by), initiative))
    check_version(initiative.version, version)
    initiative.key_result.objective.cycle.refuse_if_closed()
    before = _work(initiative.key_result_id)
    initiative._history_user = by  # type: ignore[attr-defined]
    initiative.delete()
    _announce_if_done(initiative.key_result, before, by=by)


def _work(key_result_id: int) -> WorkProgress:
    statuses = Initiative.objects.filter(key_result_id=key_result_id).values_list("status")
    return progress(status for (status,) in statuses)


def _announce_if_done(key_result: KeyResult, before: WorkProgress, *, by: Person | None) -> None:
    """`work_done` when this change made every initiative of the key result done."""
    after = _work(key_result.pk)
    if before.all_done or not after.all_done:
        return
    from headway.notify.events import Draft, guard, record
    from headway.notify.kinds import EventKind
    from headway.notify.text import link
    from headway.words import Says, ngettext

    objective = key_result.objective
    work = ngettext(
        "%(done)s of %(n)s initiative done",
        "%(done)s of %(n)s initiatives done",
        after.total,
        done=after.done,
    )
    draft = Draft(
        kind=EventKind.WORK_DONE,
        key=f"{EventKind.WORK_DONE}:{key_result.pk}:{after.done}",
        title=Says(gettext_noop("All work done for “%(key_result)s”"), key_result=key_result.title),
        summary=Says(
            gettext_noop(
                "%(work)s: the work planned for “%(key_result)s” is finished. Check in to "
                "show whether the outcome moved."
            ),
            work=work,
            key_result=key_result.title,
        ),
        facts=[
            (gettext_noop("Work"), work),
            (gettext_noop("Objective"), objective.title),
            (gettext_noop("Team"), objective.team.name),
        ],
        numbers={"done": after.done, "total": after.total},
        occurred_at=timezone.now(),
        link=link("objective", objective.key),
        team_id=objective.team_id,
        cycle_id=objective.cycle_id,
        objective_id=objective.pk,
        key_result_id=key_result.pk,
        private=objective.visibility == "private",
        objective_owner_id=objective.owner_id,
        actor_id=by.pk if by is not None else None,
        people=[key_result.owner_id, objective.owner_id],
        lead_teams=[objective.team_id],
        webhook_teams=[objective.team_id],
    )
    with guard("work done"):
        record([draft])


# --------------------------------------------------------------------------- trackers

#: Consecutive failed syncs after which the owner is told (`tracker_failing`).
FAILING_AFTER = 3
MAX_ERROR = 1000
NAME = re.compile(r"^[A-Za-z0-9_-]{1,100}$")


def why_not_manage_trackers(access: Access) -> str | None:
    """Trackers hold tokens: organisation admins only (as data-source connections)."""
    return None if access.can_manage_connections() else _("Only admins may manage trackers.")


def _check_url(value: str, field: str, *, required: bool) -> str:
    from headway.sources.kinds.web import check_url

    value = (value or "").strip().rstrip("/")
    if not value:
        if required:
            raise ValidationError({field: _("Enter the address (https://…).")})
        return ""
    problem = check_url(value, relative_ok=False)
    if problem:
        from headway.speech import spoken

        said = {"problem": spoken(problem)}
        raise ValidationError({field: _("The address %(problem)s.") % said})
    return value


@transaction.atomic
def create_tracker(
    *,
    by: Person,
    name: str,
    kind: str,
    url: str,
    api_url: str = "",
    email: str = "",
    token: str = "",
) -> Tracker:
    """Set up a tracker (admins). The token is encrypted and never shown again."""
    refuse(why_not_manage_trackers(Access.for_person(by)))
    name = (name or "").strip()
    if not NAME.match(name):
        raise ValidationError({"name": _("Use letters, digits, - and _ (at most 100).")})
    if kind not in trackers.TRACKERS:
        raise ValidationError(
            {"kind": _("Choose one of %(names)s.") % {"names": ", ".join(trackers.TRACKERS)}}
        )
    if Tracker.objects.filter(name=name).exists():
        raise ValidationError(
            {"name": _("A tracker named %(name)s exists already.") % {"name": repr(name)}}
        )
    tracker = Tracker(
        name=name,
        kind=kind,
        url=_check_url(url, "url", required=True),
        api_url=_check_url(api_url, "api_url", required=False) if kind == "github" else "",
        email=(email or "").strip() if kind == "jira" else "",
        created_by=by,
    )
    tracker.set_token((token or "").strip())
    tracker.full_clean()
    tracker.save()
    return tracker


@transaction.atomic
def delete_tracker(*, by: Person, tracker: Tracker) -> int:
    """Remove a tracker (admins); its initiatives stop following their issues (returned)."""
    refuse(why_not_manage_trackers(Access.for_person(by)))
    following = tracker.issues.count()
    tracker.delete()
    return following


def try_tracker(*, by: Person, tracker: Tracker) -> str:
    """Test a tracker's address and token (admins): the account it signs in as.

    Writes nothing; a failure raises ValidationError with the reason (never the token).
    """
    refuse(why_not_manage_trackers(Access.for_person(by)))
    try:
        return trackers.probe(tracker.info(), timeout=_timeout(), max_bytes=_max_bytes())
    except (trackers.TrackerError, secrets.SecretError) as error:
        raise ValidationError({"tracker": str(error)}) from None


def _timeout() -> float:
    return float(settings.HEADWAY_SOURCE_TIMEOUT)


def _max_bytes() -> int:
    return int(settings.HEADWAY_SOURCE_MAX_BYTES)


def match_tracker(
    link: str, among: Sequence[Tracker] | None = None
) -> tuple[Tracker, trackers.Issue] | None:
    """The tracker a link is an issue of (the longest matching address wins), or None."""
    found: list[tuple[int, Tracker, trackers.Issue]] = []
    for tracker in Tracker.objects.all() if among is None else among:
        issue = trackers.recognise(link, tracker.url, tracker.kind)
        if issue is not None:
            found.append((len(tracker.url), tracker, issue))
    if not found:
        return None
    _length, tracker, issue = max(found, key=lambda item: item[0])
    return tracker, issue


@transaction.atomic
def follow_tracker(*, by: Person, initiative: Initiative) -> TrackedIssue:
    """Make an initiative take its status from the tracker issue it links to (as editing it).

    Due at once, so the status follows within a worker pass.
    """
    initiative = _locked(initiative)
    refuse(why_not_edit_initiative(Access.for_person(by), initiative))
    initiative.key_result.objective.cycle.refuse_if_closed()
    if not initiative.link:
        raise ValidationError({"link": _("Give the initiative a link to a tracker issue first.")})
    matched = match_tracker(initiative.link)
    if matched is None:
        raise ValidationError(
            {
                "link": _(
                    "No tracker is set up for this link (GitHub …/issues/N, GitLab …/-/issues/N, "
                    "Jira …/browse/KEY-N): an admin adds one on the Trackers page."
                )
            }
        )
    tracker, issue = matched
    tracked = TrackedIssue.objects.filter(initiative=initiative).first() or TrackedIssue(
        initiative=initiative
    )
    _point(tracked, tracker, issue)
    tracked.followed_by = by
    tracked.save()
    return tracked


def follow_issue(
    initiative: Initiative,
    tracked: TrackedIssue | None,
    *,
    among: Sequence[Tracker] | None = None,
) -> TrackedIssue | None:
    """Make an initiative follow the issue its link names, for the YAML import (which
    checked the rights and the link): the sync state stays when it follows that issue
    already. None when no tracker knows the link."""
    matched = match_tracker(initiative.link, among) if initiative.link else None
    if matched is None:
        return None
    tracker, issue = matched
    if (
        tracked is not None
        and tracked.tracker_id == tracker.pk
        and tracked.issue == list(issue.parts)
    ):
        return tracked
    tracked = tracked or TrackedIssue(initiative=initiative)
    _point(tracked, tracker, issue)
    tracked.save()
    return tracked


@transaction.atomic
def unfollow_tracker(*, by: Person, initiative: Initiative) -> bool:
    """Stop taking the status from the tracker (as editing it); the status stays."""
    initiative = _locked(initiative)
    refuse(why_not_edit_initiative(Access.for_person(by), initiative))
    deleted, _kinds = TrackedIssue.objects.filter(initiative=initiative).delete()
    return bool(deleted)


def _point(tracked: TrackedIssue, tracker: Tracker, issue: trackers.Issue) -> None:
    """Aim a tracked issue at an issue, with a fresh sync state, due now."""
    tracked.tracker, tracked.issue = tracker, list(issue.parts)
    tracked.remote_state, tracked.last_error = "", ""
    tracked.failures, tracked.failing_since, tracked.announced = 0, None, False
    tracked.next_attempt_at = timezone.now()
    tracked.claimed_by, tracked.lease_until = "", None


def _relink(initiative: Initiative) -> None:
    """A followed initiative's link changed: follow the new issue, or stop following."""
    tracked = TrackedIssue.objects.filter(initiative=initiative).first()
    if tracked is None:
        return
    matched = match_tracker(initiative.link) if initiative.link else None
    if matched is None:
        tracked.delete()
        return
    _point(tracked, *matched)
    tracked.save()


@dataclass
class Synced:
    """What one sync of a tracked initiative gave: a remote state, or an error (redacted)."""

    remote: trackers.Remote | None = None
    error: str = ""


def collect_sync(tracked: TrackedIssue) -> Synced:
    """The network half of a sync (touches no Headway table, so the worker runs it in threads)."""
    info: trackers.TrackerInfo | None = None
    try:
        info = tracked.tracker.info()
        issue = trackers.Issue(tracked.tracker.kind, tuple(str(p) for p in tracked.issue))
        return Synced(trackers.fetch(issue, info, timeout=_timeout(), max_bytes=_max_bytes()))
    except trackers.TrackerError as error:
        message = str(error)
    except secrets.SecretError as error:
        message = f"{error} An admin enters the tracker's token again."
    except Exception as error:  # a surprise must not stop the other initiatives
        message = f"unexpected error: {type(error).__name__}: {error}"
    token = [info.token] if info is not None and info.token else []
    return Synced(error=secrets.redact(message, token)[:MAX_ERROR])


def store_sync(
    tracked: TrackedIssue, synced: Synced, *, token: str, now: datetime | None = None
) -> str:
    """Write one sync in one transaction: the status (with history) or the failure.

    Writes only while the row still carries this worker's claim `token` (another worker
    may have taken it after the lease ran out): "lost" then. Otherwise "changed",
    "unchanged" or "failed". A closed cycle's initiative keeps its status.
    """
    now = now or timezone.now()
    with transaction.atomic():
        mine = (
            TrackedIssue.objects.select_for_update(of=("self",))
            .select_related(
                "tracker",
                "initiative__owner",
                "initiative__key_result__objective__cycle",
                "initiative__key_result__objective__team",
            )
            .filter(pk=tracked.pk, claimed_by=token)
            .first()
        )
        if mine is None:
            return "lost"
        mine.last_attempt_at = now
        mine.claimed_by, mine.lease_until = "", None
        outcome = "failed"
        if synced.remote is None:
            _sync_failed(mine, synced.error or "the tracker gave no answer", now)
        else:
            outcome = _sync_succeeded(mine, synced.remote, now)
        mine.save()
        return outcome


def _sync_failed(tracked: TrackedIssue, error: str, now: datetime) -> None:
    from headway.sources import schedule as timing

    tracked.last_error = error[:MAX_ERROR]
    tracked.failures += 1
    if tracked.failing_since is None:
        tracked.failing_since = now
    tracked.next_attempt_at = now + timing.retry_delay(tracked.failures)
    if tracked.failures >= FAILING_AFTER and not tracked.announced:
        tracked.announced = True
        notices.failing(tracked, now)


def _sync_succeeded(tracked: TrackedIssue, remote: trackers.Remote, now: datetime) -> str:
    from datetime import timedelta

    if tracked.failing_since is not None and tracked.announced:
        notices.cleared(tracked, tracked.failing_since, now)
    tracked.failures, tracked.failing_since, tracked.announced = 0, None, False
    tracked.last_error, tracked.remote_state = "", remote.state[:100]
    tracked.last_synced_at = now
    tracked.next_attempt_at = now + timedelta(minutes=float(settings.HEADWAY_TRACKER_SYNC_MINUTES))
    initiative = tracked.initiative
    if initiative.status == remote.status or initiative.key_result.objective.cycle.is_closed:
        return "unchanged"
    initiative = _locked(initiative)
    before = _work(initiative.key_result_id)
    initiative.status = remote.status
    initiative.version += 1
    initiative._change_reason = f"From {tracked.tracker.name}: {remote.state}"[:100]  # type: ignore[attr-defined]
    save_checked(initiative, by=None)
    _announce_if_done(initiative.key_result, before, by=None)
    return "changed"
