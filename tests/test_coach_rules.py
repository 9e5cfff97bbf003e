"""The coach's rule registry: each rule fires on its mistake, and only there."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from headway.coach.rules import (
    RULES,
    SEVERITIES,
    CycleFacts,
    KeyResultFacts,
    KpiFacts,
    ObjectiveFacts,
    Organisation,
    TeamFacts,
    run,
)

AT = datetime(2027, 2, 15, tzinfo=UTC)
Q4 = CycleFacts("2026-Q4", date(2026, 10, 1), date(2026, 12, 31), closed=True)
Q1 = CycleFacts("2027-Q1", date(2027, 1, 1), date(2027, 3, 31))
TEAMS = (TeamFacts("acme", "company"), TeamFacts("ops", "department", "acme"))


def kr(key: str, title: str, **extra: object) -> KeyResultFacts:
    fields: dict[str, object] = {"kind": "increase", "start": 10.0, "target": 20.0} | extra
    return KeyResultFacts(key=key, title=title, **fields)  # type: ignore[arg-type]


GOOD_KRS = (
    kr("a", "Raise on-time delivery from 88% to 96%"),
    kr("b", "Cut damage claims per 1,000 parcels from 4.0 to 2.5", kind="decrease"),
)


def objective(key: str, team: str = "ops", **extra: object) -> ObjectiveFacts:
    fields: dict[str, object] = {
        "title": "Make on-time delivery something customers stop worrying about",
        "cycle": "2027-Q1",
        "parent": None if team == "acme" else "north-star",
        "key_results": GOOD_KRS,
    } | extra
    return ObjectiveFacts(key=key, team=team, **fields)  # type: ignore[arg-type]


def kpi(key: str, **extra: object) -> KpiFacts:
    fields: dict[str, object] = {
        "name": "On-time delivery rate",
        "team": "ops",
        "owner": "ana@example.test",
        "cadence": "weekly",
        "target": 95.0,
        "why": "Late parcels are the first reason customers leave",
        "latest_at": datetime(2027, 2, 10, tzinfo=UTC),
    } | extra
    return KpiFacts(key=key, **fields)  # type: ignore[arg-type]


def clean() -> Organisation:
    return Organisation(
        at=AT,
        teams=TEAMS,
        cycles=(Q4, Q1),
        objectives=(
            objective(
                "north-star", team="acme", title="Become the carrier shops recommend to friends"
            ),
            objective("reliable"),
            objective(
                "last-year", cycle="2026-Q4", grade=0.6, reflection="Routing helped; carry over."
            ),
        ),
        kpis=(kpi("otd"),),
    )


def rules_fired(org: Organisation) -> set[tuple[str, str]]:
    return {(f.rule, f.path) for f in run(org)}


def test_a_well_formed_organisation_has_no_findings() -> None:
    assert run(clean()) == []


def with_objectives(*extra: ObjectiveFacts) -> Organisation:
    base = clean()
    return replace(base, objectives=base.objectives + extra)


@pytest.mark.parametrize(
    ("org", "expected"),
    [
        (
            with_objectives(*(objective(f"o{i}") for i in range(5))),
            ("objective-count", "teams/ops"),
        ),
        (
            replace(clean(), objectives=clean().objectives[:1] + clean().objectives[2:]),
            ("objective-count", "teams/ops"),
        ),
        (
            with_objectives(objective("thin", key_results=GOOD_KRS[:1])),
            ("kr-count", "objectives/thin"),
        ),
        (
            with_objectives(
                objective(
                    "fat", key_results=tuple(kr(f"k{i}", GOOD_KRS[0].title) for i in range(6))
                )
            ),
            ("kr-count", "objectives/fat"),
        ),
        (
            with_objectives(objective("metric", title="Grow online revenue by 20% this quarter")),
            ("objective-is-metric", "objectives/metric"),
        ),
        (
            with_objectives(objective("vague", title="Improve our marketing")),
            ("objective-vague", "objectives/vague"),
        ),
        (
            with_objectives(
                objective(
                    "task",
                    key_results=(
                        GOOD_KRS[0],
                        kr(
                            "t",
                            "Launch the new customer portal",
                            kind="milestone",
                            start=None,
                            target=None,
                        ),
                    ),
                )
            ),
            ("kr-is-task", "objectives/task/key_results/t"),
        ),
        (
            with_objectives(
                objective(
                    "nomeasure",
                    key_results=(
                        GOOD_KRS[0],
                        kr("n", "Customer satisfaction goes up", start=None, target=None),
                    ),
                )
            ),
            ("kr-not-measurable", "objectives/nomeasure/key_results/n"),
        ),
        (
            with_objectives(
                objective(
                    "late",
                    key_results=(GOOD_KRS[0], kr("d", GOOD_KRS[1].title, due=date(2027, 5, 1))),
                )
            ),
            ("kr-no-deadline", "objectives/late/key_results/d"),
        ),
        (
            replace(clean(), kpis=tuple(kpi(f"k{i}") for i in range(8))),
            ("kpi-too-many", "teams/ops"),
        ),
        (
            replace(clean(), kpis=(kpi("otd", why=" ", owner=None),)),
            ("kpi-card-incomplete", "kpis/otd"),
        ),
        (
            replace(clean(), kpis=(kpi("otd", latest_at=datetime(2027, 1, 30, tzinfo=UTC)),)),
            ("kpi-not-reviewed", "kpis/otd"),
        ),
        (
            with_objectives(objective("orphan", parent=None)),
            ("orphan-objective", "objectives/orphan"),
        ),
        (
            with_objectives(
                objective(
                    "easy",
                    cycle="2026-Q4",
                    grade=1.0,
                    key_results=tuple(replace(k, grade=1.0) for k in GOOD_KRS),
                )
            ),
            ("sandbagging", "objectives/easy"),
        ),
        (
            with_objectives(objective("missed", cycle="2026-Q4", type="committed", grade=0.5)),
            ("committed-missed", "objectives/missed"),
        ),
        (
            with_objectives(
                objective(
                    "linked",
                    key_results=tuple(
                        replace(k, kpi="otd") for k in (*GOOD_KRS, kr("c", GOOD_KRS[0].title))
                    ),
                )
            ),
            ("kpi-as-kr-everywhere", "teams/ops"),
        ),
    ],
)
def test_each_rule_fires_on_its_mistake(org: Organisation, expected: tuple[str, str]) -> None:
    assert expected in rules_fired(org)


def test_rule_edges_stay_quiet() -> None:
    five = with_objectives(*(objective(f"o{i}") for i in range(4)))
    assert ("objective-count", "teams/ops") not in rules_fired(five)
    seven = replace(clean(), kpis=tuple(kpi(f"k{i}") for i in range(7)))
    assert not rules_fired(seven)
    fresh = replace(clean(), kpis=(kpi("otd", latest_at=datetime(2027, 2, 5, 12, tzinfo=UTC)),))
    assert not rules_fired(fresh)  # 9.5 days: within 1.5 weekly periods
    diagnostic = replace(clean(), kpis=tuple(kpi(f"k{i}", tier="diagnostic") for i in range(9)))
    assert not rules_fired(diagnostic)


def test_team_averaging_high_two_closed_cycles_in_a_row_is_sandbagging() -> None:
    q3 = CycleFacts("2026-Q3", date(2026, 7, 1), date(2026, 9, 30), closed=True)
    org = replace(
        clean(),
        cycles=(q3, Q4, Q1),
        objectives=(
            *clean().objectives[:2],
            objective("q3", cycle="2026-Q3", grade=0.96, reflection="x"),
            objective("q4", cycle="2026-Q4", grade=0.97, reflection="x"),
        ),
    )
    assert ("sandbagging", "teams/ops") in rules_fired(org)


def test_findings_can_be_silenced_per_objective() -> None:
    noisy = with_objectives(objective("vague", title="Improve our marketing"))
    assert ("objective-vague", "objectives/vague") in rules_fired(noisy)
    quiet = with_objectives(
        objective("vague", title="Improve our marketing", ignore=frozenset({"objective-vague"}))
    )
    assert ("objective-vague", "objectives/vague") not in rules_fired(quiet)


def test_findings_carry_severity_principle_and_fix() -> None:
    (finding,) = run(with_objectives(objective("orphan", parent=None)))
    assert finding.severity == "warning"
    assert "Alignment" in finding.message
    assert finding.fix.startswith("Align")
    assert set(finding.as_dict()) == {"rule", "severity", "path", "message", "fix"}


def test_every_rule_of_the_product_brief_is_registered() -> None:
    brief = {
        "objective-count", "kr-count", "objective-is-metric", "objective-vague", "kr-is-task",
        "kr-not-measurable", "kr-no-deadline", "kpi-too-many", "kpi-card-incomplete",
        "kpi-not-reviewed", "orphan-objective", "sandbagging", "committed-missed",
        "kpi-as-kr-everywhere",
    }  # fmt: skip
    assert brief <= set(RULES)
    assert all(r.severity in SEVERITIES and r.principle and r.fix for r in RULES.values())


def test_every_rule_is_documented_with_its_severity() -> None:
    doc = (Path(__file__).resolve().parent.parent / "docs" / "coach.md").read_text()
    for rule_id, spec in RULES.items():
        row = re.search(rf"^\| `{re.escape(rule_id)}` \| (\w+) \|", doc, re.MULTILINE)
        assert row, f"{rule_id} is not in the rules table of docs/coach.md"
        assert row.group(1) == spec.severity, rule_id


def _weekly_history(
    level: float, slope: float, weeks: int = 52
) -> tuple[tuple[datetime, float], ...]:
    """A KPI rising ``slope`` a week up to the cycle's start, with a little alternating noise."""
    start = datetime(2027, 1, 1, tzinfo=UTC)
    return tuple(
        (start - timedelta(weeks=weeks - w), level + slope * w + (0.3 if w % 2 else -0.3))
        for w in range(weeks)
    )


