"""Targets that change by period: the rules, health at each point, the card, API and file."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from headway.api.testing import ApiClient, token_for
from headway.document.load import DocumentError, load_texts
from headway.kpis import health as core
from headway.kpis import schedule
from headway.kpis.actions import update_kpi
from headway.kpis.models import Kpi
from headway.web.testing import build_kpis, client_for

D0 = datetime(2027, 1, 1, tzinfo=UTC)


def weekly(values: list[float], start: datetime = D0) -> list[core.Point]:
    return [core.Point(at=start + timedelta(weeks=i), value=v) for i, v in enumerate(values)]


# --------------------------------------------------------------------------- pure core


def test_each_value_is_judged_by_the_thresholds_in_force_when_it_was_measured() -> None:
    tighter = core.Step(D0 + timedelta(weeks=4), target=100.0, warning=97.0, critical=93.0)
    card = core.Kpi("up", 98.0, 90.0, 85.0, "weekly", (tighter,))
    before = core.evaluate(card, weekly([95.0] * 4), D0 + timedelta(weeks=3, days=1))
    assert before.health == "healthy"
    assert before.healthy_streak == 4
    after = core.evaluate(card, weekly([95.0] * 5), D0 + timedelta(weeks=4, days=1))
    assert after.health == "warning"  # 95 is past the new warning (97)
    # Back to health: the streak counts periods healthy by their own thresholds.
    back = core.evaluate(card, weekly([95.0] * 5 + [98.0]), D0 + timedelta(weeks=5, days=1))
    assert back.health == "healthy"
    assert back.healthy_streak == 1
    assert card.at(D0).warning == 90.0
    assert card.at(D0 + timedelta(weeks=4)).warning == 97.0  # in force from its moment on


def test_a_scheduled_card_needs_the_moment_of_a_value() -> None:
    card = core.Kpi("up", 1.0, None, None, "weekly", (core.Step(D0, 2.0, None, None),))
    with pytest.raises(ValueError, match="needs the moment"):
        core.health_of_value(card, 1.0)
    with pytest.raises(ValueError, match="same moment"):
        core.Kpi("up", 1.0, None, None, "weekly", (core.Step(D0, 2.0, 1.0, None),) * 2)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 400),
            st.sampled_from([None, 80.0, 90.0]),
            st.sampled_from([None, 70.0, 85.0]),
        ),
        max_size=5,
        unique_by=lambda s: s[0],
    ),
    st.lists(st.tuples(st.integers(0, 500), st.floats(60, 110)), min_size=1, max_size=40),
    st.sampled_from(core.DIRECTIONS),
)
def test_the_vectorised_health_agrees_with_each_value_at_its_moment(
    steps: list[tuple[int, float | None, float | None]],
    points: list[tuple[int, float]],
    direction: str,
) -> None:
    card = core.Kpi(
        direction, 100.0, 88.0, 75.0, "weekly",
        tuple(core.Step(D0 + timedelta(days=d), None, w, c) for d, w, c in steps),
    )  # fmt: skip
    moments = [D0 + timedelta(days=d) for d, _v in points]
    values = np.array([v for _d, v in points])
    mask = core._healthy_mask(card, values, np.array([m.timestamp() for m in moments]))
    expected = [
        core.health_of_value(card, v, at) == "healthy"
        for at, v in zip(moments, values, strict=True)
    ]
    assert mask.tolist() == expected


def test_schedule_problems_name_their_step() -> None:
    steps, problems = schedule.problems(
        [
            {"from": "2027-04-01", "target": 98, "warning": 99},
            {"from": "April", "target": 1},
            {"from": "2027-02-01", "target": 95, "colour": "red"},
            {"from": "2027-02-01", "target": 96},
            {"from": "2027-05-01"},
            {"from": "2027-06-01", "target": True},
        ],
        "up",
    )
    assert problems == [
        "Step 1 (from 2027-04-01): When higher is better, the warning threshold must not be "
        "higher than the target.",
        "Step 2: 'from' must be a date (YYYY-MM-DD).",
        "Step 3: unknown field 'colour'.",
        "Step 5: give at least one of target, warning and critical.",
        "Step 6: target must be a number or null.",
        "Step 6: give at least one of target, warning and critical.",
        "Two steps start on 2027-02-01; each day takes one.",
    ]
    assert [s["from"] for s in steps] == sorted(s["from"] for s in steps)
    assert schedule.problems("monthly", "up")[1] == ["The target schedule must be a list of steps."]
    assert schedule.problems([{"from": "2027-01-01", "target": 1}] * 121, "up")[1][0] == (
        "The target schedule has 121 steps; at most 120."
    )


def test_the_forms_lines_round_trip_and_refuse_what_is_not_a_number() -> None:
    steps = [
        {"from": "2027-01-01", "target": 95.0, "warning": 90.0, "critical": None},
        {"from": "2027-07-01", "target": 97.5, "warning": None, "critical": 88.0},
    ]
    assert schedule.as_lines(steps) == "2027-01-01 95 90 -\n2027-07-01 97.5 - 88"
    assert schedule.parse_lines(schedule.as_lines(steps) + "\n\n") == steps
    assert schedule.parse_lines("2027-01-01 95") == [
        {"from": "2027-01-01", "target": 95.0, "warning": None, "critical": None}
    ]
    with pytest.raises(ValueError, match=r"line 2: 'ninety' is not a number"):
        schedule.parse_lines("2027-01-01 95\n2027-02-01 ninety")
    with pytest.raises(ValueError, match="at most three numbers"):
        schedule.parse_lines("2027-01-01 1 2 3 4")


def test_in_force_picks_the_last_step_on_or_before_the_day() -> None:
    steps = [{"from": "2027-03-01", "target": 2.0}, {"from": "2027-01-01", "target": 1.0}]
    base = (0.0, None, None)
    assert schedule.in_force(steps, base, date(2026, 12, 31)) == base
    assert schedule.in_force(steps, base, date(2027, 1, 1))[0] == 1.0
    assert schedule.in_force(steps, base, date(2027, 3, 1))[0] == 2.0


# --------------------------------------------------------------------------- the card


@pytest.fixture
def kpi(org: Any) -> Kpi:
    return build_kpis(team=org.depot, owner=org.member, count=1, weeks=12)[0]


@pytest.mark.django_db
def test_a_schedule_from_today_reevaluates_health_at_once(org: Any, kpi: Kpi) -> None:
    kpi.refresh_from_db()
    assert kpi.health == "healthy"  # ~96 against warning 90
    today = datetime.now(UTC).date() - timedelta(days=60)
    update_kpi(
        by=org.member, kpi=kpi,
        target_schedule=[{"from": today.isoformat(), "target": 99, "warning": 98, "critical": 97}],
    )  # fmt: skip
    kpi.refresh_from_db()
    assert kpi.health == "critical"
    assert kpi.target_now == 99.0
    assert kpi.target == 95.0  # the card's own, before the first step


@pytest.mark.django_db
def test_a_bad_schedule_is_refused_and_nothing_changes(org: Any, kpi: Kpi) -> None:
    version = kpi.version
    with pytest.raises(ValidationError) as caught:
        update_kpi(
            by=org.member, kpi=kpi,
            target_schedule=[{"from": "2027-01-01", "target": 90, "warning": 95}],
        )  # fmt: skip
    assert caught.value.message_dict["target_schedule"] == [
        "Step 1 (from 2027-01-01): When higher is better, the warning threshold must not be "
        "higher than the target."
    ]
    kpi.refresh_from_db()
    assert (kpi.version, kpi.target_schedule) == (version, [])


@pytest.mark.django_db
def test_the_edit_form_writes_the_schedule_and_the_page_and_chart_show_it(
    org: Any, kpi: Kpi
) -> None:
    client = client_for(org.member)
    start = (datetime.now(UTC) - timedelta(weeks=4)).date()
    form = {
        "name": kpi.name, "unit": kpi.unit, "team": kpi.team_id, "owner": org.member.pk,
        "cadence": "weekly", "direction": "up", "target": 95, "warning": 90, "critical": 85,
        "tier": "key", "version": kpi.version,
        "target_schedule": f"{start.isoformat()} 97 93 -",
    }  # fmt: skip
    bad = client.post(f"/kpis/{kpi.key}/edit/", {**form, "target_schedule": "soon 97"})
    assert "must be a date (YYYY-MM-DD)" in bad.text
    assert (
        "Not a schedule: line 1: &#x27;x&#x27; is not a number"
        in client.post(
            f"/kpis/{kpi.key}/edit/", {**form, "target_schedule": f"{start.isoformat()} x"}
        ).text
    )
    assert Kpi.objects.get(pk=kpi.pk).target_schedule == []
    saved = client.post(f"/kpis/{kpi.key}/edit/", form)
    assert saved.status_code == 302, saved.text
    kpi.refresh_from_db()
    assert kpi.target_schedule == [
        {"from": start.isoformat(), "target": 97.0, "warning": 93.0, "critical": None}
    ]
    page = client.get(f"/kpis/{kpi.key}/").text
    assert "Target now" in page
    assert f"<td>{start.isoformat()}</td><td>97</td><td>93</td>" in page
    found = re.search(r'<script id="kpi-chart" type="application/json">(.*?)</script>', page)
    assert found is not None, "the chart's data"
    chart = json.loads(found.group(1))
    assert [row[1:] for row in chart["schedule"]] == [[95.0, 90.0, 85.0], [97.0, 93.0, None]]
    assert "Target now" not in client.get("/kpis/k0/edit/").text  # the form itself
    again = client.get(f"/kpis/{kpi.key}/edit/").text
    assert f"{start.isoformat()} 97 93 -" in again


@pytest.mark.django_db
def test_api_carries_the_schedule_and_refuses_a_bad_one(org: Any, kpi: Kpi) -> None:
    api = ApiClient(token_for(org.member))
    steps = [{"from": "2027-07-01", "target": 96.0, "warning": 92.0, "critical": None}]
    patched = api.patch(f"/kpis/{kpi.key}", {"target_schedule": steps})
    assert patched.status_code == 200, patched.text
    assert patched.json()["target_schedule"] == steps
    assert patched.json()["target_now"] == 95.0  # before 2027-07-01
    wrong = [{"from": "2027-07-01", "target": 90.0, "warning": 99.0}]
    bad = api.patch(f"/kpis/{kpi.key}", {"target_schedule": wrong})
    assert bad.status_code == 422
    assert "warning threshold" in bad.json()["error"]["fields"]["target_schedule"][0]
    unknown = api.patch(f"/kpis/{kpi.key}", {"target_schedule": [{"from": "2027-07-01", "x": 1}]})
    assert unknown.status_code == 400
    cleared = api.patch(f"/kpis/{kpi.key}", {"target_schedule": []})
    assert cleared.json()["target_schedule"] == []
    made = api.post(
        "/kpis",
        {"key": "nps", "name": "NPS", "team": "depot", "target": 30,
         "target_schedule": [{"from": "2027-04-01", "target": 35}]},
    )  # fmt: skip
    assert made.status_code == 201, made.text
    assert made.json()["target_schedule"] == [
        {"from": "2027-04-01", "target": 35.0, "warning": None, "critical": None}
    ]


def test_a_file_with_a_bad_schedule_names_the_kpi_and_the_step() -> None:
    text = """
version: 1
teams:
  - {key: acme, name: Acme, kind: company}
kpis:
  - key: otd
    name: On time
    team: acme
    target: 95
    warning: 90
    target_schedule:
      - {from: 2027-07-01, target: 90, warning: 93}
"""
    with pytest.raises(DocumentError) as caught:
        load_texts([("f.yaml", text)])
    [problem] = caught.value.errors
    assert problem.field_path == "kpis[0].target_schedule"
    assert "Step 1 (from 2027-07-01): When higher is better, the warning threshold" in str(problem)
