"""SCIM provisioning as Entra ID and Okta do it: people, groups to teams, deactivation, refusals."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from headway.directory.models import DirectoryGroup, DirectoryUser, GroupMapping
from headway.directory.scim.tokens import create_scim_token, revoke_scim_token
from headway.teams.models import Membership, Person

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


class Scim:
    def __init__(self, client: Client, secret: str) -> None:
        self.client = client
        self.secret = secret

    def __call__(self, method: str, path: str, body: Any = None, secret: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self.secret if secret is None else secret}"}
        response = getattr(self.client, method.lower())(
            f"/scim/v2{path}",
            data=json.dumps(body) if body is not None else None,
            content_type="application/scim+json",
            headers=headers,
        )
        response.data = json.loads(response.content) if response.content else None
        return response


@pytest.fixture
def scim(org: Any) -> Scim:
    return Scim(Client(), create_scim_token(by=org.admin, name="Entra ID").secret)


def entra_user(upn: str, mail: str | None = None, **extra: Any) -> dict[str, Any]:
    """A user as Entra ID's provisioning service first sends it."""
    return {
        "schemas": [USER, ENTERPRISE],
        "externalId": upn.split("@")[0],
        "userName": upn,
        "active": True,
        "displayName": extra.pop("displayName", "Grace Hopper"),
        "emails": [{"primary": True, "type": "work", "value": mail or upn}],
        "name": {"formatted": "Grace Hopper", "familyName": "Hopper", "givenName": "Grace"},
        ENTERPRISE: {"department": "Navy", "manager": {"value": "someone"}},
        **extra,
    }


def patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": list(operations)}


def test_requests_without_a_valid_token_are_refused(scim: Scim, org: Any) -> None:
    for secret in ("", "hwscim_nope", "hw_an-api-token-is-not-a-scim-token"):
        response = scim("GET", "/Users", secret=secret)
        assert response.status_code == 401
        assert response.data["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
        assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_token_or_one_whose_admin_left_stops_working(scim: Scim, org: Any) -> None:
    assert scim("GET", "/Users").status_code == 200
    token = create_scim_token(by=org.admin, name="Okta")
    revoke_scim_token(by=org.admin, token_id=token.token.pk)
    assert scim("GET", "/Users", secret=token.secret).status_code == 401
    Membership.objects.filter(person=org.admin).update(role="member")
    response = scim("GET", "/Users")
    assert response.status_code == 401
    assert "no longer an active admin" in response.data["detail"]


def test_entra_creates_a_person_found_by_user_name_and_external_id(scim: Scim) -> None:
    created = scim("POST", "/Users", entra_user("grace@navy.test"))
    assert created.status_code == 201, created.data
    assert created["Location"] == created.data["meta"]["location"]
    person = Person.objects.get(email="grace@navy.test")
    assert (person.name, person.is_active, person.has_usable_password()) == (
        "Grace Hopper",
        True,
        False,
    )
    assert ENTERPRISE not in created.data  # an extension Headway does not keep is ignored
    for query in ('userName eq "GRACE@navy.test"', 'externalId eq "grace"'):
        found = scim("GET", f"/Users?filter={query}")
        assert found.data["totalResults"] == 1
        assert found.data["Resources"][0]["id"] == created.data["id"]
    assert scim("GET", '/Users?filter=externalId eq "GRACE"').data["totalResults"] == 0


def test_user_name_that_is_taken_is_a_conflict(scim: Scim) -> None:
    assert scim("POST", "/Users", entra_user("grace@navy.test")).status_code == 201
    again = scim("POST", "/Users", entra_user("Grace@Navy.test", mail="other@navy.test"))
    assert again.status_code == 409
    assert again.data["scimType"] == "uniqueness"
    assert not Person.objects.filter(email="other@navy.test").exists()


def test_a_person_made_by_hand_is_linked_not_duplicated(scim: Scim, org: Any) -> None:
    created = scim("POST", "/Users", entra_user("mo@corp.test", mail="member@acme.test"))
    assert created.status_code == 201
    assert Person.objects.filter(email="member@acme.test").count() == 1
    assert DirectoryUser.objects.get(person=org.member).user_name == "mo@corp.test"
    assert Membership.objects.filter(person=org.member).exists()  # kept


def test_a_user_without_any_email_address_is_refused_and_nothing_is_written(scim: Scim) -> None:
    body = {"schemas": [USER], "userName": "jdoe"}
    response = scim("POST", "/Users", body)
    assert response.status_code == 400
    assert "e-mail" in response.data["detail"]
    assert not DirectoryUser.objects.exists()


def test_list_pages_with_start_index_and_count(scim: Scim) -> None:
    for name in ("a", "b", "c"):
        scim("POST", "/Users", entra_user(f"{name}@corp.test"))
    page = scim("GET", "/Users?startIndex=2&count=1").data
    assert (page["totalResults"], page["itemsPerPage"], page["startIndex"]) == (3, 1, 2)
    assert page["Resources"][0]["userName"] == "b@corp.test"
    only = scim("GET", "/Users?attributes=userName").data["Resources"][0]
    assert set(only) == {"id", "schemas", "userName"}


def test_a_bad_filter_is_a_scim_error(scim: Scim) -> None:
    for query in ('userName eq "unterminated', 'title eq "x"', 'userName zz "x"'):
        response = scim("GET", f"/Users?filter={query}")
        assert response.status_code == 400, query
        assert response.data["scimType"] == "invalidFilter"


def _signed_in(email: str) -> Client:
    browser = Client()
    response = browser.post(
        "/accounts/login/", {"login": email, "password": "a-long-test-password"}
    )
    assert response.status_code == 302
    assert browser.get("/").status_code == 200
    return browser


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "Replace", "path": "active", "value": "False"},  # Entra ID
        {"op": "replace", "value": {"active": False}},  # Okta
    ],
)
def test_deactivation_ends_sessions_and_tokens_but_keeps_what_they_own(
    scim: Scim, org: Any, operation: dict[str, Any]
) -> None:
    from headway.api.tokens import create_token, find_token

    created = scim("POST", "/Users", entra_user("lee@corp.test", mail="lead@acme.test"))
    browser = _signed_in("lead@acme.test")
    api = create_token(person=org.lead, name="pipeline")
    assert find_token(api.secret) is not None

    response = scim("PATCH", f"/Users/{created.data['id']}", patch(operation))
    assert response.status_code == 200, response.data
    assert response.data["active"] is False
    org.lead.refresh_from_db()
    assert not org.lead.is_active
    assert browser.get("/").status_code == 302  # the session is gone
    assert "_auth_user_id" not in browser.session
    assert find_token(api.secret) is None
    fresh = Client()
    fresh.post("/accounts/login/", {"login": "lead@acme.test", "password": "a-long-test-password"})
    assert "_auth_user_id" not in fresh.session
    assert Membership.objects.filter(person=org.lead).exists()

    back = scim(
        "PATCH",
        f"/Users/{created.data['id']}",
        patch({"op": "replace", "path": "active", "value": True}),
    )
    assert back.data["active"] is True
    org.lead.refresh_from_db()
    assert org.lead.is_active


