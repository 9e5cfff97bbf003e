"""The database itself refuses rows that break the rules of PRODUCT.md section 2."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.db.models.deletion import ProtectedError

from headway.kpis.models import Kpi, Measurement
from headway.okrs.models import CheckIn, Cycle, KeyResult, Objective
from headway.teams.models import Membership, Person, Team

pytestmark = pytest.mark.django_db


@pytest.fixture
def org(make_person: Callable[..., Person]) -> dict[str, Any]:
    company = Team.objects.create(key="acme", name="Acme", kind="company")
    ops = Team.objects.create(key="ops", name="Operations", kind="department", parent=company)
    person = make_person()
    cycle = Cycle.objects.create(key="2027-Q1", start=date(2027, 1, 1), end=date(2027, 3, 31))
    objective = Objective.objects.create(
        key="calm", cycle=cycle, team=ops, owner=person, title="Calm deliveries"
    )
    kr = KeyResult.objects.create(
        objective=objective, key="on-time", title="On time", start=1, target=2
    )
    kpi = Kpi.objects.create(key="otd", name="On-time delivery", team=ops)
    return {"company": company, "ops": ops, "person": person, "cycle": cycle,
            "objective": objective, "kr": kr, "kpi": kpi}  # fmt: skip


def refused(make: Callable[[], object]) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        make()


def test_team_kind_must_be_known(org: dict[str, Any]) -> None:
    refused(lambda: Team.objects.create(key="x", name="X", kind="tribe", parent=org["company"]))


def test_only_the_company_may_be_a_root(org: dict[str, Any]) -> None:
    refused(lambda: Team.objects.create(key="loose", name="Loose", kind="team"))


def test_team_keys_are_unique(org: dict[str, Any]) -> None:
    refused(
        lambda: Team.objects.create(key="ops", name="Ops 2", kind="team", parent=org["company"])
    )


def test_team_with_sub_teams_cannot_be_deleted(org: dict[str, Any]) -> None:
    with pytest.raises(ProtectedError):
        org["company"].delete()


def test_membership_role_must_be_known(org: dict[str, Any]) -> None:
    refused(lambda: Membership.objects.create(person=org["person"], team=org["ops"], role="boss"))


def test_membership_is_unique_per_team(org: dict[str, Any]) -> None:
    Membership.objects.create(person=org["person"], team=org["ops"], role="lead")
    refused(lambda: Membership.objects.create(person=org["person"], team=org["ops"], role="member"))


def test_person_emails_are_unique_case_insensitively(org: dict[str, Any]) -> None:
    refused(lambda: Person.objects.create_user("PAT@example.test", "another-long-password"))


def test_cycle_cannot_end_before_it_starts() -> None:
    refused(lambda: Cycle.objects.create(key="bad", start=date(2027, 3, 1), end=date(2027, 2, 1)))


def test_cycle_state_must_be_known() -> None:
    refused(
        lambda: Cycle.objects.create(
            key="c", start=date(2027, 1, 1), end=date(2027, 2, 1), state="paused"
        )
    )


def test_objective_type_and_visibility_must_be_known(org: dict[str, Any]) -> None:
    base = {"cycle": org["cycle"], "team": org["ops"], "title": "T"}
    refused(lambda: Objective.objects.create(key="o1", type="stretch", **base))
    refused(lambda: Objective.objects.create(key="o2", visibility="secret", **base))


def test_objective_grade_stays_in_unit_interval(org: dict[str, Any]) -> None:
    org["objective"].grade = 1.2
    refused(org["objective"].save)


def test_objective_cannot_align_to_itself(org: dict[str, Any]) -> None:
    org["objective"].parent = org["objective"]
    refused(org["objective"].save)


def test_objective_keys_are_unique(org: dict[str, Any]) -> None:
    refused(
        lambda: Objective.objects.create(
            key="calm", cycle=org["cycle"], team=org["ops"], title="Dup"
        )
    )


def test_key_result_kind_and_weight_are_checked(org: dict[str, Any]) -> None:
    objective = org["objective"]
    refused(
        lambda: KeyResult.objects.create(objective=objective, key="k1", title="T", kind="vibes")
    )
    refused(lambda: KeyResult.objects.create(objective=objective, key="k2", title="T", weight=-1))


def test_key_result_keys_are_unique_within_an_objective(org: dict[str, Any]) -> None:
    refused(
        lambda: KeyResult.objects.create(objective=org["objective"], key="on-time", title="Again")
    )


def test_checkin_confidence_is_zero_to_ten(org: dict[str, Any]) -> None:
    at = datetime(2027, 1, 5, tzinfo=UTC)
    refused(lambda: CheckIn.objects.create(key_result=org["kr"], at=at, value=1.5, confidence=11))


def test_checkin_needs_a_value_or_done(org: dict[str, Any]) -> None:
    at = datetime(2027, 1, 5, tzinfo=UTC)
    refused(lambda: CheckIn.objects.create(key_result=org["kr"], at=at))


def test_one_measurement_per_kpi_and_moment(org: dict[str, Any]) -> None:
    at = datetime(2027, 1, 5, tzinfo=UTC)
    Measurement.objects.create(kpi=org["kpi"], at=at, value=90)
    refused(lambda: Measurement.objects.create(kpi=org["kpi"], at=at, value=91))


def test_kpi_direction_cadence_tier_are_checked(org: dict[str, Any]) -> None:
    team = org["ops"]
    refused(lambda: Kpi.objects.create(key="a", name="A", team=team, direction="sideways"))
    refused(lambda: Kpi.objects.create(key="b", name="B", team=team, cadence="daily"))
    refused(lambda: Kpi.objects.create(key="c", name="C", team=team, tier="vanity"))


def test_team_owning_objectives_cannot_be_deleted(org: dict[str, Any]) -> None:
    with pytest.raises(ProtectedError):
        org["ops"].delete()


def test_deleting_a_kpi_unlinks_its_key_results(org: dict[str, Any]) -> None:
    kr = org["kr"]
    kr.kpi = org["kpi"]
    kr.save()
    org["kpi"].delete()
    kr.refresh_from_db()
    assert kr.kpi is None


def test_changes_are_kept_in_history(org: dict[str, Any]) -> None:
    objective = org["objective"]
    objective.title = "Make deliveries calm"
    objective.save()
    titles = list(objective.history.order_by("history_date").values_list("title", flat=True))
    assert titles == ["Calm deliveries", "Make deliveries calm"]
