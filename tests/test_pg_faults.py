"""PostgreSQL under load and faults: no deadlock reaches a client, the worker outlives its database.

Eight clients (threads, each with its own connection, through the whole Django stack
with API tokens) check in at once on different key results of one objective, or push
the very same measurement at once. In the fault test a real `headway worker` process
delivers meanwhile, and every other connection of the test database is terminated three
times (`pg_terminate_backend`). PostgreSQL only: SQLite serialises writers by itself.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import close_old_connections, connection
from django.test import Client
from django.utils import timezone

from headway.api.tokens import create_token
from headway.kpis.models import Kpi, Measurement
from headway.notify.models import Delivery, DeliveryStatus, TeamWebhook
from headway.okrs.models import CheckIn, Cycle, KeyResult, Objective
from headway.teams.models import Membership, Person, Team
from tests.test_notify_worker import Receiver, receiver, shared_env  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)
CLIENTS = 8
#: The worker's connections carry this application_name, so the test knows it cut them.
WORKER_NAME = "headway-test-worker"


@pytest.fixture(autouse=True)
def _postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("concurrency and connection faults are PostgreSQL's (SQLite has one writer)")


def build(hook: str | None = None) -> tuple[Objective, list[KeyResult], list[str]]:
    """One objective of a team with eight key results, one owner and token per client."""
    today = timezone.now().date()
    team = Team.objects.create(key="co", name="Co", kind="company")
    cycle = Cycle.objects.create(
        key="now",
        name="Now",
        start=today - timedelta(days=30),
        end=today + timedelta(days=30),
        state="active",
    )
    lead = Person.objects.create_user("lead@co.test", "a-long-password-1", name="Lead")
    Membership.objects.create(person=lead, team=team, role="lead")
    objective = Objective.objects.create(
        key="calm", cycle=cycle, team=team, owner=lead, title="A calm depot"
    )
    krs, tokens = [], []
    for i in range(CLIENTS):
        person = Person.objects.create_user(f"p{i}@co.test", "a-long-password-1", name=f"P{i}")
        Membership.objects.create(person=person, team=team, role="member")
        krs.append(
            KeyResult.objects.create(
                objective=objective, key=f"kr{i}", title=f"KR {i}", start=0, target=10, owner=person
            )
        )
        tokens.append(create_token(person=person, name="load", scope="write").secret)
    if hook:
        TeamWebhook.objects.create(team=team, name="hook", url=hook)
    return objective, krs, tokens


def client(token: str) -> Client:
    return Client(raise_request_exception=False, headers={"Authorization": f"Bearer {token}"})


def in_threads(count: int, work: Callable[[int], None]) -> None:
    """Run `work(i)` in `count` threads, each closing its own connection at the end."""

    failures: list[BaseException] = []

    def run(i: int) -> None:
        try:
            work(i)
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not failures, failures


def check_in_loop(
    objective: Objective,
    kr: KeyResult,
    token: str,
    done: Callable[[list[tuple[int, Any]]], bool],
    answers: list[tuple[int, Any]],
) -> None:
    """Check in 1, 9, 1, 9, … (off track, on track: news each time) until `done(mine)`."""
    api = client(token)
    url = f"/api/v1/objectives/{objective.key}/key-results/{kr.key}/checkins"
    mine: list[tuple[int, Any]] = []
    while not done(mine):
        value = 1 if len(mine) % 2 == 0 else 9
        response = api.post(url, {"value": value}, content_type="application/json")
        body = response.json() if response.status_code < 500 else None
        mine.append((response.status_code, body))
        answers.append((response.status_code, body))
        # What a server does at the end of each request (Django's test client skips it):
        # a connection the database dropped is closed, the next request opens a new one.
        close_old_connections()


def for_seconds(seconds: float) -> Callable[[list[tuple[int, Any]]], bool]:
    until = time.monotonic() + seconds
    return lambda _mine: time.monotonic() >= until


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        row = cursor.fetchone()
    assert row is not None
    return int(row[0])


def terminate_others(spare: int, seconds: float = 0.5, limit: float = 30) -> int:
    """Terminate every connection of this database but this one and `spare` (the test's
    own), again and again for `seconds` and at least until the worker's was among them."""
    total, worker_hit = 0, False
    start = time.monotonic()
    while time.monotonic() - start < limit:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT application_name, pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() AND pid <> %s",
                [spare],
            )
            rows = cursor.fetchall()
        total += sum(1 for _, ok in rows if ok)
        worker_hit = worker_hit or any(name == WORKER_NAME and ok for name, ok in rows)
        if worker_hit and time.monotonic() - start >= seconds:
            break
        time.sleep(0.02)
    assert worker_hit, "the worker never held a connection"
    return total


def test_eight_clients_checking_in_on_one_objective_never_get_a_5xx() -> None:
    objective, krs, tokens = build()
    answers: list[tuple[int, Any]] = []
    done = for_seconds(20)
    in_threads(CLIENTS, lambda i: check_in_loop(objective, krs[i], tokens[i], done, answers))
    codes = Counter(code for code, _ in answers)
    print(f"check-ins in 20 s by {CLIENTS} clients: {dict(codes)}")
    assert not [code for code in codes if code >= 500], codes
    assert set(codes) == {201}, codes
    stored = set(CheckIn.objects.values_list("pk", flat=True))
    assert {body["id"] for _, body in answers} <= stored
    assert len(stored) == len(answers) >= CLIENTS


