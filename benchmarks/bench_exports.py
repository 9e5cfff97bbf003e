"""Export benchmark: the large organisation's tree as XLSX (and CSV), its review, its pack.

Run: `.venv/bin/python benchmarks/bench_exports.py` (builds the large generated
organisation in a throw-away SQLite database, or uses DATABASE_URL when set; about a
minute). Each export runs once as `headway report …` in a fresh process, so its time and
peak memory (the child's maximum resident set size) are the command's own, not the
builder's. The goal for the tree as XLSX: under 30 s and 1 GB. The figures of record are
in docs/performance.md.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "headway.settings")
os.environ.setdefault("HEADWAY_DATA_DIR", tempfile.mkdtemp(prefix="headway-bench-"))

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402

from headway.demo_large import load_large_demo  # noqa: E402
from headway.okrs.models import Cycle, KeyResult  # noqa: E402
from headway.teams.models import Team  # noqa: E402

HEADWAY = str(Path(sys.executable).with_name("headway"))


WRAPPER = (
    "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
    "stdout=subprocess.DEVNULL); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def run(args: list[str]) -> tuple[float, float]:
    """(seconds, peak MB) of one `headway` command in a fresh process.

    A small wrapper process runs it, so the wrapper's children are that command alone and
    their maximum resident set size (KB on Linux) is the command's peak.
    """
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, HEADWAY, *args], check=True, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    return elapsed, int(done.stdout.strip().splitlines()[-1]) / 1024


def main() -> None:
    call_command("migrate", verbosity=0)
    if not Team.objects.exists():
        started = time.perf_counter()
        load_large_demo(seed=1)
        print(f"large organisation built in {time.perf_counter() - started:.0f} s")
    cycle = Cycle.objects.annotate(n=Count("objectives")).order_by("-n", "-start").first()
    assert cycle is not None
    krs = KeyResult.objects.filter(objective__cycle=cycle).count()
    print(
        f"database: {connection.vendor}; cycle {cycle.key}: "
        f"{cycle.objectives.count():,} objectives, {krs:,} key results; "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    out = Path(tempfile.mkdtemp(prefix="headway-exports-"))
    for label, args in [
        ("tree as XLSX", ["report", "tree", "--cycle", cycle.key, "-o", str(out / "tree.xlsx")]),
        ("tree as CSV", ["report", "tree", "--cycle", cycle.key, "-o", str(out / "tree.csv")]),
        ("review as XLSX (review + tree)",
         ["report", "review", "--cycle", cycle.key, "-o", str(out / "review.xlsx")]),
        ("KPI board as XLSX", ["report", "kpis", "-o", str(out / "kpis.xlsx")]),
        ("review pack as PDF",
         ["report", "pack", "--cycle", cycle.key, "-o", str(out / "pack.pdf")]),
    ]:  # fmt: skip
        seconds, peak = run(args)
        size = Path(args[-1]).stat().st_size
        print(f"{label:34} {seconds:6.1f} s  peak {peak:6.0f} MB  {size / 1e6:6.1f} MB file")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
