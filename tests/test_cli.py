"""The `headway` command: administration commands behave and explain themselves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from headway.cli import app
from headway.teams.models import Person

runner = CliRunner()


def test_help_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("serve", "migrate", "demo", "createadmin"):
        assert command in result.output


@pytest.mark.django_db
def test_createadmin_creates_a_superuser() -> None:
    result = runner.invoke(
        app,
        ["createadmin", "--email", "Boss@Example.test", "--name", "Boss"],
        env={"HEADWAY_ADMIN_PASSWORD": "correct-horse-battery"},
    )
    assert result.exit_code == 0, result.output
    boss = Person.objects.get(email="boss@example.test")
    assert boss.is_superuser
    assert boss.check_password("correct-horse-battery")


@pytest.mark.django_db
def test_createadmin_refuses_bad_input_clearly() -> None:
    env = {"HEADWAY_ADMIN_PASSWORD": "correct-horse-battery"}
    bad_email = runner.invoke(app, ["createadmin", "--email", "nope", "--name", "N"], env=env)
    assert bad_email.exit_code == 2
    assert "not a valid e-mail" in bad_email.output
    weak = runner.invoke(
        app,
        ["createadmin", "--email", "a@example.test", "--name", "A"],
        env={"HEADWAY_ADMIN_PASSWORD": "123"},
    )
    assert weak.exit_code == 2
    assert "too short" in weak.output
    runner.invoke(app, ["createadmin", "--email", "b@example.test", "--name", "B"], env=env)
    again = runner.invoke(app, ["createadmin", "--email", "b@example.test", "--name", "B"], env=env)
    assert again.exit_code == 2
    assert "already exists" in again.output
    assert Person.objects.count() == 1


@pytest.fixture
def kpi(org: object) -> object:
    from headway.kpis.models import Kpi

    return Kpi.objects.create(
        key="otd", name="On-time", team=org.depot, direction="up",  # type: ignore[attr-defined]
        target=95, warning=90, critical=85, cadence="weekly",
    )  # fmt: skip


def test_measure_pushes_one_value(kpi: object) -> None:
    from headway.kpis.models import Measurement

    result = runner.invoke(app, ["measure", "otd", "91.5", "--at", "2026-11-20"])
    assert result.exit_code == 0, result.output
    assert "1 created" in result.output
    assert Measurement.objects.get().value == 91.5


def test_measure_csv_is_all_or_nothing_with_lines(kpi: object, tmp_path: Path) -> None:
    from headway.kpis.models import Measurement

    good = tmp_path / "good.csv"
    good.write_text("kpi,at,value,note\notd,2026-11-01,90,\notd,2026-11-08,92,ok\n")
    result = runner.invoke(app, ["measure", "--csv", str(good)])
    assert result.exit_code == 0, result.output
    assert "2 created" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("kpi,at,value\notd,2026-11-15,93\notd,2026-11-22,NaN\nnope,2026-11-22,1\n")
    result = runner.invoke(app, ["measure", "--csv", str(bad)])
    assert result.exit_code == 2
    assert "line 3:" in result.output
    assert "line 4:" in result.output
    assert "Nothing was written" in result.output
    assert Measurement.objects.count() == 2


def test_measure_needs_exactly_one_way_in(kpi: object, tmp_path: Path) -> None:
    assert runner.invoke(app, ["measure"]).exit_code == 2
    assert runner.invoke(app, ["measure", "otd"]).exit_code == 2
    header_only = tmp_path / "h.csv"
    header_only.write_text("kpi,when,value\n")
    result = runner.invoke(app, ["measure", "--csv", str(header_only)])
    assert result.exit_code == 2
    assert "unknown column 'when'" in result.output


@pytest.mark.django_db
def test_rescore_repairs_stored_scores_edited_by_hand(org: Any) -> None:
    from headway.okrs.models import KeyResult, Objective

    objective = Objective.objects.create(
        key="o",
        cycle=org.cycle,
        team=org.depot,
        title="O",
    )
    kr = KeyResult.objects.create(objective=objective, key="k", title="K", start=0, target=10)
    KeyResult.objects.filter(pk=kr.pk).update(score=0.8, has_data=True)
    result = runner.invoke(app, ["rescore", "--cycle", "2027-Q1"])
    assert result.exit_code == 0, result.output
    assert "1 stored score(s) corrected" in result.output
    kr.refresh_from_db()
    assert kr.score == 0.0
    unknown = runner.invoke(app, ["rescore", "--cycle", "nope"])
    assert unknown.exit_code == 2
    assert "No cycle 'nope'" in unknown.output
