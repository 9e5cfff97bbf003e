"""Served benchmark: pages and API calls through `headway serve` over real HTTP (issue 16).

Run: `.venv/bin/python benchmarks/bench_served.py [--scale 1.0] [--requests 40]
[--seconds 10] [--clients 8]`. It builds the large generated organisation (10,000 people,
1,000 KPIs with three years of daily measurements; `--scale` shrinks it for a quick try)
in a throw-away data folder (SQLite), or in DATABASE_URL when set, then starts
`headway serve` (gunicorn, 2 web workers, no delivery worker) on a free port and:

- fetches each page and API call `--requests` times, one at a time, signed in as a lead
  (a session cookie for pages, a personal token for the API), and prints p50 and p95 in
  milliseconds, wall time as the client sees it;
- measures throughput with `--clients` concurrent clients for `--seconds` each on
  `/healthz` (the ceiling of the stack: gunicorn, middleware, no query) and on the home and
  objective pages, and prints each page's share of the `/healthz` rate.

Nothing is mocked: real sockets, real gunicorn, the same settings as a deployment. The
figures of record, with the machine's load, are in docs/performance.md.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

DATA = Path(tempfile.mkdtemp(prefix="headway-served-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "headway.settings")
os.environ.setdefault("HEADWAY_DATA_DIR", str(DATA))

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from headway.api.tokens import create_token  # noqa: E402
from headway.demo_large import load_large_demo  # noqa: E402
from headway.kpis.models import Kpi  # noqa: E402
from headway.okrs.models import Cycle, Objective  # noqa: E402
from headway.teams.models import Membership, Person, Team  # noqa: E402

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def fetch(port: int, path: str, headers: dict[str, str]) -> tuple[int, float]:
    """One GET on a fresh connection (as a browser's first request); (status, ms)."""
    started = time.perf_counter()
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        status = response.status
    finally:
        conn.close()
    return status, (time.perf_counter() - started) * 1000


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def throughput(
    port: int, path: str, headers: dict[str, str], clients: int, seconds: float
) -> float:
    """Requests per second that `clients` concurrent clients get for `seconds`."""
    done = [0] * clients
    stop = time.perf_counter() + seconds

    def run(slot: int) -> None:
        while time.perf_counter() < stop:
            status, _ = fetch(port, path, headers)
            assert status == 200, (path, status)
            done[slot] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.perf_counter() - started)


def wait_until_up(port: int, process: subprocess.Popen[bytes]) -> None:
    for _ in range(3000):  # collectstatic runs first: minutes on a loaded machine
        if process.poll() is not None:
            raise SystemExit(f"headway serve exited with {process.returncode}")
        try:
            if fetch(port, "/healthz", {})[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit("headway serve did not answer /healthz within five minutes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    if not Team.objects.exists():
        started = time.perf_counter()
        load_large_demo(seed=1, scale=args.scale)
        print(f"large organisation built in {time.perf_counter() - started:.0f} s")
    print(f"database: {connection.vendor}; people {Person.objects.count():,}, "
          f"objectives {Objective.objects.count():,}, KPIs {Kpi.objects.count():,}")  # fmt: skip
    cycle = Cycle.objects.current()
    assert cycle is not None
    closed = Cycle.objects.filter(state="closed").order_by("-start").first() or cycle
    membership = (
        Membership.objects.filter(role="lead", team__objectives__cycle=cycle)
        .select_related("person", "team")
        .first()
    )
    assert membership is not None
    lead, team = membership.person, membership.team
    objective = Objective.objects.filter(cycle=cycle, team=team).first()
    kpi = Kpi.objects.filter(team=team).first() or Kpi.objects.first()
    assert objective is not None
    assert kpi is not None
    # A session in the shared database (same data folder, same secret key as the server).
    browser = Client()
    browser.force_login(lead)
    cookie = f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}"
    token = create_token(person=lead, name="served benchmark").secret
    connection.close()

    port = free_port()
    env = {**os.environ, "ALLOWED_HOSTS": HOST}
    headway = shutil.which("headway", path=str(Path(sys.executable).parent)) or "headway"
    process = subprocess.Popen(
        [headway, "serve", "--host", HOST, "--port", str(port), "--no-worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(port, process)
        page_headers = {"Cookie": cookie, "Host": f"{HOST}:{port}"}
        api_headers = {"Authorization": f"Bearer {token}", "Host": f"{HOST}:{port}"}
        pages = {
            "home": "/",
            "alignment tree": f"/cycles/{cycle.key}/",
            "objective": f"/objectives/{objective.key}/",
            "check-in form": f"/teams/{team.key}/checkin/",
            "KPI board": "/kpis/",
            "KPI page": f"/kpis/{kpi.key}/",
            "cycle review": f"/cycles/{cycle.key}/review/",
            "closed cycle review": f"/cycles/{closed.key}/review/",
            "people and teams": "/teams/",
            "team": f"/teams/{team.key}/",
            "inbox": "/inbox/",
            "search": "/search/?q=revenue",
        }
        calls = {
            "API: cycle tree (whole cycle)": f"/api/v1/cycles/{cycle.key}/tree",
            "API: cycle scores (whole cycle)": f"/api/v1/cycles/{cycle.key}/scores",
            "API: objectives": f"/api/v1/objectives?cycle={cycle.key}",
            "API: KPIs": "/api/v1/kpis",
        }
        print(f"{'through headway serve':34} {'p50 ms':>8} {'p95 ms':>8}")
        for table, headers in ((pages, page_headers), (calls, api_headers)):
            for name, path in table.items():
                status, _ = fetch(port, path, headers)  # warm-up
                assert status == 200, (path, status)
                times = [fetch(port, path, headers)[1] for _ in range(args.requests)]
                print(f"{name:34} {statistics.median(times):8.0f} {percentile(times, 0.95):8.0f}")
        ceiling = throughput(port, "/healthz", {}, args.clients, args.seconds)
        print(f"\nthroughput, {args.clients} clients, {args.seconds:.0f} s each")
        print(f"{'/healthz':34} {ceiling:8.0f} req/s")
        for name in ("home", "objective"):
            rate = throughput(port, pages[name], page_headers, args.clients, args.seconds)
            print(f"{name:34} {rate:8.0f} req/s = {rate / ceiling:.0%} of /healthz")
        print(f"\nload average when done: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(DATA, ignore_errors=True)


if __name__ == "__main__":
    main()
