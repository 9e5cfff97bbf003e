"""`headway import` and `headway export`: YAML documents in and out of the database.

`register(app)` adds both commands to a typer app (the `headway` CLI registers them in
`headway.cli`).
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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

if TYPE_CHECKING:
    from headway.document.importer import ImportResult

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
            help="YAML files, read as one document; or one spreadsheet (.csv, .xlsx).",
            show_default=False,
            metavar="FILE",
        ),
    ],
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Check and count everything, then write nothing."),
    ] = False,
    yes: Annotated[
        bool,
        typer.Option("--yes", "-y", help="Spreadsheet: accept the column mapping guessed."),
    ] = False,
    mapping: Annotated[
        str | None,
        typer.Option(
            "--mapping",
            metavar="FIELD=HEADER,...",
            help="Spreadsheet: set columns (team=Abteilung,target=Soll; field= leaves one out).",
            show_default=False,
        ),
    ] = None,
    cycle: Annotated[
        str | None,
        typer.Option(
            "--cycle",
            metavar="KEY",
            help="Spreadsheet of OKRs without a cycle column: the cycle of every row.",
            show_default=False,
        ),
    ] = None,
    sheet: Annotated[
        str | None,
        typer.Option(
            "--sheet",
            metavar="NAME",
            help="XLSX: the sheet (default the first).",
            show_default=False,
        ),
    ] = None,
    kind: Annotated[
        SheetKind | None,
        typer.Option("--kind", help="Spreadsheet: okrs or kpis (default: from the headers)."),
    ] = None,
) -> None:
    """Load YAML files, or a spreadsheet, into the database: upsert by key, one transaction.

    References may name teams, people, cycles, objectives and KPIs already in the database.
    A spreadsheet (one row per key result, or per KPI measurement) has its columns guessed
    from the headers: confirm with --yes or set them with --mapping. Any problem: exits 2
    listing every one as FILE:LINE: FIELD: MESSAGE, and writes nothing.
    """
    from headway.terminal import err_console, setup_django

    setup_django()
    from headway.document.importer import import_document, load_for_import
    from headway.document.load import DocumentError
    from headway.document.spreadsheet import SPREADSHEET_SUFFIXES

    sheets = [f for f in files if f.suffix.lower() in SPREADSHEET_SUFFIXES]
    try:
        if sheets:
            if len(files) != 1:
                raise _usage("a spreadsheet is imported on its own: give one file")
            result = _import_sheet(files[0], dry_run, yes, mapping, cycle, sheet, kind)
        else:
            if mapping or cycle or sheet or kind or yes:
                raise _usage("--yes, --mapping, --cycle, --sheet and --kind are for spreadsheets")
            with err_console.status("Reading the files…"):
                doc = load_for_import(files)
            with _Bar(err_console) as bar:
                result = import_document(doc, dry_run=dry_run, progress=bar)
    except DocumentError as exc:
        for problem in exc.errors:
            typer.echo(str(problem), err=True)
        typer.echo(f"{len(exc.errors)} problem(s): nothing was written.", err=True)
        raise typer.Exit(2) from None
    _print_result(result, dry_run)


class SheetKind(StrEnum):
    okrs = "okrs"
    kpis = "kpis"


def _usage(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _print_result(result: ImportResult, dry_run: bool) -> None:
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


def _import_sheet(
    path: Path,
    dry_run: bool,
    yes: bool,
    mapping_text: str | None,
    cycle: str | None,
    sheet_name: str | None,
    kind: SheetKind | None,
) -> ImportResult:
    from headway.document.sheet_import import import_sheet, preview_sheet
    from headway.document.spreadsheet import (
        SheetError,
        guess_mapping,
        parse_mapping,
        read_sheet,
    )
    from headway.terminal import err_console

    try:
        with err_console.status("Reading the spreadsheet…"):
            sheet = read_sheet(path, sheet=sheet_name)
        mapping = guess_mapping(sheet.headers, kind.value if kind else None)
        if mapping_text:
            mapping = parse_mapping(mapping_text, sheet.headers, mapping)
    except SheetError as exc:
        raise _usage(str(exc)) from None
    table = Table(
        title=f"Columns of {path.name} ({mapping.kind}, {len(sheet.rows):,} rows)",
        title_justify="left",
    )
    for column in ("field", "column", "matched"):
        table.add_column(column)
    for label, header, how in mapping.describe(sheet):
        table.add_row(label, header, how)
    err_console.print(table)
    unused = [h for i, h in enumerate(sheet.headers) if h and i not in mapping.columns.values()
              and i not in {c for c, _at in mapping.checkin_columns}]  # fmt: skip
    if unused:
        err_console.print(f"Not imported: {', '.join(unused)}")
    if not (yes or mapping_text):
        if sys.stdin.isatty() and sys.stderr.isatty():
            if not typer.confirm("Import with these columns?", err=True):
                raise typer.Exit(1)
        else:
            err_console.print(
                "Confirm these columns with --yes, or set them with --mapping "
                f"'{mapping.as_text(sheet)}'"
            )
            raise typer.Exit(1)
    with _Bar(err_console) as bar:
        if dry_run:
            preview = preview_sheet(sheet, mapping, cycle=cycle, progress=bar)
            if not preview.ok:
                from headway.document.load import DocumentError

                raise DocumentError(preview.problems)
            assert preview.result is not None
            result = preview.result
        else:
            result = import_sheet(sheet, mapping, cycle=cycle, progress=bar)
    return result


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
    from headway.terminal import err_console, fail, setup_django

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
