"""`headway import` and `headway export`: YAML documents in and out of the database.

`register(app)` adds both commands to a typer app (the `headway` CLI registers them in
`headway.cli`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

__all__ = ["export_command", "import_command", "register"]


class _Bar:
    """A rich progress bar with one task per phase, fed by (phase, done, total) calls."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            TextColumn("{task.description:<16}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, phase: str, done: int, total: int) -> None:
        task = self.tasks.get(phase)
        if task is None:
            task = self.tasks[phase] = self.progress.add_task(phase, total=max(total, 1))
        self.progress.update(task, completed=done if total else 1, total=max(total, 1))

    def __enter__(self) -> _Bar:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


def import_command(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="YAML files, read as one document.", show_default=False, metavar="FILE"
        ),
    ],
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Check and count everything, then write nothing."),
    ] = False,
) -> None:
    """Load YAML files into the database, upserting by key, in one transaction.

    References may name teams, people, cycles, objectives and KPIs already in the database.
    Any problem: exits 2 listing every one as FILE:LINE: FIELD: MESSAGE, and writes nothing.
    """
    from headway.cli import err_console, setup_django

    setup_django()
    from headway.document.importer import import_document, load_for_import
    from headway.document.load import DocumentError

    try:
        with err_console.status("Reading the files…"):
            doc = load_for_import(files)
        with _Bar(err_console) as bar:
            result = import_document(doc, dry_run=dry_run, progress=bar)
    except DocumentError as exc:
        for problem in exc.errors:
            typer.echo(str(problem), err=True)
        raise typer.Exit(2) from None
    table = Table(
        title="Dry run: nothing was written" if dry_run else "Imported",
        title_justify="left",
    )
    for column in ("", "created", "updated", "unchanged", "deleted"):
        table.add_column(column, justify="left" if not column else "right")
    labels = {"key_results": "key results", "checkins": "check-ins"}
    for kind, c in result.counts.items():
        numbers = (c.created, c.updated, c.unchanged, c.deleted)
        table.add_row(labels.get(kind, kind), *(str(n) for n in numbers))
    Console(highlight=False).print(table)


def export_command(
    cycle: Annotated[
        str | None,
        typer.Option(
            "--cycle",
            metavar="KEY",
            help="Only this cycle's objectives (and those they align to); "
            "teams, people, cycles and KPIs are always written whole.",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write to FILE instead of standard output.",
            show_default=False,
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Write the database as a YAML document (the format `import`, `lint` and `score` read).

    Deterministic: the same database gives the same text. Dates in UTC.
    """
    from headway.cli import err_console, fail, setup_django

    setup_django()
    from headway.document.exporter import ExportError, write_export

    try:
        if output is None:
            write_export(sys.stdout, cycle=cycle)
            return
        # Written beside the target and moved over it: a failed export leaves no half file.
        partial = output.with_name(output.name + ".partial")
        try:
            with (
                partial.open("w", encoding="utf-8", newline="\n") as out,
                _Bar(err_console) as bar,
            ):
                summary = write_export(out, cycle=cycle, progress=bar)
            partial.replace(output)
        finally:
            partial.unlink(missing_ok=True)
    except ExportError as exc:
        raise fail(str(exc)) from None
    err_console.print(f"Exported {summary} to {output}.")


def register(app: typer.Typer) -> None:
    """Add the `import` and `export` commands to ``app``."""
    app.command("import")(import_command)
    app.command("export")(export_command)
