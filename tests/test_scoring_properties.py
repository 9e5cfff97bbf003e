"""Property tests of the pure scoring core: ranges, monotonicity, symmetry and invariances."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from headway.okrs.scoring import (
    GRADE_BANDS,
    STATUSES,
    TOLERANCE,
    AlignmentCycleError,
    CheckIn,
    Cycle,
    KeyResult,
    Objective,
    evaluate,
    expected_progress,
    grade_band,
    kr_forecast,
    kr_score,
    status_for,
)

Q1 = Cycle("2027-Q1", date(2027, 1, 1), date(2027, 3, 31))
AT = datetime(2027, 2, 15, tzinfo=UTC)
STATUS_RANK = {"achieved": 0, "on_track": 1, "at_risk": 2, "off_track": 3}

values = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
any_finite = st.floats(allow_nan=False, allow_infinity=False)
unit = st.floats(0.0, 1.0)
moments = st.datetimes(
    min_value=datetime(2026, 10, 1), max_value=datetime(2027, 6, 30), timezones=st.just(UTC)
)
weights = st.one_of(st.just(0.0), st.floats(1e-3, 1e3))


def checkins(numbers: st.SearchStrategy[float] = values) -> st.SearchStrategy[list[CheckIn]]:
    return st.lists(
        st.builds(
            CheckIn,
            at=moments,
            value=st.none() | numbers,
            done=st.none() | st.booleans(),
            confidence=st.none() | st.integers(0, 10),
        ),
        max_size=6,
    )


@st.composite
def key_results(
    draw: st.DrawFn, numbers: st.SearchStrategy[float] = values, key: str = "kr"
) -> KeyResult:
    kind = draw(st.sampled_from(("increase", "decrease", "above", "below", "milestone")))
    start = draw(numbers) if kind in ("increase", "decrease") else draw(st.none() | numbers)
    target = draw(numbers)
    return KeyResult(
        key,
        kind,
        start=start,
        target=target,
        weight=draw(weights),
        checkins=tuple(draw(checkins(numbers))),
    )


@st.composite
def objective_trees(draw: st.DrawFn) -> list[Objective]:
    """Acyclic alignment trees: each objective's parent is an earlier one or none."""
    count = draw(st.integers(1, 7))
    tree = []
    for i in range(count):
        parent = draw(st.none() | st.sampled_from([f"o{j}" for j in range(i)])) if i else None
        krs = []
        for n in range(draw(st.integers(0, 4))):
            if draw(st.booleans()) and n == 0:
                krs.append(KeyResult(f"k{n}", "objectives", weight=draw(weights)))
            else:
                krs.append(draw(key_results(key=f"k{n}")))
        team = draw(st.sampled_from([None, "ops", "sales"]))
        tree.append(Objective(f"o{i}", team, "2027-Q1", tuple(krs), parent=parent))
    shuffled: list[Objective] = draw(st.permutations(tree))
    return shuffled


def single(kind: str, value: float, start: float | None = None, target: float = 0.0) -> float:
    kr = KeyResult("k", kind, start=start, target=target, checkins=(CheckIn(at=AT, value=value),))
    return kr_score(kr, AT)


@given(kr=key_results(numbers=any_finite), at=moments)
def test_key_result_score_and_forecast_stay_in_unit_interval(kr: KeyResult, at: datetime) -> None:
    assert 0.0 <= kr_score(kr, at) <= 1.0
    forecast = kr_forecast(kr, Q1, at)
    assert forecast is None or 0.0 <= forecast <= 1.0


@given(tree=objective_trees(), at=moments)
def test_evaluation_results_stay_in_range_and_are_consistent(
    tree: list[Objective], at: datetime
) -> None:
    result = evaluate(tree, Q1, at)
    expected = expected_progress(Q1, at)
    for kr in result.key_results.values():
        assert 0.0 <= kr.score <= 1.0
        assert kr.forecast is None or 0.0 <= kr.forecast <= 1.0
        assert kr.status in STATUSES
        assert kr.expected == expected
    for obj in result.objectives.values():
        assert 0.0 <= obj.score <= 1.0
        assert obj.forecast is None or 0.0 <= obj.forecast <= 1.0
        assert obj.grade_band == grade_band(obj.score)
        assert obj.grade_band in GRADE_BANDS
        if obj.status != "no_data":
            assert obj.status == status_for(obj.score, expected)
    assert all(0.0 <= s <= 1.0 for s in result.teams.values())


