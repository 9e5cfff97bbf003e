"""Notification events (PRODUCT.md section 3): each fires once at its transition, never twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from headway.kpis.actions import MeasurementRow, ingest_measurements
from headway.kpis.models import Kpi
from headway.notify import events
from headway.notify.models import Delivery, Event, Notification, PersonalWebhook, TeamWebhook
from headway.okrs.actions import record_checkin
from headway.okrs.models import KeyResult, Objective

NOW = datetime(2027, 2, 15, 12, tzinfo=UTC)  # half-way through 2027-Q1: expected 0.5
pytestmark = [pytest.mark.django_db, pytest.mark.frozen(NOW)]


@pytest.fixture(autouse=True)
def loud(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events, "RAISE_ERRORS", True)


def kinds(kind: str) -> list[Event]:
    return list(Event.objects.filter(kind=kind).order_by("id"))


def inbox(person: Any) -> list[str]:
    """The person's inbox, less the news of each check-in (tests/test_notify_expected.py)."""
    return list(
        Notification.objects.filter(person=person)
        .exclude(event__kind="checkin_on_objective")
        .order_by("id")
        .values_list("event__kind", flat=True)
    )


@pytest.fixture
def okr(org: Any) -> Any:
    """Depot objective owned by the ops lead; two 0 → 10 key results owned by the member."""
    org.objective = Objective.objects.create(
        key="calm", cycle=org.cycle, team=org.depot, owner=org.lead, title="Calm depot"
    )
    org.a, org.b = (
        KeyResult.objects.create(
            objective=org.objective,
            key=key,
            title=f"KR {key}",
            start=0,
            target=10,
            owner=org.member,
        )
        for key in ("a", "b")
    )
    return org


def check_in(kr: KeyResult, by: Any, value: float, hours_ago: int) -> None:
    record_checkin(key_result=kr, by=by, value=value, at=NOW - timedelta(hours=hours_ago))


def test_key_result_achieved_fires_once(okr: Any) -> None:
    check_in(okr.a, okr.member, 10, hours_ago=5)
    check_in(okr.a, okr.member, 11, hours_ago=4)  # still achieved: no second event
    check_in(okr.a, okr.member, 12, hours_ago=3)
    [event] = kinds("kr_achieved")
    assert event.dedupe_key == f"kr_achieved:{okr.a.pk}"
    assert event.key_result_id == okr.a.pk
    # The owner did the check-in (and knows); the objective owner and the nearest lead hear.
    assert inbox(okr.member) == []
    assert inbox(okr.lead) == ["kr_achieved"]


def test_objective_crossing_0_7_and_1_0_fires_once_each(okr: Any) -> None:
    check_in(okr.a, okr.member, 10, hours_ago=9)  # objective 0.5
    assert not kinds("objective_0_7")
    check_in(okr.b, okr.member, 4, hours_ago=8)  # 0.7: crosses
    check_in(okr.b, okr.member, 5, hours_ago=7)  # 0.75: above already
    check_in(okr.b, okr.member, 3, hours_ago=6)  # 0.65: below again
    check_in(okr.b, okr.member, 5, hours_ago=5)  # 0.75: the same event is not told twice
    [strong] = kinds("objective_0_7")
    assert strong.data["numbers"]["score_before"] == pytest.approx(0.5)
    assert strong.data["numbers"]["score"] == pytest.approx(0.7)
    assert not kinds("objective_1_0")
    check_in(okr.b, okr.member, 10, hours_ago=4)
    check_in(okr.b, okr.member, 10, hours_ago=3)
    assert len(kinds("objective_1_0")) == 1
    assert len(kinds("objective_0_7")) == 1
    assert inbox(okr.lead).count("objective_1_0") == 1


def test_jump_past_both_thresholds_announces_only_1_0(okr: Any) -> None:
    check_in(okr.a, okr.member, 10, hours_ago=3)
    check_in(okr.b, okr.member, 10, hours_ago=2)
    assert len(kinds("objective_1_0")) == 1
    assert kinds("objective_0_7") == []


