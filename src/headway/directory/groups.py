"""From the groups a person's directory lists to team memberships, through the admins' mappings.

A person's groups are the union of what each provider sent at their last sign-in through it
and the SCIM groups they are a member of. Group names match the mappings regardless of case.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError

from headway.teams.access import RANK
from headway.teams.actions import MembershipChanges, sync_directory_memberships
from headway.teams.models import Person, Team

log = logging.getLogger(__name__)


def groups_from_claims(data: dict[str, Any], claim: str) -> list[str]:
    """The groups under `claim` (a dotted path such as realm_access.roles is followed)."""
    value: Any = data
    for part in claim.split("."):
        if not isinstance(value, dict):
            return []
        value = value.get(part)
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return []
    return [str(item).strip() for item in value if str(item).strip()]


def grants_for(groups: Iterable[str]) -> dict[Team, str]:
    """Team -> best role the mappings give to members of `groups`."""
    from headway.directory.models import GroupMapping

    wanted = {group.casefold() for group in groups}
    if not wanted:
        return {}
    grants: dict[Team, str] = {}
    for mapping in GroupMapping.objects.select_related("team"):
        if mapping.group.casefold() not in wanted:
            continue
        current = grants.get(mapping.team)
        if current is None or RANK[mapping.role] > RANK[current]:
            grants[mapping.team] = mapping.role
    return grants


def groups_of(person: Person) -> set[str]:
    from headway.directory.models import DirectoryGroup, SignInGroups

    names: set[str] = set()
    for groups in SignInGroups.objects.filter(person=person).values_list("groups", flat=True):
        names.update(str(group) for group in groups)
    for display, external in DirectoryGroup.objects.filter(members=person).values_list(
        "display_name", "external_id"
    ):
        names.add(display)
        if external:
            names.add(external)
    return names


def sync(person: Person) -> MembershipChanges:
    """Bring `person`'s directory memberships in line with their groups (see teams.actions)."""
    return sync_directory_memberships(person=person, grants=grants_for(groups_of(person)))


def sync_at_sign_in(person: Person) -> MembershipChanges | None:
    """Like `sync`, but a refusal (the last admin) keeps the memberships and is only logged."""
    try:
        return sync(person)
    except ValidationError as exc:
        log.warning("group sync for %s left unchanged: %s", person.email, " ".join(exc.messages))
        return None
