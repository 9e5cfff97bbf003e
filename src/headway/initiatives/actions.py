"""The changes of initiatives: plan, change and drop the work behind a key result.

Whoever may check in on a key result (members of its team, its owner and the
objective's owner) plans its initiatives; an initiative's own owner may change it too
(to move its status as the work goes). A closed cycle's initiatives are frozen like its
scores. Every change names the version it saw (optimistic locking) and is kept in the
history. Work never moves a score: see initiatives/progress.py.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from headway.initiatives.models import Initiative
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
    return "Only members of the team and the key result's owners may plan its initiatives."


def why_not_edit_initiative(access: Access, initiative: Initiative) -> str | None:
    if access.can_check_in(initiative.key_result):
        return None
    if access.person_id is not None and initiative.owner_id == access.person_id:
        return None
    return "Only the team, the key result's owners and the initiative's owner may change it."


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
            raise ValidationError({"due": "Give the due date as YYYY-MM-DD."}) from None
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


def _announce_if_done(key_result: KeyResult, before: WorkProgress, *, by: Person) -> None:
    """`work_done` when this change made every initiative of the key result done."""
    after = _work(key_result.pk)
    if before.all_done or not after.all_done:
        return
    from headway.notify.events import Draft, guard, record
    from headway.notify.kinds import EventKind
    from headway.notify.text import link

    objective = key_result.objective
    draft = Draft(
        kind=EventKind.WORK_DONE,
        key=f"{EventKind.WORK_DONE}:{key_result.pk}:{after.done}",
        title=f"All work done for “{key_result.title}”",
        summary=(
            f"{after}: the work planned for “{key_result.title}” is finished. "
            "Check in to show whether the outcome moved."
        ),
        facts=[("Work", str(after)), ("Objective", objective.title), ("Team", objective.team.name)],
        numbers={"done": after.done, "total": after.total},
        occurred_at=timezone.now(),
        link=link("objective", objective.key),
        team_id=objective.team_id,
        cycle_id=objective.cycle_id,
        objective_id=objective.pk,
        key_result_id=key_result.pk,
        private=objective.visibility == "private",
        objective_owner_id=objective.owner_id,
        actor_id=by.pk,
        people=[key_result.owner_id, objective.owner_id],
        lead_teams=[objective.team_id],
        webhook_teams=[objective.team_id],
    )
    with guard("work done"):
        record([draft])
