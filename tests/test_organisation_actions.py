"""Teams, people, cycles and KPI cards: one action each, the same rules from the web and the API."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from headway.api.testing import ApiClient, token_for
from headway.kpis.actions import MeasurementRow, create_kpi, ingest_measurements, update_kpi
from headway.kpis.models import Kpi
from headway.okrs.actions import close_cycle, create_cycle, update_cycle
from headway.okrs.models import Cycle, KeyResult, Objective
from headway.teams.actions import (
    create_team,
    invite_person,
    remove_membership,
    set_membership,
    update_person,
    update_team,
)
from headway.teams.models import Membership, Person, Team
from headway.web.testing import client_for

NOW = datetime(2027, 2, 15, 12, tzinfo=UTC)
pytestmark = [pytest.mark.django_db, pytest.mark.frozen(NOW)]


def api_for(person: Person) -> ApiClient:
    return ApiClient(token_for(person))


def fields_of(response: Any) -> dict[str, Any]:
    assert response.status_code == 422, response.content
    fields: dict[str, Any] = response.json()["error"]["fields"]
    return fields


# Teams --------------------------------------------------------------------------------------


def test_moving_a_team_below_its_own_sub_team_is_refused_by_the_action(org: Any) -> None:
    with pytest.raises(ValidationError) as exc:
        update_team(by=org.admin, team=org.ops, parent=org.depot)
    assert "loop" in exc.value.message_dict["parent"][0]
    org.ops.refresh_from_db()
    assert org.ops.parent == org.company


def test_moving_a_team_below_its_own_sub_team_is_refused_on_the_page(org: Any) -> None:
    response = client_for(org.admin).post(
        reverse("team_edit", args=["ops"]),
        {"name": "Operations", "key": "ops", "kind": "department", "parent": org.depot.pk,
         "checkin_cadence_days": 7},
    )  # fmt: skip
    assert response.status_code == 200
    assert "that would make a loop" in response.context["form"].errors["parent"][0]
    assert Team.objects.get(key="ops").parent == org.company


def test_moving_a_team_below_its_own_sub_team_is_refused_by_the_api(org: Any) -> None:
    fields = fields_of(api_for(org.admin).patch("/teams/ops", {"parent": "depot"}))
    assert "that would make a loop" in fields["parent"][0]


def test_a_team_without_a_parent_is_refused_with_a_plain_message(org: Any) -> None:
    fields = fields_of(api_for(org.admin).post("/teams", {"key": "loose", "name": "Loose"}))
    assert fields["parent"] == ["Only the company stands at the top; pick where this team belongs."]
    assert not Team.objects.filter(key="loose").exists()


def test_moving_a_team_keeps_its_history_author(org: Any) -> None:
    update_team(by=org.admin, team=org.depot, parent=org.company, name=" Depot ")
    depot = Team.objects.get(key="depot")
    assert (depot.parent, depot.name) == (org.company, "Depot")
    assert depot.history.first().history_user == org.admin


def test_an_unchanged_team_writes_no_history(org: Any) -> None:
    before = org.depot.history.count()
    update_team(by=org.admin, team=org.depot, name="Depot North", parent=org.ops)
    assert org.depot.history.count() == before


def test_only_admins_shape_the_organisation(org: Any) -> None:
    with pytest.raises(PermissionDenied):
        create_team(by=org.lead, key="new", name="New", parent=org.ops)
    with pytest.raises(PermissionDenied):
        update_team(by=org.lead, team=org.depot, name="Mine now")
    with pytest.raises(PermissionDenied):
        set_membership(by=org.lead, team=org.depot, person=org.outsider, role="admin")
    with pytest.raises(PermissionDenied):
        invite_person(by=org.lead, email="new@acme.test")
    assert not Membership.objects.filter(person=org.outsider, team=org.depot).exists()


def test_set_membership_adds_then_changes_the_role_and_remove_takes_it_away(org: Any) -> None:
    first = set_membership(by=org.admin, team=org.depot, person=org.outsider, role="viewer")
    again = set_membership(by=org.admin, team=org.depot, person=org.outsider, role="lead")
    assert first.pk == again.pk
    assert again.role == "lead"
    with pytest.raises(ValidationError):
        set_membership(by=org.admin, team=org.depot, person=org.outsider, role="boss")
    remove_membership(by=org.admin, membership=again)
    assert not Membership.objects.filter(person=org.outsider, team=org.depot).exists()


# People -------------------------------------------------------------------------------------


def test_invite_person_normalises_the_address_and_refuses_a_second_one(org: Any) -> None:
    someone = invite_person(
        by=org.admin, email=" New@Acme.Test ", name="Nu", memberships=[(org.depot, "lead")]
    )
    assert someone.email == "new@acme.test"
    assert not someone.has_usable_password()
    assert list(someone.memberships.values_list("team__key", "role")) == [("depot", "lead")]
    with pytest.raises(ValidationError) as exc:
        invite_person(by=org.admin, email="NEW@acme.test")
    assert "already exists" in exc.value.message_dict["email"][0]


def test_invite_person_refuses_bad_memberships_and_weak_passwords_without_writing(
    org: Any,
) -> None:
    with pytest.raises(ValidationError) as exc:
        invite_person(
            by=org.admin, email="a@acme.test",
            memberships=[(org.depot, "member"), (org.depot, "lead"), (org.ops, "boss")],
        )  # fmt: skip
    message = exc.value.message_dict["memberships"][0]
    assert "depot" in message
    assert "'boss'" in message
    with pytest.raises(ValidationError) as exc:
        invite_person(by=org.admin, email="a@acme.test", password="123")
    assert "password" in exc.value.message_dict
    assert not Person.objects.filter(email="a@acme.test").exists()


def test_the_invite_page_shows_the_actions_errors_on_its_fields(org: Any) -> None:
    response = client_for(org.admin).post(
        reverse("person_create"),
        {"name": "Twin", "email": "MEMBER@acme.test", "role": "member", "password": ""},
    )
    assert response.status_code == 200
    assert "already exists" in response.context["form"].errors["email"][0]


def test_update_person_replaces_memberships_only_when_given(org: Any) -> None:
    update_person(by=org.admin, person=org.member, name="Mo")
    assert list(org.member.memberships.values_list("team__key", flat=True)) == ["depot"]
    update_person(by=org.admin, person=org.member, is_active=False, memberships=[])
    org.member.refresh_from_db()
    assert (org.member.name, org.member.is_active) == ("Mo", False)
    assert not org.member.memberships.exists()


# Cycles -------------------------------------------------------------------------------------


def test_a_cycle_cannot_be_created_closed_or_ending_before_it_starts(org: Any) -> None:
    with pytest.raises(ValidationError) as exc:
        create_cycle(by=org.admin, key="q2", start=date(2027, 4, 1), end=date(2027, 6, 30),
                     state="closed")  # fmt: skip
    assert "review" in exc.value.message_dict["state"][0]
    with pytest.raises(ValidationError) as exc:
        create_cycle(by=org.admin, key="q2", start=date(2027, 4, 1), end=date(2027, 3, 1))
    assert exc.value.message_dict["end"] == ["The cycle cannot end before it starts."]
    assert not Cycle.objects.filter(key="q2").exists()


def test_the_cycle_form_shows_the_end_before_start_error_on_its_field(org: Any) -> None:
    response = client_for(org.admin).post(
        reverse("cycle_create"),
        {
            "key": "q2",
            "name": "Q2",
            "start": "2027-04-01",
            "end": "2027-03-01",
            "state": "planning",
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors["end"] == ["The cycle cannot end before it starts."]


def test_a_closed_cycle_keeps_its_dates_but_may_be_renamed(org: Any) -> None:
    close_cycle(cycle=org.cycle, by=org.admin)
    with pytest.raises(ValidationError, match="reopen it"):
        update_cycle(by=org.admin, cycle=org.cycle, end=date(2027, 4, 30))
    update_cycle(by=org.admin, cycle=org.cycle, name=" 2027 Q1 (closed) ")
    cycle = Cycle.objects.get(pk=org.cycle.pk)
    assert (cycle.name, cycle.end, cycle.state) == ("2027 Q1 (closed)", date(2027, 3, 31), "closed")


def test_moving_a_cycles_end_rescores_its_objectives(org: Any) -> None:
    objective = Objective.objects.create(
        key="o", cycle=org.cycle, team=org.depot, owner=org.member, title="Calm depot"
    )
    KeyResult.objects.create(objective=objective, key="k", title="Ship", start=0, target=10)
    from headway.okrs.actions import record_checkin

    record_checkin(key_result=objective.key_results.get(), by=org.member, value=5, at=NOW)
    before = Objective.objects.get(pk=objective.pk).forecast
    update_cycle(by=org.admin, cycle=org.cycle, end=date(2027, 6, 30))
    assert Objective.objects.get(pk=objective.pk).forecast != before


# KPI cards ----------------------------------------------------------------------------------


def test_thresholds_out_of_order_are_refused_from_the_api_as_from_the_page(org: Any) -> None:
    card = {"key": "otr", "name": "On-time rate", "team": "depot", "direction": "up",
            "target": 90, "warning": 95, "critical": 80}  # fmt: skip
    fields = fields_of(api_for(org.member).post("/kpis", card))
    assert fields["warning"] == [
        "When higher is better, the warning threshold must not be higher than the target."
    ]
    response = client_for(org.member).post(
        reverse("kpi_create"), {**card, "team": org.depot.pk, "tier": "key", "cadence": ""}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["warning"] == fields["warning"]
    assert not Kpi.objects.exists()


def test_create_kpi_makes_a_free_key_from_the_name(org: Any) -> None:
    first = create_kpi(by=org.member, team=org.depot, name="On-time rate")
    second = create_kpi(by=org.member, team=org.depot, name="On-time rate")
    assert (first.key, second.key) == ("on-time-rate", "on-time-rate-2")
    with pytest.raises(PermissionDenied):
        create_kpi(by=org.outsider, team=org.depot, name="Not mine")


def test_update_kpi_bumps_the_version_only_on_a_real_change(org: Any) -> None:
    kpi = create_kpi(by=org.member, team=org.depot, name="NPS", target=40, owner=org.member)
    assert update_kpi(by=org.member, kpi=kpi, name="NPS", target=40.0).version == 1
    assert update_kpi(by=org.member, kpi=kpi, why="Loyal customers").version == 2


def test_a_new_threshold_re_evaluates_health_at_once(org: Any) -> None:
    kpi = create_kpi(by=org.member, team=org.depot, name="NPS", target=40, cadence="weekly")
    ingest_measurements(rows=[MeasurementRow(kpi=kpi.key, at="2027-02-14", value=30)], by=None)
    assert Kpi.objects.get(pk=kpi.pk).health == "healthy"
    update_kpi(by=org.lead, kpi=kpi, warning=35, critical=32)
    assert Kpi.objects.get(pk=kpi.pk).health == "critical"


def test_moving_a_kpi_needs_a_lead_of_the_new_team(org: Any) -> None:
    kpi = create_kpi(by=org.member, team=org.depot, name="NPS", owner=org.member)
    with pytest.raises(PermissionDenied):
        update_kpi(by=org.member, kpi=kpi, team=org.sales)
    assert update_kpi(by=org.admin, kpi=kpi, team=org.sales).team == org.sales


def test_the_kpi_edit_page_saves_through_the_action(org: Any) -> None:
    kpi = create_kpi(by=org.member, team=org.depot, name="NPS", owner=org.member)
    response = client_for(org.member).post(
        reverse("kpi_edit", args=[kpi.key]),
        {"name": "Net promoter score", "team": org.depot.pk, "owner": org.member.pk,
         "direction": "up", "tier": "key", "cadence": "monthly"},
    )  # fmt: skip
    assert response.status_code == 302
    edited = Kpi.objects.get(pk=kpi.pk)
    assert (edited.name, edited.version) == ("Net promoter score", 2)
    assert edited.history.first().history_user == org.member


def test_a_teams_key_stays_when_its_page_is_saved(org: Any) -> None:
    response = client_for(org.admin).post(
        reverse("team_edit", args=["depot"]),
        {"name": "Depot N.", "key": "renamed", "kind": "team", "parent": org.ops.pk,
         "checkin_cadence_days": 14},
    )  # fmt: skip
    assert response.status_code == 302
    depot = Team.objects.get(pk=org.depot.pk)
    assert (depot.key, depot.name, depot.checkin_cadence_days) == ("depot", "Depot N.", 14)
