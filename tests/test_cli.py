"""The `headway` command: administration commands behave and explain themselves."""

from __future__ import annotations

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
