"""`headway report …`: the exports of the web pages and the API, from the command line.

`register(app)` adds the `report` group to a typer app (the `headway` CLI does it).
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from headway.okrs.models import Cycle
    from headway.reports.tables import Table
    from headway.teams.access import Access
    from headway.teams.models import Team

__all__ = ["register", "report_app"]

report_app = typer.Typer(
    help="Exports: CSV and XLSX of the tree, the review, a team, the KPI board and a KPI's "
    "series, and the PDF review pack.",
    no_args_is_help=True,
)


class Format(StrEnum):
    csv = "csv"
    xlsx = "xlsx"
    pdf = "pdf"


CycleOption = Annotated[
    str | None,
    typer.Option(
        "--cycle", metavar="KEY", help="Cycle key. Default: the active cycle.", show_default=False
    ),
]
TeamOption = Annotated[
    str | None,
    typer.Option(
        "--team", metavar="KEY", help="Only this team and those below it.", show_default=False
    ),
]
AsOption = Annotated[
    str | None,
    typer.Option(
        "--as",
        metavar="EMAIL",
        help="Export what this person may see (default: everything, private objectives too).",
        show_default=False,
    ),
]
OutputOption = Annotated[
    Path | None,
    typer.Option(
        "--output", "-o", metavar="FILE", help="Write to FILE (needed for xlsx and pdf).",
        show_default=False, dir_okay=False,
    ),
]  # fmt: skip
FormatOption = Annotated[
    Format | None,
    typer.Option("--format", help="csv, xlsx or pdf. Default: from the file's suffix, else csv."),
]


def _setup() -> None:
    from headway.terminal import setup_django

    setup_django()


def _cycle(key: str | None) -> Cycle:
    from headway.okrs.models import Cycle
    from headway.terminal import fail

    if key is not None:
        cycle = Cycle.objects.filter(key=key).first()
        if cycle is None:
            known = ", ".join(Cycle.objects.order_by("-start").values_list("key", flat=True))
            raise fail(f"no cycle {key!r} (cycles: {known or 'none'})")
        return cycle
    cycle = Cycle.objects.current() or Cycle.objects.order_by("-start").first()
    if cycle is None:
        raise fail("there is no cycle yet")
    return cycle


def _team(key: str | None) -> Team | None:
    from headway.teams.models import Team
    from headway.terminal import fail

    if key is None:
        return None
    team = Team.objects.filter(key=key).first()
    if team is None:
        raise fail(f"no team {key!r}")
    return team


def _access(email: str | None) -> Access:
    from headway.reports.tables import everyone
    from headway.teams.access import Access
    from headway.teams.models import Person
    from headway.terminal import fail

    if email is None:
        return everyone()
    person = Person.objects.filter(email=email.strip().lower()).first()
    if person is None:
        raise fail(f"no person {email!r}")
    return Access.for_person(person)


def _format(chosen: Format | None, output: Path | None, allowed: tuple[Format, ...]) -> Format:
    from headway.terminal import fail

    found = chosen
    if found is None and output is not None:
        suffix = output.suffix.lower().lstrip(".")
        found = Format(suffix) if suffix in Format.__members__ else None
    found = found or Format.csv
    if found not in allowed:
        raise fail(f"this report is {' or '.join(a.value for a in allowed)}, not {found.value}")
    if found is not Format.csv and output is None:
        raise fail(f"{found.value} is a binary file: give --output FILE")
    return found


def _write(tables: list[Table], fmt: Format, output: Path | None) -> None:
    from headway.document.transfer_commands import _Bar
    from headway.reports.writers import write_csv, write_xlsx
    from headway.terminal import err_console

    if output is None:
        write_csv(tables[0], sys.stdout)
        return
    partial = output.with_name(output.name + ".partial")
    try:
        with _Bar(err_console) as bar:
            if fmt is Format.xlsx:
                rows = write_xlsx(tables, partial, progress=bar)
            else:
                with partial.open("w", encoding="utf-8", newline="") as out:
                    rows = write_csv(tables[0], out, progress=bar)
        partial.replace(output)
    finally:
        partial.unlink(missing_ok=True)
    err_console.print(f"Wrote {rows:,} rows to {output}.")


def _pack(cycle: Cycle, access: Access, team: Team | None, output: Path | None) -> None:
    from headway.reports.pack import render_pack_pdf
    from headway.terminal import err_console

    assert output is not None
    with err_console.status("Laying out the review pack…"):
        pdf = render_pack_pdf(cycle, access, team)
    partial = output.with_name(output.name + ".partial")
    partial.write_bytes(pdf)
    partial.replace(output)
    err_console.print(f"Wrote the review pack ({len(pdf) // 1024:,} KB) to {output}.")


@report_app.command("tree")
def tree(
    cycle: CycleOption = None,
    team: TeamOption = None,
    as_: AsOption = None,
    fmt: FormatOption = None,
    output: OutputOption = None,
) -> None:
    """Objectives and key results of a cycle with scores, status and owners (one row per KR)."""
    _setup()
    from headway.reports.tables import tree_table

    chosen = _format(fmt, output, (Format.csv, Format.xlsx))
    _write([tree_table(_cycle(cycle), _access(as_), _team(team))], chosen, output)


@report_app.command("review")
def review(
    cycle: CycleOption = None,
    team: TeamOption = None,
    as_: AsOption = None,
    fmt: FormatOption = None,
    output: OutputOption = None,
) -> None:
    """A cycle's grades, bands and reflections; --format pdf gives the review pack."""
    _setup()
    from headway.reports.tables import review_table

    chosen = _format(fmt, output, (Format.csv, Format.xlsx, Format.pdf))
    the_cycle, access, the_team = _cycle(cycle), _access(as_), _team(team)
    if chosen is Format.pdf:
        _pack(the_cycle, access, the_team, output)
        return
    tables = [review_table(the_cycle, access, the_team)]
    if chosen is Format.xlsx:
        from headway.reports.tables import tree_table

        tables.append(tree_table(the_cycle, access, the_team))
    _write(tables, chosen, output)


