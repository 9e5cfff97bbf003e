"""Is this still the right KPI? The selection review: its schedule, its flag, its decisions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from headway.api.testing import ApiClient, token_for
from headway.kpis import selection
from headway.kpis.actions import (
    IngestError,
    MeasurementRow,
    ingest_measurements,
    review_kpi,
)
from headway.kpis.models import Kpi, KpiReview, Measurement
from headway.notify.models import Event
from headway.notify.periodic import kpi_selection_due
from headway.okrs import scoring
from headway.okrs.models import CheckIn, KeyResult, Objective
from headway.sources.models import Source
from headway.versions import StaleVersion
from headway.web.testing import build_kpis, client_for, current_cycle

T0 = datetime(2027, 1, 4, tzinfo=UTC)


# --------------------------------------------------------------------------- pure core


def test_review_falls_due_at_the_kpis_cadence_never_more_often_than_monthly() -> None:
    assert selection.review_due(T0, "weekly") == T0 + timedelta(days=30)
    assert selection.review_due(T0, "monthly") == T0 + timedelta(days=30)
    assert selection.review_due(T0, "quarterly") == T0 + timedelta(days=91)
    assert selection.review_due(T0, "") == T0 + timedelta(days=30)  # judged monthly


def _weekly(values: Any, start: datetime = T0) -> list[tuple[datetime, float]]:
    # Measured a day into each week: the week's end samples it.
    return [(start + timedelta(days=7 * i + 1), float(v)) for i, v in enumerate(values)]


def test_link_check_keeps_a_living_link_and_flags_a_decayed_one() -> None:
    rng = np.random.default_rng(22)
    at = T0 + timedelta(weeks=12)
    living = decayed = 0
    for _ in range(200):
        outcome = np.cumsum(rng.normal(size=12))
        follows = 3 * outcome + rng.normal(scale=0.5, size=12)
        unrelated = np.cumsum(rng.normal(size=12))
        check = selection.link_check(
            _weekly(follows), _weekly(outcome), upwards=True, starts_at=T0, at=at
        )
        living += check.decayed is False
        gone = selection.link_check(
            _weekly(unrelated), _weekly(outcome), upwards=True, starts_at=T0, at=at
        )
        decayed += gone.decayed is True
    assert living / 200 >= 0.9
    assert decayed / 200 >= 0.9


def test_a_lower_is_better_kpi_is_compared_with_its_sign_turned() -> None:
    rng = np.random.default_rng(3)
    outcome = np.cumsum(rng.normal(size=12))
    falls_as_outcome_rises = -2 * outcome + rng.normal(scale=0.2, size=12)
    at = T0 + timedelta(weeks=12)
    down = selection.link_check(
        _weekly(falls_as_outcome_rises), _weekly(outcome), upwards=False, starts_at=T0, at=at
    )
    up = selection.link_check(
        _weekly(falls_as_outcome_rises), _weekly(outcome), upwards=True, starts_at=T0, at=at
    )
    assert down.decayed is False
    assert up.decayed is True


def test_link_check_gives_no_verdict_on_too_few_weeks_or_no_movement() -> None:
    few = selection.link_check(
        _weekly(range(4)), _weekly(range(4)), upwards=True, starts_at=T0, at=T0 + timedelta(weeks=4)
    )
    assert few.decayed is None
    assert "the check needs 7" in few.reason
    still = selection.link_check(
        _weekly(range(12)), _weekly([0.5] * 12), upwards=True, starts_at=T0,
        at=T0 + timedelta(weeks=12),
    )  # fmt: skip
    assert still.decayed is None
    assert still.reason == "The outcome did not change in the window."


def test_sample_takes_the_value_in_force_at_each_moment() -> None:
    points = [(T0, 1.0), (T0 + timedelta(days=3), 2.0)]
    moments = [T0 - timedelta(days=1), T0, T0 + timedelta(days=2), T0 + timedelta(days=9)]
    assert selection.sample(points, moments) == [None, 1.0, 1.0, 2.0]


def test_outcome_is_the_weighted_mean_score_after_each_checkin() -> None:
    a = scoring.KeyResult(
        "a", "increase", start=0, target=10, weight=3,
        checkins=(scoring.CheckIn(at=T0, value=5.0),),
    )  # fmt: skip
    b = scoring.KeyResult(
        "b", "milestone", weight=1,
        checkins=(scoring.CheckIn(at=T0 + timedelta(days=2), done=True),),
    )  # fmt: skip
    points = selection.outcome_points([a, b])
    assert [at for at, _v in points] == [T0, T0 + timedelta(days=2)]
    assert [v for _at, v in points] == pytest.approx([3 * 0.5 / 4, (3 * 0.5 + 1) / 4])
    assert selection.outcome_points([]) == []


# --------------------------------------------------------------------------- the action


@pytest.fixture
def world(org: Any) -> SimpleNamespace:
    current_cycle(org.cycle, days_before=84, days_after=7)
    kpi, other = build_kpis(team=org.depot, owner=org.member, count=2, weeks=12)
    return SimpleNamespace(org=org, kpi=kpi, other=other)


def _snapshot(kpi: Kpi) -> tuple[Any, ...]:
    kpi.refresh_from_db()
    return (kpi.version, kpi.target, kpi.warning, kpi.critical, kpi.retired_at,
            kpi.selection_reviewed_at, KpiReview.objects.count())  # fmt: skip


@pytest.mark.django_db
def test_confirming_keeps_the_reason_and_starts_the_next_interval(world: Any) -> None:
    kpi = world.kpi
    result = review_kpi(
        by=world.org.member, kpi=kpi, decision="confirm", reason="Still what customers feel.",
        version=kpi.version,
    )  # fmt: skip
    kpi.refresh_from_db()
    assert result.review.decision == "confirm"
    assert kpi.selection_reviewed_at is not None
    assert kpi.selection_review_due == kpi.selection_reviewed_at + timedelta(days=30)
    last = kpi.history.first()
    assert last is not None
    assert last.history_change_reason == "Review (confirm): Still what customers feel."
    assert KpiReview.objects.get().reason == "Still what customers feel."


@pytest.mark.django_db
def test_a_review_without_a_reason_or_decision_is_refused_and_changes_nothing(world: Any) -> None:
    before = _snapshot(world.kpi)
    with pytest.raises(ValidationError) as caught:
        review_kpi(by=world.org.member, kpi=world.kpi, decision="keep", reason="  ")
    assert set(caught.value.message_dict) == {"reason", "decision"}
    assert _snapshot(world.kpi) == before


@pytest.mark.django_db
def test_retarget_changes_thresholds_and_reevaluates_health(world: Any) -> None:
    kpi = world.kpi
    result = review_kpi(
        by=world.org.lead, kpi=kpi, decision="retarget", reason="The new depot is faster.",
        target=99.0, warning=98.0, critical=97.0,
    )  # fmt: skip
    kpi.refresh_from_db()
    assert (kpi.target, kpi.warning, kpi.critical) == (99.0, 98.0, 97.0)
    assert result.review.changes == {
        "target": [95.0, 99.0], "warning": [90.0, 98.0], "critical": [85.0, 97.0]
    }  # fmt: skip
    # The healthy history (about 96) is now below the critical threshold of 97.
    assert kpi.health == "critical"


@pytest.mark.django_db
def test_a_retarget_out_of_order_or_changing_nothing_is_refused(world: Any) -> None:
    before = _snapshot(world.kpi)
    with pytest.raises(ValidationError) as caught:
        review_kpi(
            by=world.org.member, kpi=world.kpi, decision="retarget", reason="Tighter",
            warning=99.0,
        )  # fmt: skip
    assert "warning" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        review_kpi(
            by=world.org.member, kpi=world.kpi, decision="retarget", reason="Same", target=95.0
        )
    assert "none was changed" in caught.value.message_dict["target"][0]
    with pytest.raises(ValidationError):
        review_kpi(by=world.org.member, kpi=world.kpi, decision="confirm", reason="x", target=1.0)
    assert _snapshot(world.kpi) == before


@pytest.mark.django_db
def test_retiring_keeps_history_pauses_the_source_and_refuses_new_measurements(
    world: Any,
) -> None:
    kpi = world.kpi
    Source.objects.create(kpi=kpi, kind="http_json", config={}, enabled=True)
    measured = Measurement.objects.filter(kpi=kpi).count()
    result = review_kpi(by=world.org.member, kpi=kpi, decision="retire", reason="The depot closed.")
    assert result.sources_paused == 1
    assert not Source.objects.get(kpi=kpi).enabled
    assert Measurement.objects.filter(kpi=kpi).count() == measured
    with pytest.raises(IngestError) as caught:
        ingest_measurements(
            rows=[MeasurementRow(kpi=kpi.key, at=timezone.now(), value=1.0)], by=world.org.member
        )
    assert "was retired on" in caught.value.rows[0][1]
    assert Measurement.objects.filter(kpi=kpi).count() == measured
    with pytest.raises(PermissionDenied):
        review_kpi(by=world.org.member, kpi=kpi, decision="confirm", reason="again")
    assert not Kpi.objects.deserving_promotion().filter(pk=kpi.pk).exists()


@pytest.mark.django_db
def test_replacing_names_another_kpi_in_use(world: Any) -> None:
    kpi, other = world.kpi, world.other
    before = _snapshot(kpi)
    for replacement, message in ((None, "Name the KPI"), (kpi, "cannot replace itself")):
        with pytest.raises(ValidationError) as caught:
            review_kpi(
                by=world.org.member, kpi=kpi, decision="replace", reason="New app",
                replacement=replacement,
            )  # fmt: skip
        assert message in caught.value.message_dict["replacement"][0]
    assert _snapshot(kpi) == before
    review_kpi(
        by=world.org.member, kpi=kpi, decision="replace", reason="The app measures it now",
        replacement=other,
    )  # fmt: skip
    kpi.refresh_from_db()
    assert kpi.replaced_by == other
    assert kpi.retired_at is not None
    third = Kpi.objects.create(
        key="third", name="Third", team=world.org.depot, owner=world.org.member
    )
    with pytest.raises(ValidationError) as caught:
        review_kpi(by=world.org.member, kpi=third, decision="replace", reason="x", replacement=kpi)
    assert "is retired itself" in caught.value.message_dict["replacement"][0]


@pytest.mark.django_db
def test_only_the_owner_and_the_teams_leads_review_and_a_stale_version_is_refused(
    world: Any,
) -> None:
    before = _snapshot(world.kpi)
    for someone in (world.org.viewer, world.org.outsider):
        with pytest.raises(PermissionDenied, match="Only leads of the team and the owner"):
            review_kpi(by=someone, kpi=world.kpi, decision="confirm", reason="fine")
    with pytest.raises(StaleVersion):
        review_kpi(
            by=world.org.member, kpi=world.kpi, decision="confirm", reason="fine",
            version=world.kpi.version - 1,
        )  # fmt: skip
    assert _snapshot(world.kpi) == before


# --------------------------------------------------------------------------- flag and reminder


def _linked_objective(world: Any, *, kpi_values: Any, outcome_values: Any) -> KeyResult:
    """An objective whose first key result is fed by the KPI, the second checked in weekly."""
    org = world.org
    starts = datetime.combine(org.cycle.start, datetime.min.time(), tzinfo=UTC)
    objective = Objective.objects.create(
        key="o", cycle=org.cycle, team=org.depot, owner=org.member, title="Happier customers"
    )
    fed = KeyResult.objects.create(
        objective=objective, key="fed", title="On-time deliveries", kind="increase",
        start=80, target=99, kpi=world.kpi,
    )  # fmt: skip
    survey = KeyResult.objects.create(
        objective=objective, key="nps", title="Survey score", kind="increase", start=0, target=100
    )
    Measurement.objects.filter(kpi=world.kpi).delete()
    Measurement.objects.bulk_create(
        Measurement(kpi=world.kpi, at=starts + timedelta(days=7 * i + 1), value=float(v))
        for i, v in enumerate(kpi_values)
    )
    CheckIn.objects.bulk_create(
        CheckIn(key_result=survey, at=starts + timedelta(days=7 * i + 1), value=float(v),
                author=org.member)
        for i, v in enumerate(outcome_values)
    )  # fmt: skip
    return fed


@pytest.mark.django_db
def test_a_decayed_link_flags_the_kpi_and_its_owner_is_told_once(world: Any) -> None:
    rng = np.random.default_rng(5)
    outcome = 50 + np.cumsum(np.abs(rng.normal(2, 1, size=12)))
    unrelated = 90 + np.cumsum(rng.normal(size=12))
    _linked_objective(world, kpi_values=unrelated, outcome_values=outcome)
    kpi = world.kpi
    kpi.selection_reviewed_at = timezone.now()  # not due by date
    kpi.save()
    now = timezone.now()
    assert kpi_selection_due(now) == 1
    assert kpi_selection_due(now + timedelta(hours=1)) == 0  # once
    kpi.refresh_from_db()
    assert kpi.selection_flag.startswith("Its weekly changes no longer move with the outcome")
    assert kpi.selection_review_due == kpi.selection_flagged_at
    event = Event.objects.get(kind="kpi_selection_due")
    assert kpi.name in event.title
    assert event.link == f"/kpis/{kpi.key}/review/"
    # The review answers the flag, keeps it on the review, and clears it from the KPI.
    review_kpi(by=world.org.member, kpi=kpi, decision="confirm", reason="Seasonal; it holds.")
    kpi.refresh_from_db()
    assert kpi.selection_flag == ""
    assert KpiReview.objects.get().flag.startswith("Its weekly changes")


@pytest.mark.django_db
def test_a_living_link_raises_no_flag(world: Any) -> None:
    rng = np.random.default_rng(6)
    outcome = 50 + np.cumsum(rng.normal(1, 2, size=12))
    follows = 60 + 0.5 * outcome + rng.normal(scale=0.2, size=12)
    _linked_objective(world, kpi_values=follows, outcome_values=outcome)
    world.kpi.selection_reviewed_at = timezone.now()
    world.kpi.save()
    assert kpi_selection_due(timezone.now()) == 0
    world.kpi.refresh_from_db()
    assert world.kpi.selection_flag == ""


@pytest.mark.django_db
def test_a_kpi_falls_due_a_month_after_it_was_added_and_is_told_once_per_interval(
    world: Any,
) -> None:
    added = world.kpi.created_at
    assert kpi_selection_due(added + timedelta(days=29)) == 0
    assert kpi_selection_due(added + timedelta(days=31)) == 2  # both KPIs, once each
    assert kpi_selection_due(added + timedelta(days=40)) == 0
    assert kpi_selection_due(added + timedelta(days=61)) == 2  # still not reviewed
    review_kpi(by=world.org.member, kpi=world.other, decision="retire", reason="Duplicate")
    assert Event.objects.filter(kind="kpi_selection_due", kpi_id=world.other.pk).count() == 2
    assert kpi_selection_due(added + timedelta(days=95)) == 1  # the retired one is not due


# --------------------------------------------------------------------------- pages and API


@pytest.mark.django_db
def test_review_page_offers_the_decision_to_the_owner_only(world: Any) -> None:
    url = f"/kpis/{world.kpi.key}/review/"
    owner_page = client_for(world.org.member).get(url)
    assert owner_page.status_code == 200
    assert "Is KPI k0 still the right KPI?" in owner_page.text
    assert 'name="decision"' in owner_page.text
    viewer_page = client_for(world.org.viewer).get(url)
    assert viewer_page.status_code == 200
    assert 'name="decision"' not in viewer_page.text
    assert "Only leads of the team and the owner may review this KPI." in viewer_page.text
    refused = client_for(world.org.viewer).post(url, {"decision": "retire", "reason": "x"})
    assert refused.status_code == 403
    assert Kpi.objects.get(pk=world.kpi.pk).retired_at is None


@pytest.mark.django_db
def test_review_page_records_a_replacement_and_the_board_hides_retired_kpis(
    world: Any,
) -> None:
    client = client_for(world.org.member)
    posted = client.post(
        f"/kpis/{world.kpi.key}/review/",
        {"decision": "replace", "reason": "The app measures it", "replacement": world.other.pk,
         "version": world.kpi.version},
        follow=True,
    )  # fmt: skip
    assert "is retired in favour of KPI k1" in posted.text
    assert "Retired on" in posted.text
    board = client.get("/kpis/").text
    assert f'href="/kpis/{world.other.key}/"' in board
    assert f'href="/kpis/{world.kpi.key}/"' not in board
    assert "1 retired" in board
    assert f'href="/kpis/{world.kpi.key}/"' in client.get("/kpis/?retired=1").text


@pytest.mark.django_db
def test_review_page_shows_form_errors_and_changes_nothing(world: Any) -> None:
    before = _snapshot(world.kpi)
    page = client_for(world.org.member).post(
        f"/kpis/{world.kpi.key}/review/", {"decision": "replace", "reason": "new app"}
    )
    assert page.status_code == 200
    assert "Name the KPI that replaces this one." in page.text
    assert _snapshot(world.kpi) == before


@pytest.mark.django_db
def test_review_page_runs_a_constant_number_of_queries(world: Any) -> None:
    fed = _linked_objective(world, kpi_values=range(12), outcome_values=[i * 2 for i in range(12)])
    client = client_for(world.org.member)
    url = f"/kpis/{world.kpi.key}/review/"
    client.get(url)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    few = count()
    for i in range(5):
        review_kpi(by=world.org.member, kpi=world.kpi, decision="confirm", reason=f"r{i}")
    for i in range(3):
        more = KeyResult.objects.create(
            objective=fed.objective, key=f"more{i}", title=f"More {i}", kind="increase",
            start=0, target=10,
        )  # fmt: skip
        CheckIn.objects.create(
            key_result=more, at=timezone.now(), value=1.0, author=world.org.member
        )
    assert count() <= few


@pytest.mark.django_db
def test_api_reviews_a_kpi_and_lists_its_reviews(world: Any) -> None:
    owner = ApiClient(token_for(world.org.member))
    kpi = world.kpi
    shown = owner.get(f"/kpis/{kpi.key}").json()
    assert shown["retired_at"] is None
    assert shown["review_flag"] == ""
    assert shown["review_due_at"] is not None
    empty = owner.post(f"/kpis/{kpi.key}/reviews", {"decision": "confirm", "reason": ""})
    assert empty.status_code == 400
    blank = owner.post(f"/kpis/{kpi.key}/reviews", {"decision": "confirm", "reason": "  "})
    assert blank.status_code == 422
    assert blank.json()["error"]["fields"]["reason"] == [
        "Say why: the reason is kept with the review."
    ]
    member = ApiClient(token_for(world.org.viewer))
    forbidden = member.post(f"/kpis/{kpi.key}/reviews", {"decision": "retire", "reason": "no"})
    assert forbidden.status_code == 403
    assert not KpiReview.objects.exists()
    made = owner.post(
        f"/kpis/{kpi.key}/reviews",
        {"decision": "replace", "reason": "New app", "replacement": world.other.key},
    )
    assert made.status_code == 201, made.text
    assert made.json()["replacement"] == world.other.key
    assert made.json()["by"] == world.org.member.email
    listed = owner.get(f"/kpis/{kpi.key}/reviews").json()
    assert [r["decision"] for r in listed["items"]] == ["replace"]
    in_use = owner.get("/kpis").json()
    assert [k["key"] for k in in_use["items"]] == [world.other.key]
    retired = owner.get("/kpis?retired=true").json()
    assert [(k["key"], k["replaced_by"]) for k in retired["items"]] == [(kpi.key, world.other.key)]
    push = owner.post(
        "/measurements", [{"kpi": kpi.key, "at": date.today().isoformat(), "value": 1}]
    )
    assert push.status_code in (403, 422)
    assert "was retired on" in push.text