def test_key_result_turning_off_track_fires_at_each_transition_only(okr: Any) -> None:
    check_in(okr.a, okr.member, 5, hours_ago=9)  # 0.5 vs expected 0.5: on track
    assert kinds("kr_off_track") == []
    check_in(okr.a, okr.member, 2, hours_ago=8)  # 0.2: off track
    check_in(okr.a, okr.member, 1, hours_ago=7)  # still off track: nothing new
    assert len(kinds("kr_off_track")) == 1
    check_in(okr.a, okr.member, 6, hours_ago=6)  # back on track
    check_in(okr.a, okr.member, 1, hours_ago=5)  # off track again: a new transition
    off = kinds("kr_off_track")
    assert len(off) == 2
    assert off[0].data["numbers"]["expected"] == pytest.approx(0.5, abs=0.01)
    assert off[0].data["numbers"]["previous_status"] == "on_track"


def test_events_roll_back_with_the_check_in(okr: Any) -> None:
    from django.db import transaction

    with transaction.atomic():
        check_in(okr.a, okr.member, 10, hours_ago=2)
        assert kinds("kr_achieved")
        transaction.set_rollback(True)
    assert kinds("kr_achieved") == []
    assert Delivery.objects.count() == 0


def make_kpi(org: Any, key: str, **extra: Any) -> Kpi:
    fields = {"target": 95, "warning": 90, "critical": 85, "cadence": "weekly"} | extra
    return Kpi.objects.create(key=key, name=key.title(), team=org.depot, owner=org.member, **fields)


def push(kpi: Kpi, value: float, days_ago: float = 0, by: Any = None) -> None:
    ingest_measurements(
        rows=[MeasurementRow(kpi=kpi.key, at=NOW - timedelta(days=days_ago), value=value)], by=by
    )


def test_kpi_health_changes_fire_once_per_measurement_and_health(org: Any) -> None:
    kpi = make_kpi(org, "otd")
    push(kpi, 96, days_ago=3)  # first measurement, healthy: not news
    assert kinds("kpi_health") == []
    push(kpi, 89, days_ago=2)  # warning
    push(kpi, 89, days_ago=2)  # the same push again changes nothing
    push(kpi, 80, days_ago=1)  # critical
    push(kpi, 96, days_ago=0)  # recovery
    titles = [e.title for e in kinds("kpi_health")]
    assert titles == ["Otd is warning", "Otd is critical", "Otd recovered: healthy again"]
    # Replacing today's value flips the health; flipping back to a health already
    # announced for this measurement moment is the same event: not told twice.
    push(kpi, 80, days_ago=0)  # critical at this moment: new
    push(kpi, 96, days_ago=0)  # healthy at this moment: told already
    push(kpi, 80, days_ago=0)  # critical at this moment: told already
    assert len(kinds("kpi_health")) == 4
    recovered = kinds("kpi_health")[2]
    assert recovered.data["numbers"]["value"] == 96
    assert recovered.data["numbers"]["previous_health"] == "critical"
    # The owner pushed nothing (the system did): owner and the nearest lead are told.
    assert inbox(org.member).count("kpi_health") == 4
    assert inbox(org.lead).count("kpi_health") == 4


def test_kpi_promotion_suggested_when_newly_deserved(org: Any) -> None:
    kpi = make_kpi(org, "claims")
    push(kpi, 96, days_ago=2)
    push(kpi, 84, days_ago=1)  # critical: deserves promotion
    push(kpi, 83, days_ago=0)  # still deserves it: not news
    [event] = kinds("kpi_promotion")
    assert event.kpi_id == kpi.pk
    assert "critical" in event.summary
    assert inbox(org.lead).count("kpi_promotion") == 1


