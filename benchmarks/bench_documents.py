"""OKRs as code at the organisation's size: `headway lint`, `score` and `import` of its export.

Run: `.venv/bin/python benchmarks/bench_documents.py` (builds the large generated
organisation in a throw-away SQLite database, or uses DATABASE_URL when set, and exports
it: a few minutes), or `… bench_documents.py --export FILE` to reuse an export. Each
command runs once in a fresh process, as a CI job would run it; its wall time and peak
memory (the child's maximum resident set size) are its own. The import goes into an empty
database: a fresh SQLite file, or the PostgreSQL database named by
HEADWAY_BENCH_IMPORT_URL (emptied first). Goals (issue #16): lint and score in ≤ 20 s and
≤ 1 GB, import in ≤ 90 s and ≤ 1.5 GB, and lint exits 0 on the organisation's own export.
Wall times depend on the machine's load, printed before and after; peak memory does not.
The figures of record are in docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEADWAY = str(Path(sys.executable).with_name("headway"))
GOALS = {"lint": (20.0, 1024.0), "score": (20.0, 1024.0), "import": (90.0, 1536.0)}

WRAPPER = (
    "import resource, subprocess, sys\n"
    "with open(sys.argv[1], 'wb') as out:\n"
    "    code = subprocess.run(sys.argv[2:], stdout=out).returncode\n"
    "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(code, usage.ru_maxrss, usage.ru_utime + usage.ru_stime)\n"
)


def run(
    args: list[str], output: Path, env: dict[str, str] | None = None
) -> tuple[int, float, float, float]:
    """(exit code, seconds, peak MB, CPU seconds) of one `headway` command, in a fresh process.

    A small wrapper process runs it, so the wrapper's children are that command alone and
    their maximum resident set size (KB on Linux) is the command's peak. CPU time (user +
    system) says what the command costs when the machine is busy with other work.
    """
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, str(output), HEADWAY, *args],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    elapsed = time.perf_counter() - started
    code, peak, cpu = done.stdout.split()
    if int(code) not in (0, 1):
        sys.stderr.write(done.stderr)
    return int(code), elapsed, int(peak) / 1024, float(cpu)


def build_export(path: Path) -> None:
    """The large organisation (seed 1) in the configured database, exported to ``path``."""
    os.environ.setdefault("HEADWAY_DATA_DIR", tempfile.mkdtemp(prefix="headway-bench-"))
    subprocess.run([HEADWAY, "migrate"], check=True, stdout=subprocess.DEVNULL)
    started = time.perf_counter()
    subprocess.run(
        [HEADWAY, "demo", "--size", "large", "--seed", "1"], check=True, stdout=subprocess.DEVNULL
    )
    print(f"large organisation built in {time.perf_counter() - started:.0f} s")
    started = time.perf_counter()
    subprocess.run([HEADWAY, "export", "-o", str(path)], check=True, stdout=subprocess.DEVNULL)
    print(f"exported in {time.perf_counter() - started:.0f} s")


def import_env() -> tuple[dict[str, str], str]:
    """The environment of an import into an empty database, and that database's name."""
    env = dict(os.environ)
    url = os.environ.get("HEADWAY_BENCH_IMPORT_URL")
    if url:
        env["DATABASE_URL"] = url
        reset = (
            "import django; django.setup(); from django.db import connection\n"
            "with connection.cursor() as c:\n"
            "    c.execute('DROP SCHEMA public CASCADE'); c.execute('CREATE SCHEMA public')\n"
        )
        subprocess.run(
            [sys.executable, "-c", reset],
            check=True,
            env=env | {"DJANGO_SETTINGS_MODULE": "headway.settings"},
        )
        name = "PostgreSQL"
    else:
        env.pop("DATABASE_URL", None)
        env["HEADWAY_DATA_DIR"] = tempfile.mkdtemp(prefix="headway-bench-import-")
        name = "SQLite"
    subprocess.run([HEADWAY, "migrate"], check=True, stdout=subprocess.DEVNULL, env=env)
    return env, name


def verdict(command: str, seconds: float, peak: float) -> str:
    limit_s, limit_mb = GOALS[command]
    ok = seconds <= limit_s and peak <= limit_mb
    return (
        f"{'meets' if ok else 'MISSES'} the goal (≤ {limit_s:.0f} s, ≤ {limit_mb:.0f} MB): "
        f"{seconds / limit_s:.0%} of the time, {peak / limit_mb:.0%} of the memory"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--export", type=Path, help="an export of the large organisation")
    parser.add_argument("--skip-import", action="store_true", help="lint and score only")
    options = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="headway-bench-documents-"))
    export: Path = options.export or out / "large.yaml"
    if options.export is None:
        build_export(export)
    size = export.stat().st_size
    print(f"export: {export} ({size / 1e6:.1f} MB); load average {os.getloadavg()[0]:.2f}")

    code, seconds, peak, cpu = run(["lint", "--format", "json", str(export)], out / "lint.json")
    findings = json.loads((out / "lint.json").read_text())
    errors = sorted({f["rule"] for f in findings if f["severity"] == "error"})
    count = sum(f["severity"] == "error" for f in findings)
    print(
        f"lint    {seconds:6.1f} s ({cpu:.1f} s CPU)  peak {peak:6.0f} MB  exit {code}, "
        f"{len(findings)} findings, "
        f"{count} errors {errors or ''}  {verdict('lint', seconds, peak)}"
    )
    code, seconds, peak, cpu = run(["score", "--format", "json", str(export)], out / "score.json")
    scored = json.loads((out / "score.json").read_text()) if code == 0 else {}
    print(
        f"score   {seconds:6.1f} s ({cpu:.1f} s CPU)  peak {peak:6.0f} MB  exit {code}, "
        f"{len(scored.get('key_results', {})):,} key results, {len(scored.get('kpis', {})):,} "
        f"KPIs  {verdict('score', seconds, peak)}"
    )
    if not options.skip_import:
        env, name = import_env()
        code, seconds, peak, cpu = run(["import", str(export)], out / "import.txt", env)
        print(
            f"import  {seconds:6.1f} s ({cpu:.1f} s CPU)  peak {peak:6.0f} MB  exit {code} "
            f"(into an empty {name} "
            f"database)  {verdict('import', seconds, peak)}"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
