"""Coach wording benchmark: the wording rules alone on the large demo organisation.

`headway lint` on the large organisation's export spends most of its time reading the
91 MB YAML file (the loader, see docs/performance.md); this times only what the wording
rules add: language detection, tagging and the four wording judges over every objective
and key-result title, cold (empty caches) and warm.

Run (with the large demo loaded in a data dir of its own):
    HEADWAY_DATA_DIR=data/large .venv/bin/headway demo --size large
    HEADWAY_DATA_DIR=data/large .venv/bin/python benchmarks/bench_coach_wording.py
"""

from __future__ import annotations

import os
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "headway.settings")

import django

django.setup()

from headway.coach import db, rules  # noqa: E402

WORDING = ("objective-is-metric", "objective-vague", "kr-is-task", "kr-not-measurable",
           "language-unsupported")  # fmt: skip


def main() -> None:
    org = db.organisation_facts()
    titles = len(org.objectives) + sum(len(o.key_results) for o in org.objectives)
    print(f"{len(org.objectives)} objectives, {titles} titles")
    for label in ("cold", "warm"):
        started, cpu = time.perf_counter(), time.process_time()
        found = rules.run(org, WORDING)
        elapsed, used = time.perf_counter() - started, time.process_time() - cpu
        print(
            f"{label}: {elapsed:.2f} s wall, {used:.2f} s CPU for the wording rules, "
            f"{len(found)} findings (load average {os.getloadavg()[0]:.1f})"
        )


if __name__ == "__main__":
    main()
