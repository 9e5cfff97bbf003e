"""Roles hold for a team and every team below it (PRODUCT.md section 6)."""

from __future__ import annotations

from typing import Any

import pytest

from headway.okrs.models import KeyResult, Objective
from headway.teams.access import Access

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


def test_the_strongest_role_on_the_way_down_wins(org: Any) -> None:
    from headway.teams.models import Membership

    Membership.objects.create(person=org.viewer, team=org.depot, role="lead")
    access = Access.for_person(org.viewer)
    assert access.role(org.ops.pk) == "viewer"  # on ops itself
    assert access.role(org.depot.pk) == "lead"  # lead below beats viewer above
    assert access.role(org.sales.pk) is None
    assert access.member_of == frozenset({org.ops.pk, org.depot.pk})


def test_a_loop_in_the_team_tree_ends_the_walks(org: Any) -> None:
    from headway.teams.models import Team, team_ancestry

    # A loop the checks would refuse, written behind their back: the walks still end.
    Team.objects.filter(pk=org.company.pk).update(parent=org.depot)
    assert Access.for_person(org.lead).role(org.company.pk) == "lead"
    assert team_ancestry([org.depot.pk]) == {
        org.depot.pk: org.ops.pk,
        org.ops.pk: org.company.pk,
        org.company.pk: org.depot.pk,
    }