def test_a_target_the_kpi_trend_reaches_anyway_is_business_as_usual() -> None:
    # 52 weeks rising 0.2 a week from 60: about 73 by the end of March.
    history = _weekly_history(60.0, 0.2)
    easy = kr("easy", "Raise on-time delivery from 70% to 72%", start=70.0, target=72.0,
              kpi="otd", kpi_history=history)  # fmt: skip
    hard = kr("hard", "Raise on-time delivery from 70% to 85%", start=70.0, target=85.0,
              kpi="otd", kpi_history=history)  # fmt: skip
    org = with_objectives(objective("bau", key_results=(easy, hard)))
    fired = [f for f in run(org) if f.rule == "target-business-as-usual"]
    assert [f.path for f in fired] == ["objectives/bau/key_results/easy"]
    assert "trend reaches 7" in fired[0].message
    assert "2027-03-31" in fired[0].message
    assert "probability without any change" in fired[0].message
    # A closed cycle is not planned any more, and a short history is no evidence.
    closed = with_objectives(objective("bau", cycle="2026-Q4", key_results=(easy,)))
    assert not [f for f in run(closed) if f.rule == "target-business-as-usual"]
    short = replace(easy, kpi_history=history[-4:])
    org = with_objectives(objective("bau", key_results=(short,)))
    assert not [f for f in run(org) if f.rule == "target-business-as-usual"]
