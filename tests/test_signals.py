"""One vocabulary of signals (issue 19): a status's colour is its word's, closed cycles show
grades not statuses, planning cycles show no red zeros."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from headway.okrs.actions import close_cycle, create_cycle, record_checkin
from headway.okrs.models import KeyResult, Objective
from headway.web.common import DASH, STATUS_TONES, signal

STATUSES = ["achieved", "on_track", "at_risk", "off_track", "no_data"]


@dataclass
class Result:
    score: float
    status: str
    expected: float | None = 0.5


@given(st.floats(0, 1.2), st.sampled_from(STATUSES))
def test_during_a_cycle_chip_number_and_bar_share_the_status_colour(
    score: float, status: str
) -> None:
    s = signal(Result(score, status), "active")
    assert s.chip == f"status-{status}"
    assert s.tone == STATUS_TONES[status]
    assert s.bar.band == s.tone  # an "On track" chip never sits on an amber bar
    assert s.in_flight


@given(st.floats(0, 1.2), st.sampled_from(STATUSES))
def test_a_closed_cycle_shows_the_grade_in_its_band_and_no_status(
    score: float, status: str
) -> None:
    s = signal(Result(score, status), "closed")
    assert s.word == "Graded"
    expected = "green" if score >= 0.7 - 1e-9 else "yellow" if score >= 0.4 - 1e-9 else "red"
    assert (s.tone, s.bar.band, s.chip) == (expected, expected, f"grade-{expected}")
    assert not s.in_flight


def test_a_planning_cycle_shows_no_score_and_a_neutral_bar() -> None:
    s = signal(Result(0.0, "off_track"), "planning")
    assert (s.word, s.tone, s.score_text, s.bar.band) == ("Planning", "none", DASH, "none")


NOW = datetime(2027, 2, 15, 12, tzinfo=UTC)


def page(person: Any, url: str) -> str:
    client = Client()
    client.force_login(person)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
@pytest.mark.frozen(NOW)
def test_a_closed_cycles_objective_page_shows_its_grade_and_reflection_not_status(org: Any) -> None:
    objective = Objective.objects.create(
        key="calm", cycle=org.cycle, team=org.depot, owner=org.member, title="Calm depot"
    )
    kr = KeyResult.objects.create(objective=objective, key="a", title="A", start=0, target=10)
    record_checkin(key_result=kr, by=org.member, value=1)  # far behind pace: off track
    assert "Off track" in page(org.member, f"/objectives/{objective.key}/")
    close_cycle(cycle=org.cycle, by=org.admin, reflections={"calm": "Too few drivers."})
    closed = page(org.member, f"/objectives/{objective.key}/")
    assert "Graded" in closed
    assert "Too few drivers." in closed
    for stale in ("Off track", "forecast at the end", "Expected by now", "<dt>Forecast</dt>"):
        assert stale not in closed, stale
    tree = page(org.member, f"/cycles/{org.cycle.key}/?open=all")
    assert "Off track" not in tree
    assert "grade-red" in tree


@pytest.mark.django_db
@pytest.mark.frozen(NOW)
def test_a_planning_cycles_objectives_show_targets_not_red_zeros(org: Any) -> None:
    planning = create_cycle(
        by=org.admin, key="2027-Q2", start=date(2027, 4, 1), end=date(2027, 6, 30)
    )
    objective = Objective.objects.create(
        key="next", cycle=planning, team=org.depot, owner=org.member, title="Next quarter"
    )
    KeyResult.objects.create(objective=objective, key="a", title="A", start=0, target=10)
    shown = page(org.member, f"/objectives/{objective.key}/")
    assert "Planning" in shown
    assert "is being planned" in shown
    assert "band-text-red" not in shown
    assert ">0.0<" not in shown
    assert "<dt>Target</dt>" in shown
    tree = page(org.member, f"/cycles/{planning.key}/?open=all")
    assert "band-text-red" not in tree
    assert "No data" not in tree


@given(
    st.floats(-1e6, 1e6, allow_nan=False),
    st.floats(-1e6, 1e6, allow_nan=False).filter(lambda t: abs(t) > 1e-6),
    st.sampled_from(["up", "down"]),
)
def test_target_gap_is_zero_at_or_beyond_the_target_and_grows_with_the_shortfall(
    value: float, target: float, direction: str
) -> None:
    from headway.kpis.health import target_gap

    gap = target_gap(value, target, direction)
    assert gap is not None
    assert gap >= 0
    beyond = value >= target if direction == "up" else value <= target
    assert (gap == 0) == beyond or abs(value - target) < 1e-9
    worse = value - 1 if direction == "up" else value + 1
    worse_gap = target_gap(worse, target, direction)
    assert worse_gap is not None
    assert worse_gap >= gap


def test_a_kpi_card_says_its_health_and_how_far_off_target_it_is() -> None:
    from types import SimpleNamespace

    from headway.web.templatetags.headway_web import off_target

    def card(value: float | None, target: float | None, direction: str = "up") -> str:
        return off_target(SimpleNamespace(latest_value=value, target=target, direction=direction))

    assert card(88, 100) == "12% off target"
    assert card(101, 100) == "on target"
    assert card(3.2, 3.0, "down") == "7% off target"
    assert card(99.9, 100) == "<1% off target"
    assert card(None, 100) == ""
    assert card(5, None) == ""


def test_derived_values_take_the_precision_of_the_numbers_people_wrote() -> None:
    from headway.web.common import decimals_of, fmt_to

    assert decimals_of([0, 100]) == 0
    assert fmt_to(50.45, decimals_of([0, 100])) == "50"
    assert fmt_to(5.625, decimals_of([2.5, 10])) == "5.6"
    assert fmt_to(1234.5, decimals_of([0.25, 5000])) == "1,234.50"
    assert decimals_of([None, float("nan")]) is None
    assert fmt_to(5.625, None) == "5.625"  # nothing to go by: the general rule


@pytest.mark.django_db
@pytest.mark.frozen(NOW)
def test_the_objective_page_rounds_expected_values_to_the_key_results_own_decimals(
    org: Any,
) -> None:
    objective = Objective.objects.create(
        key="calm", cycle=org.cycle, team=org.depot, owner=org.member, title="Calm depot"
    )
    KeyResult.objects.create(objective=objective, key="a", title="A", start=0, target=100)
    shown = page(org.member, f"/objectives/{objective.key}/")
    dd = shown[shown.index("<dt>Expected by now</dt>") :][:60]
    # 15 Feb of a 1 Jan to 31 Mar cycle: 50.6% of the way, shown as a whole number.
    assert "<dd>51</dd>" in dd, dd
