"""`headway worker`: deliver notifications, run the periodic jobs and the queued tasks.

Wire into the CLI with `register(app)` (see headway.cli).
"""

from __future__ import annotations

import signal
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add the `worker` command to the `headway` CLI."""

    @app.command()
    def worker(
        once: Annotated[
            bool, typer.Option("--once", help="Do everything that is due now, then exit.")
        ] = False,
        interval: Annotated[
            float, typer.Option(help="Seconds to wait between two passes.", min=0.0)
        ] = 5.0,
        batch: Annotated[
            int, typer.Option(help="Deliveries claimed at a time.", min=1, max=10_000)
        ] = 100,
        lease: Annotated[
            float,
            typer.Option(
                help="Seconds a claim holds; a killed worker's claims are retried after it.",
                min=1.0,
            ),
        ] = 120.0,
        periodic_every: Annotated[
            float,
            typer.Option(
                "--periodic-every",
                help="Seconds between runs of the periodic jobs (overdue, stale, "
                "cycle ending, weekly digest).",
                min=0.0,
            ),
        ] = 300.0,
        periodic: Annotated[
            bool, typer.Option(help="Run the periodic jobs (switch off on extra workers).")
        ] = True,
        sources: Annotated[
            bool, typer.Option(help="Fetch the KPIs' data sources that are due.")
        ] = True,
        trackers: Annotated[
            bool, typer.Option(help="Sync the initiatives that follow a tracker issue.")
        ] = True,
    ) -> None:
        """Deliver notifications (inbox, e-mail, webhooks), run the periodic jobs, fetch sources.

        Run one or more next to the web processes; they share the work safely.
        """
        from headway.terminal import console, setup_django

        setup_django()
        from headway.notify.worker import NotifyWorker, WorkerOptions

        runner = NotifyWorker(
            WorkerOptions(
                once=once,
                interval=interval,
                batch=batch,
                lease=lease,
                periodic_every=periodic_every,
                periodic=periodic,
                sources=sources,
                trackers=trackers,
            )
        )
        signal.signal(signal.SIGTERM, runner.stop)
        signal.signal(signal.SIGINT, runner.stop)
        totals = runner.run()
        if once:
            stats = totals.as_dict()
            console.print(
                f"Delivered {stats['sent']}, retrying {stats['retrying']}, "
                f"failed {stats['failed']}, uncertain {stats['uncertain']}; "
                f"{runner.tasks_run} tasks run."
            )
