"""The notifications people expect (issue 19): check-ins on my objective, objectives aligned
to mine, a cycle closed or reopened; each a kind with its own channel preferences."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from headway.notify import events
from headway.notify.models import Delivery, Event, Notification, Preference, TeamWebhook
from headway.okrs.actions import (
    align_objective,
    close_cycle,
    create_objective,
    record_checkin,
    reopen_cycle,
)
from headway.okrs.models import KeyResult, Objective

NOW = datetime(2027, 2, 15, 12, tzinfo=UTC)
pytestmark = [pytest.mark.django_db, pytest.mark.frozen(NOW)]


@pytest.fixture(autouse=True)
def loud(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events, "RAISE_ERRORS", True)


def inbox(person: Any, kind: str) -> list[Notification]:
    return list(
        Notification.objects.filter(person=person, event__kind=kind)
        .select_related("event")
        .order_by("id")
    )


@pytest.fixture
def okr(org: Any) -> Any:
    """A depot objective owned by the member, one key result; the ops lead leads the depot."""
    org.objective = Objective.objects.create(
        key="calm", cycle=org.cycle, team=org.depot, owner=org.member, title="Calm depot"
    )
    org.kr = KeyResult.objects.create(
        objective=org.objective, key="a", title="Fewer late trucks", start=0, target=10,
        owner=org.member,
    )  # fmt: skip
    return org


def test_a_checkin_tells_the_objective_owner_and_the_teams_leads_not_its_author(okr: Any) -> None:
    record_checkin(
        key_result=okr.kr, by=okr.lead, value=4, confidence=6, comment="Two new drivers",
        at=NOW - timedelta(hours=1),
    )  # fmt: skip
    [note] = inbox(okr.member, "checkin_on_objective")
    assert note.event.title == "Check-in on “Fewer late trucks”"
    assert ["Comment", "Two new drivers"] in note.event.data["facts"]
    assert inbox(okr.lead, "checkin_on_objective") == []  # the lead checked in: they know
    record_checkin(key_result=okr.kr, by=okr.member, value=5, at=NOW - timedelta(minutes=30))
    assert len(inbox(okr.lead, "checkin_on_objective")) == 1
    assert len(inbox(okr.member, "checkin_on_objective")) == 1
    # Nobody outside the team hears of it.
    assert inbox(okr.outsider, "checkin_on_objective") == []
    # Inbox only by default: no e-mail is queued for it.
    assert not Delivery.objects.filter(event__kind="checkin_on_objective", channel="email").exists()


def test_a_person_who_asks_for_checkin_mails_gets_them(okr: Any) -> None:
    Preference.objects.create(
        person=okr.member, kind="checkin_on_objective", email=True, webhook=False
    )
    record_checkin(key_result=okr.kr, by=okr.lead, value=4, at=NOW - timedelta(hours=1))
    [mail] = Delivery.objects.filter(event__kind="checkin_on_objective", channel="email")
    assert mail.person_id == okr.member.pk


def test_an_objective_aligned_to_mine_tells_me_once(okr: Any) -> None:
    child = create_objective(
        by=okr.lead, cycle=okr.cycle, team=okr.depot, parent=okr.objective,
        title="Drivers know the routes", owner=okr.lead,
    )  # fmt: skip
    [note] = inbox(okr.member, "objective_aligned")
    assert "now rolls up into “Calm depot”" in note.event.summary
    # Aligning an existing objective to it again is not news twice; to another parent is.
    other = Objective.objects.create(
        key="other", cycle=okr.cycle, team=okr.ops, owner=okr.admin, title="Ops is calm"
    )
    align_objective(objective=child, parent=None, by=okr.lead)
    align_objective(objective=child, parent=okr.objective, by=okr.lead)
    assert len(inbox(okr.member, "objective_aligned")) == 1
    align_objective(objective=child, parent=other, by=okr.lead)
    assert len(inbox(okr.admin, "objective_aligned")) == 1


def test_a_private_objective_aligned_to_mine_is_not_told_to_someone_who_may_not_see_it(
    org: Any,
) -> None:
    parent = Objective.objects.create(
        key="sales-up", cycle=org.cycle, team=org.sales, owner=org.outsider, title="Sell more"
    )
    create_objective(
        by=org.admin, cycle=org.cycle, team=org.depot, parent=parent, title="Secret plan",
        visibility="private", owner=org.member,
    )  # fmt: skip
    assert inbox(org.outsider, "objective_aligned") == []
    assert Event.objects.filter(kind="objective_aligned").count() == 1


def test_closing_and_reopening_a_cycle_tell_its_owners_and_team_webhooks(okr: Any) -> None:
    TeamWebhook.objects.create(team=okr.depot, name="Depot", url="https://hooks.example/x")
    record_checkin(key_result=okr.kr, by=okr.member, value=10, at=NOW - timedelta(hours=1))
    close_cycle(cycle=okr.cycle, by=okr.admin)
    [closed] = inbox(okr.member, "cycle_closed")
    assert closed.event.title == "2027 Q1 was closed"
    assert closed.event.data["numbers"]["mean_grade"] == pytest.approx(1.0)
    assert Delivery.objects.filter(
        event__kind="cycle_closed", team_webhook__team=okr.depot
    ).exists()
    assert inbox(okr.admin, "cycle_closed") == []  # the admin closed it
    reopen_cycle(cycle=okr.cycle, by=okr.admin)
    assert len(inbox(okr.member, "cycle_reopened")) == 1
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        close_cycle(cycle=okr.cycle, by=okr.admin)
    assert len(inbox(okr.member, "cycle_closed")) == 2  # a second close is news again