@report_app.command("team")
def team_report(
    team: Annotated[str, typer.Argument(metavar="TEAM", help="Team key.")],
    cycle: CycleOption = None,
    as_: AsOption = None,
    fmt: FormatOption = None,
    output: OutputOption = None,
) -> None:
    """A team and those below it: OKRs in the cycle (XLSX: and KPIs); --format pdf: its pack."""
    _setup()
    from headway.reports.tables import team_tables

    chosen = _format(fmt, output, (Format.csv, Format.xlsx, Format.pdf))
    the_team = _team(team)
    assert the_team is not None
    the_cycle, access = _cycle(cycle), _access(as_)
    if chosen is Format.pdf:
        _pack(the_cycle, access, the_team, output)
        return
    tables = team_tables(the_team, the_cycle, access)
    _write(tables if chosen is Format.xlsx else tables[:1], chosen, output)


@report_app.command("kpis")
def kpis(
    team: TeamOption = None,
    fmt: FormatOption = None,
    output: OutputOption = None,
) -> None:
    """The KPI board: every card with its latest value, health and trend."""
    _setup()
    from headway.reports.tables import kpi_board_table

    chosen = _format(fmt, output, (Format.csv, Format.xlsx))
    _write([kpi_board_table(_team(team))], chosen, output)


@report_app.command("kpi")
def kpi(
    key: Annotated[str, typer.Argument(metavar="KPI", help="KPI key.")],
    fmt: FormatOption = None,
    output: OutputOption = None,
) -> None:
    """A KPI's series: every measurement (reads back with `headway import`)."""
    _setup()
    from headway.kpis.models import Kpi
    from headway.reports.tables import kpi_series_table
    from headway.terminal import fail

    chosen = _format(fmt, output, (Format.csv, Format.xlsx))
    found = Kpi.objects.filter(key=key).first()
    if found is None:
        raise fail(f"no KPI {key!r}")
    _write([kpi_series_table(found)], chosen, output)


@report_app.command("pack")
def pack(
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", metavar="FILE", help="The PDF file to write.", dir_okay=False
        ),
    ],
    cycle: CycleOption = None,
    team: TeamOption = None,
    as_: AsOption = None,
) -> None:
    """The PDF review pack of a cycle (or a team): grades, charts, reflections, coach."""
    _setup()
    _pack(_cycle(cycle), _access(as_), _team(team), output)


def register(app: typer.Typer) -> None:
    """Add the `report` command group to ``app``."""
    app.add_typer(report_app, name="report")
