"""KPI -> key result and back, and guard rails against gaming (PRODUCT.md section 2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from headway.kpis.actions import (
    MeasurementRow,
    ingest_measurements,
    promote_kpi,
)
from headway.kpis.models import Kpi
from headway.kpis.queries import gaming_alerts, key_results_back_to_monitoring
from headway.okrs.models import KeyResult, Objective

NOW = datetime(2027, 3, 15, 12, tzinfo=UTC)
pytestmark = [pytest.mark.django_db, pytest.mark.frozen(NOW)]


def make_kpi(org: Any, key: str, direction: str = "up", **extra: Any) -> Kpi:
    fields = {"target": 95, "warning": 90, "critical": 85, "cadence": "weekly"} | extra
    return Kpi.objects.create(
        key=key, name=key.title(), team=org.depot, direction=direction, **fields
    )


def push_weekly(kpi: Kpi, values: list[float]) -> None:
    """Push one value per week, the last one this week."""
    ingest_measurements(
        rows=[
            MeasurementRow(kpi=kpi.key, at=NOW - timedelta(weeks=len(values) - 1 - i), value=v)
            for i, v in enumerate(values)
        ],
        by=None,
    )


@pytest.fixture
def objective(org: Any) -> Objective:
    return Objective.objects.create(key="o", cycle=org.cycle, team=org.depot, title="Calm depot")


def test_critical_and_deteriorating_kpis_deserve_promotion(org: Any) -> None:
    push_weekly(make_kpi(org, "critical"), [96, 96, 95, 84])
    push_weekly(make_kpi(org, "sliding"), [99, 98, 97, 96, 95.5, 95.2, 95.1])
    push_weekly(make_kpi(org, "fine"), [96, 95, 97, 96])
    assert set(Kpi.objects.deserving_promotion().values_list("key", flat=True)) == {
        "critical",
        "sliding",
    }


def test_promotion_creates_a_linked_key_result(org: Any, objective: Objective) -> None:
    kpi = make_kpi(org, "otd", unit="%")
    push_weekly(kpi, [96, 90, 84])
    kr = promote_kpi(kpi=kpi, objective=objective, by=org.lead)
    assert (kr.kind, kr.start, kr.target, kr.current, kr.kpi) == ("increase", 84, 95, 84, kpi)
    assert kr.title == "Raise otd from 84 to 95 %"
    # Once it feeds a key result of the active cycle it is no longer suggested.
    assert not Kpi.objects.deserving_promotion().exists()
    with pytest.raises(ValidationError, match="already has"):
        promote_kpi(kpi=kpi, objective=objective, by=org.lead)


def test_promoting_a_down_kpi_decreases_with_own_target(org: Any, objective: Objective) -> None:
    kpi = make_kpi(org, "claims", direction="down", target=2, warning=3, critical=4)
    push_weekly(kpi, [3, 4.5])
    kr = promote_kpi(kpi=kpi, objective=objective, by=org.admin, target=2.5)
    assert (kr.kind, kr.start, kr.target) == ("decrease", 4.5, 2.5)


def test_promotion_needs_a_lead_a_value_and_an_active_cycle(org: Any, objective: Objective) -> None:
    kpi = make_kpi(org, "empty")
    with pytest.raises(PermissionDenied):
        promote_kpi(kpi=kpi, objective=objective, by=org.member)
    with pytest.raises(ValidationError) as exc:
        promote_kpi(kpi=kpi, objective=objective, by=org.lead)
    assert "kpi" in exc.value.message_dict
    org.cycle.state = "closed"
    org.cycle.save()
    push_weekly(kpi, [80])
    with pytest.raises(ValidationError) as exc:
        promote_kpi(kpi=kpi, objective=objective, by=org.lead)
    assert "objective" in exc.value.message_dict


def test_achieved_key_result_with_healthy_kpi_may_go_back(org: Any, objective: Objective) -> None:
    kpi = make_kpi(org, "otd")
    push_weekly(kpi, [84])
    kr = promote_kpi(kpi=kpi, objective=objective, by=org.lead)
    assert key_results_back_to_monitoring() == []
    push_weekly(kpi, [84, 96, 97, 96])
    assert key_results_back_to_monitoring() == [kr]


def test_gaming_alert_when_counter_kpi_worsens(org: Any, objective: Objective) -> None:
    leads = make_kpi(org, "leads", target=500, warning=300, critical=200)
    conversion = make_kpi(org, "conversion", target=10, warning=8, critical=5)
    push_weekly(leads, [300, 320, 380, 450, 480])
    push_weekly(conversion, [9, 9, 8.5, 7, 6])
    kr = KeyResult.objects.create(
        objective=objective, key="leads", title="Leads", start=300, target=500, kpi=leads
    )
    assert gaming_alerts([kr]) == []  # no counter-KPI named yet
    kr.counter_kpis.add(conversion)
    assert gaming_alerts([kr]) == [kr]
    push_weekly(conversion, [9, 9, 9, 9.5, 9.8])
    assert gaming_alerts([kr]) == []


def test_back_to_monitoring_keeps_the_key_result_and_announces_it(
    org: Any, objective: Objective
) -> None:
    from headway.kpis.actions import return_to_monitoring
    from headway.notify.models import Event
    from headway.okrs.models import CheckIn

    kpi = make_kpi(org, "otd")
    push_weekly(kpi, [84])
    kr = promote_kpi(kpi=kpi, objective=objective, by=org.lead)
    with pytest.raises(ValidationError, match="cannot go back to monitoring yet"):
        return_to_monitoring(by=org.lead, key_result=kr)
    push_weekly(kpi, [84, 96, 97, 96])
    kr.refresh_from_db()
    before = (kr.kpi_id, kr.version, kr.current)
    with pytest.raises(PermissionDenied):
        return_to_monitoring(by=org.member, key_result=kr)
    kr.refresh_from_db()
    assert (kr.kpi_id, kr.version, kr.current) == before  # a refusal changes nothing
    assert not Event.objects.filter(kind="back_to_monitoring").exists()

    done = return_to_monitoring(by=org.lead, key_result=kr, version=kr.version)
    done.refresh_from_db()
    assert (done.kpi_id, done.current, done.version) == (None, 96, before[1] + 1)
    final = CheckIn.objects.get(key_result=done)
    assert (final.value, final.author) == (96, org.lead)
    assert Kpi.objects.filter(pk=kpi.pk).exists()  # the KPI stays, monitored
    [event] = Event.objects.filter(kind="back_to_monitoring")
    assert (event.key_result_id, event.kpi_id) == (done.pk, kpi.pk)
    assert key_results_back_to_monitoring() == []


def test_back_to_monitoring_is_one_click_on_the_kpi_page(org: Any, objective: Objective) -> None:
    from headway.web.testing import client_for

    kpi = make_kpi(org, "otd")
    push_weekly(kpi, [84])
    kr = promote_kpi(kpi=kpi, objective=objective, by=org.lead)
    push_weekly(kpi, [84, 96, 97, 96])
    kr.refresh_from_db()
    lead = client_for(org.lead)
    page = lead.get(f"/kpis/{kpi.key}/").content.decode()
    assert "Back to monitoring</button>" in page
    assert (
        "Back to monitoring</button>"
        not in client_for(org.member).get(f"/kpis/{kpi.key}/").content.decode()
    )
    answer = lead.post(
        f"/kpis/{kpi.key}/", {"action": "monitor", "key_result": kr.pk, "version": kr.version}
    )
    assert answer.status_code == 302
    kr.refresh_from_db()
    assert kr.kpi_id is None
