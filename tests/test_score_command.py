"""`headway score` and `headway schema` on YAML files: hand-checked numbers, no database."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from headway.document.commands import parse_moment, register
from headway.document.evaluate import CycleSelectionError, score_document, select_cycle
from headway.document.load import load_documents, load_texts
from headway.document.schema import document_json_schema

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data" / "documents"
SMALL = DATA / "small.yaml"
EXAMPLE = ROOT / "docs" / "examples" / "northwind.yaml"
AT = datetime(2027, 1, 5, tzinfo=UTC)

runner = CliRunner()


def make_app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def line_at(points: list[tuple[float, float]], x: float) -> float:
    """Least-squares line through ``points`` evaluated at ``x`` (the forecast's trend)."""
    n = len(points)
    x_mean = sum(p[0] for p in points) / n
    y_mean = sum(p[1] for p in points) / n
    sxx = sum((p[0] - x_mean) ** 2 for p in points)
    sxy = sum((p[0] - x_mean) * (p[1] - y_mean) for p in points)
    return y_mean + sxy / sxx * (x - x_mean)


def close(a: float | None, b: float) -> bool:
    return a is not None and abs(a - b) <= 1e-9


# --------------------------------------------------------------------------- numbers


def test_score_json_equals_hand_computed_numbers() -> None:
    result = score_document(load_documents([SMALL]), AT)
    assert result["at"] == "2027-01-05T00:00:00+00:00"
    assert result["cycle"] == "c1"
    expected = 4 / 10  # 4 of the cycle's 10 days have passed

    # child/a: latest visible check-in 4 (the one on the 8th is after `at`).
    a = result["key_results"]["child/a"]
    a_forecast = line_at([(1.0, 2.0), (2.5, 4.0), (0.0, 0.0)], 10.0) / 40
    assert close(a["score"], 4 / 40)
    assert (a["status"], a["current"], a["confidence"]) == ("off_track", 4.0, 7)
    assert close(a["forecast"], a_forecast)
    assert close(a["expected"], expected)

    # child/b is fed by KPI k1: measurements from the cycle's start up to `at` only
    # (50 on Dec 30 is before the cycle, 90 on Jan 6 after `at`).
    b = result["key_results"]["child/b"]
    b_forecast = (line_at([(1.0, 70.0), (3.0, 75.0), (0.0, 60.0)], 10.0) - 60) / 140
    assert close(b["score"], 15 / 140)
    assert (b["status"], b["current"], b["confidence"]) == ("off_track", 75.0, None)
    assert close(b["forecast"], b_forecast)

    child = result["objectives"]["child"]
    child_score = (1 * 0.1 + 3 * 15 / 140) / 4
    child_forecast = (1 * a_forecast + 3 * b_forecast) / 4
    assert close(child["score"], child_score)
    assert close(child["forecast"], child_forecast)
    assert (child["status"], child["grade_band"], child["team"]) == ("off_track", "red", "eng")

    # top rolls child up, and its milestone is `done: true` on the key result itself.
    rollup, launch = result["key_results"]["top/rollup"], result["key_results"]["top/launch"]
    assert close(rollup["score"], child_score)
    assert close(rollup["forecast"], child_forecast)
    assert rollup["current"] is None
    assert (launch["score"], launch["status"], launch["forecast"]) == (1.0, "achieved", 1.0)
    top = result["objectives"]["top"]
    assert close(top["score"], (child_score + 1) / 2)
    assert close(top["forecast"], (child_forecast + 1) / 2)
    assert (top["status"], top["team"]) == ("on_track", "co")

    # other: a decrease with no check-in (current = start) and a guard rail that holds.
    d, e = result["key_results"]["other/d"], result["key_results"]["other/e"]
    assert (d["score"], d["status"], d["current"], d["forecast"]) == (0.0, "no_data", 10.0, None)
    assert (e["score"], e["status"], e["current"], e["forecast"]) == (1.0, "achieved", 6.0, 1.0)
    other = result["objectives"]["other"]
    assert (other["score"], other["status"], other["grade_band"]) == (0.5, "on_track", "yellow")
    assert other["forecast"] == 1.0

    # Team score: the mean of the team's own objectives of the cycle ("old" is in c0).
    assert set(result["objectives"]) == {"top", "child", "other"}
    assert close(result["teams"]["eng"]["score"], (child_score + 0.5) / 2)
    assert result["teams"]["eng"]["objectives"] == 2
    assert close(result["teams"]["co"]["score"], (child_score + 1) / 2)
    assert result["teams"]["co"]["objectives"] == 1


def test_kpi_health_and_trend() -> None:
    kpis = score_document(load_documents([SMALL]), AT)["kpis"]
    k1 = kpis["k1"]
    # 75 is at or below warning (80), above critical (60); Dec 30 and Jan 2 share an ISO week.
    assert (k1["health"], k1["trend"]) == ("warning", "stable")
    assert k1["latest"] == {"at": "2027-01-04T00:00:00+00:00", "value": 75.0}
    assert (k1["wrong_way_streak"], k1["right_way_streak"], k1["healthy_streak"]) == (0, 1, 0)
    assert k1["deserves_promotion"] is False

    # k2 has no cadence, so it is judged monthly: Oct, Nov, Dec, Jan each rose (lower is
    # better), three wrong-way moves in a row. Weekly, those weeks would not be adjacent.
    k2 = kpis["k2"]
    assert (k2["health"], k2["trend"], k2["wrong_way_streak"]) == ("critical", "deteriorating", 3)
    assert k2["latest"] == {"at": "2027-01-03T00:00:00+00:00", "value": 8.0}
    assert close(k2["slope_per_period"], 1.0)
    z = (6 - 1) / math.sqrt(4 * 3 * 13 / 18)  # Mann-Kendall: S = 6, n = 4, no ties
    assert close(k2["p_value"], math.erfc(z / math.sqrt(2)))
    assert k2["deserves_promotion"] is True
    assert (k1["team"], k2["team"]) == ("eng", "eng")


def test_score_shape_matches_appendix_a() -> None:
    result = score_document(load_documents([EXAMPLE]), datetime(2027, 2, 15, tzinfo=UTC))
    assert set(result) == {"at", "cycle", "key_results", "objectives", "teams", "kpis"}
    assert result["cycle"] == "2027-Q1"
    assert "reliable-deliveries/on-time-rate" in result["key_results"]
    for entry in result["key_results"].values():
        assert set(entry) == {"score", "status", "forecast", "current", "expected", "confidence"}
        assert isinstance(entry["score"], float)
        assert 0.0 <= entry["score"] <= 1.0
        assert entry["forecast"] is None or 0.0 <= entry["forecast"] <= 1.0
        assert entry["status"] in ("achieved", "on_track", "at_risk", "off_track", "no_data")
    for entry in result["objectives"].values():
        assert set(entry) == {"score", "status", "grade_band", "forecast", "expected", "team"}
        assert entry["grade_band"] in ("red", "yellow", "green")
    for entry in result["teams"].values():
        assert set(entry) == {"score", "objectives"}
    for entry in result["kpis"].values():
        assert {"health", "trend", "latest", "wrong_way_streak"} <= set(entry)
        assert entry["health"] in ("healthy", "warning", "critical", "stale", "no_data")
        assert entry["trend"] in ("improving", "stable", "deteriorating")
        assert entry["latest"] is None or set(entry["latest"]) == {"at", "value"}
    json.dumps(result, allow_nan=False)  # plain JSON, no NaN


# --------------------------------------------------------------------------- cycles


def _cycles_doc() -> str:
    return (
        "version: 1\n"
        "cycles:\n"
        "  - {key: year, start: 2027-01-01, end: 2027-12-31}\n"
        "  - {key: q1, start: 2027-01-01, end: 2027-03-31}\n"
        "  - {key: q2, start: 2027-04-01, end: 2027-06-30}\n"
    )


def test_the_cycle_is_the_shortest_one_containing_at() -> None:
    doc = load_texts([("c.yaml", _cycles_doc())])
    assert select_cycle(doc, datetime(2027, 2, 1, tzinfo=UTC)).key == "q1"
    assert select_cycle(doc, datetime(2027, 3, 31, 23, 59, tzinfo=UTC)).key == "q1"
    assert select_cycle(doc, datetime(2027, 4, 1, tzinfo=UTC)).key == "q2"
    assert select_cycle(doc, datetime(2027, 8, 1, tzinfo=UTC)).key == "year"
    assert select_cycle(doc, datetime(2027, 2, 1, tzinfo=UTC), "year").key == "year"
    # A naive moment is UTC.
    assert select_cycle(doc, datetime(2027, 4, 1)).key == "q2"


def test_no_cycle_or_an_unknown_cycle_is_a_clear_error() -> None:
    doc = load_texts([("c.yaml", _cycles_doc())])
    with pytest.raises(CycleSelectionError, match="no cycle contains 2028-01-01"):
        score_document(doc, datetime(2028, 1, 1, tzinfo=UTC))
    with pytest.raises(CycleSelectionError, match=r"no cycle 'q3'.*year, q1, q2"):
        score_document(doc, datetime(2027, 2, 1, tzinfo=UTC), "q3")


def test_cycle_option_scores_another_cycle() -> None:
    result = score_document(load_documents([SMALL]), AT, "c0")
    assert result["cycle"] == "c0"
    assert set(result["objectives"]) == {"old"}
    assert result["objectives"]["old"]["expected"] == 1.0


def test_parse_moment_accepts_a_date_or_a_datetime() -> None:
    assert parse_moment("2027-01-05") == datetime(2027, 1, 5, tzinfo=UTC)
    assert parse_moment("2027-01-05T10:30") == datetime(2027, 1, 5, 10, 30, tzinfo=UTC)
    assert parse_moment("2027-01-05T10:30+02:00") == datetime(2027, 1, 5, 8, 30, tzinfo=UTC)
    now = parse_moment(None)
    assert now.tzinfo is not None
    assert abs((now - datetime.now(UTC)).total_seconds()) < 60
    with pytest.raises(typer.BadParameter):
        parse_moment("yesterday")


# --------------------------------------------------------------------------- the commands


def test_score_command_prints_json() -> None:
    result = runner.invoke(
        make_app(), ["score", str(SMALL), "--at", "2027-01-05", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data == score_document(load_documents([SMALL]), AT)


def test_score_command_reads_several_files() -> None:
    files = [str(DATA / "split-org.yaml"), str(DATA / "split-okrs.yaml")]
    result = runner.invoke(make_app(), ["score", *files, "--at", "2027-02-01", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert set(json.loads(result.stdout)["objectives"]) == {"calm-site"}


def test_table_output_contains_the_objective_titles_and_exits_0() -> None:
    result = runner.invoke(make_app(), ["score", str(EXAMPLE), "--at", "2027-02-15"])
    assert result.exit_code == 0, result.output
    doc = load_documents([EXAMPLE])
    scored = [o for o in doc.objectives if o.cycle == "2027-Q1"]
    for objective in scored:
        assert objective.title in result.stdout
        for kr in objective.key_results:
            assert kr.title in result.stdout
    assert "Operations" in result.stdout
    assert "On-time delivery rate" in result.stdout
    assert "↑ improving" in result.stdout
    assert "Settle customer claims" not in result.stdout  # another cycle


def test_table_scores_show_one_decimal_and_a_bar() -> None:
    result = runner.invoke(make_app(), ["score", str(SMALL), "--at", "2027-01-05"])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.stdout.splitlines() if "Our releases stay calm" in x)
    assert "0.5" in line
    assert "█" in line
    assert "on track" in line
    kpi_line = next(x for x in result.stdout.splitlines() if "K two" in x)
    assert "critical" in kpi_line
    assert "↓ deteriorating" in kpi_line


def test_document_errors_exit_2_with_every_problem_on_stderr() -> None:
    path = DATA / "bad-many.yaml"
    result = runner.invoke(make_app(), ["score", str(path), "--format", "json"])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 7
    assert lines[0].startswith(f"{path}:4: teams[0].colour: unknown field")
    assert result.stdout == ""


def test_no_cycle_exits_2() -> None:
    result = runner.invoke(make_app(), ["score", str(SMALL), "--at", "2030-01-01"])
    assert result.exit_code == 2
    assert "no cycle contains" in result.stderr


def test_bad_at_exits_2() -> None:
    result = runner.invoke(make_app(), ["score", str(SMALL), "--at", "soon"])
    assert result.exit_code == 2
    assert "ISO 8601" in result.output


def test_schema_command_prints_the_json_schema() -> None:
    result = runner.invoke(make_app(), ["schema"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == document_json_schema()


_NO_DJANGO = """
import sys, typer
from headway.document.commands import register
app = typer.Typer()
register(app)
try:
    app(sys.argv[1:], standalone_mode=False)
finally:
    loaded = sorted(m for m in sys.modules if m == "django" or m.startswith("django."))
    print("DJANGO-MODULES:", loaded, file=sys.stderr)
"""


@pytest.mark.parametrize(
    "args",
    [
        ["score", str(EXAMPLE), "--at", "2027-02-15", "--format", "json"],
        ["score", str(EXAMPLE), "--at", "2027-02-15"],
        ["schema"],
    ],
)
def test_commands_run_with_no_database_and_no_django(args: list[str], tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "HEADWAY"))}
    env["HOME"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", _NO_DJANGO, *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "DJANGO-MODULES: []" in done.stderr
    assert done.stdout.strip()
    assert not list(tmp_path.glob("*.sqlite3"))
    if "--format" in args:
        assert json.loads(done.stdout)["cycle"] == "2027-Q1"


def test_dates_in_the_output_are_iso_strings() -> None:
    result = score_document(load_documents([SMALL]), date_at := datetime(2027, 1, 5, 12))
    assert result["at"] == "2027-01-05T12:00:00+00:00"
    assert date_at.tzinfo is None  # the caller's value is not changed
    assert date(2027, 1, 4).isoformat() in result["kpis"]["k1"]["latest"]["at"]


# --------------------------------------------------------------------------- more rules


def _one_objective(key_results: str, kpis: str = "") -> str:
    return (
        "version: 1\n"
        "teams: [{key: co, name: Co, kind: company}]\n"
        "cycles: [{key: q, start: 2027-01-01, end: 2027-01-10}]\n"
        "objectives:\n"
        "  - key: o\n"
        "    cycle: q\n"
        "    team: co\n"
        "    title: T\n"
        "    key_results:\n" + key_results + kpis
    )


def test_a_key_result_without_its_numbers_scores_0_with_no_data() -> None:
    doc = load_texts(
        [
            (
                "x.yaml",
                _one_objective(
                    "      - {key: inc, title: I}\n"
                    "      - {key: abv, title: A, kind: above}\n"
                    "      - key: val\n"
                    "        title: V\n"
                    "        checkins: [{at: 2027-01-02, value: 3}]\n"
                ),
            )
        ]
    )
    result = score_document(doc, AT)["key_results"]
    for key in ("o/inc", "o/abv", "o/val"):
        assert (result[key]["score"], result[key]["status"]) == (0.0, "no_data"), key


def test_check_ins_decide_a_milestone_over_its_done_field() -> None:
    doc = load_texts(
        [
            (
                "x.yaml",
                _one_objective(
                    "      - {key: m1, title: M, kind: milestone, done: true}\n"
                    "      - key: m2\n"
                    "        title: M\n"
                    "        kind: milestone\n"
                    "        done: true\n"
                    "        checkins: [{at: 2027-01-02, done: false}]\n"
                    "      - {key: m3, title: M, kind: milestone, done: false}\n"
                ),
            )
        ]
    )
    krs = score_document(doc, AT)["key_results"]
    assert (krs["o/m1"]["score"], krs["o/m1"]["status"]) == (1.0, "achieved")
    assert (krs["o/m2"]["score"], krs["o/m2"]["status"]) == (0.0, "off_track")
    assert (krs["o/m3"]["score"], krs["o/m3"]["status"]) == (0.0, "no_data")


def test_kpi_measurements_count_from_the_cycle_start_to_at_inclusive() -> None:
    doc = load_texts(
        [
            (
                "x.yaml",
                _one_objective(
                    "      - {key: k, title: K, start: 0, target: 100, kpi: m}\n",
                    "kpis:\n"
                    "  - key: m\n"
                    "    name: M\n"
                    "    team: co\n"
                    "    measurements:\n"
                    "      - {at: '2026-12-31T23:59:59Z', value: 90}\n"
                    "      - {at: 2027-01-01, value: 10}\n"
                    "      - {at: 2027-01-05, value: 40}\n"
                    "      - {at: '2027-01-05T00:00:01Z', value: 70}\n",
                ),
            )
        ]
    )
    kr = score_document(doc, AT)["key_results"]["o/k"]
    assert (kr["score"], kr["current"]) == (0.4, 40.0)
    kr = score_document(doc, datetime(2027, 1, 1, tzinfo=UTC))["key_results"]["o/k"]
    assert (kr["score"], kr["current"]) == (0.1, 10.0)


# --------------------------------------------------------------------------- parity


@pytest.mark.django_db
def test_scores_equal_the_database_layer_for_the_same_organisation() -> None:
    from headway.kpis.models import Kpi, Measurement
    from headway.okrs.models import CheckIn, Cycle, KeyResult, Objective
    from headway.okrs.stored import cycle_tree
    from headway.teams.models import Person, Team

    doc = load_documents([SMALL])
    teams: dict[str, Team] = {}
    for t in doc.teams:  # parents come first in small.yaml
        parent = teams[t.parent] if t.parent else None
        teams[t.key] = Team.objects.create(key=t.key, name=t.name, kind=t.kind, parent=parent)
    for p in doc.people:
        Person.objects.create_user(p.email, None, name=p.name)
    cycles = {c.key: Cycle.objects.create(key=c.key, start=c.start, end=c.end) for c in doc.cycles}
    kpis: dict[str, Kpi] = {}
    for k in doc.kpis:
        kpis[k.key] = Kpi.objects.create(
            key=k.key,
            name=k.name,
            team=teams[k.team],
            direction=k.direction,
            target=k.target,
            warning=k.warning,
            critical=k.critical,
            cadence=k.cadence or "",
            tier=k.tier,
        )
        for m in k.measurements:
            Measurement.objects.create(kpi=kpis[k.key], at=m.at, value=m.value)
    objectives = {}
    for o in doc.objectives:
        objectives[o.key] = Objective.objects.create(
            key=o.key, cycle=cycles[o.cycle], team=teams[o.team], title=o.title, type=o.type
        )
        for position, kr in enumerate(o.key_results):
            row = KeyResult.objects.create(
                objective=objectives[o.key],
                key=kr.key,
                title=kr.title,
                kind=kr.kind,
                start=kr.start,
                target=kr.target,
                weight=kr.weight,
                position=position,
                kpi=kpis[kr.kpi] if kr.kpi else None,
            )
            for c in kr.checkins:
                CheckIn.objects.create(
                    key_result=row, at=c.at, value=c.value, done=c.done, confidence=c.confidence
                )
            if kr.kind == "milestone" and kr.done and all(c.done is None for c in kr.checkins):
                # The documented import of `done: true`: a check-in at the cycle's start.
                start = doc.cycles_by_key[o.cycle].starts_at
                CheckIn.objects.create(key_result=row, at=start, done=True)
    for o in doc.objectives:
        if o.parent:
            objectives[o.key].parent = objectives[o.parent]
            objectives[o.key].save()

    moments = [
        datetime(2026, 11, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
        AT,
        datetime(2027, 1, 8, 12, tzinfo=UTC),
        datetime(2027, 2, 1, tzinfo=UTC),
    ]
    for at in moments:
        for cycle_key in ("c0", "c1"):
            tree = cycle_tree(cycles[cycle_key], at=at)
            result = score_document(doc, at, cycle_key)
            for (objective_key, kr_key), got in tree.evaluation.key_results.items():
                mine = result["key_results"][f"{objective_key}/{kr_key}"]
                theirs = {
                    "score": got.score,
                    "status": got.status,
                    "forecast": got.forecast,
                    "current": got.current,
                    "expected": got.expected,
                    "confidence": got.confidence,
                }
                assert mine == theirs, (at, objective_key, kr_key)
            assert len(result["key_results"]) == len(tree.evaluation.key_results)
            for key, obj in tree.evaluation.objectives.items():
                mine = result["objectives"][key]
                assert (mine["score"], mine["status"], mine["forecast"]) == (
                    obj.score,
                    obj.status,
                    obj.forecast,
                ), (at, key)
            assert {k: v["score"] for k, v in result["teams"].items()} == tree.evaluation.teams
        result = score_document(doc, at, "c1")
        for key, kpi in kpis.items():
            ev = kpi.evaluate(at)
            mine = result["kpis"][key]
            assert (mine["health"], mine["trend"], mine["wrong_way_streak"]) == (
                ev.health,
                ev.trend,
                ev.wrong_way_streak,
            ), (at, key)
            latest = None if ev.latest is None else ev.latest.value
            assert (mine["latest"] or {}).get("value") == latest
