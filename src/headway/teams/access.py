"""Who may do what: the table of PRODUCT.md section 6, in one place for pages, API and actions.

A role on a team holds for that team and every team below it; a superuser is an admin
everywhere, and so is an admin of the company (root) team.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Q

if TYPE_CHECKING:
    from headway.kpis.models import Kpi
    from headway.okrs.models import KeyResult, Objective
    from headway.teams.models import Person

RANK = {"viewer": 0, "member": 1, "lead": 2, "admin": 3}


@dataclass
class Access:
    """One person's effective role on every team, computed with one query."""

    person_id: int | None
    is_superuser: bool
    roles: dict[int, str] = field(default_factory=dict)
    member_of: frozenset[int] = frozenset()

    @classmethod
    def for_person(cls, person: Person | None) -> Access:
        """Build the access of `person`; anonymous or inactive people get no role at all."""
        from headway.teams.models import Membership, Team

        if person is None or not person.is_authenticated or not person.is_active:
            return cls(person_id=None, is_superuser=False)
        # One recursive query from the person's memberships down the team tree, rather
        # than the whole team table walked upwards for every team: a lead of one team
        # reads that team's subtree, not the organisation's 1,000 teams. Each row is a
        # team and a role held on it or above it; UNION ends at rows already found, so
        # a loop the database let through ends too.
        quote = connection.ops.quote_name
        teams = quote(Team._meta.db_table)
        memberships = quote(Membership._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH RECURSIVE down(team_id, role, direct) AS ("
                f"SELECT team_id, role, 1 FROM {memberships} WHERE person_id = %s "
                f"UNION SELECT t.id, down.role, 0 FROM {teams} t "
                f"JOIN down ON t.parent_id = down.team_id"
                f") SELECT team_id, role, direct FROM down",
                [person.pk],
            )
            rows = cursor.fetchall()
        access = cls(
            person_id=person.pk,
            is_superuser=person.is_superuser,
            member_of=frozenset(team_id for team_id, _role, direct in rows if direct),
        )
        for team_id, role, _direct in rows:
            best = access.roles.get(team_id)
            if best is None or RANK[role] > RANK[best]:
                access.roles[team_id] = role
        return access

    def role(self, team_id: int) -> str | None:
        """The effective role on a team, or None for someone with no role there."""
        if self.is_superuser:
            return "admin"
        return self.roles.get(team_id)

    def at_least(self, team_id: int, role: str) -> bool:
        current = self.role(team_id)
        return current is not None and RANK[current] >= RANK[role]

    @cached_property
    def is_admin(self) -> bool:
        """An organisation admin: a superuser, or an admin of a root team.

        Kept for the access's life (one request): pages ask it once per row.
        """
        if self.is_superuser:
            return True
        from headway.teams.models import Team

        roots = Team.objects.filter(parent__isnull=True).values_list("id", flat=True)
        return any(self.roles.get(root) == "admin" for root in roots)

    # The rows of the table in PRODUCT.md section 6.

    def can_see_objective(self, objective: Objective) -> bool:
        """Public objectives are for everyone signed in; private ones for their team only."""
        if objective.visibility == "public" or self.is_superuser:
            return True
        if self.person_id is not None and objective.owner_id == self.person_id:
            return True
        if self.role(objective.team_id) is not None and self.role(objective.team_id) != "viewer":
            return True
        # A shared objective: its contributing teams see it as its own team does.
        return objective.pk in self.seen_as_contributor

    def objective_condition(self) -> Q:
        """The queryset form of `can_see_objective`: filter Objective rows with it."""
        if self.is_superuser:
            return Q()
        teams = list(self.visible_private_team_ids())
        allowed = Q(visibility="public") | Q(team_id__in=teams)
        # Ids, not a subquery: an OR with a subquery made PostgreSQL's search over the
        # check-ins 50 ms slower at the large organisation's size (docs/performance.md).
        if self.seen_as_contributor:
            allowed |= Q(pk__in=sorted(self.seen_as_contributor))
        if self.person_id is not None:
            allowed |= Q(owner_id=self.person_id)
        return allowed

    def condition_key(self) -> Hashable:
        """Everything `objective_condition` is made of: two accesses with equal keys see the
        same objectives (the API keeps whole-cycle bodies per key, api/bulk.py)."""
        if self.is_superuser:
            return ("everything",)
        return (
            frozenset(self.visible_private_team_ids()),
            self.seen_as_contributor,
            self.person_id,
        )

    @cached_property
    def seen_as_contributor(self) -> frozenset[int]:
        """Private objectives a team this person sees private objectives of contributes to
        (1 query, kept for the access's life, so lists ask it once; public ones are visible
        anyway)."""
        teams = list(self.visible_private_team_ids())
        if not teams:
            return frozenset()
        from headway.okrs.models import ObjectiveContributor

        return frozenset(
            ObjectiveContributor.objects.filter(
                team_id__in=teams, objective__visibility="private"
            ).values_list("objective_id", flat=True)
        )

    @cached_property
    def contributing_colleagues(self) -> dict[int, frozenset[int]]:
        """Objective id → people on the teams this person contributes to it with (member or
        above on the contributing team); those people's key results are theirs to check in
        on too. At most 3 queries, kept for the access's life."""
        from headway.okrs.models import ObjectiveContributor
        from headway.teams.models import Membership, Team

        mine = [team for team, role in self.roles.items() if RANK[role] >= RANK["member"]]
        if not mine:
            return {}
        pairs = list(
            ObjectiveContributor.objects.filter(team_id__in=mine).values_list(
                "objective_id", "team_id"
            )
        )
        if not pairs:
            return {}
        # Someone on a contributing team: a member of it or of a team below it.
        parents = dict(Team.objects.values_list("id", "parent_id"))
        below: dict[int, set[int]] = {team: {team} for _, team in pairs}
        for team in parents:
            node: int | None = team
            seen: set[int] = set()
            while node is not None and node not in seen:
                seen.add(node)
                if node in below:
                    below[node].add(team)
                node = parents.get(node)
        on_team: dict[int, set[int]] = {team: set() for team in below}
        everyone = {t for teams in below.values() for t in teams}
        by_team: dict[int, set[int]] = {}
        for team_id, person_id in Membership.objects.filter(team_id__in=everyone).values_list(
            "team_id", "person_id"
        ):
            by_team.setdefault(team_id, set()).add(person_id)
        for team, teams in below.items():
            on_team[team] = {p for t in teams for p in by_team.get(t, ())}
        found: dict[int, set[int]] = {}
        for objective_id, team in pairs:
            found.setdefault(objective_id, set()).update(on_team[team])
        return {objective_id: frozenset(people) for objective_id, people in found.items()}

    def visible_private_team_ids(self) -> Iterable[int]:
        """Teams whose private objectives this person may see."""
        return [team for team, role in self.roles.items() if role != "viewer"]

    def can_create_in(self, team_id: int) -> bool:
        return self.at_least(team_id, "member")

    def can_edit_objective(self, objective: Objective) -> bool:
        if self.at_least(objective.team_id, "lead"):
            return True
        return self.person_id is not None and objective.owner_id == self.person_id

    def can_edit_key_result(self, key_result: KeyResult) -> bool:
        if self.can_edit_objective(key_result.objective):
            return True
        return self.person_id is not None and key_result.owner_id == self.person_id

    def can_check_in(self, key_result: KeyResult) -> bool:
        """Members of the team, the owners, and (a shared objective) members of a
        contributing team on the key results owned by someone on that team."""
        objective = key_result.objective
        if self.at_least(objective.team_id, "member"):
            return True
        if self.person_id is None:
            return False
        if self.person_id in {key_result.owner_id, objective.owner_id}:
            return True
        colleagues = self.contributing_colleagues.get(objective.pk, frozenset())
        return key_result.owner_id is not None and key_result.owner_id in colleagues

    def can_edit_kpi(self, kpi: Kpi) -> bool:
        if self.at_least(kpi.team_id, "lead"):
            return True
        return self.person_id is not None and kpi.owner_id == self.person_id

    def can_push_measurements(self, kpi: Kpi) -> bool:
        if self.at_least(kpi.team_id, "member"):
            return True
        return self.person_id is not None and kpi.owner_id == self.person_id

    def can_set_source(self, kpi: Kpi) -> bool:
        """Set, try or run a KPI's data source: as for editing the KPI (owner, leads)."""
        return self.can_edit_kpi(kpi)

    def can_manage_connections(self) -> bool:
        """Define data-source connections (they hold secrets): organisation admins."""
        return self.is_admin

    def can_steer(self, team_id: int) -> bool:
        """Recalibrate, align or promote a KPI: leads and admins of the team."""
        return self.at_least(team_id, "lead")

    def can_manage(self) -> bool:
        """Close or reopen cycles; manage people, teams and cycles."""
        return self.is_admin


def refuse(reason: str | None) -> None:
    """Raise PermissionDenied with `reason` unless it is None (a `why_not_…` said yes)."""
    if reason is not None:
        raise PermissionDenied(reason)