def test_possible_gaming_fires_once_per_period(org: Any) -> None:
    objective = Objective.objects.create(key="o", cycle=org.cycle, team=org.depot, title="Grow")
    leads = make_kpi(org, "leads", target=500, warning=300, critical=200)
    conversion = make_kpi(org, "conversion", target=10, warning=8, critical=5)
    kr = KeyResult.objects.create(
        objective=objective, key="leads", title="Leads", start=300, target=500, kpi=leads
    )
    kr.counter_kpis.add(conversion)
    for weeks, (lead_value, rate) in enumerate([(300, 9), (320, 9), (380, 8.5), (450, 7)][::-1]):
        push(leads, lead_value, days_ago=7 * weeks)
        push(conversion, rate, days_ago=7 * weeks)
    [event] = kinds("possible_gaming")
    assert event.key_result_id == kr.pk
    assert "Conversion" in event.summary
    push(conversion, 6.5, days_ago=0.5)  # worse again this week: same period, same event
    assert len(kinds("possible_gaming")) == 1


def test_private_objective_news_reaches_only_its_team(okr: Any) -> None:
    okr.objective.visibility = "private"
    okr.objective.save()
    okr.b.owner = okr.outsider  # owns a key result, but is not in the team
    okr.b.save()
    depot_hook = TeamWebhook.objects.create(team=okr.depot, name="depot", url="https://h.test/d")
    TeamWebhook.objects.create(team=okr.ops, name="ops", url="https://h.test/o")
    check_in(okr.b, okr.member, 10, hours_ago=1)
    [event] = kinds("kr_achieved")
    assert event.private
    assert inbox(okr.outsider) == []
    assert inbox(okr.lead) == ["kr_achieved"]
    hooks = Delivery.objects.filter(event=event, team_webhook__isnull=False)
    assert [d.team_webhook_id for d in hooks] == [depot_hook.pk]


def test_preferences_switch_channels(okr: Any) -> None:
    from headway.notify.models import Preference

    PersonalWebhook.objects.create(person=okr.lead, url="https://h.test/me")
    Preference.objects.create(person=okr.lead, kind="kr_off_track", email=False, webhook=True)
    Preference.objects.create(person=okr.lead, kind="kr_achieved", email=True, webhook=False)
    check_in(okr.a, okr.member, 1, hours_ago=3)  # off track
    check_in(okr.b, okr.member, 10, hours_ago=2)  # achieved
    channels = {
        (d.event.kind, d.channel)
        for d in Delivery.objects.filter(person=okr.lead)
        .exclude(event__kind="checkin_on_objective")
        .select_related("event")
    }
    assert channels == {
        ("kr_off_track", "inbox"),
        ("kr_off_track", "webhook"),
        ("kr_achieved", "inbox"),
        ("kr_achieved", "email"),
    }


def test_kpi_fed_key_result_achieved_by_a_push_fires_once(okr: Any) -> None:
    kpi = make_kpi(okr, "otd", target=96)
    kr = KeyResult.objects.create(
        objective=okr.objective, key="otd", title="On time", start=90, target=96, kpi=kpi,
        owner=okr.member,
    )  # fmt: skip
    push(kpi, 93, days_ago=2)
    assert kinds("kr_achieved") == []
    push(kpi, 96.5, days_ago=1, by=okr.admin)
    push(kpi, 97, days_ago=0, by=okr.admin)
    [event] = kinds("kr_achieved")
    assert event.key_result_id == kr.pk
    assert event.actor_id == okr.admin.pk
    assert ("Current value", "96.5") in event.facts
    assert inbox(okr.member) == ["kr_achieved"]


def test_a_failing_hook_never_breaks_the_check_in(
    okr: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(drafts: Any) -> list[Event]:
        list(drafts)
        Event.objects.create(kind="kr_achieved", dedupe_key="half-done", title="x", occurred_at=NOW)
        raise RuntimeError("boom")

    monkeypatch.setattr(events, "RAISE_ERRORS", False)
    monkeypatch.setattr(events, "record", broken)
    check_in(okr.a, okr.member, 10, hours_ago=1)
    okr.a.refresh_from_db()
    assert okr.a.current == 10  # the check-in is kept…
    assert not Event.objects.exists()  # …and the hook's half-done work rolled back
    assert "notify: after_checkin failed" in caplog.text
