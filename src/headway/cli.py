"""The `headway` command: run, administer and script Headway."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

# demo_large imports no Django, so database-free commands stay free of it.
from headway.demo_large import DemoSize
from headway.terminal import console, err_console, fail, setup_django

app = typer.Typer(
    name="headway",
    help="Headway: OKRs and KPIs side by side. Run `headway COMMAND --help` for details.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Web worker processes (gunicorn).", min=1)] = 2,
    worker: Annotated[
        bool,
        typer.Option(
            "--worker/--no-worker",
            help="Run the notification worker beside gunicorn (restarted if it dies); "
            "--no-worker when `headway worker` runs separately.",
        ),
    ] = True,
) -> None:
    """Serve the web app and API with gunicorn (static files included) and the worker.

    The worker delivers notifications and runs the periodic jobs; without it nothing is
    sent. Several servers may share one PostgreSQL database: each notification still goes
    out once.
    """
    setup_django()
    from headway.serving import collect_static
    from headway.supervise import serve as supervise

    collect_static()
    console.print(f"Headway is serving on [bold]http://{host}:{port}[/]")
    if not worker:
        console.print("No worker: run `headway worker` beside it, or nothing is sent.")
    raise typer.Exit(supervise(host, port, workers, with_worker=worker))


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (safe to run at every start)."""
    setup_django()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=1)


@app.command()
def demo(
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Load only when the database has no objectives.")
    ] = False,
    size: Annotated[
        DemoSize,
        typer.Option(help="small: Larkspur Health; large: 10,000 people for benchmarks."),
    ] = DemoSize.small,
    seed: Annotated[int, typer.Option(help="Seed of the large demo (same seed, same data).")] = 1,
) -> None:
    """Load a demo organisation.

    The small demo (Larkspur Health) is idempotent: running it again brings it back to its
    planted state without duplicating anything. The large one (Meridian, 10,000 people,
    1,000 teams, 1,000 KPIs with three years of daily measurements) refuses to load twice.
    """
    setup_django()
    from headway.demo import load_demo
    from headway.okrs.models import Objective

    if if_empty and Objective.objects.exists():
        console.print("The database already has data; demo not loaded.")
        return
    if size is DemoSize.large:
        from headway.demo_large import run_large_demo

        run_large_demo(seed=seed, console=console)
        return
    with console.status("Loading the demo organisation…"):
        summary = load_demo()
    console.print(f"Demo loaded: {summary}")
    console.print("Sign in as [bold]demo@headway.local[/] with password [bold]headway-demo[/]")


@app.command()
def createadmin(
    email: Annotated[str, typer.Option(prompt=True, help="The administrator's e-mail.")],
    name: Annotated[str, typer.Option(prompt=True, help="The administrator's name.")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            confirmation_prompt=True,
            hide_input=True,
            envvar="HEADWAY_ADMIN_PASSWORD",
            help="Password (or set HEADWAY_ADMIN_PASSWORD).",
        ),
    ],
) -> None:
    """Create an administrator who may manage people, teams and cycles."""
    setup_django()
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    from headway.teams.models import Person

    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise fail(f"{email!r} is not a valid e-mail address.") from None
    if Person.objects.filter(email=email).exists():
        raise fail(f"{email} already exists.")
    try:
        validate_password(password, Person(email=email, name=name))
    except ValidationError as exc:
        raise fail(" ".join(exc.messages)) from None
    Person.objects.create_superuser(email, password, name=name)
    console.print(f"Administrator {email} created.")


