"""Time-based notifications: once per period, and running the job twice duplicates nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail

from headway.kpis.models import Kpi, Measurement
from headway.notify import events
from headway.notify.delivery import drain
from headway.notify.models import Delivery, Event, Notification, Preference, TeamWebhook
from headway.notify.periodic import run_periodic
from headway.okrs.models import CheckIn, KeyResult, Objective

pytestmark = pytest.mark.django_db
NOW = datetime(2027, 2, 15, 12, tzinfo=UTC)


@pytest.fixture(autouse=True)
def loud(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events, "RAISE_ERRORS", True)


@pytest.fixture
def clock() -> Any:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def count(kind: str) -> int:
    return Event.objects.filter(kind=kind).count()


@pytest.fixture
def world(org: Any, clock: Any) -> Any:
    """A key result never checked in, one checked in long ago, a stale KPI; team webhook."""
    objective = Objective.objects.create(
        key="calm", cycle=org.cycle, team=org.depot, owner=org.lead, title="Calm depot"
    )
    org.idle = KeyResult.objects.create(
        objective=objective, key="idle", title="Idle", start=0, target=100, owner=org.member
    )
    org.slow = KeyResult.objects.create(
        objective=objective, key="slow", title="Slow", start=0, target=100, owner=org.member
    )
    # 20 of 100 on 10 January: on track then (expected 0.1), off track now (expected 0.5).
    CheckIn.objects.create(
        key_result=org.slow, at=datetime(2027, 1, 10, tzinfo=UTC), value=20, author=org.member
    )
    org.kpi = Kpi.objects.create(
        key="otd", name="On-time delivery", team=org.depot, owner=org.member, unit="%",
        target=95, warning=90, critical=85, cadence="weekly", health="healthy",
        latest_at=NOW - timedelta(days=12), latest_value=96,
    )  # fmt: skip
    Measurement.objects.create(kpi=org.kpi, at=NOW - timedelta(days=12), value=96)
    org.hook = TeamWebhook.objects.create(team=org.depot, name="depot", url="https://h.test/x")
    return org


def test_periodic_job_run_twice_creates_no_duplicates(world: Any) -> None:
    first = run_periodic()
    assert first["checkin_overdue"] == 2
    assert first["kpi_review_overdue"] == 1
    assert first["off_track_by_pace"] == 1
    events_before = Event.objects.count()
    deliveries_before = Delivery.objects.count()
    notes_before = Notification.objects.count()
    second = run_periodic()
    assert all(n == 0 for n in second.values()), second
    assert Event.objects.count() == events_before
    assert Delivery.objects.count() == deliveries_before
    assert Notification.objects.count() == notes_before


def test_checkin_overdue_fires_once_per_cadence_window(world: Any, clock: Any) -> None:
    run_periodic()
    assert count("checkin_overdue") == 2
    assert (
        Notification.objects.filter(person=world.member, event__kind="checkin_overdue").count() == 2
    )
    # Owned key results nag their owner, not the leads, and not the team channel.
    assert not Notification.objects.filter(person=world.lead, event__kind="checkin_overdue")
    assert not Delivery.objects.filter(event__kind="checkin_overdue", team_webhook__isnull=False)
    clock.shift(timedelta(days=3))
    run_periodic()
    assert count("checkin_overdue") == 2  # same 7-day window
    clock.shift(timedelta(days=5))
    run_periodic()
    assert count("checkin_overdue") == 4  # a new window: told again


def test_check_in_ends_the_overdue_nagging(world: Any) -> None:
    from headway.okrs.actions import record_checkin

    run_periodic()
    record_checkin(key_result=world.idle, by=world.member, value=60)
    record_checkin(key_result=world.slow, by=world.member, value=60)
    before = count("checkin_overdue")
    run_periodic()
    assert count("checkin_overdue") == before


def test_kpi_review_overdue_once_per_period_and_health_goes_stale(world: Any, clock: Any) -> None:
    run_periodic()
    world.kpi.refresh_from_db()
    assert world.kpi.health == "stale"
    assert count("kpi_review_overdue") == 1
    assert count("kpi_health") == 0  # going stale is a review matter, not a health change
    clock.shift(timedelta(days=3))
    run_periodic()
    assert count("kpi_review_overdue") == 1
    clock.shift(timedelta(days=5))  # a weekly KPI: one more period without a review
    run_periodic()
    assert count("kpi_review_overdue") == 2


def test_key_result_off_track_by_pace_fires_once(world: Any) -> None:
    run_periodic()
    [event] = Event.objects.filter(kind="kr_off_track")
    assert event.key_result_id == world.slow.pk
    assert event.dedupe_key.endswith("2027-01-10T00:00:00+00:00")
    assert event.data["numbers"]["previous_status"] == "on_track"
    run_periodic()
    assert count("kr_off_track") == 1


def test_cycle_ending_fires_once_per_cycle(world: Any, clock: Any) -> None:
    run_periodic()
    assert count("cycle_ending") == 0
    clock.move_to(datetime(2027, 3, 25, 9, tzinfo=UTC))
    run_periodic()
    run_periodic()
    [event] = Event.objects.filter(kind="cycle_ending")
    assert event.title == "2027 Q1 ends in 6 days"
    assert event.data["numbers"]["objectives"] == 1
    assert Notification.objects.filter(event=event, person=world.lead).exists()
    assert Notification.objects.filter(event=event, person=world.member).exists()
    assert Delivery.objects.filter(event=event, team_webhook=world.hook).count() == 1
    clock.move_to(datetime(2027, 3, 30, 9, tzinfo=UTC))
    run_periodic()
    assert count("cycle_ending") == 1


def test_weekly_digest_once_per_person_and_week(world: Any, clock: Any) -> None:
    Preference.objects.create(person=world.viewer, kind="weekly_digest", email=False, webhook=False)
    run_periodic()
    run_periodic()
    digests = Event.objects.filter(kind="weekly_digest")
    # The member owns key results and a KPI; the lead was told things this week; the
    # viewer switched it off; people with nothing to report get nothing.
    recipients = {d.person for d in Delivery.objects.filter(event__in=digests)}
    assert recipients == {world.member, world.lead}
    assert {d.channel for d in Delivery.objects.filter(event__in=digests)} == {"email"}
    assert not Notification.objects.filter(event__in=digests).exists()
    stats = drain(worker_id="test", event_ids=[d.pk for d in digests])
    assert (stats.sent, stats.failed) == (2, 0)
    digest_mail = next(m for m in mail.outbox if m.to == [world.member.email])
    assert digest_mail.subject == "[Headway] Your week in Headway (2027-W07)"
    assert "Slow: off track · score 0.20" in digest_mail.body
    assert "On-time delivery: stale · 96% (target 95%)" in digest_mail.body
    html = digest_mail.alternatives[0].content  # type: ignore[attr-defined]
    assert "Your KPIs in trouble" in html
    clock.shift(timedelta(days=7))
    run_periodic()
    assert Event.objects.filter(kind="weekly_digest").count() == 4