@given(start=values, target=values, a=values, b=values)
def test_increase_score_is_monotone_toward_the_target(
    start: float, target: float, a: float, b: float
) -> None:
    assume(start != target)
    low, high = sorted((a, b))
    toward = (low, high) if target > start else (high, low)
    assert single("increase", toward[0], start, target) <= single(
        "increase", toward[1], start, target
    )


@given(start=values, target=values, a=values, b=values)
def test_decrease_score_is_monotone_toward_the_target(
    start: float, target: float, a: float, b: float
) -> None:
    assume(target < start)
    low, high = sorted((a, b))
    assert single("decrease", high, start, target) <= single("decrease", low, start, target)


@given(target=values, a=values, b=values)
def test_guard_rail_scores_are_monotone(target: float, a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert single("above", low, target=target) <= single("above", high, target=target)
    assert single("below", low, target=target) >= single("below", high, target=target)


@given(start=values, target=values, value=values)
def test_decrease_mirrors_increase_with_start_and_target_swapped(
    start: float, target: float, value: float
) -> None:
    assume(start < target)
    up = single("increase", value, start, target)
    down = single("decrease", value, target, start)
    assert down == pytest.approx(1.0 - up, abs=1e-9)


@given(start=values, target=values, value=values)
def test_decrease_equals_increase_of_negated_numbers(
    start: float, target: float, value: float
) -> None:
    assume(start <= target)
    assert single("decrease", -value, -start, -target) == single("increase", value, start, target)


@given(
    scores=st.lists(st.tuples(unit, weights), min_size=1, max_size=6),
    factor=st.floats(1e-6, 1e6),
)
def test_objective_score_is_invariant_to_scaling_weights(
    scores: list[tuple[float, float]], factor: float
) -> None:
    def objective(scale: float) -> Objective:
        krs = tuple(
            KeyResult(
                f"k{i}",
                "increase",
                start=0.0,
                target=1.0,
                weight=w * scale,
                checkins=(CheckIn(at=AT, value=s),),
            )
            for i, (s, w) in enumerate(scores)
        )
        return Objective("o", None, "2027-Q1", krs)

    base = evaluate([objective(1.0)], Q1, AT).objectives["o"]
    scaled = evaluate([objective(factor)], Q1, AT).objectives["o"]
    assert scaled.score == pytest.approx(base.score, abs=1e-9)
    assert min(s for s, _ in scores) - 1e-12 <= base.score <= max(s for s, _ in scores) + 1e-12


@given(score=unit, expected=unit, has_data=st.booleans())
def test_status_is_consistent_with_score_and_pace(
    score: float, expected: float, has_data: bool
) -> None:
    status = status_for(score, expected, has_data)
    behind = expected - score
    if score >= 1.0 - TOLERANCE:
        assert status == "achieved"
    elif not has_data:
        assert status == "no_data"
    elif status == "on_track":
        assert behind <= 0.10 + TOLERANCE * 2
    elif status == "at_risk":
        assert 0.10 - TOLERANCE * 2 < behind <= 0.25 + TOLERANCE * 2
    else:
        assert status == "off_track"
        assert behind > 0.25 - TOLERANCE * 2


@given(a=unit, b=unit, expected=unit)
def test_status_never_worsens_as_score_rises(a: float, b: float, expected: float) -> None:
    low, high = sorted((a, b))
    assert STATUS_RANK[status_for(high, expected)] <= STATUS_RANK[status_for(low, expected)]


@given(score=unit, a=unit, b=unit)
def test_status_never_improves_as_expected_progress_rises(score: float, a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert STATUS_RANK[status_for(score, high)] >= STATUS_RANK[status_for(score, low)]


@given(a=moments, b=moments)
def test_expected_progress_is_monotone_in_time_and_in_unit_interval(
    a: datetime, b: datetime
) -> None:
    early, late = sorted((a, b))
    assert 0.0 <= expected_progress(Q1, early) <= expected_progress(Q1, late) <= 1.0


@given(tree=objective_trees(), at=moments, later=checkins())
def test_checkins_after_the_moment_never_change_the_result(
    tree: list[Objective], at: datetime, later: list[CheckIn]
) -> None:
    future = [replace(c, at=at + timedelta(hours=i + 1)) for i, c in enumerate(later)]
    changed = [
        replace(
            o,
            key_results=tuple(
                replace(kr, checkins=(*kr.checkins, *future)) for kr in o.key_results
            ),
        )
        for o in tree
    ]
    assert evaluate(changed, Q1, at) == evaluate(tree, Q1, at)


@given(kr=key_results(), order=st.randoms(use_true_random=False))
def test_checkin_order_does_not_matter_when_times_differ(
    kr: KeyResult, order: random.Random
) -> None:
    assume(len({c.at for c in kr.checkins}) == len(kr.checkins))
    shuffled = list(kr.checkins)
    order.shuffle(shuffled)
    other = replace(kr, checkins=tuple(shuffled))
    assert evaluate([Objective("o", None, "2027-Q1", (other,))], Q1, AT) == evaluate(
        [Objective("o", None, "2027-Q1", (kr,))], Q1, AT
    )


@given(tree=objective_trees(), at=moments, hours=st.integers(-12, 14))
def test_the_same_instant_in_another_timezone_gives_the_same_result(
    tree: list[Objective], at: datetime, hours: int
) -> None:
    elsewhere = at.astimezone(timezone(timedelta(hours=hours)))
    assert evaluate(tree, Q1, elsewhere) == evaluate(tree, Q1, at)


@given(tree=objective_trees(), at=moments)
def test_roll_up_score_is_the_mean_of_aligned_objectives(
    tree: list[Objective], at: datetime
) -> None:
    result = evaluate(tree, Q1, at)
    for obj in tree:
        children = [o.key for o in tree if o.parent == obj.key]
        for kr in obj.key_results:
            if kr.kind != "objectives":
                continue
            rolled = result.key_results[(obj.key, kr.key)]
            if children:
                mean = sum(result.objectives[c].score for c in children) / len(children)
                assert rolled.score == pytest.approx(mean, abs=1e-9)
            else:
                assert (rolled.score, rolled.status) == (0.0, "no_data")


@given(
    parents=st.lists(st.none() | st.integers(0, 5), min_size=1, max_size=6),
)
def test_alignment_loops_are_reported_with_exactly_the_looping_keys(
    parents: list[int | None],
) -> None:
    tree = [
        Objective(
            f"o{i}",
            None,
            "2027-Q1",
            (KeyResult("r", "objectives"),),
            parent=None if p is None else f"o{p}",
        )
        for i, p in enumerate(parents)
    ]
    by_key = {o.key: o for o in tree}
    try:
        evaluate(tree, Q1, AT)
    except AlignmentCycleError as error:
        loop = error.keys
        assert loop
        # Each key's parent is the next key, and the last one's parent closes the loop.
        for here, there in zip(loop, (*loop[1:], loop[0]), strict=True):
            assert by_key[here].parent == there
    else:
        # No loop: walking up from any objective ends at a root within len(tree) steps.
        for obj in tree:
            node, steps = obj, 0
            while node.parent in by_key:
                node, steps = by_key[node.parent], steps + 1
                assert steps <= len(tree)


@given(
    start=st.floats(-1e3, 1e3),
    span=st.floats(1.0, 1e3),
    slope=st.floats(-50.0, 50.0),
    days=st.lists(st.integers(1, 45), min_size=1, max_size=6, unique=True),
)
def test_forecast_of_an_exact_line_is_its_value_at_cycle_end(
    start: float, span: float, slope: float, days: list[int]
) -> None:
    target = start + span
    kr = KeyResult(
        "k",
        "increase",
        start=start,
        target=target,
        checkins=tuple(
            CheckIn(at=Q1.starts_at + timedelta(days=d), value=start + slope * d) for d in days
        ),
    )
    at_end = start + slope * 90
    expected = min(1.0, max(0.0, (at_end - start) / span))
    assert kr_forecast(kr, Q1, AT) == pytest.approx(expected, abs=1e-9)
