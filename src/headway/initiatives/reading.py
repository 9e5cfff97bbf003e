"""Reading initiatives for pages and the API, in a constant number of queries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from headway.initiatives.models import Initiative, InitiativeStatus
from headway.initiatives.progress import WorkProgress, progress

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from headway.teams.access import Access
    from headway.teams.models import Person

# The home page lists at most this many of a person's open initiatives, soonest due first.
HOME_LIMIT = 50


def of_key_results(key_result_ids: Iterable[int]) -> dict[int, list[Initiative]]:
    """Each key result's initiatives in their order, with owners and sync state (one query)."""
    found: dict[int, list[Initiative]] = defaultdict(list)
    for initiative in Initiative.objects.filter(
        key_result_id__in=list(key_result_ids)
    ).select_related("owner", "tracked__tracker"):
        found[initiative.key_result_id].append(initiative)
    return dict(found)


def work_of(initiatives: dict[int, list[Initiative]]) -> dict[int, WorkProgress]:
    """Work progress per key result that has initiatives (shown beside its score)."""
    return {kr: progress(i.status for i in items) for kr, items in initiatives.items() if items}


def work_progress(key_result_ids: Iterable[int]) -> dict[int, WorkProgress]:
    """Work progress per key result from the statuses alone (one query)."""
    statuses: dict[int, list[str]] = defaultdict(list)
    for kr_id, status in Initiative.objects.filter(
        key_result_id__in=list(key_result_ids)
    ).values_list("key_result_id", "status"):
        statuses[kr_id].append(status)
    return {kr: progress(items) for kr, items in statuses.items()}


def open_for(person: Person, access: Access) -> QuerySet[Initiative]:
    """A person's planned and running initiatives on objectives they may see."""
    return (
        Initiative.objects.filter(
            owner=person,
            status__in=[InitiativeStatus.PLANNED, InitiativeStatus.IN_PROGRESS],
            key_result__objective__in=_visible_objectives(access),
        )
        .select_related("key_result__objective__cycle", "key_result__objective__team")
        .order_by("due", "key_result__objective__key", "position", "id")
    )


def _visible_objectives(access: Access) -> QuerySet[Any]:
    from headway.okrs.models import Objective

    return Objective.objects.filter(access.objective_condition()).values("pk")
