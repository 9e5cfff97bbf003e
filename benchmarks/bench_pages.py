"""Page benchmark: server time of every main page at the size of the large organisation.

Run: `.venv/bin/python benchmarks/bench_pages.py` (builds the large generated
organisation, 10,000 people and 1,000 KPIs with three years of daily measurements, in a
throw-away SQLite database, or in DATABASE_URL when set; about a minute). Each page is
fetched 7 times through Django's test client after one warm-up, in a process settled
as a served one is (`headway.serving.settle_heap`); the median and the worst
are printed in milliseconds. The figures of record are in docs/performance.md.
"""

from __future__ import annotations

import os
import statistics
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

from headway.demo_large import load_large_demo  # noqa: E402
from headway.kpis.models import Kpi  # noqa: E402
from headway.okrs.actions import record_checkin  # noqa: E402
from headway.okrs.models import Cycle, KeyResult, Objective  # noqa: E402
from headway.serving import settle_heap  # noqa: E402
from headway.teams.models import Membership, Person, Team  # noqa: E402

RUNS = 7


def main() -> None:
    settings.STORAGES["staticfiles"] = {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
    }
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.SECURE_SSL_REDIRECT = False
    call_command("migrate", verbosity=0)
    if not Team.objects.exists():
        started = time.perf_counter()
        load_large_demo(seed=1)
        print(f"large organisation built in {time.perf_counter() - started:.0f} s")
    print(f"database: {connection.vendor}; people {Person.objects.count():,}, "
          f"objectives {Objective.objects.count():,}, KPIs {Kpi.objects.count():,}")  # fmt: skip
    cycle = Cycle.objects.filter(state="active").order_by("-start").first()
    assert cycle is not None
    closed = Cycle.objects.filter(state="closed").order_by("-start").first() or cycle
    # A lead of a team with objectives: their home page has the most to show.
    membership = (
        Membership.objects.filter(role="lead", team__objectives__cycle=cycle)
        .select_related("person", "team")
        .first()
    )
    assert membership is not None
    team = membership.team
    objective = Objective.objects.filter(cycle=cycle, team=team).first()
    kpi = Kpi.objects.filter(team=team).first() or Kpi.objects.first()
    assert objective is not None
    assert kpi is not None
    client = Client()
    client.force_login(membership.person)
    settle_heap()  # as every web process does when it starts (headway.wsgi)
    pages = {
        "home": "/",
        "alignment tree": f"/cycles/{cycle.key}/",
        "tree filtered by team": f"/cycles/{cycle.key}/?team={team.key}",
        "objective": f"/objectives/{objective.key}/",
        "check-in form": f"/teams/{team.key}/checkin/",
        "new objective form": "/objectives/new/",
        "edit objective form": f"/objectives/{objective.key}/edit/",
        "new key result form": f"/objectives/{objective.key}/key-results/new/",
        "new KPI form": "/kpis/new/",
        "KPI board": "/kpis/",
        "team KPI board": f"/teams/{team.key}/kpis/",
        "KPI page": f"/kpis/{kpi.key}/",
        "cycle review": f"/cycles/{cycle.key}/review/",
        "cycle review, page 2": f"/cycles/{cycle.key}/review/?page=2",
        "cycle review of a team": f"/cycles/{cycle.key}/review/?team={team.key}",
        "alignment tree, 100 roots": f"/cycles/{cycle.key}/?roots=100",
        "people and teams": "/teams/",
        "team": f"/teams/{team.key}/",
        "inbox": "/inbox/",
        "API: objectives": f"/api/v1/objectives?cycle={cycle.key}",
        "API: cycle tree (whole cycle)": f"/api/v1/cycles/{cycle.key}/tree",
        "API: cycle tree of a team": f"/api/v1/cycles/{cycle.key}/tree?team={team.key}",
        "API: KPIs": "/api/v1/kpis",
        "API: cycle scores (whole cycle)": f"/api/v1/cycles/{cycle.key}/scores",
        # Insight across cycles (okrs.insight_db).
        "API: forecast of an objective": f"/api/v1/objectives/{objective.key}/forecast",
        "API: calibration, organisation": "/api/v1/calibration",
        "API: calibration of a team": f"/api/v1/calibration?team={team.key}",
        "API: team history": f"/api/v1/teams/{team.key}/history",
        "API: KPI moves, whole cycle": f"/api/v1/cycles/{closed.key}/kpi-moves",
        "closed cycle review": f"/cycles/{closed.key}/review/",
    }
    print(f"{'page':32} {'median ms':>10} {'worst ms':>9}")
    for name, url in pages.items():
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        times = []
        for _ in range(RUNS):
            started = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        print(f"{name:32} {statistics.median(times):10.0f} {max(times):9.0f}")
    # A check-in rescores its objective and the roll-ups above it, never the whole cycle.
    key_results = list(
        KeyResult.objects.needing_checkins()
        .filter(objective__team=team)
        .exclude(kind="milestone")[:RUNS]
    )
    times = []
    for kr in key_results:
        started = time.perf_counter()
        record_checkin(key_result=kr, by=membership.person, value=(kr.target or 1) / 2)
        times.append((time.perf_counter() - started) * 1000)
    print(f"{'check-in (record_checkin)':32} {statistics.median(times):10.0f} {max(times):9.0f}")


if __name__ == "__main__":
    main()
