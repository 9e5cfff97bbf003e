"""Render docs/cli.md from the real `--help` of every `headway` command.

Run `python -m headway.clidoc > docs/cli.md` after changing a command; a test fails when
the file and the commands disagree.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.main import get_command
from typer.testing import CliRunner

from headway.cli import app

WIDTH = "100"
HEADER = """# The `headway` command

Generated from the commands' own `--help` by `python -m headway.clidoc > docs/cli.md`;
a test keeps this page and the commands in step.
"""


def _help(args: list[str]) -> str:
    result = CliRunner().invoke(
        app, [*args, "--help"], env={"COLUMNS": WIDTH, "NO_COLOR": "1", "TERM": "dumb"}, color=False
    )
    lines = [line.rstrip() for line in result.output.strip("\n").splitlines()]
    return "\n".join(lines)


def _commands(group: Any, prefix: list[str]) -> list[list[str]]:
    """Paths of every visible command below `group` (typer vendors its own click)."""
    found = []
    for name in sorted(group.commands):
        command = group.commands[name]
        if command.hidden:
            continue
        found.append([*prefix, name])
        if hasattr(command, "commands"):
            found.extend(_commands(command, [*prefix, name]))
    return found


def render(typer_app: typer.Typer = app) -> str:
    """The whole reference as Markdown."""
    root = get_command(typer_app)
    parts = [HEADER, "```text\n$ headway --help\n" + _help([]) + "\n```\n"]
    for path in _commands(root, []):
        title = " ".join(path)
        parts.append(
            f"## `headway {title}`\n\n```text\n$ headway {title} --help\n{_help(path)}\n```\n"
        )
    return "\n".join(parts)


if __name__ == "__main__":
    print(render(), end="")
