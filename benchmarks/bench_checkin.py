"""Check-in benchmark: one check-in through the API at the size of the large organisation.

Run: `.venv/bin/python benchmarks/bench_checkin.py` (builds the large generated
organisation in a throw-away SQLite database, or in DATABASE_URL / HEADWAY_DATA_DIR when
set and empty; one to three minutes). It WRITES check-ins: point it at a copy, never at a
database you keep.

Each of RUNS key results (all different, on different teams, taking manual check-ins)
gets one `POST /api/v1/objectives/<key>/key-results/<kr>/checkins` with a personal token
of a lead of its team, through Django's test client (middleware, token lookup, ninja
validation, the action, its notifications and the response body; no HTTP server, and
the test client keeps its database connection), after one warm-up check-in. Rows: the
token's first use in a minute (which also writes its `last_used_at`), the same on other
key results with tokens used in the last minute, and `record_checkin` called in-process
on others again. Each prints the median (p50), p90 and worst in milliseconds and the
median number of queries of COUNTED more check-ins (counted apart from the timed ones).
The goal (issue #16) is p50 <= 25 ms on both databases. The figures of record are in
docs/performance.md.

`--profile [PATTERN]` prints a cProfile of the API check-ins (functions whose file
matches PATTERN, e.g. `headway`) instead of timing them.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "headway.settings")
os.environ.setdefault("HEADWAY_DATA_DIR", tempfile.mkdtemp(prefix="headway-bench-"))

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from headway.api.models import ApiToken  # noqa: E402
from headway.api.testing import ApiClient, token_for  # noqa: E402
from headway.demo_large import load_large_demo  # noqa: E402
from headway.okrs.actions import record_checkin  # noqa: E402
from headway.okrs.models import Cycle, KeyResult  # noqa: E402
from headway.serving import settle_heap  # noqa: E402
from headway.teams.models import Membership, Person, Team  # noqa: E402

RUNS = 40
COUNTED = 3


def _targets(cycle: Cycle, count: int) -> list[tuple[KeyResult, Person]]:
    """`count` key results taking check-ins, one per team, each with a lead of its team."""
    leads: dict[int, Person] = {}
    for membership in Membership.objects.filter(role="lead").select_related("person"):
        leads.setdefault(membership.team_id, membership.person)
    chosen: list[tuple[KeyResult, Person]] = []
    seen_teams: set[int] = set()
    candidates = (
        KeyResult.objects.needing_checkins()
        .filter(objective__cycle=cycle)
        .exclude(kind="milestone")
        .select_related("objective")
        .order_by("pk")
    )
    for kr in candidates.iterator():
        team_id = kr.objective.team_id
        if team_id in seen_teams or team_id not in leads:
            continue
        seen_teams.add(team_id)
        chosen.append((kr, leads[team_id]))
        if len(chosen) == count:
            break
    assert len(chosen) == count, f"only {len(chosen)} key results to check in on"
    return chosen


def _summary(name: str, times: list[float], queries: list[int]) -> None:
    ordered = sorted(times)
    p90 = ordered[int(len(ordered) * 0.9) - 1]
    print(
        f"{name:36} {statistics.median(times):8.1f} {p90:8.1f} {max(times):8.1f}"
        f" {int(statistics.median(queries)):8d}"
    )


def main() -> None:
    profile = "--profile" in sys.argv
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.SECURE_SSL_REDIRECT = False
    call_command("migrate", verbosity=0)
    if not Team.objects.exists():
        started = time.perf_counter()
        load_large_demo(seed=1)
        print(f"large organisation built in {time.perf_counter() - started:.0f} s")
    cycle = Cycle.objects.filter(state="active").order_by("-start").first()
    assert cycle is not None
    print(f"database: {connection.vendor}; people {Person.objects.count():,}, "
          f"key results {KeyResult.objects.count():,}")  # fmt: skip
    # Per kind: a warm-up, RUNS timed, then COUNTED more whose queries are counted (apart,
    # so that recording the SQL does not weigh on the timings).
    per_kind = 1 + RUNS + COUNTED
    targets = _targets(cycle, 3 * per_kind)
    api_targets = targets[:per_kind]
    warm_targets = targets[per_kind : 2 * per_kind]
    direct_targets = targets[2 * per_kind :]
    # Tokens are made before timing: one per lead, as each lead would hold their own. One
    # test client for all (a served process loads its middleware once, and so does a client).
    shared = Client()
    clients: dict[int, ApiClient] = {}
    for _kr, person in api_targets + warm_targets:
        if person.pk not in clients:
            clients[person.pk] = ApiClient(token_for(person, name="bench-checkin"), shared)
    settle_heap()  # as every web process does when it starts (headway.wsgi)

    def post(kr: KeyResult, person: Person) -> None:
        value = (kr.target if kr.target is not None else 1) / 2
        response = clients[person.pk].post(
            f"/objectives/{kr.objective.key}/key-results/{kr.key}/checkins",
            {"value": value, "confidence": 6, "comment": "Benchmark check-in."},
        )
        assert response.status_code == 201, (response.status_code, response.content[:300])

    post(*api_targets[0])  # warm-up: imports, first token lookup, prepared caches
    if profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        for kr, person in api_targets[1 : 1 + RUNS]:
            post(kr, person)
        profiler.disable()
        only = sys.argv[2] if len(sys.argv) > 2 else ""  # e.g. "headway": our code only
        order = os.environ.get("SORT", "cumulative")  # or tottime
        pstats.Stats(profiler).sort_stats(order).print_stats(only, 80)
        return

    def used_within_the_minute() -> None:
        # A token used in the last minute is not written again (api.tokens.find_token):
        # an integration checking in often pays for that UPDATE once a minute.
        ApiToken.objects.filter(name="bench-checkin").update(last_used_at=timezone.now())

    def direct(kr: KeyResult, person: Person) -> None:
        record_checkin(key_result=kr, by=person, value=(kr.target or 1) / 2, confidence=6)

    direct(*direct_targets[0])
    print(f"{'':36} {'p50 ms':>8} {'p90 ms':>8} {'worst ms':>8} {'queries':>8}")
    for name, check_in, kind_targets in (
        ("check-in, POST through the API", post, api_targets),
        ("same, token used in the last minute", post, warm_targets),
        ("check-in, record_checkin in-process", direct, direct_targets),
    ):
        if kind_targets is warm_targets:
            used_within_the_minute()
        times: list[float] = []
        for kr, person in kind_targets[1 : 1 + RUNS]:
            started = time.perf_counter()
            check_in(kr, person)
            times.append((time.perf_counter() - started) * 1000)
        queries: list[int] = []
        for kr, person in kind_targets[1 + RUNS :]:
            with CaptureQueriesContext(connection) as captured:
                check_in(kr, person)
            queries.append(len(captured))
        _summary(name, times, queries)


if __name__ == "__main__":
    main()
