"""`headway lint`: the coach on OKRs-as-code files, with no database and no settings."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from headway.coach.files import lint_document
from headway.document.commands import parse_moment
from headway.document.load import DocumentError, load_documents

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


class LintFormat(StrEnum):
    text = "text"
    json = "json"


def lint(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="YAML files, read as one document.", show_default=False, metavar="FILE"
        ),
    ],
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            metavar="DATE",
            help="Moment to judge at: an ISO date or date-time (UTC). Default: now.",
            show_default=False,
        ),
    ] = None,
    output: Annotated[LintFormat, typer.Option("--format", help="text or json.")] = LintFormat.text,
    strict: Annotated[
        bool,
        typer.Option("--strict", help="Exit 1 on warnings too (info never fails)."),
    ] = False,
) -> None:
    """Run the coach's rules on YAML files: exit 1 when any finding is an error, else 0.

    With --strict a warning fails too. Needs no database. Invalid files: exits 2 listing
    every problem as FILE:LINE: FIELD: MESSAGE.
    """
    moment = parse_moment(at)
    try:
        doc = load_documents(files)
    except DocumentError as exc:
        for problem in exc.errors:
            typer.echo(str(problem), err=True)
        raise typer.Exit(2) from None
    try:
        located = lint_document(doc, moment)
    except ValueError as exc:  # a bad HEADWAY_LANGUAGE: say so rather than guess
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if output is LintFormat.json:
        typer.echo(
            json.dumps(
                [
                    finding.as_dict() | {"file": file, "line": line}
                    for finding, file, line in located
                ],
                indent=2,
                ensure_ascii=False,
            )
        )
    else:
        console = Console(soft_wrap=True, highlight=False)
        for finding, file, line in located:
            where = f"{file}:{line}: " if file else ""
            style = SEVERITY_STYLE[finding.severity]
            console.print(
                f"{where}[{style}]{finding.severity}[/] [bold]{finding.rule}[/] {finding.path}: "
                f"{finding.message}\n    fix: {finding.fix}"
            )
        counts = {s: sum(f.severity == s for f, _, _ in located) for s in SEVERITY_STYLE}
        summary = ", ".join(f"{n} {s}{'s' if n != 1 else ''}" for s, n in counts.items())
        console.print(f"{len(located)} finding{'s' if len(located) != 1 else ''}: {summary}")
    failing = {"error", "warning"} if strict else {"error"}
    if any(finding.severity in failing for finding, _, _ in located):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the `lint` command to ``app``."""
    app.command("lint")(lint)
