"""Search benchmark: the search page and API at the size of the large organisation.

Run: `.venv/bin/python benchmarks/bench_search.py` (builds the large generated organisation
in a throw-away SQLite database, or uses DATABASE_URL when set, building it there if the
database is empty). Each search is fetched 7 times through Django's test client after one
warm-up, signed in as a team lead, in a process settled as a served one is; the median and
the worst are printed in milliseconds, with the machine's load average. The figures of
record are in docs/performance.md ("Search").
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from urllib.parse import urlencode

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
from headway.okrs.models import CheckIn, Objective  # noqa: E402
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
          f"objectives {Objective.objects.count():,}, KPIs {Kpi.objects.count():,}, "
          f"check-ins {CheckIn.objects.count():,}")  # fmt: skip
    membership = (
        Membership.objects.filter(role="lead", team__objectives__isnull=False)
        .select_related("person", "team")
        .first()
    )
    assert membership is not None
    someone = Person.objects.order_by("id")[500]
    objective = Objective.objects.order_by("id")[2500]
    client = Client()
    client.force_login(membership.person)
    settle_heap()
    searches = {
        "a word in a third of the check-ins": "week",
        "a person's last name (shared by many)": someone.name.split()[-1],
        "two words of an objective's title": " ".join(objective.title.split()[1:3]),
        "a team's name": membership.team.name,
        "two letters (prefix of many words)": "re",
        "a word that is nowhere": "xylophonic",
    }
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    print(f"{'search':44} {'median ms':>10} {'worst ms':>9} {'results':>8}")
    for name, words in searches.items():
        for label, url in (
            ("page", "/search/?" + urlencode({"q": words})),
            ("API", "/api/v1/search?" + urlencode({"q": words})),
        ):
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            results = (
                response.content.count(b"search-hit ")
                if label == "page"
                else (response.json()["count"])
            )
            times = []
            for _ in range(RUNS):
                started = time.perf_counter()
                client.get(url)
                times.append((time.perf_counter() - started) * 1000)
            print(f"{label + ': ' + name:44} {statistics.median(times):10.0f} "
                  f"{max(times):9.0f} {results:8}")  # fmt: skip
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