@app.command()
def measure(
    kpi: Annotated[str | None, typer.Argument(help="Key of the KPI.", show_default=False)] = None,
    value: Annotated[
        str | None, typer.Argument(help="The measured value.", show_default=False)
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(help="Moment: ISO date or date-time (UTC when no zone). Default: now."),
    ] = None,
    note: Annotated[str, typer.Option(help="What explains this value.")] = "",
    csv_file: Annotated[
        Path | None,
        typer.Option(
            "--csv",
            help="A CSV file with the header kpi,at,value[,note] instead of KPI VALUE.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    source: Annotated[str, typer.Option(help="Where the numbers come from.")] = "cli",
    as_person: Annotated[
        str | None,
        typer.Option("--as", help="Push as this person (e-mail); their rights apply."),
    ] = None,
) -> None:
    """Push KPI measurements: one value (KPI VALUE), or a whole CSV file (--csv).

    All or nothing: a file with one bad row writes nothing and lists every bad row with
    its line. Pushing the same KPI and moment again replaces the value (the old one is
    kept in history); pushing an unchanged value changes nothing.
    """
    if (csv_file is None) == (kpi is None):
        raise fail("Give either KPI VALUE or --csv FILE.")
    if kpi is not None and value is None:
        raise fail("Give the VALUE to push to the KPI.")
    setup_django()
    from rich.progress import open as progress_open

    from headway.kpis.actions import IngestError, MeasurementRow
    from headway.kpis.pushes import PushFormatError, csv_rows, push_rows
    from headway.teams.models import Person

    by = None
    if as_person is not None:
        by = Person.objects.filter(email=as_person.strip().lower(), is_active=True).first()
        if by is None:
            raise fail(f"No active person with the e-mail {as_person!r}.")
    try:
        if csv_file is not None:
            with progress_open(
                csv_file, "r", encoding="utf-8-sig", newline="", description="Reading"
            ) as fh:
                rows, problems = csv_rows(fh, None, what=f"file {csv_file}")
        else:
            from django.utils import timezone

            moment = at if at is not None else timezone.now()
            rows = [MeasurementRow(kpi=kpi or "", at=moment, value=value, note=note)]
            problems = []
        with console.status(f"Storing {len(rows):,} measurement{'s' if len(rows) != 1 else ''}…"):
            result = push_rows(rows, problems, by=by, source=source)
    except PushFormatError as exc:
        raise fail(str(exc)) from None
    except IngestError as exc:
        for line, message in exc.rows:
            err_console.print(f"line {line}: {message}" if csv_file else message)
        raise fail("Nothing was written.") from None
    except UnicodeDecodeError:
        raise fail(f"{csv_file} is not UTF-8 text.") from None
    console.print(
        f"{result.created:,} created, {result.replaced:,} replaced, {result.unchanged:,} "
        f"unchanged ({', '.join(result.kpis)})."
    )


@app.command("backup")
def backup_command(
    file: Annotated[Path, typer.Argument(help="Where to write the backup.", dir_okay=False)],
) -> None:
    """Write a consistent backup of the whole database to FILE while Headway keeps running.

    SQLite uses its online backup; PostgreSQL uses pg_dump (custom format).
    """
    setup_django()
    from headway.backup import BackupError, backup

    try:
        with console.status(f"Backing up to {file}…"):
            backup(file)
    except BackupError as exc:
        raise fail(str(exc)) from None
    console.print(f"Backup written to {file} ({file.stat().st_size:,} bytes).")


@app.command("rescore")
def rescore_command(
    cycle: Annotated[str | None, typer.Option("--cycle", help="Only this cycle (its key).")] = None,
) -> None:
    """Recompute the stored scores of every objective and key result from their history.

    Headway keeps them in step by itself; run this after editing the database by hand.
    A closed cycle is scored as it stood when it closed.
    """
    setup_django()
    from rich.progress import Progress

    from headway.okrs.models import Cycle
    from headway.okrs.stored import rescore_cycle

    cycles = list(Cycle.objects.order_by("start", "key"))
    if cycle is not None:
        cycles = [c for c in cycles if c.key == cycle]
        if not cycles:
            raise fail(f"No cycle {cycle!r}.")
    changed = 0
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("Rescoring cycles", total=len(cycles))
        for one in cycles:
            changed += rescore_cycle(one)
            progress.advance(task)
    console.print(f"Rescored {len(cycles)} cycle(s): {changed:,} stored score(s) corrected.")


@app.command("restore")
def restore_command(
    file: Annotated[Path, typer.Argument(help="A file written by `headway backup`.")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace a database that already holds data.")
    ] = False,
) -> None:
    """Replace the database with a backup made by `headway backup` (same engine).

    Refuses to overwrite a database that holds data unless --force is given.
    """
    setup_django()
    from headway.backup import BackupError, restore

    try:
        with console.status(f"Restoring {file}…"):
            restore(file, force=force)
    except BackupError as exc:
        raise fail(str(exc)) from None
    except KeyboardInterrupt:
        # pg_restore runs in one transaction and was stopped: nothing of it was committed.
        raise fail(
            "Restore interrupted: pg_restore was stopped, and as it restores in one "
            "transaction nothing of it was kept.",
            130,
        ) from None
    console.print(f"Database restored from {file}.")


def _register_command_groups() -> None:
    """Commands that live beside their domain code, each registering itself."""
    from headway.api.commands import register as register_token_commands
    from headway.coach.commands import register as register_coach_commands
    from headway.document.commands import register as register_document_commands
    from headway.document.transfer_commands import register as register_transfer_commands
    from headway.notify.commands import register as register_notify_commands
    from headway.reports.commands import register as register_report_commands
    from headway.sources.commands import register as register_source_commands

    register_document_commands(app)
    register_transfer_commands(app)
    register_token_commands(app)
    register_coach_commands(app)
    register_notify_commands(app)
    register_source_commands(app)
    register_report_commands(app)


_register_command_groups()


def main() -> None:
    """Entry point of the console script."""
    app()


if __name__ == "__main__":
    main()
