"""Example-based tests of the pure scoring core, every expected number computed by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from headway.okrs.scoring import (
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

# 2027-Q1 runs 2027-01-01 00:00 UTC to 2027-04-01 00:00 UTC: 31 + 28 + 31 = 90 days.
Q1 = Cycle("2027-Q1", date(2027, 1, 1), date(2027, 3, 31))
T0 = datetime(2027, 1, 1, tzinfo=UTC)
MID = T0 + timedelta(days=45)  # expected progress 0.5
END = datetime(2027, 4, 1, tzinfo=UTC)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def approx(x: float) -> object:
    return pytest.approx(x, abs=1e-9)


def kr(
    kind: str,
    *values: float,
    start: float | None = None,
    target: float | None = None,
    weight: float = 1.0,
    key: str = "kr",
) -> KeyResult:
    """A key result with one check-in per value, on days 1, 2, 3, ..."""
    checkins = tuple(CheckIn(at=day(i + 1), value=v) for i, v in enumerate(values))
    return KeyResult(key, kind, start=start, target=target, weight=weight, checkins=checkins)


def milestone(*dones: bool, key: str = "ms", weight: float = 1.0) -> KeyResult:
    checkins = tuple(CheckIn(at=day(i + 1), done=d) for i, d in enumerate(dones))
    return KeyResult(key, "milestone", weight=weight, checkins=checkins)


def obj(key: str, *krs: KeyResult, team: str | None = None, parent: str | None = None) -> Objective:
    return Objective(key=key, team=team, cycle="2027-Q1", key_results=krs, parent=parent)


# --- expected progress -------------------------------------------------------------------


def test_expected_progress_is_fraction_of_cycle_elapsed() -> None:
    assert expected_progress(Q1, MID) == approx(0.5)
    assert expected_progress(Q1, day(9)) == approx(0.1)
    assert expected_progress(Q1, day(89) + timedelta(hours=12)) == approx(89.5 / 90)


def test_expected_progress_is_zero_before_start_and_one_after_end() -> None:
    assert expected_progress(Q1, T0 - timedelta(days=30)) == 0.0
    assert expected_progress(Q1, T0) == 0.0
    assert expected_progress(Q1, END) == 1.0
    assert expected_progress(Q1, END + timedelta(days=30)) == 1.0


def test_expected_progress_counts_the_end_day_as_inside_the_cycle() -> None:
    last_day_noon = datetime(2027, 3, 31, 12, tzinfo=UTC)
    assert expected_progress(Q1, last_day_noon) == approx(89.5 / 90)


def test_expected_progress_accepts_any_timezone_as_the_same_instant() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert expected_progress(Q1, datetime(2027, 2, 15, 2, tzinfo=plus_two)) == approx(0.5)


def test_naive_datetimes_are_rejected_with_a_clear_error() -> None:
    naive = datetime(2027, 2, 1)
    with pytest.raises(ValueError, match="timezone-aware"):
        expected_progress(Q1, naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        evaluate([], Q1, naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        kr_score(kr("increase", 1, start=0, target=2), naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        CheckIn(at=naive, value=1.0)


def test_cycle_rejects_end_before_start_and_datetimes() -> None:
    with pytest.raises(ValueError, match="before start"):
        Cycle("bad", date(2027, 3, 1), date(2027, 2, 1))
    with pytest.raises(TypeError, match="must be a date"):
        Cycle("bad", T0, date(2027, 2, 1))


def test_one_day_cycle_runs_from_midnight_to_midnight() -> None:
    one = Cycle("d", date(2027, 1, 1), date(2027, 1, 1))
    assert expected_progress(one, T0 + timedelta(hours=6)) == approx(0.25)


# --- increase and decrease ----------------------------------------------------------------


def test_increase_scores_fraction_of_the_way_from_start_to_target() -> None:
    # (92 - 88) / (96 - 88) = 0.5
    assert kr_score(kr("increase", 92, start=88, target=96), MID) == approx(0.5)
    # (89.5 - 88) / 8 = 0.1875
    assert kr_score(kr("increase", 89.5, start=88, target=96), MID) == approx(0.1875)


def test_increase_uses_the_latest_checkin_not_the_best() -> None:
    assert kr_score(kr("increase", 95, 90, start=88, target=96), MID) == approx(0.25)


def test_increase_past_the_target_is_capped_at_one() -> None:
    assert kr_score(kr("increase", 120, start=88, target=96), MID) == 1.0


def test_increase_on_the_wrong_side_of_start_is_zero() -> None:
    assert kr_score(kr("increase", 80, start=88, target=96), MID) == 0.0


def test_decrease_scores_fraction_of_the_way_down() -> None:
    # (3.4 - 4.0) / (2.5 - 4.0) = -0.6 / -1.5 = 0.4
    assert kr_score(kr("decrease", 3.4, start=4.0, target=2.5), MID) == approx(0.4)


def test_decrease_past_the_target_is_capped_at_one() -> None:
    assert kr_score(kr("decrease", 1.0, start=4.0, target=2.5), MID) == 1.0


def test_decrease_on_the_wrong_side_of_start_is_zero() -> None:
    assert kr_score(kr("decrease", 4.6, start=4.0, target=2.5), MID) == 0.0


def test_negative_ranges_score_like_any_other() -> None:
    # (-5 - -10) / (0 - -10) = 0.5
    assert kr_score(kr("increase", -5, start=-10, target=0), MID) == approx(0.5)


def test_increase_without_checkin_scores_zero_with_current_at_start() -> None:
    result = evaluate([obj("o", kr("increase", start=88, target=96))], Q1, MID)
    kr_result = result.key_results[("o", "kr")]
    assert kr_result.score == 0.0
    assert kr_result.current == 88
    assert kr_result.status == "no_data"
    assert kr_result.forecast is None
    assert kr_result.last_checkin_at is None


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("increase", 5.0, 1.0),
        ("increase", 6.0, 1.0),
        ("increase", 4.0, 0.0),
        ("decrease", 5.0, 1.0),
        ("decrease", 4.0, 1.0),
        ("decrease", 6.0, 0.0),
    ],
)
def test_start_equal_to_target_is_done_once_target_reached_in_kind_direction(
    kind: str, value: float, expected: float
) -> None:
    assert kr_score(kr(kind, value, start=5.0, target=5.0), MID) == expected


def test_start_equal_to_target_without_checkin_is_zero_and_no_data() -> None:
    result = evaluate([obj("o", kr("increase", start=5, target=5))], Q1, MID)
    assert result.key_results[("o", "kr")].score == 0.0
    assert result.key_results[("o", "kr")].status == "no_data"


def test_increase_with_target_below_start_follows_the_formula() -> None:
    # The formula carries the direction: (8 - 10) / (6 - 10) = 0.5.
    assert kr_score(kr("increase", 8, start=10, target=6), MID) == approx(0.5)


def test_unmeasurable_key_results_score_zero_without_data() -> None:
    cycle = Cycle("c", date(2027, 1, 1), date(2027, 3, 31))
    late = datetime(2027, 3, 1, tzinfo=UTC)
    checkin = (CheckIn(datetime(2027, 2, 1, tzinfo=UTC), value=5.0),)
    for unmeasurable in (
        KeyResult("k", "increase", target=3, checkins=checkin),
        KeyResult("k", "decrease", start=3, checkins=checkin),
        KeyResult("k", "above", checkins=checkin),
    ):
        assert kr_score(unmeasurable, late) == 0.0
        result = evaluate([Objective("o", "t", "c", (unmeasurable,))], cycle, late)
        assert result.key_results[("o", "k")].status == "no_data"
        assert result.key_results[("o", "k")].forecast is None
        assert result.key_results[("o", "k")].current == 5.0
    with pytest.raises(ValueError, match="unknown kind"):
        KeyResult("k", "sideways")


def test_invalid_numbers_are_rejected() -> None:
    with pytest.raises(ValueError, match="finite"):
        KeyResult("k", "increase", start=0, target=float("nan"))
    with pytest.raises(ValueError, match="negative"):
        KeyResult("k", "increase", start=0, target=1, weight=-1)
    with pytest.raises(ValueError, match="finite"):
        CheckIn(at=T0, value=float("inf"))
    with pytest.raises(ValueError, match="0-10"):
        CheckIn(at=T0, confidence=11)


# --- above, below, milestone ----------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [(96.0, 1.0), (95.0, 1.0), (94.9, 0.0)])
def test_above_is_met_at_or_above_target(value: float, expected: float) -> None:
    assert kr_score(kr("above", value, target=95), MID) == expected


@pytest.mark.parametrize(("value", "expected"), [(2.0, 1.0), (2.5, 1.0), (2.6, 0.0)])
def test_below_is_met_at_or_below_target(value: float, expected: float) -> None:
    assert kr_score(kr("below", value, target=2.5), MID) == expected


def test_guard_rail_uses_the_latest_value() -> None:
    assert kr_score(kr("above", 99, 90, target=95), MID) == 0.0
    assert kr_score(kr("above", 90, 99, target=95), MID) == 1.0


def test_guard_rail_without_checkin_is_zero_and_no_data() -> None:
    result = evaluate([obj("o", kr("below", target=3))], Q1, MID)
    assert result.key_results[("o", "kr")].score == 0.0
    assert result.key_results[("o", "kr")].status == "no_data"
    assert result.key_results[("o", "kr")].current is None


def test_milestone_is_one_when_latest_checkin_is_done() -> None:
    assert kr_score(milestone(False, True), MID) == 1.0
    assert kr_score(milestone(True, False), MID) == 0.0


def test_milestone_ignores_checkins_without_done() -> None:
    ms = KeyResult(
        "ms",
        "milestone",
        checkins=(CheckIn(at=day(1), done=True), CheckIn(at=day(2), confidence=3)),
    )
    assert kr_score(ms, MID) == 1.0


def test_milestone_without_checkin_is_zero_and_no_data() -> None:
    result = evaluate([obj("o", milestone())], Q1, MID)
    assert result.key_results[("o", "ms")].score == 0.0
    assert result.key_results[("o", "ms")].status == "no_data"


# --- time travel and ordering ---------------------------------------------------------------


def test_checkins_after_the_evaluation_moment_are_ignored() -> None:
    k = KeyResult(
        "k",
        "increase",
        start=0,
        target=100,
        checkins=(CheckIn(at=day(10), value=20), CheckIn(at=day(50), value=80)),
    )
    assert kr_score(k, day(10)) == approx(0.2)  # a check-in exactly at `at` counts
    assert kr_score(k, day(49)) == approx(0.2)
    assert kr_score(k, day(50)) == approx(0.8)
    assert kr_score(k, day(9)) == 0.0
    past = evaluate([obj("o", k)], Q1, day(9)).key_results[("o", "k")]
    assert past.status == "no_data"
    assert past.last_checkin_at is None


def test_checkins_are_ordered_by_time_not_by_position() -> None:
    k = KeyResult(
        "k",
        "increase",
        start=0,
        target=100,
        checkins=(CheckIn(at=day(20), value=60), CheckIn(at=day(10), value=30)),
    )
    assert kr_score(k, MID) == approx(0.6)


def test_confidence_and_last_checkin_carry_from_the_latest_checkin_that_has_them() -> None:
    k = KeyResult(
        "k",
        "increase",
        start=0,
        target=10,
        checkins=(
            CheckIn(at=day(1), value=2, confidence=7),
            CheckIn(at=day(3), value=4),
        ),
    )
    result = evaluate([obj("o", k)], Q1, MID).key_results[("o", "k")]
    assert result.confidence == 7
    assert result.last_checkin_at == day(3)
    assert result.current == 4


# --- objectives, weights, teams -------------------------------------------------------------


def test_objective_score_is_weighted_mean_of_key_results() -> None:
    # (0.5 * 1 + 1.0 * 3) / 4 = 0.875
    o = obj("o", kr("increase", 5, start=0, target=10, key="a"), milestone(True, weight=3))
    assert evaluate([o], Q1, MID).objectives["o"].score == approx(0.875)


def test_objective_with_all_zero_weights_uses_plain_mean() -> None:
    o = obj(
        "o",
        kr("increase", 5, start=0, target=10, key="a", weight=0),
        milestone(True, weight=0),
    )
    assert evaluate([o], Q1, MID).objectives["o"].score == approx(0.75)


def test_zero_weight_key_result_does_not_count_when_others_weigh() -> None:
    o = obj("o", kr("increase", 5, start=0, target=10, key="a"), milestone(True, weight=0))
    assert evaluate([o], Q1, MID).objectives["o"].score == approx(0.5)


def test_objective_without_key_results_is_zero_and_no_data() -> None:
    result = evaluate([obj("o")], Q1, MID).objectives["o"]
    assert (result.score, result.status, result.grade_band, result.forecast) == (
        0.0,
        "no_data",
        "red",
        None,
    )


def test_objective_is_no_data_only_when_no_key_result_has_data() -> None:
    empty = obj("e", kr("increase", start=0, target=10, key="a"), milestone())
    some = obj("s", kr("increase", start=0, target=10, key="a"), milestone(False))
    result = evaluate([empty, some], Q1, MID)
    assert result.objectives["e"].status == "no_data"
    assert result.objectives["s"].status == "off_track"  # 0.0 against 0.5 expected


def test_team_score_is_mean_of_its_own_objectives() -> None:
    objectives = [
        obj("a", kr("increase", 2, start=0, target=10), team="ops"),  # 0.2
        obj("b", kr("increase", 7, start=0, target=10), team="ops"),  # 0.7
        obj("c", kr("increase", 9, start=0, target=10), team="depot", parent="a"),
        obj("d", kr("increase", 9, start=0, target=10), team=None),
    ]
    teams = evaluate(objectives, Q1, MID).teams
    assert teams == {"ops": approx(0.45), "depot": approx(0.9)}


def test_objectives_of_other_cycles_are_ignored() -> None:
    other = Objective("x", "ops", "2027-Q2", (kr("increase", 10, start=0, target=10),))
    result = evaluate([obj("a", kr("increase", 2, start=0, target=10), team="ops"), other], Q1, MID)
    assert set(result.objectives) == {"a"}
    assert result.teams == {"ops": approx(0.2)}


def test_duplicate_keys_are_rejected() -> None:
    with pytest.raises(ValueError, match="duplicate objective"):
        evaluate([obj("a"), obj("a")], Q1, MID)
    with pytest.raises(ValueError, match="duplicate key result"):
        obj("a", milestone(key="m"), milestone(key="m"))


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (0.0, "red"),
        (0.39, "red"),
        (0.3999, "red"),
        (0.4, "yellow"),
        (0.65, "yellow"),  # shown as 0.7 but the band uses the unrounded score
        (0.69, "yellow"),
        (0.7, "green"),
        (1.0, "green"),
    ],
)
def test_grade_band_uses_the_unrounded_score(score: float, band: str) -> None:
    assert grade_band(score) == band


def test_grade_band_forgives_float_noise_at_the_boundary() -> None:
    assert grade_band(0.1 * 7 - 1e-15) == "green"


# --- roll-ups -----------------------------------------------------------------------------


def roll(key: str = "roll", weight: float = 1.0) -> KeyResult:
    return KeyResult(key, "objectives", weight=weight)


def three_levels() -> list[Objective]:
    return [
        # company: roll-up (weight 2) of D1 and D2, and a missed guard rail (weight 1)
        obj("C", roll(weight=2), kr("below", 7, target=5, key="cost"), team="co"),
        # department 1: roll-up of T1 and T2, and a met guard rail
        obj("D1", roll(), kr("above", 60, target=50, key="nps"), team="ops", parent="C"),
        obj("D2", kr("increase", 2, start=0, target=10, key="x"), team="ops", parent="C"),
        obj(
            "T1",
            kr("increase", 30, start=0, target=100, key="a"),
            milestone(True, weight=3),
            team="depot",
            parent="D1",
        ),
        obj("T2", kr("decrease", 6, start=10, target=0, key="b"), team="depot", parent="D1"),
    ]


def test_objectives_roll_up_three_levels_deep() -> None:
    result = evaluate(three_levels(), Q1, MID)
    # T1 = (0.3 * 1 + 1.0 * 3) / 4 = 0.825; T2 = (6 - 10) / (0 - 10) = 0.4
    assert result.objectives["T1"].score == approx(0.825)
    assert result.objectives["T2"].score == approx(0.4)
    # D1's roll-up = (0.825 + 0.4) / 2 = 0.6125; D1 = (0.6125 + 1.0) / 2 = 0.80625
    assert result.key_results[("D1", "roll")].score == approx(0.6125)
    assert result.objectives["D1"].score == approx(0.80625)
    assert result.objectives["D2"].score == approx(0.2)
    # C's roll-up = (0.80625 + 0.2) / 2 = 0.503125; C = (2 * 0.503125 + 0) / 3
    assert result.key_results[("C", "roll")].score == approx(0.503125)
    assert result.objectives["C"].score == approx(1.00625 / 3)
    assert result.teams == {
        "co": approx(1.00625 / 3),
        "ops": approx((0.80625 + 0.2) / 2),
        "depot": approx((0.825 + 0.4) / 2),
    }


def test_roll_up_does_not_depend_on_input_order() -> None:
    forward = evaluate(three_levels(), Q1, MID)
    backward = evaluate(list(reversed(three_levels())), Q1, MID)
    assert forward.objectives == backward.objectives
    assert forward.key_results == backward.key_results
    assert list(forward.objectives) == ["C", "D1", "D2", "T1", "T2"]


def test_roll_up_without_children_is_zero_and_no_data() -> None:
    result = evaluate([obj("C", roll())], Q1, MID).key_results[("C", "roll")]
    assert (result.score, result.status, result.forecast) == (0.0, "no_data", None)


def test_roll_up_has_data_when_any_child_has_data() -> None:
    objectives = [
        obj("C", roll()),
        obj("A", kr("increase", start=0, target=10), parent="C"),
        obj("B", kr("increase", start=0, target=10), parent="C"),
    ]
    assert evaluate(objectives, Q1, MID).key_results[("C", "roll")].status == "no_data"
    objectives[2] = obj("B", kr("increase", 5, start=0, target=10), parent="C")
    result = evaluate(objectives, Q1, MID).key_results[("C", "roll")]
    assert result.score == approx(0.25)
    assert result.status == "at_risk"  # 0.25 against 0.5 expected: exactly 0.25 behind


def test_roll_up_ignores_children_in_other_cycles() -> None:
    child = Objective("A", None, "2027-Q2", (milestone(True),), parent="C")
    assert evaluate([obj("C", roll()), child], Q1, MID).objectives["C"].score == 0.0


def test_parent_outside_the_evaluation_counts_as_no_parent() -> None:
    result = evaluate([obj("A", milestone(True), parent="elsewhere")], Q1, MID)
    assert result.objectives["A"].score == 1.0


def test_alignment_loop_raises_with_the_keys_in_the_loop() -> None:
    objectives = [
        obj("root"),
        obj("A", roll(), parent="C"),
        obj("B", roll(), parent="A"),
        obj("C", roll(), parent="B"),
        obj("leaf", parent="A"),
    ]
    with pytest.raises(AlignmentCycleError, match="alignment loop") as info:
        evaluate(objectives, Q1, MID)
    assert sorted(info.value.keys) == ["A", "B", "C"]
    assert isinstance(info.value, ValueError)


def test_objective_aligned_to_itself_is_a_loop() -> None:
    with pytest.raises(AlignmentCycleError) as info:
        evaluate([obj("A", parent="A")], Q1, MID)
    assert info.value.keys == ("A",)


def test_very_deep_alignment_chain_does_not_hit_recursion_limit() -> None:
    depth = 3000
    # o0 <- o1 <- ... <- o2999: each rolls up the next; only the deepest has a real result.
    chain = [obj(f"o{i}", roll(), parent=f"o{i - 1}" if i else None) for i in range(depth - 1)]
    chain.append(obj(f"o{depth - 1}", milestone(True), parent=f"o{depth - 2}"))
    result = evaluate(chain, Q1, MID)
    assert result.objectives["o0"].score == 1.0
    assert result.objectives["o0"].status == "achieved"


def test_kr_score_roll_up_takes_child_scores_directly() -> None:
    assert kr_score(roll(), MID, [0.2, 0.4, 0.9]) == approx(0.5)
    assert kr_score(roll(), MID) == 0.0
    with pytest.raises(ValueError, match="no child objectives"):
        kr_score(milestone(True), MID, [0.5])


# --- status ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "expected", "status"),
    [
        (1.0, 0.5, "achieved"),
        (1.0, 0.0, "achieved"),
        (0.6, 0.5, "on_track"),
        (0.4, 0.5, "on_track"),  # exactly 0.10 behind
        (0.39, 0.5, "at_risk"),
        (0.25, 0.5, "at_risk"),  # exactly 0.25 behind
        (0.24, 0.5, "off_track"),
        # float traps: 0.4 - 0.1 == 0.30000000000000004 and 0.55 - 0.25 == 0.30000000000000004
        (0.3, 0.4, "on_track"),
        (0.7, 0.8, "on_track"),
        (0.3, 0.55, "at_risk"),
        (0.15, 0.4, "at_risk"),
        (0.29, 0.4, "at_risk"),
        (0.14, 0.4, "off_track"),
    ],
)
def test_status_boundaries_are_inclusive(score: float, expected: float, status: str) -> None:
    assert status_for(score, expected) == status


def test_status_without_data_is_no_data_but_achieved_wins() -> None:
    assert status_for(0.0, 0.5, has_data=False) == "no_data"
    assert status_for(1.0, 0.5, has_data=False) == "achieved"


@pytest.mark.parametrize(
    ("days", "value", "status"),
    [
        (36, 3, "on_track"),  # expected 0.4, score 0.3: exactly 0.10 behind
        (36, 2.9, "at_risk"),
        (72, 7, "on_track"),  # expected 0.8, score 0.7
        (49.5, 3, "at_risk"),  # expected 0.55, score 0.3: exactly 0.25 behind
        (49.5, 2.9, "off_track"),
    ],
)
def test_status_boundaries_hold_end_to_end(days: float, value: float, status: str) -> None:
    k = KeyResult("k", "increase", start=0, target=10, checkins=(CheckIn(at=day(1), value=value),))
    result = evaluate([obj("o", k)], Q1, day(days))
    assert result.key_results[("o", "k")].status == status
    assert result.objectives["o"].status == status


def test_before_cycle_start_everything_with_data_is_on_track() -> None:
    k = KeyResult("k", "increase", start=0, target=10, checkins=(CheckIn(at=day(-5), value=0),))
    g = KeyResult("g", "above", target=5, checkins=(CheckIn(at=day(-5), value=1),))
    result = evaluate([obj("o", k, g)], Q1, day(-1))
    assert result.key_results[("o", "k")].expected == 0.0
    assert result.key_results[("o", "k")].status == "on_track"
    assert result.key_results[("o", "g")].status == "on_track"
    assert result.objectives["o"].status == "on_track"


@pytest.mark.parametrize(
    ("value", "status"),
    [(10, "achieved"), (9, "on_track"), (7.5, "at_risk"), (7.4, "off_track")],
)
def test_after_cycle_end_expected_is_one(value: float, status: str) -> None:
    k = kr("increase", value, start=0, target=10)
    result = evaluate([obj("o", k)], Q1, END + timedelta(days=10)).key_results[("o", "kr")]
    assert result.expected == 1.0
    assert result.status == status


# --- forecast -------------------------------------------------------------------------------


def series(
    kind: str,
    points: list[tuple[float, float]],
    start: float | None = None,
    target: float | None = None,
) -> KeyResult:
    checkins = tuple(CheckIn(at=day(d), value=v) for d, v in points)
    return KeyResult("f", kind, start=start, target=target, checkins=checkins)


def test_forecast_extends_a_perfect_line_to_cycle_end() -> None:
    # 5 per 9 days from (0, 0): at day 90 the value is 50 -> 0.5
    k = series("increase", [(9, 5), (18, 10), (27, 15)], start=0, target=100)
    assert kr_forecast(k, Q1, MID) == approx(0.5)


def test_forecast_is_least_squares_including_the_start_anchor() -> None:
    # points (0, 0) (30, 10) (60, 50): mean (30, 20), Sxy = 1500, Sxx = 1800,
    # slope 5/6, at day 90: 20 + 5/6 * 60 = 70 -> 0.7
    k = series("increase", [(30, 10), (60, 50)], start=0, target=100)
    assert kr_forecast(k, Q1, day(60)) == approx(0.7)


def test_forecast_from_one_checkin_is_the_line_from_the_start() -> None:
    # (0, 10) to (45, 8): slope -2/45, at day 90: 6 -> (6 - 10) / (0 - 10) = 0.4
    k = series("decrease", [(45, 8)], start=10, target=0)
    assert kr_forecast(k, Q1, MID) == approx(0.4)


def test_forecast_is_clamped_to_zero_and_one() -> None:
    assert kr_forecast(series("increase", [(9, 50)], start=0, target=100), Q1, MID) == 1.0
    assert kr_forecast(series("increase", [(9, -5)], start=0, target=100), Q1, MID) == 0.0


def test_forecast_ignores_later_checkins() -> None:
    k = series("increase", [(9, 5), (50, 100)], start=0, target=100)
    assert kr_forecast(k, Q1, day(10)) == approx(0.5)


def test_guard_rail_forecast_scores_the_projected_value() -> None:
    # no start: (10, 40) (20, 45) -> slope 0.5/day, at day 90: 80 >= 50
    assert kr_forecast(series("above", [(10, 40), (20, 45)], target=50), Q1, MID) == 1.0
    # a single point without start projects flat: 40 < 50
    assert kr_forecast(series("above", [(10, 40)], target=50), Q1, MID) == 0.0
    assert kr_forecast(series("below", [(10, 40)], target=50), Q1, MID) == 1.0


def test_forecast_with_all_checkins_at_one_moment_is_their_mean() -> None:
    k = KeyResult(
        "f",
        "above",
        target=5,
        checkins=(CheckIn(at=day(3), value=4), CheckIn(at=day(3), value=7)),
    )
    assert kr_forecast(k, Q1, MID) == 1.0  # mean 5.5 >= 5


def test_forecast_is_none_without_value_checkins() -> None:
    k = KeyResult("f", "increase", start=0, target=1, checkins=(CheckIn(at=day(1), confidence=5),))
    assert kr_forecast(k, Q1, MID) is None
    assert kr_forecast(milestone(), Q1, MID) is None


def test_milestone_forecast_is_its_current_score() -> None:
    assert kr_forecast(milestone(True), Q1, MID) == 1.0
    assert kr_forecast(milestone(False), Q1, MID) == 0.0


def test_objective_forecast_is_weighted_mean_over_key_results_with_forecast() -> None:
    o = obj(
        "o",
        series("increase", [(9, 5), (18, 10), (27, 15)], start=0, target=100),  # 0.5
        milestone(True, weight=3),  # 1.0
        kr("increase", start=0, target=10, key="none", weight=10),  # no forecast
    )
    result = evaluate([o], Q1, MID).objectives["o"]
    assert result.forecast == approx((0.5 + 3.0) / 4)


def test_roll_up_forecast_is_mean_of_child_forecasts() -> None:
    objectives = [
        obj("C", roll()),
        obj("A", series("increase", [(9, 5), (18, 10), (27, 15)], start=0, target=100), parent="C"),
        obj("B", milestone(True), parent="C"),
        obj("N", kr("increase", start=0, target=1), parent="C"),  # no forecast: left out
    ]
    result = evaluate(objectives, Q1, MID)
    assert result.key_results[("C", "roll")].forecast == approx(0.75)
    assert result.objectives["C"].forecast == approx(0.75)
    assert kr_forecast(roll(), Q1, MID, [None, None]) is None
