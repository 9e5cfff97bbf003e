"""The JSON API's resources: reads, writes through the rules, versions, errors, pagination."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from headway.api.testing import ApiClient, token_for
from headway.kpis.models import Kpi, Measurement
from headway.okrs.models import CheckIn, Cycle, KeyResult, Objective
from headway.okrs.stored import rescore
from headway.teams.models import Membership, Person, Team

NOW = datetime(2027, 2, 15, 12, tzinfo=UTC)
pytestmark = [pytest.mark.django_db, pytest.mark.frozen(NOW)]


@pytest.fixture
def okr(org: Any) -> Any:
    org.company_obj = Objective.objects.create(
        key="delight", cycle=org.cycle, team=org.company, owner=org.admin,
        title="Customers stop worrying about delivery", type="committed",
    )  # fmt: skip
    org.objective = Objective.objects.create(
        key="reliable", cycle=org.cycle, team=org.ops, owner=org.lead,
        title="Make on-time delivery boring", parent=org.company_obj,
    )  # fmt: skip
    org.kr = KeyResult.objects.create(
        objective=org.objective, key="otd", title="Raise on-time delivery from 88% to 96%",
        kind="increase", start=88, target=96, unit="%", owner=org.member,
    )  # fmt: skip
    org.private = Objective.objects.create(
        key="depot-secret", cycle=org.cycle, team=org.depot, visibility="private",
        title="Win the depot of the year award",
    )  # fmt: skip
    org.kpi = Kpi.objects.create(
        key="otd-rate", name="On-time delivery rate", team=org.depot, owner=org.member,
        unit="%", direction="up", target=95, warning=90, critical=85, cadence="weekly",
    )  # fmt: skip
    return org


def api(person: Person, scope: str = "write") -> ApiClient:
    return ApiClient(token_for(person, scope))


def error(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields", "rows"}, body
    return dict(body["error"])


# Reads -------------------------------------------------------------------------------------


def test_lists_are_paginated_with_a_total(okr: Any) -> None:
    client = api(okr.viewer, "read")
    first = client.get("/teams", {"limit": 2}).json()
    assert (first["count"], first["limit"], first["offset"]) == (4, 2, 0)
    assert [t["key"] for t in first["items"]] == ["acme", "depot"]
    second = client.get("/teams", {"limit": 2, "offset": 2}).json()
    assert [t["key"] for t in second["items"]] == ["ops", "sales"]
    assert client.get("/teams", {"limit": 2, "offset": 99}).json()["items"] == []
    too_many = client.get("/teams", {"limit": 100000})
    assert too_many.status_code == 400
    assert "limit" in error(too_many)["fields"]


def test_team_person_and_cycle_details(okr: Any) -> None:
    client = api(okr.viewer, "read")
    assert client.get("/teams/depot").json() == {
        "key": "depot", "name": "Depot North", "kind": "team", "parent": "ops",
        "checkin_cadence_days": 7, "created_at": client.get("/teams/depot").json()["created_at"],
    }  # fmt: skip
    lead = client.get("/people/LEAD@acme.test").json()
    assert lead["memberships"] == [{"team": "ops", "role": "lead"}]
    cycle = client.get("/cycles/2027-Q1").json()
    assert (cycle["state"], cycle["start"], cycle["end"]) == ("active", "2027-01-01", "2027-03-31")
    missing = client.get("/teams/nope")
    assert missing.status_code == 404
    assert error(missing)["code"] == "not_found"


def test_objective_detail_has_key_results_scores_and_etag(okr: Any) -> None:
    client = api(okr.viewer, "read")
    response = client.get("/objectives/reliable")
    assert response.status_code == 200
    assert response["ETag"] == '"1"'
    body = response.json()
    assert body["parent"] == "delight"
    assert body["status"] == "no_data"
    [kr] = body["key_results"]
    assert (kr["key"], kr["score"], kr["due_date"], kr["owner"]) == (
        "otd", 0.0, "2027-03-31", "member@acme.test",
    )  # fmt: skip
    kr_response = client.get("/objectives/reliable/key-results/otd")
    assert kr_response["ETag"] == '"1"'
    assert kr_response.json()["status"] == "no_data"


def test_objective_list_filters(okr: Any) -> None:
    client = api(okr.admin)

    def keys(**params: Any) -> list[str]:
        response = client.get("/objectives", params)
        assert response.status_code == 200, response.content
        return [o["key"] for o in response.json()["items"]]

    assert keys() == ["delight", "depot-secret", "reliable"]
    assert keys(team="ops") == ["reliable"]
    assert keys(owner="lead@acme.test") == ["reliable"]
    assert keys(cycle="2027-Q1", status="no_data") == ["delight", "depot-secret", "reliable"]
    assert keys(cycle="2027-Q1", status="on_track") == []
    bad = client.get("/objectives", {"status": "on_track", "team": "zzz"})
    assert bad.status_code == 400
    assert set(error(bad)["fields"]) == {"status", "team"}


def test_private_objectives_are_invisible_outside_their_team(okr: Any) -> None:
    for person in (okr.viewer, okr.outsider):
        client = api(person, "read")
        keys = [o["key"] for o in client.get("/objectives").json()["items"]]
        assert "depot-secret" not in keys
        assert client.get("/objectives/depot-secret").status_code == 404
        tree = client.get("/cycles/2027-Q1/tree").json()
        assert "depot-secret" not in str(tree)
        assert "depot-secret" not in client.get("/cycles/2027-Q1/scores").json()["objectives"]
    for person in (okr.member, okr.lead, okr.admin):
        client = api(person, "read")
        assert client.get("/objectives/depot-secret").status_code == 200
        assert "depot-secret" in [o["key"] for o in client.get("/objectives").json()["items"]]


def test_tree_nests_by_alignment_with_scores(okr: Any) -> None:
    CheckIn.objects.create(key_result=okr.kr, at=datetime(2027, 2, 1, tzinfo=UTC), value=92)
    rescore([okr.kr.objective_id])  # a row written behind the actions' back
    body = api(okr.viewer, "read").get("/cycles/2027-Q1/tree", {"at": "2027-02-15T00:00:00Z"})
    tree = body.json()
    assert [o["key"] for o in tree["objectives"]] == ["delight"]
    [child] = tree["objectives"][0]["children"]
    assert child["key"] == "reliable"
    assert child["key_results"][0]["score"] == pytest.approx(0.5)
    assert tree["teams"]["ops"] == pytest.approx(0.5)
    scores = api(okr.viewer, "read").get("/cycles/2027-Q1/scores").json()
    assert scores["key_results"]["reliable/otd"]["score"] == pytest.approx(0.5)
    assert scores["teams"]["ops"] == {"score": pytest.approx(0.5)}


# Writes ------------------------------------------------------------------------------------


def test_admin_manages_teams_people_and_cycles(okr: Any) -> None:
    client = api(okr.admin)
    created = client.post("/teams", {"key": "fleet", "name": "Fleet", "parent": "ops"})
    assert created.status_code == 201, created.content
    assert created.json()["parent"] == "ops"
    loop = client.patch("/teams/ops", {"parent": "fleet"})
    assert loop.status_code == 422
    assert "parent" in error(loop)["fields"]
    assert client.patch("/teams/fleet", {"name": "Fleet & Yard"}).json()["name"] == "Fleet & Yard"
    assert client.delete("/teams/ops").status_code == 409
    assert client.delete("/teams/fleet").status_code == 204
    assert not Team.objects.filter(key="fleet").exists()

    person = client.post(
        "/people",
        {
            "email": "New@Acme.test",
            "name": "Nia",
            "memberships": [{"team": "depot", "role": "lead"}],
        },
    )
    assert person.status_code == 201, person.content
    assert person.json()["email"] == "new@acme.test"
    assert not Person.objects.get(email="new@acme.test").has_usable_password()
    again = client.post("/people", {"email": "new@acme.test"})
    assert again.status_code == 422
    assert "email" in error(again)["fields"]
    updated = client.patch("/people/new@acme.test", {"memberships": [{"team": "sales"}]})
    assert updated.json()["memberships"] == [{"team": "sales", "role": "member"}]

    cycle = client.post("/cycles", {"key": "2027-Q2", "start": "2027-04-01", "end": "2027-06-30"})
    assert cycle.status_code == 201
    assert cycle.json()["state"] == "planning"
    backwards = client.post("/cycles", {"key": "x", "start": "2027-04-01", "end": "2027-03-01"})
    assert backwards.status_code == 422
    assert "end" in error(backwards)["fields"]
    assert client.patch("/cycles/2027-Q2", {"state": "active"}).json()["state"] == "active"


def test_only_admins_manage(okr: Any) -> None:
    client = api(okr.lead)
    refused = client.post("/teams", {"key": "fleet", "name": "Fleet", "parent": "ops"})
    assert refused.status_code == 403
    assert error(refused)["code"] == "forbidden"
    assert client.post("/cycles/2027-Q1/close", {}).status_code == 403


def test_objective_lifecycle(okr: Any) -> None:
    member = api(okr.member)
    body = {"key": "tidy-depot", "cycle": "2027-Q1", "team": "depot", "title": "A calm depot",
            "owner": "member@acme.test", "parent": "reliable"}  # fmt: skip
    # Members create objectives, but aligning one (also at creation) is for leads.
    refused = member.post("/objectives", body)
    assert refused.status_code == 403
    assert "align" in error(refused)["message"]
    created = api(okr.lead).post("/objectives", body)
    assert created.status_code == 201, created.content
    assert created["ETag"] == '"1"'
    assert created.json()["parent"] == "reliable"

    same = member.patch(
        "/objectives/tidy-depot", {"title": "A calm depot"}, headers={"If-Match": '"1"'}
    )
    assert same.status_code == 200, same.content
    assert same["ETag"] == '"1"'  # nothing changed, so neither did the version
    patched = member.patch(
        "/objectives/tidy-depot", {"title": "A calm, tidy depot"}, headers={"If-Match": '"1"'}
    )
    assert patched.status_code == 200, patched.content
    assert patched["ETag"] == '"2"'
    stale = member.patch("/objectives/tidy-depot", {"title": "Stale"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    assert error(stale)["code"] == "precondition_failed"
    assert Objective.objects.get(key="tidy-depot").title == "A calm, tidy depot"
    unconditional = member.patch("/objectives/tidy-depot", {"description": "Why it matters"})
    assert unconditional.status_code == 200
    assert unconditional.json()["version"] == 3

    blank = member.patch("/objectives/tidy-depot", {"title": ""})
    assert blank.status_code == 400
    assert "title" in error(blank)["fields"]
    unknown = member.patch("/objectives/tidy-depot", {"colour": "red"})
    assert unknown.status_code == 400

    # Members create but do not align: that is for leads.
    assert member.post("/objectives/tidy-depot/align", {"parent": None}).status_code == 403
    lead = api(okr.lead)
    aligned = lead.post("/objectives/tidy-depot/align", {"parent": None})
    assert aligned.status_code == 200
    assert aligned.json()["parent"] is None
    loop = api(okr.admin).post("/objectives/delight/align", {"parent": "reliable"})
    assert loop.status_code == 422
    assert "parent" in error(loop)["fields"]

    assert member.delete("/objectives/tidy-depot", headers={"If-Match": '"9"'}).status_code == 412
    assert member.delete("/objectives/tidy-depot").status_code == 204
    assert not Objective.objects.filter(key="tidy-depot").exists()


def test_objective_create_field_errors(okr: Any) -> None:
    response = api(okr.member).post(
        "/objectives",
        {"key": "reliable", "cycle": "nope", "team": "depot", "title": "Dup"},
    )
    assert response.status_code == 422
    assert "cycle" in error(response)["fields"]
    dup = api(okr.member).post(
        "/objectives", {"key": "reliable", "cycle": "2027-Q1", "team": "depot", "title": "Dup"}
    )
    assert dup.status_code == 422
    assert "key" in error(dup)["fields"]


def test_key_results_create_update_recalibrate_checkin(okr: Any) -> None:
    lead = api(okr.lead)
    created = lead.post(
        "/objectives/reliable/key-results",
        {"key": "claims", "title": "Cut damage claims from 4.0 to 2.5", "kind": "decrease",
         "start": 4.0, "target": 2.5, "counter_kpis": ["otd-rate"]},
    )  # fmt: skip
    assert created.status_code == 201, created.content
    assert created.json()["counter_kpis"] == ["otd-rate"]
    assert created.json()["position"] == 1

    # The cycle is active: moving the yardstick is a recalibration.
    moved = lead.patch("/objectives/reliable/key-results/claims", {"target": 2.0})
    assert moved.status_code == 422
    assert "target" in error(moved)["fields"]
    same = lead.patch("/objectives/reliable/key-results/claims", {"weight": 2, "target": 2.5})
    assert same.status_code == 200, same.content
    assert same["ETag"] == '"2"'

    no_reason = lead.post(
        "/objectives/reliable/key-results/claims/recalibrate", {"reason": "", "target": 2}
    )
    assert no_reason.status_code == 400
    recal = lead.post(
        "/objectives/reliable/key-results/claims/recalibrate",
        {"reason": "New carrier contract", "target": 2.0},
        headers={"If-Match": '"2"'},
    )
    assert recal.status_code == 200, recal.content
    assert recal.json()["target"] == 2.0
    assert recal["ETag"] == '"3"'
    history = KeyResult.objects.get(key="claims").history.first()
    assert history is not None
    assert "New carrier contract" in (history.history_change_reason or "")

    checkin = api(okr.member).post(
        "/objectives/reliable/key-results/otd/checkins",
        {"value": 92, "confidence": 7, "comment": "New routing live"},
    )
    assert checkin.status_code == 201, checkin.content
    assert checkin.json()["author"] == "member@acme.test"
    bad = api(okr.member).post("/objectives/reliable/key-results/otd/checkins", {"confidence": 7})
    assert bad.status_code == 422
    assert "value" in error(bad)["fields"]
    listed = api(okr.viewer, "read").get("/objectives/reliable/key-results/otd/checkins").json()
    assert [c["value"] for c in listed["items"]] == [92.0]
    assert api(okr.lead).get("/objectives/reliable/key-results/otd")["ETag"] == '"2"'

    assert lead.delete("/objectives/reliable/key-results/claims").status_code == 204


def test_kpis_create_update_filter_and_promote(okr: Any) -> None:
    member = api(okr.member)
    created = member.post(
        "/kpis",
        {"key": "claims-rate", "name": "Damage claims", "team": "depot", "direction": "down",
         "target": 2.5, "warning": 3.5, "critical": 4.5, "cadence": "monthly",
         "tier": "diagnostic"},
    )  # fmt: skip
    assert created.status_code == 201, created.content
    assert created["ETag"] == '"1"'
    # A member creates but does not edit others' KPIs.
    assert member.patch("/kpis/claims-rate", {"target": 2}).status_code == 403
    lead = api(okr.lead)
    updated = lead.patch(
        "/kpis/claims-rate", {"target": 2.0, "benchmark": None}, headers={"If-Match": '"1"'}
    )
    assert updated.status_code == 200, updated.content
    assert updated.json()["version"] == 2
    assert (
        lead.patch("/kpis/claims-rate", {"target": 3}, headers={"If-Match": '"1"'}).status_code
        == 412
    )

    client = api(okr.viewer, "read")
    assert [k["key"] for k in client.get("/kpis", {"tier": "diagnostic"}).json()["items"]] == [
        "claims-rate"
    ]
    assert [
        k["key"] for k in client.get("/kpis", {"team": "depot", "tier": "key"}).json()["items"]
    ] == ["otd-rate"]
    assert client.get("/kpis", {"health": "no_data"}).json()["count"] == 2

    Measurement.objects.create(kpi=okr.kpi, at=datetime(2027, 2, 8, tzinfo=UTC), value=84)
    Kpi.objects.filter(pk=okr.kpi.pk).update(latest_value=84, health="critical")
    promoted = lead.post("/kpis/otd-rate/promote", {"objective": "reliable"})
    assert promoted.status_code == 201, promoted.content
    assert (promoted.json()["kpi"], promoted.json()["start"], promoted.json()["target"]) == (
        "otd-rate",
        84,
        95,
    )


def test_closing_and_reopening_a_cycle(okr: Any) -> None:
    admin = api(okr.admin)
    missing = admin.post("/cycles/2027-Q1/close", {})
    assert missing.status_code == 422
    assert "reflections" in error(missing)["fields"]
    closed = admin.post("/cycles/2027-Q1/close", {"reflections": {"delight": "Carried over"}})
    assert closed.status_code == 200, closed.content
    assert closed.json()["state"] == "closed"
    assert Objective.objects.get(key="delight").grade == 0.0
    frozen_edit = api(okr.lead).patch("/objectives/reliable", {"title": "Late change"})
    assert frozen_edit.status_code == 422
    assert admin.post("/cycles/2027-Q1/reopen").json()["state"] == "active"
    assert Cycle.objects.get(key="2027-Q1").state == "active"


def test_errors_have_one_shape(okr: Any) -> None:
    client = api(okr.admin)
    not_json = client.post("/teams", "{not json", content_type="application/json")
    assert not_json.status_code == 400
    assert error(not_json)["code"] == "invalid_request"
    wrong_type = client.post("/teams", {"key": "x y", "name": 3})
    assert wrong_type.status_code == 400
    assert set(error(wrong_type)["fields"]) == {"key", "name"}
    anonymous = ApiClient().get("/teams")
    assert anonymous.status_code == 401
    assert error(anonymous)["code"] == "unauthenticated"
    assert anonymous["WWW-Authenticate"].startswith("Bearer")
    wrong_method = client.send("PUT", "/teams", {})
    assert wrong_method.status_code == 405
    assert error(wrong_method)["code"] == "method_not_allowed"
    assert "GET" in wrong_method["Allow"]
    elsewhere = ApiClient().get("/nothing-here")
    assert elsewhere.status_code == 404
    assert error(elsewhere)["code"] == "not_found"


def test_memberships_replaced(okr: Any) -> None:
    api(okr.admin).patch("/people/member@acme.test", {"memberships": []})
    assert not Membership.objects.filter(person=okr.member).exists()


@pytest.mark.parametrize(
    ("header", "ok"),
    [('"3"', True), ("3", True), ('"2", "3"', True), ("*", True), ('W/"3"', False),
     ('"2"', False), ("", False)],
)  # fmt: skip
def test_if_match_forms(header: str, ok: bool) -> None:
    from headway.versions import StaleVersion, check_version

    if ok:
        check_version(3, header)
    else:
        with pytest.raises(StaleVersion):
            check_version(3, header)


def test_key_result_yardstick_moves_freely_while_planning(okr: Any) -> None:
    Cycle.objects.filter(pk=okr.cycle.pk).update(state="planning")
    lead = api(okr.lead)
    moved = lead.patch(
        "/objectives/reliable/key-results/otd",
        {"title": "Raise on-time delivery to 97%", "target": 97, "start": None},
    )
    assert moved.status_code == 200, moved.content
    body = moved.json()
    assert (body["title"], body["target"], body["start"], body["version"]) == (
        "Raise on-time delivery to 97%", 97.0, None, 2,
    )  # fmt: skip
