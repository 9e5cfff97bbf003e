"""`headway sources …` and `headway connections …`: try, run and define data sources.

Wire into the CLI with `register(app)` (see headway.cli). These run as the system (an
operator at the server), like `headway measure`.
"""

from __future__ import annotations

import getpass
import json
import os
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from headway.teams.models import Person

console = Console()
err_console = Console(stderr=True, soft_wrap=True)

sources_app = typer.Typer(
    help="KPIs' data sources: try one (nothing stored) or run them now.", no_args_is_help=True
)
connections_app = typer.Typer(
    help="Connections data sources read from (secrets are stored encrypted, never shown).",
    no_args_is_help=True,
)


def _fail(message: str) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(2)


def _setup() -> None:
    from headway.terminal import setup_django

    setup_django()


@sources_app.command("test")
def try_source(
    kpi: Annotated[str, typer.Argument(help="Key of the KPI whose source to try.")],
    output: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Fetch a KPI's source once and show the rows it would store; nothing is written."""
    _setup()
    from django.core.exceptions import ValidationError

    from headway.kpis.models import Kpi
    from headway.sources.actions import SourceSpec, preview_source
    from headway.sources.models import Source

    found = Kpi.objects.filter(key=kpi).first()
    if found is None:
        raise _fail(f"No KPI with key {kpi!r}.")
    source = Source.objects.select_related("connection").filter(kpi=found).first()
    if source is None:
        raise _fail(f"{found.name} ({kpi}) has no data source.")
    spec = SourceSpec(kind=source.kind, config=source.config, schedule=source.schedule,
                      connection=source.connection.name if source.connection else "")  # fmt: skip
    try:
        preview = preview_source(by=None, kpi=found, spec=spec)
    except ValidationError as error:
        raise _fail(" ".join(error.messages)) from None
    if output == "json":
        print(json.dumps(preview.as_dict(), indent=2))
    elif preview.error:
        err_console.print(f"[bold red]failing:[/] {preview.error}")
    else:
        table = Table("at", "value", "effect", title=f"{found.name}: {len(preview.rows)} row(s)")
        for row in preview.rows[-50:]:
            table.add_row(row.at.isoformat(), f"{row.value:g}", row.effect)
        console.print(table)
        if len(preview.rows) > 50:
            console.print(f"(the last 50 of {len(preview.rows)} rows)")
        console.print(
            f"Would create {preview.created}, replace {preview.replaced}, "
            f"leave {preview.unchanged} unchanged."
        )
        for reason in preview.reasons:
            console.print(f"[yellow]data guard:[/] would be held back: {reason}")
    if preview.error:
        raise typer.Exit(1)


@sources_app.command("run")
def run_sources(
    kpis: Annotated[
        list[str] | None, typer.Argument(help="KPI keys; none: every enabled source.")
    ] = None,
) -> None:
    """Fetch sources now and store what they return (a progress bar for many)."""
    _setup()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from headway.sources.actions import fetch_now
    from headway.sources.models import Source

    sources = Source.objects.select_related("kpi").order_by("kpi__key")
    if kpis:
        sources = sources.filter(kpi__key__in=kpis)
        missing = sorted(set(kpis) - set(sources.values_list("kpi__key", flat=True)))
        if missing:
            raise _fail(f"No data source on: {', '.join(missing)}.")
    else:
        sources = sources.filter(enabled=True)
    chosen = list(sources)
    counts = {"stored": 0, "failed": 0, "held": 0}
    problems: list[tuple[str, str]] = []
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=err_console, transient=True) as progress:  # fmt: skip
        task = progress.add_task("Fetching sources", total=len(chosen))
        for source in chosen:
            result = fetch_now(source, worker="cli")
            counts[result.outcome] = counts.get(result.outcome, 0) + 1
            if result.outcome == "failed":
                problems.append((source.kpi.key, result.error))
            elif result.outcome == "held":
                problems.append((source.kpi.key, "held: " + "; ".join(result.reasons)))
            progress.advance(task)
    for key, message in problems:
        err_console.print(f"[bold]{key}[/]: {message}")
    console.print(
        f"{len(chosen)} source(s): {counts['stored']} stored, {counts['failed']} failing, "
        f"{counts['held']} held back as data incidents."
    )
    if counts["failed"]:
        raise typer.Exit(1)


@connections_app.command("list")
def list_connections() -> None:
    """Connections and where they point (never their secrets)."""
    _setup()
    from headway.sources.models import Connection

    table = Table("name", "engine", "address", "secret", "sources")
    for c in Connection.objects.order_by("name"):
        table.add_row(c.name, c.engine, c.address(), "set" if c.has_secret else "none",
                      str(c.sources.count()))  # fmt: skip
    console.print(table)


@connections_app.command("add")
def add_connection(
    name: Annotated[str, typer.Argument(help="The name sources use (letters, digits, - _).")],
    engine: Annotated[str, typer.Option(help="postgresql, mysql, sqlite or http.")],
    host: Annotated[str, typer.Option(help="Database server host.")] = "",
    port: Annotated[int | None, typer.Option(help="Database server port.")] = None,
    database: Annotated[str, typer.Option(help="Database name, or the SQLite file.")] = "",
    user: Annotated[str, typer.Option(help="Database user (give it read rights only).")] = "",
    base_url: Annotated[str, typer.Option("--base-url", help="HTTP: the base URL.")] = "",
    secret: Annotated[
        bool,
        typer.Option(
            "--secret",
            help="Ask for the password (or 'Name: value' header lines), or read "
            "HEADWAY_CONNECTION_SECRET; it is stored encrypted.",
        ),
    ] = False,
) -> None:
    """Define a connection (as the first admin of the organisation)."""
    _setup()
    from django.core.exceptions import ValidationError

    from headway.sources.actions import create_connection

    password = headers = None
    if secret:
        value = os.environ.get("HEADWAY_CONNECTION_SECRET") or getpass.getpass("Secret: ")
        if engine == "http":
            headers = value.replace("\\n", "\n")
        else:
            password = value
    try:
        connection = create_connection(
            by=_operator(), name=name, engine=engine, host=host, port=port,
            database=database, user=user, base_url=base_url, password=password,
            headers=headers,
        )  # fmt: skip
    except ValidationError as error:
        raise _fail(
            " ".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items())
        ) from None
    console.print(f"Connection {connection.name} ({connection.engine}) saved.")


@connections_app.command("remove")
def remove_connection(name: Annotated[str, typer.Argument(help="The connection's name.")]) -> None:
    """Delete a connection no source uses."""
    _setup()
    from django.core.exceptions import ValidationError

    from headway.sources.actions import delete_connection
    from headway.sources.models import Connection

    found = Connection.objects.filter(name=name).first()
    if found is None:
        raise _fail(f"No connection named {name!r}.")
    try:
        delete_connection(by=_operator(), connection=found)
    except ValidationError as error:
        raise _fail(" ".join(error.messages)) from None
    console.print(f"Connection {name} removed.")


def _operator() -> Person:
    """The person the CLI acts as for admin-only actions: the first active superuser."""
    from headway.teams.models import Person

    admin = Person.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
    if admin is None:
        raise _fail("No administrator yet: run `headway createadmin` first.")
    return admin


def register(app: typer.Typer) -> None:
    app.add_typer(sources_app, name="sources")
    app.add_typer(connections_app, name="connections")