def test_delete_deactivates_and_forgets_the_scim_record(scim: Scim, org: Any) -> None:
    created = scim("POST", "/Users", entra_user("mo@corp.test", mail="member@acme.test"))
    assert scim("DELETE", f"/Users/{created.data['id']}").status_code == 204
    assert scim("GET", f"/Users/{created.data['id']}").status_code == 404
    org.member.refresh_from_db()
    assert not org.member.is_active
    assert Person.objects.filter(pk=org.member.pk).exists()


def test_entra_patch_paths_on_names_and_work_email(scim: Scim) -> None:
    created = scim("POST", "/Users", entra_user("grace@navy.test"))
    response = scim(
        "PATCH",
        f"/Users/{created.data['id']}",
        patch(
            {"op": "Replace", "path": "displayName", "value": "Rear Admiral Hopper"},
            {
                "op": "Replace",
                "path": 'emails[type eq "work"].value',
                "value": "g.hopper@navy.test",
            },
            {"op": "Add", "value": {"name.givenName": "Amazing Grace"}},
            {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "Cobol"},
        ),
    )
    assert response.status_code == 200, response.data
    person = Person.objects.get(directory_user__scim_id=created.data["id"])
    assert (person.email, person.name) == ("g.hopper@navy.test", "Rear Admiral Hopper")
    assert response.data["name"]["givenName"] == "Amazing Grace"


def test_a_patch_that_cannot_apply_changes_nothing(scim: Scim) -> None:
    created = scim("POST", "/Users", entra_user("grace@navy.test"))
    response = scim(
        "PATCH",
        f"/Users/{created.data['id']}",
        patch(
            {"op": "replace", "path": "displayName", "value": "Changed"},
            {"op": "replace", "path": "emails", "value": [{"value": "not an address"}]},
            {"op": "replace", "path": "userName", "value": "also-not-an-address"},
        ),
    )
    assert response.status_code == 400
    person = Person.objects.get(email="grace@navy.test")
    assert person.name == "Grace Hopper"
    assert DirectoryUser.objects.get(person=person).display_name == "Grace Hopper"


def _group(scim: Scim, name: str, *user_ids: str) -> Any:
    body = {"schemas": [GROUP], "displayName": name, "members": [{"value": i} for i in user_ids]}
    response = scim("POST", "/Groups", body)
    assert response.status_code == 201, response.data
    return response.data


