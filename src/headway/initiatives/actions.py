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

from headway.initiatives.models import Initiative
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
    return (
        "Only members of the team, the key result's owners and the initiative's owner "
        "may change this initiative."
    )


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
    initiative = Initiative(key_result=key_result, **fields)
    save_checked(initiative, by=by)
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
    for name, value in moved.items():
        setattr(initiative, name, value)
    initiative.version += 1
    save_checked(initiative, by=by)
    return initiative


@transaction.atomic
def delete_initiative(*, by: Person, initiative: Initiative, version: Seen = None) -> None:
    """Remove an initiative (whoever may change it); the history keeps it."""
    initiative = _locked(initiative)
    refuse(why_not_edit_initiative(Access.for_person(by), initiative))
    check_version(initiative.version, version)
    initiative.key_result.objective.cycle.refuse_if_closed()
    initiative._history_user = by  # type: ignore[attr-defined]
    initiative.delete()
