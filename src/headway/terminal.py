"""What every `headway` command shares: the consoles, Django on demand and a clear failure.

Its own module so that `headway.cli` (which registers the command modules) and the command
modules (which use these) do not import each other.
"""

from __future__ import annotations

import os

import typer
from rich.console import Console

console = Console()
# soft_wrap: error lines stay whole, so they can be grepped and copied.
err_console = Console(stderr=True, soft_wrap=True)


def setup_django() -> None:
    """Configure Django on first use, so database-free commands never import it."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "headway.settings")
    import django

    django.setup()


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a clear error on stderr and return the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)