def test_group_membership_maps_to_teams_and_leaving_the_group_removes_it(
    scim: Scim, org: Any
) -> None:
    GroupMapping.objects.create(group="Depot Leads", team=org.depot, role="lead")
    grace = scim("POST", "/Users", entra_user("grace@navy.test")).data
    ada = scim("POST", "/Users", entra_user("ada@navy.test", displayName="Ada")).data
    group = _group(scim, "depot leads", grace["id"])
    person = Person.objects.get(email="grace@navy.test")
    membership = Membership.objects.get(person=person, team=org.depot)
    assert (membership.role, membership.origin) == ("lead", "directory")
    assert scim("GET", f"/Users/{grace['id']}").data["groups"][0]["value"] == group["id"]

    # Okta adds a member with a path, Entra removes one with the members as the value.
    added = scim(
        "PATCH",
        f"/Groups/{group['id']}",
        patch({"op": "add", "path": "members", "value": [{"value": ada["id"], "display": "Ada"}]}),
    )
    assert added.status_code == 200
    assert {m["value"] for m in added.data["members"]} == {grace["id"], ada["id"]}
    assert Membership.objects.filter(person__email="ada@navy.test", team=org.depot).exists()
    scim(
        "PATCH",
        f"/Groups/{group['id']}",
        patch({"op": "Remove", "path": "members", "value": [{"value": grace["id"]}]}),
    )
    assert not Membership.objects.filter(person=person, team=org.depot).exists()
    scim(
        "PATCH",
        f"/Groups/{group['id']}",
        patch({"op": "remove", "path": f'members[value eq "{ada["id"]}"]'}),
    )
    assert not Membership.objects.filter(team=org.depot, origin="directory").exists()
    assert Membership.objects.filter(person=org.member, team=org.depot).exists()  # by hand


def test_a_membership_set_by_hand_is_left_alone_by_groups(scim: Scim, org: Any) -> None:
    GroupMapping.objects.create(group="ops", team=org.ops, role="admin")
    lead = scim("POST", "/Users", entra_user("lou@corp.test", mail="lead@acme.test")).data
    group = _group(scim, "ops", lead["id"])
    kept = Membership.objects.get(person=org.lead, team=org.ops)
    assert (kept.role, kept.origin) == ("lead", "manual")
    scim("DELETE", f"/Groups/{group['id']}")
    assert Membership.objects.filter(person=org.lead, team=org.ops, role="lead").exists()


def test_group_filters_and_name_conflicts(scim: Scim) -> None:
    grace = scim("POST", "/Users", entra_user("grace@navy.test")).data
    group = _group(scim, "Engineering", grace["id"])
    found = scim("GET", '/Groups?filter=displayName eq "engineering"&excludedAttributes=members')
    assert found.data["totalResults"] == 1
    assert "members" not in found.data["Resources"][0]
    member = scim("GET", f'/Groups?filter=members[value eq "{grace["id"]}"]').data
    assert member["Resources"][0]["id"] == group["id"]
    clash = scim("POST", "/Groups", {"schemas": [GROUP], "displayName": "ENGINEERING"})
    assert clash.status_code == 409
    unknown = scim(
        "POST",
        "/Groups",
        {
            "schemas": [GROUP],
            "displayName": "x",
            "members": [{"value": "9f0b7a44-6a8f-4c1c-9d55-0e9a1c4b0f00"}],
        },
    )
    assert unknown.status_code == 400
    assert DirectoryGroup.objects.count() == 1


def test_scim_cannot_take_away_the_last_admin(org: Any) -> None:
    """The only admin holds the role through a directory group; the group cannot drop them."""
    Membership.objects.filter(person=org.admin).delete()
    GroupMapping.objects.create(group="hw-admins", team=org.company, role="admin")
    Membership.objects.create(person=org.admin, team=org.company, role="admin", origin="directory")
    scim = Scim(Client(), create_scim_token(by=org.admin, name="Okta").secret)
    admin = scim("POST", "/Users", entra_user("ada@corp.test", mail="admin@acme.test")).data
    group = _group(scim, "hw-admins", admin["id"])
    response = scim("PATCH", f"/Groups/{group['id']}", patch({"op": "remove", "path": "members"}))
    assert response.status_code == 409
    assert "last admin" in response.data["detail"]
    assert Membership.objects.filter(person=org.admin, team=org.company, role="admin").exists()
    assert DirectoryGroup.objects.get().members.filter(pk=org.admin.pk).exists()
    refused = scim(
        "PATCH", f"/Users/{admin['id']}", patch({"op": "replace", "path": "active", "value": False})
    )
    assert refused.status_code == 409
    org.admin.refresh_from_db()
    assert org.admin.is_active


def test_unknown_endpoints_and_methods_answer_scim_errors(scim: Scim) -> None:
    assert scim("GET", "/Nope").status_code == 404
    assert scim("DELETE", "/Users").status_code == 405
    assert scim("POST", "/Bulk", {}).status_code == 501
    broken = scim.client.post(
        "/scim/v2/Users",
        data="{not json",
        content_type="application/scim+json",
        headers={"Authorization": f"Bearer {scim.secret}"},
    )
    assert broken.status_code == 400
    assert json.loads(broken.content)["scimType"] == "invalidSyntax"
