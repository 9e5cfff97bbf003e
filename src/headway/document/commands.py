"""`headway score` and `headway schema`: OKRs as code, with no database and no settings.

`register(app)` adds both commands to a typer app (the `headway` CLI registers them in
`headway.cli`). Nothing here imports Django.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime, time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from headway.document.evaluate import CycleSelectionError, score_document
from headway.document.load import DocumentError, load_documents
from headway.document.schema import Document, document_json_schema_text
from headway.okrs.scoring import grade_band

__all__ = ["OutputFormat", "parse_moment", "register", "render_table", "schema", "score"]

BAR_WIDTH = 20
BAND_STYLE = {"red": "red", "yellow": "yellow", "green": "green"}
STATUS_STYLE = {
    "achieved": "bold green",
    "on_track": "green",
    "at_risk": "yellow",
    "off_track": "red",
    "no_data": "dim",
}
HEALTH_STYLE = {
    "healthy": "green",
    "warning": "yellow",
    "critical": "bold red",
    "stale": "magenta",
    "no_data": "dim",
}
#: Arrows say better or worse in the KPI's own sense (a falling cost improves: ↑).
TREND_ARROW = {"improving": ("↑", "green"), "deteriorating": ("↓", "red"), "stable": ("→", "")}


class OutputFormat(StrEnum):
    json = "json"
    table = "table"


def parse_moment(text: str | None) -> datetime:
    """``--at``: an ISO date (00:00 UTC) or date-time (UTC when no zone); None → now."""
    if text is None:
        return datetime.now(UTC)
    value = text.strip()
    try:
        if "T" in value or " " in value:
            moment = datetime.fromisoformat(value)
            return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
        return datetime.combine(date.fromisoformat(value), time(), tzinfo=UTC)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not an ISO 8601 date (2027-02-01) or date-time (2027-02-01T09:30)"
        ) from None


def _fail(lines: list[str]) -> typer.Exit:
    for line in lines:
        typer.echo(line, err=True)
    return typer.Exit(2)


def score(
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
            help="Moment to score at: an ISO date or date-time (UTC). Default: now.",
            show_default=False,
        ),
    ] = None,
    cycle: Annotated[
        str | None,
        typer.Option(
            "--cycle",
            metavar="KEY",
            help="Cycle key. Default: the cycle containing --at (the shortest if several).",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        OutputFormat, typer.Option("--format", help="table (readable) or json.")
    ] = OutputFormat.table,
) -> None:
    """Score key results, objectives and teams, and judge KPI health, from YAML files.

    Needs no database. Invalid files: exits 2 listing every problem as FILE:LINE: FIELD: MESSAGE.
    """
    moment = parse_moment(at)
    try:
        doc = load_documents(files)
        result = score_document(doc, moment, cycle)
    except DocumentError as exc:
        raise _fail([str(p) for p in exc.errors]) from None
    except CycleSelectionError as exc:
        raise _fail([f"error: {exc}"]) from None
    if output is OutputFormat.json:
        typer.echo(json.dumps(result, indent=2, sort_keys=True, ensure_ascii=False))
        return
    render_table(doc, result, Console(soft_wrap=True, highlight=False))


def schema() -> None:
    """Print the JSON Schema of the YAML format (for editors and CI validators)."""
    sys.stdout.write(document_json_schema_text())


def register(app: typer.Typer) -> None:
    """Add the `score` and `schema` commands to ``app``."""
    app.command("score")(score)
    app.command("schema")(schema)


# --------------------------------------------------------------------------- table


def _bar(score: float, band: str) -> Text:
    filled = round(max(0.0, min(1.0, score)) * BAR_WIDTH)
    bar = Text("█" * filled, style=BAND_STYLE.get(band, ""))
    bar.append("░" * (BAR_WIDTH - filled), style="dim")
    return bar


def _number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    # "96%" but "4.38 EUR": a unit that starts with a letter or digit gets a space.
    gap = " " if unit[:1].isalnum() else ""
    return f"{value:.6g}{gap}{unit}"


def _score_line(indent: str, label: str, entry: dict[str, Any], band: str) -> Text:
    line = Text(indent)
    line.append_text(_bar(entry["score"], band))
    line.append(f" {entry['score']:.1f} ", style=f"bold {BAND_STYLE.get(band, '')}")
    line.append(label)
    line.append("  ")
    line.append(entry["status"].replace("_", " "), style=STATUS_STYLE.get(entry["status"], ""))
    forecast = entry.get("forecast")
    line.append("  forecast ")
    line.append("—" if forecast is None else f"{forecast:.1f}", style="italic")
    return line


def render_table(doc: Document, result: dict[str, Any], console: Console) -> None:
    """The readable view of :func:`score_document`'s result: teams, objectives, KPIs."""
    console.print(
        Text.assemble(
            ("Cycle ", "bold"),
            (result["cycle"], "bold cyan"),
            f"  at {result['at']}",
        )
    )
    objectives = {o.key: o for o in doc.objectives}
    for team in doc.teams:
        team_entry = result["teams"].get(team.key)
        if team_entry is None:
            continue
        band = grade_band(team_entry["score"])
        console.print()
        header = Text(f"{team.name} ", style="bold")
        header.append(f"({team.key})", style="dim")
        header.append(f"  score {team_entry['score']:.1f}", style=f"bold {BAND_STYLE[band]}")
        header.append(f"  {team_entry['objectives']} objective(s)", style="dim")
        console.print(header)
        for key, entry in result["objectives"].items():
            if entry["team"] != team.key:
                continue
            objective = objectives[key]
            console.print(_score_line("  ", objective.title, entry, entry["grade_band"]))
            for kr in objective.key_results:
                kr_entry = result["key_results"][f"{key}/{kr.key}"]
                line = _score_line("      ", kr.title, kr_entry, grade_band(kr_entry["score"]))
                if kr_entry["current"] is not None:
                    target = "" if kr.target is None else f" → {_number(kr.target, kr.unit)}"
                    line.append(f"  ({_number(kr_entry['current'], kr.unit)}{target})", "dim")
                if kr_entry["confidence"] is not None:
                    line.append(f"  confidence {kr_entry['confidence']}/10", style="dim")
                console.print(line)
    if not result["teams"]:
        console.print("\nNo objectives in this cycle.")
    if not result["kpis"]:
        return
    console.print()
    table = Table(title="KPIs", title_justify="left", title_style="bold")
    table.add_column("KPI")
    table.add_column("team")
    table.add_column("latest", justify="right")
    table.add_column("target", justify="right")
    table.add_column("health")
    table.add_column("trend")
    for kpi in doc.kpis:
        entry = result["kpis"][kpi.key]
        latest = entry["latest"]
        arrow, arrow_style = TREND_ARROW.get(entry["trend"], ("?", ""))
        table.add_row(
            kpi.name,
            kpi.team,
            "—" if latest is None else _number(latest["value"], kpi.unit),
            _number(kpi.target, kpi.unit),
            Text(entry["health"].replace("_", " "), style=HEALTH_STYLE.get(entry["health"], "")),
            Text(f"{arrow} {entry['trend']}", style=arrow_style),
        )
    console.print(table)
