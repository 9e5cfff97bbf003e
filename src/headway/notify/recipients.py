"""Who hears about an event: owners, the nearest team leads, and only people who may see it.

Everything is read set-based (a fixed number of queries for any number of events).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from headway.teams.access import RANK
from headway.teams.models import Membership, Role, Team, team_ancestry

LEAD_ROLES = (Role.LEAD, Role.ADMIN)


@dataclass
class OrgIndex:
    """The team tree, the leads of each team and the memberships of the people concerned."""

    parents: dict[int, int | None]
    leads: dict[int, list[int]]
    #: person id -> {team id: role} (direct memberships only)
    roles: dict[int, dict[int, str]] = field(default_factory=dict)

    @classmethod
    def load(cls, team_ids: Iterable[int] | None = None) -> OrgIndex:
        """Team tree and lead memberships (two queries).

        Given `team_ids`, only those teams and the teams above them: all that
        `ancestors`, `nearest_leads` and `effective_role` read for events on these teams
        (a check-in's fan-out reads one chain, not the whole organisation).
        """
        leads_of = Membership.objects.filter(role__in=LEAD_ROLES, person__is_active=True)
        parents: dict[int, int | None]
        if team_ids is None:
            parents = dict(Team.objects.order_by().values_list("id", "parent_id"))
        else:
            parents = team_ancestry(team_ids)
            leads_of = leads_of.filter(team_id__in=list(parents))
        leads: dict[int, list[int]] = defaultdict(list)
        for team_id, person_id in leads_of.order_by("team_id", "person_id").values_list(
            "team_id", "person_id"
        ):
            leads[team_id].append(person_id)
        return cls(parents=parents, leads=dict(leads))

    def load_roles(self, person_ids: Iterable[int]) -> None:
        """Direct memberships of these people (one query), for visibility checks."""
        roles: dict[int, dict[int, str]] = defaultdict(dict)
        for person_id, team_id, role in (
            Membership.objects.filter(person_id__in=list(person_ids))
            .order_by()
            .values_list("person_id", "team_id", "role")
        ):
            roles[person_id][team_id] = role
        self.roles = dict(roles)

    def ancestors(self, team_id: int) -> list[int]:
        """The team and every team above it, nearest first."""
        chain: list[int] = []
        node: int | None = team_id
        while node is not None and node not in chain:
            chain.append(node)
            node = self.parents.get(node)
        return chain

    def nearest_leads(self, team_id: int) -> list[int]:
        """Leads (and admins) of the team itself, or of the closest team above that has some."""
        for node in self.ancestors(team_id):
            if self.leads.get(node):
                return self.leads[node]
        return []

    def effective_role(self, person_id: int, team_id: int) -> str | None:
        """The strongest role a person holds on the team or a team above it."""
        direct = self.roles.get(person_id, {})
        best: str | None = None
        for node in self.ancestors(team_id):
            role = direct.get(node)
            if role is not None and (best is None or RANK[role] > RANK[best]):
                best = role
        return best

    def can_see_private(
        self, person_id: int, team_id: int | None, owner_id: int | None, is_superuser: bool
    ) -> bool:
        """Access.can_see_objective for a private objective, from the loaded memberships."""
        if is_superuser or (owner_id is not None and owner_id == person_id):
            return True
        if team_id is None:
            return False
        role = self.effective_role(person_id, team_id)
        return role is not None and role != Role.VIEWER
