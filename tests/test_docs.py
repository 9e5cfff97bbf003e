"""Documentation that tests keep honest: every setting and command is documented."""

from __future__ import annotations

import re
from pathlib import Path

from typer.main import get_command

from headway.cli import app

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def environment_variables_read_by_settings() -> set[str]:
    source = (ROOT / "src" / "headway" / "settings.py").read_text()
    names = set(
        re.findall(
            r"""(?:environ\.get|environ\[|env_bool|env_list)\(\s*["']([A-Z_]+)["']""", source
        )
    )
    names |= set(re.findall(r"""os\.environ\[["']([A-Z_]+)["']\]""", source))
    return names


def test_every_environment_variable_is_in_the_readme() -> None:
    names = environment_variables_read_by_settings()
    assert "DATABASE_URL" in names  # the scan really reads settings.py
    missing = sorted(name for name in names if f"`{name}`" not in README)
    assert not missing, f"undocumented settings: {missing}"


def test_every_cli_command_is_in_the_readme() -> None:
    commands = sorted(get_command(app).commands)  # type: ignore[attr-defined]
    assert "serve" in commands
    missing = [name for name in commands if f"`headway {name}" not in README]
    assert not missing, f"undocumented commands: {missing}"


def test_readme_starts_with_the_two_commands() -> None:
    head = README[: README.index("## Configuration")]
    assert "make run" in head
    assert "make test" in head
    assert "demo@headway.local" in head


def test_cli_reference_matches_the_commands() -> None:
    from headway.clidoc import render

    current = (ROOT / "docs" / "cli.md").read_text()
    assert current == render(), "docs/cli.md is stale: run `python -m headway.clidoc > docs/cli.md`"


def test_every_notification_kind_is_documented() -> None:
    from headway.notify.kinds import EventKind

    text = (ROOT / "docs" / "notifications.md").read_text()
    missing = [kind for kind in EventKind.values if f"| `{kind}` |" not in text]
    assert not missing, f"undocumented notification kinds: {missing}"


def test_the_notification_kinds_table_equals_the_code() -> None:
    """docs/notifications.md's table of events lists exactly the kinds, in the code's order."""
    from headway.notify.kinds import EventKind

    text = (ROOT / "docs" / "notifications.md").read_text()
    events = text[text.index("## Events") :]
    table = events[: events.index("\n\n", events.index("| kind |"))]
    documented = re.findall(r"^\| `([a-z0-9_]+)` \|", table, flags=re.MULTILINE)
    assert documented == list(EventKind.values)


def test_every_headway_setting_is_declared_in_settings_and_documented() -> None:
    """Code reads HEADWAY_* only from settings.py, which declares each; the README has each."""
    source_dir = ROOT / "src" / "headway"
    settings_text = (source_dir / "settings.py").read_text()
    declared = set(re.findall(r"^(HEADWAY_[A-Z0-9_]+)\s*=", settings_text, flags=re.MULTILINE))
    read: set[str] = set()
    for path in source_dir.rglob("*.py"):
        text = path.read_text()
        read |= set(re.findall(r"""getattr\(\s*settings,\s*["'](HEADWAY_[A-Z0-9_]+)["']""", text))
        read |= set(re.findall(r"\bsettings\.(HEADWAY_[A-Z0-9_]+)", text))
    assert "HEADWAY_SOURCE_TIMEOUT" in read  # the scan really reads the code
    assert sorted(read - declared) == []
    undocumented = sorted(name for name in declared if f"`{name}`" not in README)
    assert undocumented == []


def test_the_readme_names_only_files_a_fresh_clone_has() -> None:
    """Every file the README links or names in code is tracked by git (a fresh clone has
    it), except PRODUCT.md, which the README itself says a clone does not have."""
    import subprocess

    tracked = set(
        subprocess.run(
            ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.split()
    )
    folders = {str(Path(name).parent) for name in tracked} | {
        str(p) for name in tracked for p in Path(name).parents
    }
    named = set(re.findall(r"\]\(([^)#\s]+)\)", README))
    named |= set(re.findall(r"`([\w./-]+\.(?:md|py|txt|lock|json|toml|yaml|yml|csv|png))`", README))
    assert "docs/search.md" in named  # the scan really reads the README
    absent = sorted(
        name
        for name in named
        if "://" not in name and name.rstrip("/") not in tracked | folders and name != "PRODUCT.md"
    )
    assert absent == []
    assert "a fresh clone does not have it" in README


def test_the_readme_says_what_a_fresh_machine_needs() -> None:
    needs = README[README.index("## Two commands") : README.index("## What it looks like")]
    for thing in ("Python 3.13", "Node.js with npm", "npm ci", "Debian's Chromium", "apt-get"):
        assert thing in needs, thing
