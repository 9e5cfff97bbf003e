"""Admins cannot lock the organisation out: no deactivating or demoting oneself, nor the last admin.

Each refusal leaves everything as it was; a person's name cannot be emptied either.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from headway.teams.actions import remove_membership, set_membership, update_person
from headway.teams.models import Membership, Person

pytestmark = pytest.mark.django_db


def state() -> list[tuple[Any, ...]]:
    people = list(Person.objects.order_by("pk").values_list("pk", "name", "is_active"))
    roles = list(Membership.objects.order_by("pk").values_list("person_id", "team_id", "role"))
    return [*people, *roles]


def admin_membership(org: Any) -> Membership:
    return Membership.objects.get(person=org.admin, team=org.company)


def test_an_admin_cannot_deactivate_themselves_and_nothing_changes(org: Any) -> None:
    before = state()
    with pytest.raises(ValidationError, match="yourself"):
        update_person(by=org.admin, person=org.admin, is_active=False)
    assert state() == before


def test_an_admin_cannot_demote_themselves_and_nothing_changes(org: Any) -> None:
    second = Person.objects.create_user("second@acme.test", "a-long-test-password", name="Sec")
    Membership.objects.create(person=second, team=org.company, role="admin")
    before = state()
    with pytest.raises(ValidationError, match="your own admin"):
        set_membership(by=org.admin, team=org.company, person=org.admin, role="member")
    with pytest.raises(ValidationError, match="your own admin"):
        remove_membership(by=org.admin, membership=admin_membership(org))
    with pytest.raises(ValidationError, match="your own admin"):
        update_person(by=org.admin, person=org.admin, memberships=[(org.depot, "member")])
    assert state() == before
    # Another admin may demote them, now that someone else is left to manage Headway.
    set_membership(by=second, team=org.company, person=org.admin, role="member")
    assert admin_membership(org).role == "member"


def test_a_persons_name_cannot_be_emptied(org: Any) -> None:
    before = state()
    with pytest.raises(ValidationError) as refused:
        update_person(by=org.admin, person=org.member, name="   ")
    assert "name" in refused.value.message_dict
    assert state() == before


def test_the_team_page_refuses_removing_ones_own_admin_role_without_a_500(org: Any) -> None:
    client = Client()
    client.force_login(org.admin)
    before = state()
    page = client.post(
        f"/teams/{org.company.key}/", {"remove": str(admin_membership(org).pk)}, follow=True
    )
    assert page.status_code == 200
    assert "your own admin" in page.content.decode()
    assert state() == before
