"""The teams actions SCIM and single sign-on go through: deactivation and group-made memberships."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from headway.directory import groups
from headway.directory.models import DirectoryGroup, GroupMapping, SignInGroups
from headway.teams.actions import (
    deactivate_person,
    reactivate_person,
    refuse_losing_last_admin,
    set_membership,
    sync_directory_memberships,
)
from headway.teams.models import Membership, Person

pytestmark = pytest.mark.django_db


def test_deactivation_is_for_admins_never_of_oneself_nor_of_the_last_admin(org: Any) -> None:
    with pytest.raises(PermissionDenied):
        deactivate_person(by=org.lead, person=org.member)
    with pytest.raises(ValidationError, match="yourself"):
        deactivate_person(by=org.admin, person=org.admin)
    other = Person.objects.create_superuser("root@acme.test", "a-long-test-password")
    Person.objects.filter(pk=org.admin.pk).update(is_active=False)
    with pytest.raises(ValidationError) as caught:
        deactivate_person(by=other, person=other)
    assert caught.value.code == "self"
    org.admin.refresh_from_db()
    reactivate_person(by=other, person=org.admin)
    org.admin.refresh_from_db()
    assert org.admin.is_active
    deactivate_person(by=org.admin, person=org.member)
    org.member.refresh_from_db()
    assert not org.member.is_active
    assert Membership.objects.filter(person=org.member).exists()  # they keep their teams


def test_losing_the_last_admin_is_refused_with_its_name(org: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        refuse_losing_last_admin(org.admin, "deactivating them")
    assert caught.value.code == "last_admin"
    assert "admin@acme.test is the last admin" in caught.value.messages[0]
    Person.objects.create_superuser("root@acme.test", "a-long-test-password")
    refuse_losing_last_admin(org.admin, "deactivating them")  # someone else is left


def test_sync_gives_the_best_role_and_leaves_hand_made_memberships(org: Any) -> None:
    person = org.outsider  # member of sales by hand
    changes = sync_directory_memberships(
        person=person, grants={org.depot: "member", org.sales: "admin"}
    )
    assert changes.added == [("depot", "member")]
    assert Membership.objects.get(person=person, team=org.sales).role == "member"
    changes = sync_directory_memberships(person=person, grants={org.depot: "lead"})
    assert changes.changed == [("depot", "lead")]
    changes = sync_directory_memberships(person=person, grants={})
    assert changes.removed == [("depot", "lead")]
    assert list(Membership.objects.filter(person=person).values_list("team__key", flat=True)) == [
        "sales"
    ]


def test_an_admin_setting_a_membership_by_hand_takes_it_over(org: Any) -> None:
    sync_directory_memberships(person=org.outsider, grants={org.depot: "member"})
    set_membership(by=org.admin, team=org.depot, person=org.outsider, role="lead")
    sync_directory_memberships(person=org.outsider, grants={})
    kept = Membership.objects.get(person=org.outsider, team=org.depot)
    assert (kept.role, kept.origin) == ("lead", "manual")


def test_the_groups_cannot_take_the_role_of_the_last_admin(org: Any) -> None:
    Membership.objects.filter(person=org.admin).update(origin="directory")
    with pytest.raises(ValidationError) as caught:
        sync_directory_memberships(person=org.admin, grants={})
    assert caught.value.code == "last_admin"
    assert Membership.objects.filter(person=org.admin, role="admin").exists()
    # At a sign-in the same refusal keeps the memberships and lets the person in.
    assert groups.sync_at_sign_in(org.admin) is None


def test_groups_from_sign_in_and_scim_add_up_regardless_of_case(org: Any) -> None:
    GroupMapping.objects.create(group="Depot", team=org.depot, role="member")
    GroupMapping.objects.create(group="00aa-object-id", team=org.ops, role="viewer")
    SignInGroups.objects.create(person=org.outsider, provider="okta", groups=["DEPOT"])
    scim_group = DirectoryGroup.objects.create(
        display_name="Ops people", external_id="00AA-object-id"
    )
    scim_group.members.add(org.outsider)
    groups.sync(org.outsider)
    roles = dict(Membership.objects.filter(person=org.outsider).values_list("team__key", "role"))
    assert roles == {"sales": "member", "depot": "member", "ops": "viewer"}


def test_groups_claims_follow_dotted_paths() -> None:
    data = {"groups": ["a", " ", "b"], "realm_access": {"roles": ["admin"]}, "one": "x"}
    assert groups.groups_from_claims(data, "groups") == ["a", "b"]
    assert groups.groups_from_claims(data, "realm_access.roles") == ["admin"]
    assert groups.groups_from_claims(data, "one") == ["x"]
    assert groups.groups_from_claims(data, "missing.path") == []


def test_deactivating_on_the_people_page_also_ends_their_sessions(org: Any) -> None:
    from django.test import Client

    from headway.teams.actions import update_person

    browser = Client()
    browser.post(
        "/accounts/login/", {"login": org.member.email, "password": "a-long-test-password"}
    )
    assert browser.get("/").status_code == 200
    update_person(by=org.admin, person=org.member, is_active=False)
    assert browser.get("/").status_code == 302
    assert "_auth_user_id" not in browser.session
