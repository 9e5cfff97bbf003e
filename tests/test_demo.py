"""The demo organisation: complete, idempotent, current, and planted for the coach."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth import authenticate
from django.db.models import Count
from scipy.stats import kendalltau

from headway.demo import (
    COMPANY_KEY,
    COUNTER_KR,
    CRITICAL_KPI,
    DEMO_ADMIN_EMAIL,
    DEMO_PASSWORD,
    DETERIORATING_KPI,
    LINKED_KR,
    PLANTED,
    PRIVATE_OBJECTIVE,
    STALE_KPI,
    DemoSummary,
    load_demo,
)
from headway.kpis.models import Kpi, Measurement
from headway.okrs.models import CheckIn, Cycle, KeyResult, Objective
from headway.teams.models import Membership, Person, Team

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 24)
NOW = datetime.combine(TODAY, time(18), UTC)
CADENCE_DAYS = {"weekly": 7, "monthly": 30, "quarterly": 91}
COACH_RULES = {
    "objective-count",
    "kr-count",
    "objective-is-metric",
    "objective-vague",
    "kr-is-task",
    "kr-not-measurable",
    "kr-no-deadline",
    "kpi-too-many",
    "kpi-card-incomplete",
    "kpi-not-reviewed",
    "orphan-objective",
    "sandbagging",
    "committed-missed",
    "kpi-as-kr-everywhere",
}
MODELS = (Team, Person, Membership, Cycle, Objective, KeyResult, CheckIn, Kpi, Measurement)


@pytest.fixture
def demo() -> DemoSummary:
    return load_demo(today=TODAY)


def _counts() -> dict[str, int]:
    counts = {model.__name__: model.objects.count() for model in MODELS}
    counts["counter_kpis"] = KeyResult.counter_kpis.through.objects.count()
    for model in (Team, Cycle, Objective, KeyResult, Kpi):
        counts[f"{model.__name__} history"] = model.history.count()
    return counts


def _current() -> Cycle:
    return Cycle.objects.get(state="active")


def _previous() -> Cycle:
    """The quarter just before the current one (earlier closed quarters hold its history)."""
    return Cycle.objects.filter(state="closed").latest("start")


def _values(kpi: Kpi) -> list[float]:
    return list(kpi.measurements.order_by("at").values_list("value", flat=True))


def _worse(before: float, after: float, direction: str) -> bool:
    return after > before if direction == "down" else after < before


def _exists(path: str) -> bool:
    parts = path.split("/")
    match parts:
        case ["teams", key]:
            return Team.objects.filter(key=key).exists()
        case ["kpis", key]:
            return Kpi.objects.filter(key=key).exists()
        case ["objectives", key]:
            return Objective.objects.filter(key=key).exists()
        case ["objectives", key, "key_results", kr]:
            return KeyResult.objects.filter(objective__key=key, key=kr).exists()
    return False


# --------------------------------------------------------------------------- loading


def test_summary_counts_what_was_loaded(demo: DemoSummary) -> None:
    assert demo == DemoSummary(
        teams=Team.objects.count(),
        people=Person.objects.count(),
        cycles=Cycle.objects.count(),
        objectives=Objective.objects.count(),
        key_results=KeyResult.objects.count(),
        checkins=CheckIn.objects.count(),
        kpis=Kpi.objects.count(),
        measurements=Measurement.objects.count(),
    )
    assert (demo.teams, demo.people, demo.cycles) == (10, 15, 4)
    assert demo.kpis >= 20
    assert demo.checkins > 500
    assert demo.measurements > 500
    assert "15 people" in str(demo)


def test_running_twice_duplicates_nothing(demo: DemoSummary) -> None:
    before = _counts()
    assert load_demo(today=TODAY) == demo
    # Same rows, and no history records for saves that changed nothing.
    assert _counts() == before
    assert not Objective.objects.values("key").annotate(n=Count("id")).filter(n__gt=1)
    assert not Person.objects.values("email").annotate(n=Count("id")).filter(n__gt=1)


def test_running_in_a_later_quarter_moves_the_demo_along(demo: DemoSummary) -> None:
    later = date(2027, 1, 12)
    summary = load_demo(today=later)
    assert summary.objectives == demo.objectives
    assert summary.key_results == demo.key_results
    assert sorted(Cycle.objects.values_list("key", "state")) == [
        ("2026-Q2", "closed"),
        ("2026-Q3", "closed"),
        ("2026-Q4", "closed"),
        ("2027-Q1", "active"),
    ]
    for checkin in CheckIn.objects.select_related("key_result__objective__cycle"):
        cycle = checkin.key_result.objective.cycle
        assert cycle.start <= checkin.at.date() <= cycle.end
    assert all(_exists(path) for path in PLANTED.values())
    kpi = Kpi.objects.get(key=DETERIORATING_KPI)
    last = _values(kpi)[-5:]
    assert all(_worse(a, b, kpi.direction) for a, b in itertools.pairwise(last))
    assert load_demo(today=later) == summary


def test_today_defaults_to_the_current_utc_date() -> None:
    moment = datetime(2027, 2, 10, 7, 30, tzinfo=UTC)
    with time_machine.travel(moment, tick=False):
        load_demo()
    current = _current()
    assert (current.key, current.start, current.end) == (
        "2027-Q1",
        date(2027, 1, 1),
        date(2027, 3, 31),
    )
    assert _previous().key == "2026-Q4"
    latest = CheckIn.objects.filter(key_result__objective__cycle=current).latest("at").at
    assert latest <= moment
    assert moment - latest < timedelta(days=7)


def test_today_defaults_without_a_frozen_clock() -> None:
    load_demo()
    today = datetime.now(UTC).date()
    current = _current()
    assert current.start <= today <= current.end
    assert current.key == f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    assert CheckIn.objects.filter(at__gt=datetime.now(UTC)).count() == 0


# --------------------------------------------------------------------------- concepts


def test_every_product_concept_is_present(demo: DemoSummary) -> None:
    assert set(Team.objects.values_list("kind", flat=True)) == {"company", "department", "team"}
    assert Team.objects.get(kind="company").key == COMPANY_KEY
    assert set(Membership.objects.values_list("role", flat=True)) == {
        "admin",
        "lead",
        "member",
        "viewer",
    }
    assert set(Cycle.objects.values_list("state", flat=True)) == {"active", "closed"}
    current, previous = _current(), _previous()
    assert current.start <= TODAY <= current.end
    assert (current.key, previous.key) == ("2026-Q4", "2026-Q3")
    assert previous.end == current.start - timedelta(days=1)
    assert previous.closed_at is not None
    assert set(Objective.objects.values_list("type", flat=True)) == {"committed", "aspirational"}
    assert set(
        KeyResult.objects.filter(objective__cycle=current).values_list("kind", flat=True)
    ) == {"increase", "decrease", "above", "below", "milestone", "objectives"}
    assert Objective.objects.get(key=PRIVATE_OBJECTIVE).visibility == "private"
    checkins = CheckIn.objects.all()
    assert checkins.filter(confidence__isnull=True).count() == 0
    assert checkins.filter(author__isnull=True).count() == 0
    assert checkins.filter(comment="").count() == 0
    assert set(checkins.values_list("confidence", flat=True)) <= set(range(11))
    kpis = Kpi.objects.all()
    assert set(kpis.values_list("direction", flat=True)) == {"up", "down"}
    assert set(kpis.values_list("cadence", flat=True)) == {"weekly", "monthly", "quarterly"}
    assert set(kpis.values_list("tier", flat=True)) == {"key", "diagnostic"}
    assert kpis.filter(benchmark__isnull=False).exists()
    assert 18 <= kpis.count() <= 24
    assert 15 <= Objective.objects.filter(cycle=current).count() <= 22


def test_objectives_align_company_department_team(demo: DemoSummary) -> None:
    objectives = Objective.objects.filter(cycle=_current()).select_related("team", "parent__team")
    kinds = {(o.team.kind, o.parent.team.kind if o.parent else None) for o in objectives}
    assert ("department", "company") in kinds
    assert ("team", "department") in kinds
    # Depth three: some team objective aligns to a department objective aligned to the company.
    assert any(o.parent and o.parent.parent and o.parent.parent.parent is None for o in objectives)


def test_kpi_cards_answer_the_five_questions(demo: DemoSummary) -> None:
    incomplete = PLANTED["kpi-card-incomplete"].removeprefix("kpis/")
    for kpi in Kpi.objects.exclude(key=incomplete):
        assert all((kpi.definition, kpi.why, kpi.how, kpi.owner_id, kpi.cadence)), kpi.key
        assert None not in (kpi.target, kpi.warning, kpi.critical), kpi.key


def test_measurements_cover_more_than_a_year_in_their_cadence(demo: DemoSummary) -> None:
    for kpi in Kpi.objects.all():
        ats = list(kpi.measurements.order_by("at").values_list("at", flat=True))
        assert ats[-1] - ats[0] >= timedelta(days=395), kpi.key
        gaps = {(b - a).days for a, b in itertools.pairwise(ats)}
        expected = {"weekly": {7}, "monthly": {28, 29, 30, 31}, "quarterly": {90, 91, 92}}
        assert gaps <= expected[kpi.cadence], kpi.key
        assert all(at.tzinfo is not None for at in ats)


def test_kpi_latest_is_the_latest_measurement(demo: DemoSummary) -> None:
    for kpi in Kpi.objects.all():
        latest = kpi.measurements.latest("at")
        assert (kpi.latest_value, kpi.latest_at) == (latest.value, latest.at), kpi.key


def test_deteriorating_kpi_worsens_period_after_period(demo: DemoSummary) -> None:
    kpi = Kpi.objects.get(key=DETERIORATING_KPI)
    values = _values(kpi)
    last = values[-5:]
    assert all(_worse(a, b, kpi.direction) for a, b in itertools.pairwise(last)), last
    year = values[-12:]
    tau, p_value = kendalltau(range(len(year)), year)
    assert p_value < 0.05
    assert (tau > 0) == (kpi.direction == "down")
    assert kpi.trend == "deteriorating"


def test_no_other_kpi_deteriorates(demo: DemoSummary) -> None:
    for kpi in Kpi.objects.exclude(key=DETERIORATING_KPI):
        values = _values(kpi)
        moves = list(zip(values[-4:], values[-3:], strict=False))
        assert not all(_worse(a, b, kpi.direction) for a, b in moves), kpi.key
        assert kpi.trend != "deteriorating", kpi.key


def test_critical_kpi_is_past_its_critical_threshold(demo: DemoSummary) -> None:
    kpi = Kpi.objects.get(key=CRITICAL_KPI)
    assert kpi.latest_value is not None
    assert kpi.critical is not None
    past = (
        kpi.latest_value > kpi.critical
        if kpi.direction == "down"
        else kpi.latest_value < kpi.critical
    )
    assert past
    assert kpi.health == "critical"
    assert set(Kpi.objects.filter(health="critical").values_list("key", flat=True)) == {
        CRITICAL_KPI
    }


def test_stale_kpi_has_not_been_measured_for_one_and_a_half_periods(demo: DemoSummary) -> None:
    for kpi in Kpi.objects.all():
        latest = kpi.measurements.latest("at").at
        allowed = timedelta(days=1.5 * CADENCE_DAYS[kpi.cadence])
        assert (NOW - latest > allowed) == (kpi.key == STALE_KPI), kpi.key
    assert Kpi.objects.get(key=STALE_KPI).health == "stale"


def test_linked_key_results_take_the_kpi_value_without_checkins(demo: DemoSummary) -> None:
    objective, key = LINKED_KR
    kr = KeyResult.objects.select_related("kpi").get(objective__key=objective, key=key)
    assert kr.kpi is not None
    assert kr.objective.cycle == _current()
    assert kr.current == kr.kpi.latest_value
    assert kr.start is not None
    assert kr.target is not None
    assert kr.current is not None
    assert kr.start < kr.current < kr.target
    for linked in KeyResult.objects.filter(kpi__isnull=False, objective__cycle=_current()):
        assert linked.current == linked.kpi.latest_value  # type: ignore[union-attr]
    assert not CheckIn.objects.filter(key_result__kpi__isnull=False).exists()


def test_a_key_result_is_guarded_by_a_counter_kpi(demo: DemoSummary) -> None:
    objective, key = COUNTER_KR
    kr = KeyResult.objects.get(objective__key=objective, key=key)
    counters = list(kr.counter_kpis.all())
    assert counters
    assert kr.kpi not in counters
    assert all(k.health == "healthy" for k in counters)


def test_closed_cycle_is_graded_with_reflections(demo: DemoSummary) -> None:
    missed = PLANTED["committed-missed"].removeprefix("objectives/")
    objectives = Objective.objects.filter(cycle=_previous()).prefetch_related("key_results")
    assert objectives.count() >= 10
    for objective in objectives:
        krs = list(objective.key_results.all())
        grades = [(kr.grade, kr.weight) for kr in krs if kr.grade is not None]
        assert len(grades) == len(krs), objective.key
        weighted = sum(g * w for g, w in grades) / sum(w for _, w in grades)
        assert objective.grade == pytest.approx(weighted), objective.key
        assert bool(objective.reflection) == (objective.key != missed), objective.key
    assert Objective.objects.filter(cycle=_current(), grade__isnull=False).count() == 0


def test_checkins_are_weekly_and_up_to_date(demo: DemoSummary) -> None:
    current = _current()
    manual = KeyResult.objects.filter(objective__cycle=current, kpi__isnull=True).annotate(
        n=Count("checkins")
    )
    assert manual.filter(n__gt=0).count() >= 40
    for kr in manual.filter(n__gt=0):
        ats = list(kr.checkins.order_by("at").values_list("at", flat=True))
        assert ats[-1] <= NOW, kr.key
        assert NOW - ats[-1] <= timedelta(days=7), kr.key
        assert all((b - a) == timedelta(days=7) for a, b in itertools.pairwise(ats))
        assert ats[0].date() >= current.start
        latest = kr.checkins.latest("at")
        assert (kr.current, kr.done) == (latest.value, bool(latest.done)), kr.key


# --------------------------------------------------------------------------- people


def test_demo_admin_signs_in_with_the_documented_password(demo: DemoSummary) -> None:
    admin = authenticate(None, username=DEMO_ADMIN_EMAIL, password=DEMO_PASSWORD)
    assert isinstance(admin, Person)
    assert admin.name == "Demo Admin"
    assert admin.is_superuser
    assert admin.is_staff
    assert Membership.objects.get(person=admin, team__key=COMPANY_KEY).role == "admin"
    viewer = Person.objects.get(memberships__role="viewer")
    assert authenticate(None, username=viewer.email, password=DEMO_PASSWORD) == viewer
    assert authenticate(None, username=DEMO_ADMIN_EMAIL, password="wrong") is None


def test_rerun_restores_the_demo_admin_password(demo: DemoSummary) -> None:
    admin = Person.objects.get(email=DEMO_ADMIN_EMAIL)
    admin.set_password("something-else-entirely")
    admin.save()
    load_demo(today=TODAY)
    assert authenticate(None, username=DEMO_ADMIN_EMAIL, password=DEMO_PASSWORD) is not None


# --------------------------------------------------------------------------- planted


def test_planted_covers_every_coach_rule_and_each_path_exists(demo: DemoSummary) -> None:
    assert set(PLANTED) == COACH_RULES
    for rule, path in PLANTED.items():
        assert _exists(path), (rule, path)


def test_planted_instances_have_their_shape(demo: DemoSummary) -> None:
    current, previous = _current(), _previous()

    def objective(rule: str) -> Objective:
        return Objective.objects.get(key=PLANTED[rule].split("/")[1])

    def key_result(rule: str) -> KeyResult:
        _, obj, _, kr = PLANTED[rule].split("/")
        return KeyResult.objects.get(objective__key=obj, key=kr)

    def team(rule: str) -> str:
        return PLANTED[rule].removeprefix("teams/")

    in_current = Objective.objects.filter(cycle=current)
    assert in_current.filter(team__key=team("objective-count")).count() == 6
    assert objective("kr-count").key_results.count() == 1
    assert any(ch.isdigit() for ch in objective("objective-is-metric").title)
    assert objective("objective-vague").title.startswith("Improve our")
    assert key_result("kr-not-measurable").start is None
    due = key_result("kr-no-deadline").due
    assert due is not None
    assert not current.start <= due <= current.end
    assert Kpi.objects.filter(team__key=team("kpi-too-many"), tier="key").count() == 8
    assert Kpi.objects.get(key=PLANTED["kpi-card-incomplete"].split("/")[1]).why == ""
    assert PLANTED["kpi-not-reviewed"] == f"kpis/{STALE_KPI}"
    orphan = objective("orphan-objective")
    assert orphan.parent is None
    assert orphan.team.kind != "company"
    sandbag = objective("sandbagging")
    assert sandbag.cycle == previous
    assert set(sandbag.key_results.values_list("grade", flat=True)) == {1.0}
    missed = objective("committed-missed")
    assert (missed.cycle, missed.type, missed.reflection) == (previous, "committed", "")
    assert missed.grade is not None
    assert missed.grade < 1.0
    linked = KeyResult.objects.filter(
        objective__cycle=current, objective__team__key=team("kpi-as-kr-everywhere")
    )
    assert linked.filter(kpi__isnull=False).count() * 2 > linked.count()


def test_everything_else_is_well_formed(demo: DemoSummary) -> None:
    """Outside the planted instances, none of the structural coach rules has anything to say."""
    current = _current()
    planted_objectives = {p.split("/")[1] for p in PLANTED.values() if p.startswith("objectives/")}
    planted_krs = {p for p in PLANTED.values() if "/key_results/" in p}
    for team in Team.objects.all():
        for cycle in Cycle.objects.all():
            n = Objective.objects.filter(team=team, cycle=cycle).count()
            if team.key != PLANTED["objective-count"].removeprefix("teams/") or cycle != current:
                assert 1 <= n <= 5, (team.key, cycle.key, n)
        key_tier = Kpi.objects.filter(team=team, tier="key").count()
        if f"teams/{team.key}" != PLANTED["kpi-too-many"]:
            assert key_tier <= 7, team.key
        krs = KeyResult.objects.filter(objective__team=team, objective__cycle=current)
        if f"teams/{team.key}" != PLANTED["kpi-as-kr-everywhere"]:
            assert krs.filter(kpi__isnull=False).count() * 2 <= krs.count(), team.key
    for objective in Objective.objects.select_related("team", "cycle"):
        if objective.key in planted_objectives:
            continue
        assert 2 <= objective.key_results.count() <= 5, objective.key
        assert objective.parent_id or objective.team.kind == "company", objective.key
        assert not any(ch.isdigit() for ch in objective.title), objective.key
        if objective.type == "committed" and objective.grade is not None:
            assert objective.reflection, objective.key
        grades = set(objective.key_results.values_list("grade", flat=True))
        assert grades != {1.0}, objective.key
        for kr in objective.key_results.all():
            path = f"objectives/{objective.key}/key_results/{kr.key}"
            if path in planted_krs:
                continue
            if kr.due is not None:
                assert objective.cycle.start <= kr.due <= objective.cycle.end, path
            if kr.kind in ("increase", "decrease"):
                assert None not in (kr.start, kr.target), path
            if kr.kind in ("above", "below"):
                assert kr.target is not None, path


def test_coach_finds_exactly_the_planted_instances(demo: DemoSummary) -> None:
    rules: Any = pytest.importorskip("headway.coach.rules")
    org = rules.Organisation(
        at=NOW,
        teams=tuple(
            rules.TeamFacts(key=t.key, kind=t.kind, parent=t.parent.key if t.parent else None)
            for t in Team.objects.select_related("parent")
        ),
        cycles=tuple(
            rules.CycleFacts(key=c.key, start=c.start, end=c.end, closed=c.state == "closed")
            for c in Cycle.objects.all()
        ),
        objectives=tuple(
            rules.ObjectiveFacts(
                key=o.key,
                title=o.title,
                team=o.team.key,
                cycle=o.cycle.key,
                type=o.type,
                parent=o.parent.key if o.parent else None,
                grade=o.grade,
                reflection=o.reflection,
                key_results=tuple(
                    rules.KeyResultFacts(
                        key=kr.key,
                        title=kr.title,
                        kind=kr.kind,
                        start=kr.start,
                        target=kr.target,
                        due=kr.due,
                        kpi=kr.kpi.key if kr.kpi else None,
                        grade=kr.grade,
                    )
                    for kr in o.key_results.select_related("kpi")
                ),
            )
            for o in Objective.objects.select_related("team", "cycle", "parent")
        ),
        kpis=tuple(
            rules.KpiFacts(
                key=k.key,
                name=k.name,
                team=k.team.key,
                tier=k.tier,
                owner=k.owner.email if k.owner else None,
                cadence=k.cadence or None,
                target=k.target,
                why=k.why,
                latest_at=k.latest_at,
            )
            for k in Kpi.objects.select_related("team", "owner")
        ),
    )
    found = sorted((f.rule, f.path) for f in rules.run(org))
    assert found == sorted(PLANTED.items())
