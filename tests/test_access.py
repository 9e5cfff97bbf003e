"""Roles hold for a team and every team below it (PRODUCT.md section 6)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headway.okrs.models import KeyResult, Objective
from headway.teams.access import RANK, Access, effective_roles

pytestmark = pytest.mark.django_db


@pytest.fixture
def objective(org: Any) -> Objective:
    return Objective.objects.create(
        key="calm", cycle=org.cycle, team=org.depot, owner=org.member, title="Calm depot"
    )


def test_roles_are_inherited_down_the_tree(org: Any) -> None:
    lead = Access.for_person(org.lead)
    assert lead.role(org.ops.pk) == "lead"
    assert lead.role(org.depot.pk) == "lead"
    assert lead.role(org.sales.pk) is None
    assert lead.role(org.company.pk) is None


def test_company_admin_is_admin_everywhere(org: Any) -> None:
    access = Access.for_person(org.admin)
    assert access.is_admin
    assert all(access.role(t.pk) == "admin" for t in (org.ops, org.depot, org.sales))


def test_lead_is_not_an_organisation_admin(org: Any) -> None:
    assert not Access.for_person(org.lead).can_manage()


def test_private_objective_visible_to_team_only(org: Any, objective: Objective) -> None:
    objective.visibility = "private"
    assert Access.for_person(org.member).can_see_objective(objective)
    assert Access.for_person(org.lead).can_see_objective(objective)
    assert not Access.for_person(org.outsider).can_see_objective(objective)
    assert not Access.for_person(org.viewer).can_see_objective(objective)
    assert Access.for_person(org.admin).can_see_objective(objective)


def test_member_creates_but_edits_only_own(org: Any, objective: Objective) -> None:
    member = Access.for_person(org.member)
    assert member.can_create_in(org.depot.pk)
    assert member.can_edit_objective(objective)  # owner
    objective.owner = org.lead
    assert not member.can_edit_objective(objective)
    assert Access.for_person(org.lead).can_edit_objective(objective)


def test_viewer_and_outsider_cannot_check_in(org: Any, objective: Objective) -> None:
    kr = KeyResult(objective=objective, key="k", title="K")
    assert Access.for_person(org.member).can_check_in(kr)
    assert not Access.for_person(org.viewer).can_check_in(kr)
    assert not Access.for_person(org.outsider).can_check_in(kr)
    kr.owner = org.outsider
    assert Access.for_person(org.outsider).can_check_in(kr)


def test_only_leads_and_admins_steer(org: Any) -> None:
    assert Access.for_person(org.lead).can_steer(org.depot.pk)
    assert Access.for_person(org.admin).can_steer(org.depot.pk)
    assert not Access.for_person(org.member).can_steer(org.depot.pk)


def test_anonymous_has_no_rights(org: Any) -> None:
    access = Access.for_person(None)
    assert access.role(org.company.pk) is None
    assert not access.can_manage()


def test_objective_condition_agrees_with_can_see_objective(org: Any) -> None:
    for team, visibility, owner in [
        (org.depot, "private", None),
        (org.depot, "private", org.outsider),
        (org.sales, "private", None),
        (org.ops, "public", None),
    ]:
        Objective.objects.create(
            key=f"{team.key}-{visibility}-{owner.pk if owner else 0}",
            cycle=org.cycle, team=team, owner=owner, visibility=visibility, title="T",
        )  # fmt: skip
    for person in (org.admin, org.lead, org.member, org.viewer, org.outsider):
        access = Access.for_person(person)
        filtered = set(Objective.objects.filter(access.objective_condition()))
        assert filtered == {o for o in Objective.objects.all() if access.can_see_objective(o)}


def _roles_walking_up(direct: dict[int, str], parents: dict[int, int | None]) -> dict[int, str]:
    """The rule as written: each team takes the highest role on it or on a team above."""
    roles = {}
    for team_id in parents:
        held = [direct[t] for t in _ancestors_and_self(team_id, parents) if t in direct]
        if held:
            roles[team_id] = max(held, key=RANK.__getitem__)
    return roles


def _ancestors_and_self(team_id: int, parents: dict[int, int | None]) -> list[int]:
    chain: list[int] = []
    node: int | None = team_id
    while node is not None and node not in chain:
        chain.append(node)
        node = parents.get(node)
    return chain


@settings(max_examples=300, deadline=None)
@given(data=st.data(), size=st.integers(min_value=1, max_value=40))
def test_effective_roles_are_the_highest_role_on_the_team_or_above(
    data: st.DataObject, size: int
) -> None:
    # A random forest: each team's parent is an earlier team or none.
    parents: dict[int, int | None] = {
        t: data.draw(st.one_of(st.none(), st.integers(0, t - 1))) if t else None
        for t in range(size)
    }
    direct = data.draw(
        st.dictionaries(st.integers(0, size - 1), st.sampled_from(sorted(RANK)), max_size=6)
    )
    assert effective_roles(direct, parents.items()) == _roles_walking_up(direct, parents)