def test_identical_simultaneous_pushes_all_answer_200_and_store_one_row() -> None:
    team = Team.objects.create(key="co", name="Co", kind="company")
    owner = Person.objects.create_user("o@co.test", "a-long-password-1", name="O")
    Membership.objects.create(person=owner, team=team, role="member")
    kpi = Kpi.objects.create(
        key="otd", name="OTD", team=team, owner=owner, target=95, warning=90, critical=85
    )
    token = create_token(person=owner, name="push", scope="write").secret
    codes: Counter[int] = Counter()
    lock = threading.Lock()
    rounds = 20
    start = timezone.now() - timedelta(days=rounds + 1)
    barrier = threading.Barrier(CLIENTS)

    def push(_: int) -> None:
        api = client(token)
        for r in range(rounds):
            body = [{"at": (start + timedelta(days=r)).isoformat(), "value": 90 + r % 3}]
            barrier.wait(30)
            response = api.post("/api/v1/kpis/otd/measurements", body, "application/json")
            with lock:
                codes[response.status_code] += 1

    in_threads(CLIENTS, push)
    assert codes == {200: CLIENTS * rounds}
    per_moment = Counter(Measurement.objects.filter(kpi=kpi).values_list("at", flat=True))
    assert len(per_moment) == rounds
    assert set(per_moment.values()) == {1}


@pytest.fixture
def worker_process(shared_env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:  # noqa: F811
    process = subprocess.Popen(
        [sys.executable, "-m", "headway.cli", "worker", "--interval", "0.3", "--lease", "4"],
        env={
            **shared_env,
            "LOG_LEVEL": "WARNING",
            "DATABASE_URL": f"{shared_env['DATABASE_URL']}?application_name={WORKER_NAME}",
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    yield process
    if process.poll() is None:
        process.kill()
        process.communicate(timeout=30)


def test_worker_survives_three_terminations_and_delivers_each_notification_once(
    receiver: Receiver,  # noqa: F811
    worker_process: subprocess.Popen[str],
) -> None:
    from django_tasks_db.models import DBTaskResult

    objective, krs, tokens = build(hook=receiver.url)
    answers: list[tuple[int, Any]] = []
    terminated: list[int] = []
    spare = backend_pid()

    def terminator() -> None:
        try:
            for round_ in range(1, 4):
                # Each round waits for check-ins in flight (the machine may be slow).
                while len(answers) < round_ * CLIENTS:
                    time.sleep(0.05)
                terminated.append(terminate_others(spare))
        finally:
            connection.close()

    def recovered(mine: list[tuple[int, Any]]) -> bool:
        """Done once the faults are over and this client checked in after them."""
        if len(terminated) < 3:
            return False
        return any(code == 201 for code, _ in mine[mine_at_end.setdefault(id(mine), len(mine)) :])

    mine_at_end: dict[int, int] = {}
    killer = threading.Thread(target=terminator)
    killer.start()
    in_threads(CLIENTS, lambda i: check_in_loop(objective, krs[i], tokens[i], recovered, answers))
    killer.join(60)
    codes = Counter(code for code, _ in answers)
    print(f"terminated {terminated} connections; check-ins {dict(codes)}")
    assert len(terminated) == 3
    assert worker_process.poll() is None, worker_process.communicate()[1][-3000:]

    # Everything queued is delivered (or marked uncertain); no task stays RUNNING.
    def settled() -> bool:
        open_rows = Delivery.objects.filter(
            status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING]
        ).exclude(channel="inbox", status=DeliveryStatus.PENDING, attempts__gt=0)
        running = DBTaskResult.objects.filter(status="RUNNING").exists()
        return not open_rows.exists() and not running

    deadline = time.monotonic() + 60
    while not settled() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert settled(), list(
        Delivery.objects.exclude(status=DeliveryStatus.SENT).values_list(
            "channel", "status", "attempts", "last_error"
        )
    )
    assert worker_process.poll() is None  # still the same worker, never restarted

    stored = set(CheckIn.objects.values_list("pk", flat=True))
    assert {body["id"] for code, body in answers if code == 201} <= stored
    webhooks = Delivery.objects.filter(channel="webhook")
    statuses = Counter(webhooks.values_list("status", flat=True))
    assert set(statuses) <= {DeliveryStatus.SENT, DeliveryStatus.UNCERTAIN}, statuses
    received = Counter(receiver.keys)
    assert set(received.values()) == {1}, received.most_common(3)  # nothing sent twice
    assert statuses[DeliveryStatus.SENT] <= len(received) <= webhooks.count()
    assert statuses[DeliveryStatus.SENT] >= 1

    worker_process.send_signal(signal.SIGTERM)
    _, errors = worker_process.communicate(timeout=60)
    assert worker_process.returncode == 0, errors[-3000:]
    assert "Database error in the worker" in errors
    assert date.today()  # (the clock is real here: no frozen time)
