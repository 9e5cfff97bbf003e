"""`headway lint`: the coach on files, with exit codes CI can rely on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from headway.cli import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "docs" / "examples" / "northwind.yaml"

DOCUMENT = """
version: 1
teams:
  - {key: acme, name: Acme, kind: company}
  - {key: ops, name: Operations, kind: department, parent: acme}
cycles:
  - {key: 2027-Q1, start: 2027-01-01, end: 2027-03-31}
objectives:
  - key: north
    cycle: 2027-Q1
    team: acme
    title: Become the carrier small shops recommend to each other
    key_results:
      - {key: nps, title: Lift the shop NPS from 21 to 35, start: 21, target: 35}
      - {key: churn, title: Cut shop churn from 4% to 2%, kind: decrease, start: 4, target: 2}
  - key: ops-calm
    cycle: 2027-Q1
    team: ops
    parent: north
    title: {title}
    key_results:
      - {key: a, title: Raise on-time delivery from 88% to 96%, start: 88, target: 96}
      - {key: b, title: "{second}", start: 1, target: 2{extra}}
"""


def write(tmp_path: Path, title: str, second: str, extra: str = "") -> Path:
    path = tmp_path / "okrs.yaml"
    body = DOCUMENT.replace("{title}", title).replace("{second}", second)
    path.write_text(body.replace("{extra}", extra))
    return path


GOOD_TITLE = "Make on-time delivery something customers stop worrying about"
GOOD_KR = "Cut damage claims per 1,000 parcels from 4.0 to 2.5"


def test_clean_file_exits_zero(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_TITLE, GOOD_KR)
    result = runner.invoke(app, ["lint", str(path), "--at", "2027-02-01"])
    assert result.exit_code == 0, result.output
    assert "0 findings" in result.output


def test_warnings_exit_zero_and_name_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "Improve our marketing", GOOD_KR)
    result = runner.invoke(app, ["lint", str(path), "--at", "2027-02-01"])
    assert result.exit_code == 0
    # Line 16 is where the objective `ops-calm` starts.
    assert f"{path}:16: warning objective-vague objectives/ops-calm" in result.output


def test_an_error_finding_exits_one(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_TITLE, GOOD_KR, extra=", due: 2027-06-30")
    result = runner.invoke(app, ["lint", str(path), "--at", "2027-02-01", "--format", "json"])
    assert result.exit_code == 1
    findings = json.loads(result.output)
    assert [(f["rule"], f["severity"], f["path"]) for f in findings] == [
        ("kr-no-deadline", "error", "objectives/ops-calm/key_results/b")
    ]
    assert set(findings[0]) >= {"rule", "severity", "path", "message", "fix"}


def test_silenced_rule_is_not_reported(tmp_path: Path) -> None:
    path = write(tmp_path, "Improve our marketing", GOOD_KR)
    text = path.read_text().replace(
        "    parent: north\n",
        "    parent: north\n    coach: {ignore: [objective-vague], why: Draft for the offsite}\n",
    )
    path.write_text(text)
    result = runner.invoke(app, ["lint", str(path), "--at", "2027-02-01"])
    assert "objective-vague" not in result.output


def test_a_broken_file_exits_two_with_every_problem(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_TITLE, GOOD_KR, extra=", colour: blue")
    result = runner.invoke(app, ["lint", str(path)])
    assert result.exit_code == 2
    assert "colour" in result.output


def test_lint_runs_with_no_database_or_settings() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "DATABASE"))}
    code = (
        "import sys; from headway.cli import app; "
        "sys.argv = ['headway', 'lint', sys.argv[1], '--format', 'json', '--at', '2027-02-15']\n"
        "try:\n    app()\nexcept SystemExit as e:\n"
        "    assert not [m for m in sys.modules if m.startswith('django.db')], 'django loaded'\n"
        "    raise"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(EXAMPLE)], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert isinstance(json.loads(result.stdout), list)


def test_lint_reads_titles_in_the_organisations_language(tmp_path: Path) -> None:
    path = write(tmp_path, "Unsere Prozesse verbessern", "Wir kommunizieren die neue Strategie")
    result = runner.invoke(
        app, ["lint", str(path), "--at", "2027-02-01"], env={"HEADWAY_LANGUAGE": "de"}
    )
    assert "objective-vague objectives/ops-calm" in result.output, result.output
    assert "kr-is-task objectives/ops-calm/key_results/b" in result.output


def test_a_bad_language_setting_exits_two_with_a_message(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_TITLE, GOOD_KR)
    result = runner.invoke(
        app, ["lint", str(path), "--at", "2027-02-01"], env={"HEADWAY_LANGUAGE": "german"}
    )
    assert result.exit_code == 2
    assert "HEADWAY_LANGUAGE must be a two-letter language code" in result.output
