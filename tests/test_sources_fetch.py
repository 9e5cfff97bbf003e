"""Fetching through the worker step: rows go through the ingestion, failures are visible,
the owner is told once per failure spell, retries back off, and nothing is half-written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from headway.kpis.actions import MeasurementRow, ingest_measurements
from headway.kpis.models import Kpi, Measurement
from headway.notify.models import Event
from headway.sources import actions
from headway.sources.actions import SourceSpec
from headway.sources.models import DataIncident, Source, SourceFetch
from headway.sources.worker import fetch_due
from headway.versions import StaleVersion
from tests.source_servers import Route, closed_port, make_sqlite

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _loud_hooks(monkeypatch: pytest.MonkeyPatch) -> None:
    from headway.notify import events

    monkeypatch.setattr(events, "RAISE_ERRORS", True)


@pytest.fixture
def kpi(org: Any) -> Kpi:
    return Kpi.objects.create(
        key="sales", name="Weekly sales", team=org.depot, owner=org.member, direction="up",
        cadence="weekly", target=150, warning=110, critical=90,
    )  # fmt: skip


@pytest.fixture
def lite(org: Any, tmp_path: Path) -> Any:
    path = make_sqlite(tmp_path / "warehouse.sqlite3")
    return actions.create_connection(by=org.admin, name="warehouse", engine="sqlite",
                                     database=str(path))  # fmt: skip


def due_now(kpi: Kpi) -> None:
    """As if the time of the next attempt had come (a retry, or the next slot)."""
    now = timezone.now().replace(microsecond=0) - timedelta(seconds=1)
    for source in Source.objects.filter(kpi=kpi):
        source.next_attempt_at = now
        source.due_slot = min(source.due_slot or now, now)
        source.save(update_fields=["next_attempt_at", "due_slot"])


def run_worker() -> dict[str, int]:
    return fetch_due(worker_id="test").as_dict()


def events(kind: str) -> int:
    return Event.objects.filter(kind=kind).count()


def test_fetched_rows_go_through_the_ingestion(org: Any, kpi: Kpi, lite: Any) -> None:
    spec = SourceSpec(kind="sql", connection="warehouse",
                      config={"query": "SELECT day AS at, amount AS value FROM sales"})  # fmt: skip
    source = actions.set_source(by=org.member, kpi=kpi, spec=spec)
    assert source.state == "new"
    assert source.next_attempt_at is not None
    stats = run_worker()
    assert stats["stored"] == 1, (stats, list(SourceFetch.objects.values("outcome", "error")))
    kpi.refresh_from_db()
    source.refresh_from_db()
    assert Measurement.objects.filter(kpi=kpi).count() == 3
    assert kpi.latest_value == 128.25
    assert kpi.latest_at == datetime(2026, 11, 16, tzinfo=UTC)
    assert source.state == "ok"
    assert source.last_success_at is not None
    assert source.next_attempt_at is not None
    assert source.next_attempt_at > timezone.now()  # the next Monday 06:00 (weekly cadence)
    assert source.next_attempt_at.weekday() == 0
    assert {m.source for m in Measurement.objects.filter(kpi=kpi)} == {"source sql:warehouse"}
    # Nothing is due any more; run again by hand: idempotent.
    assert run_worker()["claimed"] == 0
    result = actions.run_source(by=org.member, kpi=kpi)
    assert (result.outcome, result.created, result.unchanged) == ("stored", 0, 3)


def test_single_value_is_stored_at_its_slot(org: Any, kpi: Kpi, lite: Any) -> None:
    spec = SourceSpec(kind="sql", connection="warehouse", schedule="*/5 * * * *",
                      config={"query": "SELECT max(amount) FROM sales"})  # fmt: skip
    source = actions.set_source(by=org.lead, kpi=kpi, spec=spec)
    slot = source.due_slot
    run_worker()
    measurement = Measurement.objects.get(kpi=kpi)
    assert (measurement.at, measurement.value) == (slot, 131.0)
    source.refresh_from_db()
    assert source.due_slot is not None
    assert slot is not None
    assert source.due_slot.minute % 5 == 0
    assert source.due_slot > slot
    fetch = SourceFetch.objects.get(source=source)
    assert (fetch.slot, fetch.outcome, fetch.rows, fetch.created) == (slot, "stored", 1, 1)


FAILURES = {
    "timeout": ("sql", "the query ran past its timeout"),
    "refused": ("http", "connection refused"),
    "http 500": ("http", "answered HTTP 500"),
    "not json": ("http", "not JSON"),
    "selects nothing": ("http", "selected nothing"),
    "not a number": ("http", "is not a number"),
    "no rows": ("sql", "returned no rows"),
}


def failing_spec(name: str, server: Any) -> SourceSpec:
    if name == "timeout":
        query = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) "
                 "SELECT count(*) FROM n")  # fmt: skip
        return SourceSpec(
            kind="sql", connection="warehouse", config={"query": query, "timeout": 0.3}
        )
    if name == "no rows":
        return SourceSpec(kind="sql", connection="warehouse",
                          config={"query": "SELECT day, amount FROM sales WHERE 0"})  # fmt: skip
    path = "/fail/" + name.replace(" ", "-")
    url = server.base + path
    if name == "refused":
        url = f"http://127.0.0.1:{closed_port()}/x"
    elif name == "http 500":
        server.routes[path] = Route(500, "boom", "text/plain")
    elif name == "not json":
        server.routes[path] = Route(200, "<html>", "text/html")
    elif name == "selects nothing":
        server.json(path, {"other": 1})
    elif name == "not a number":
        server.json(
            path, {"v": [{"at": "2026-11-02", "value": 5}, {"at": "2026-11-03", "value": "n/a"}]}
        )
    expression = "v" if name == "not a number" else "value"
    return SourceSpec(kind="http_json", config={"url": url, "expression": expression})


@pytest.mark.parametrize("name", sorted(FAILURES))
def test_a_failing_source_is_visible_retried_with_backoff_and_told_once(
    org: Any, kpi: Kpi, lite: Any, http_server: Any, name: str
) -> None:
    good = timezone.now() - timedelta(days=2)
    ingest_measurements(rows=[MeasurementRow("sales", good, 120)], by=None)
    before = list(Measurement.objects.values_list("kpi_id", "at", "value"))
    source = actions.set_source(by=org.member, kpi=kpi, spec=failing_spec(name, http_server))
    waits = []
    for _ in range(3):
        due_now(kpi)
        started = timezone.now()
        assert run_worker()["failed"] == 1
        source.refresh_from_db()
        assert source.next_attempt_at is not None
        waits.append((source.next_attempt_at - started).total_seconds())
    assert source.state == "failing"
    assert FAILURES[name][1] in source.last_error
    assert source.attempts == 3
    assert source.failing_since is not None
    assert source.last_success_at is None
    assert 55 < waits[0] < 65
    assert 115 < waits[1] < 125
    assert 235 < waits[2] < 245
    assert events("source_failing") == 1  # once per spell, not per retry
    event = Event.objects.get(kind="source_failing")
    assert event.notifications.get().person == org.member  # the KPI owner
    kpi.refresh_from_db()
    assert kpi.latest_value == 120  # the last good value is kept
    assert (
        list(Measurement.objects.values_list("kpi_id", "at", "value")) == before
    )  # no partial rows
    assert SourceFetch.objects.filter(source=source, outcome="failed").count() == 3


def test_recovery_ends_the_spell_and_is_announced(org: Any, kpi: Kpi, http_server: Any) -> None:
    http_server.routes["/flaky"] = Route(503, "down", "text/plain")
    spec = SourceSpec(
        kind="http_json", config={"url": http_server.base + "/flaky", "expression": "v"}
    )
    source = actions.set_source(by=org.member, kpi=kpi, spec=spec)
    run_worker()
    http_server.json("/flaky", {"v": 99})
    due_now(kpi)
    assert run_worker()["stored"] == 1
    source.refresh_from_db()
    assert (source.state, source.attempts, source.failing_since, source.last_error) == (
        "ok",
        0,
        None,
        "",
    )
    assert events("source_failing") == events("source_recovered") == 1
    # A new spell is news again.
    http_server.routes["/flaky"] = Route(503, "down", "text/plain")
    due_now(kpi)
    run_worker()
    assert events("source_failing") == 2


def test_a_jump_is_held_as_a_data_incident_not_stored(org: Any, kpi: Kpi, http_server: Any) -> None:
    start = timezone.now() - timedelta(weeks=12)
    history = [
        MeasurementRow("sales", start + timedelta(weeks=i), 100 + (i % 3)) for i in range(10)
    ]
    ingest_measurements(rows=history, by=None)
    http_server.json("/jump", {"value": 100_000})
    spec = SourceSpec(
        kind="http_json", config={"url": http_server.base + "/jump", "expression": "value"}
    )
    source = actions.set_source(by=org.member, kpi=kpi, spec=spec)
    assert run_worker()["held"] == 1
    source.refresh_from_db()
    incident = DataIncident.objects.get(kpi=kpi)
    assert source.state == "held"
    assert incident.status == "open"
    assert incident.reasons[0].startswith("jump: 100000")
    assert Measurement.objects.filter(kpi=kpi).count() == 10
    assert events("data_incident") == 1
    assert events("kpi_health") == 0  # not announced as a business change
    due_now(kpi)
    run_worker()
    assert DataIncident.objects.count() == 1
    assert events("data_incident") == 1
    incident.refresh_from_db()
    assert incident.seen == 2
    # The owner looks and says the number is right.
    result = actions.accept_incident(by=org.member, incident=incident)
    assert result.created == 1
    source.refresh_from_db()
    assert source.state == "ok"
    assert Kpi.objects.get(pk=kpi.pk).latest_value == 100_000


def test_a_dismissed_incident_stores_nothing(org: Any, kpi: Kpi, http_server: Any) -> None:
    start = timezone.now() - timedelta(weeks=12)
    ingest_measurements(
        rows=[MeasurementRow("sales", start + timedelta(weeks=i), 100) for i in range(10)], by=None
    )
    http_server.json("/zero", {"value": 0})
    spec = SourceSpec(
        kind="http_json", config={"url": http_server.base + "/zero", "expression": "value"}
    )
    actions.set_source(by=org.member, kpi=kpi, spec=spec)
    run_worker()
    incident = DataIncident.objects.get()
    with pytest.raises(PermissionDenied):
        actions.dismiss_incident(by=org.viewer, incident=incident)
    actions.dismiss_incident(by=org.lead, incident=incident)
    incident.refresh_from_db()
    assert incident.status == "dismissed"
    assert Measurement.objects.filter(kpi=kpi).count() == 10
    with pytest.raises(ValidationError, match="dismissed already"):
        actions.accept_incident(by=org.lead, incident=incident)


def test_preview_shows_the_rows_and_writes_nothing(org: Any, kpi: Kpi, lite: Any) -> None:
    ingest_measurements(rows=[MeasurementRow("sales", "2026-11-09", 130)], by=None)
    spec = SourceSpec(kind="sql", connection="warehouse",
                      config={"query": "SELECT day AS at, amount AS value FROM sales"})  # fmt: skip
    counts = (Measurement.objects.count(), Event.objects.count(), SourceFetch.objects.count())
    preview = actions.preview_source(by=org.member, kpi=kpi, spec=spec)
    assert [(r.at.date().isoformat(), r.value, r.effect) for r in preview.rows] == [
        ("2026-11-02", 120.5, "new"),
        ("2026-11-09", 131.0, "replaces 130"),
        ("2026-11-16", 128.25, "new"),
    ]
    assert (preview.created, preview.replaced, preview.error) == (2, 1, "")
    assert (
        Measurement.objects.count(),
        Event.objects.count(),
        SourceFetch.objects.count(),
    ) == counts
    assert not Source.objects.exists()


def test_preview_reports_a_failure_without_raising(org: Any, kpi: Kpi) -> None:
    url = f"http://127.0.0.1:{closed_port()}/"
    spec = SourceSpec(kind="http_json", config={"url": url, "expression": "a"})
    preview = actions.preview_source(by=org.member, kpi=kpi, spec=spec)
    assert "connection refused" in preview.error
    assert preview.rows == []


@pytest.mark.parametrize("who", ["viewer", "outsider", "admin_of_nothing"])
def test_only_owner_and_leads_may_set_a_source(
    org: Any, kpi: Kpi, lite: Any, who: str, make_person: Any
) -> None:
    person = getattr(org, who, None) or make_person("nobody@acme.test")
    spec = SourceSpec(kind="sql", connection="warehouse", config={"query": "SELECT 1"})
    with pytest.raises(PermissionDenied):
        actions.set_source(by=person, kpi=kpi, spec=spec)
    with pytest.raises(PermissionDenied):
        actions.preview_source(by=person, kpi=kpi, spec=spec)
    assert not Source.objects.exists()


def test_a_member_who_does_not_own_the_kpi_may_not_set_its_source(
    org: Any, kpi: Kpi, lite: Any, make_person: Any
) -> None:
    from headway.teams.models import Membership

    other = make_person("other@acme.test")
    Membership.objects.create(person=other, team=org.depot, role="member")
    spec = SourceSpec(kind="sql", connection="warehouse", config={"query": "SELECT 1"})
    with pytest.raises(PermissionDenied):
        actions.set_source(by=other, kpi=kpi, spec=spec)
    actions.set_source(by=org.lead, kpi=kpi, spec=spec)  # a lead above the team may
    assert Source.objects.get().updated_by == org.lead


@pytest.mark.parametrize(
    ("spec", "field", "message"),
    [
        (SourceSpec("sql", {"query": "SELECT 1"}), "connection", "needs a connection"),
        (
            SourceSpec("sql", {"query": "SELECT 1"}, connection="nope"),
            "connection",
            "No connection named",
        ),
        (
            SourceSpec("sql", {"query": "DELETE FROM sales"}, connection="warehouse"),
            "query",
            "writes",
        ),
        (
            SourceSpec("sql", {"query": "SELEC 1 FRM"}, connection="warehouse"),
            "query",
            "does not parse",
        ),
        (
            SourceSpec("http_json", {"url": "http://x.test/", "expression": "a.[b"}),
            "expression",
            "Invalid",
        ),
        (SourceSpec("http_json", {"url": "/relative", "expression": "a"}), "url", "full http"),
        (
            SourceSpec("http_json", {"url": "ftp://x.test/", "expression": "a"}),
            "url",
            "http:// or https://",
        ),
        (
            SourceSpec(
                "http_json", {"url": "http://x.test/", "expression": "a"}, connection="warehouse"
            ),
            "connection",
            "needs http",
        ),
        (SourceSpec("csv_url", {"url": "http://x.test/"}), "value_column", "required"),
        (
            SourceSpec("prometheus", {"query": "sum(up"}, connection="warehouse"),
            "query",
            "not closed",
        ),
        (
            SourceSpec("sql", {"query": "SELECT 1"}, connection="warehouse", schedule="every day"),
            "schedule",
            "5 fields",
        ),
        (
            SourceSpec("sql", {"query": "SELECT 1"}, connection="warehouse", schedule="61 * * * *"),
            "schedule",
            "cron",
        ),
        (SourceSpec("nope", {}), "kind", "Choose one of"),
    ],
)
def test_bad_source_is_refused_with_the_field_named(
    org: Any, kpi: Kpi, lite: Any, spec: SourceSpec, field: str, message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        actions.set_source(by=org.member, kpi=kpi, spec=spec)
    assert message in " ".join(caught.value.message_dict[field])
    assert not Source.objects.exists()


def test_stale_version_is_refused(org: Any, kpi: Kpi, lite: Any) -> None:
    spec = SourceSpec(kind="sql", connection="warehouse", config={"query": "SELECT 1"})
    source = actions.set_source(by=org.member, kpi=kpi, spec=spec)
    second = SourceSpec("sql", {"query": "SELECT 2"}, "warehouse")
    actions.set_source(by=org.member, kpi=kpi, spec=second, version=source.version)
    third = SourceSpec("sql", {"query": "SELECT 3"}, "warehouse")
    with pytest.raises(StaleVersion, match="someone changed it meanwhile"):
        actions.set_source(by=org.lead, kpi=kpi, spec=third, version=source.version)
    assert Source.objects.get().config == {"query": "SELECT 2"}


def test_one_bad_source_does_not_take_its_batch_down(org: Any, kpi: Kpi, lite: Any) -> None:
    other = Kpi.objects.create(key="other", name="Other", team=org.depot, owner=org.member)
    good = SourceSpec("sql", {"query": "SELECT day AS at, amount AS value FROM sales"}, "warehouse")
    twice = SourceSpec("sql", {"query": "SELECT '2026-11-02', 1 UNION ALL SELECT '2026-11-02', 2"},
                       "warehouse")  # fmt: skip
    actions.set_source(by=None, kpi=kpi, spec=good)
    actions.set_source(by=None, kpi=other, spec=twice)
    stats = run_worker()
    assert (stats["stored"], stats["failed"]) == (1, 1)
    assert "rows 1 and 2 are both for 2026-11-02" in Source.objects.get(kpi=other).last_error
    assert Measurement.objects.filter(kpi=kpi).count() == 3
    assert not Measurement.objects.filter(kpi=other).exists()


def test_a_batch_the_ingestion_refuses_is_stored_source_by_source(
    org: Any, kpi: Kpi, lite: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from headway.kpis.actions import IngestError

    other = Kpi.objects.create(key="other", name="Other", team=org.depot, owner=org.member)
    spec = SourceSpec("sql", {"query": "SELECT day AS at, amount AS value FROM sales"}, "warehouse")
    actions.set_source(by=None, kpi=kpi, spec=spec)
    actions.set_source(by=None, kpi=other, spec=spec)
    from headway.kpis.actions import ingest_measurements as real

    calls: list[int] = []

    def refuse_the_batch(*, rows: Any, **kwargs: Any) -> Any:
        rows = list(rows)
        calls.append(len(rows))
        if len(rows) > 3:  # the batch of both sources (a race: say a KPI went away)
            raise IngestError([(1, "no KPI with key 'other'")])
        return real(rows=rows, **kwargs)

    monkeypatch.setattr(actions, "ingest_measurements", refuse_the_batch)
    assert run_worker()["stored"] == 2
    assert calls == [6, 3, 3]
    assert Measurement.objects.count() == 6
    assert SourceFetch.objects.count() == 2  # the rolled-back batch left no record


# The worker closes old connections between passes: committed rows, as for its own tests.
@pytest.mark.django_db(transaction=True)
def test_the_worker_fetches_due_sources_in_its_pass(org: Any, kpi: Kpi, lite: Any) -> None:
    from headway.notify.worker import NotifyWorker, WorkerOptions

    spec = SourceSpec("sql", {"query": "SELECT day AS at, amount AS value FROM sales"}, "warehouse")
    actions.set_source(by=None, kpi=kpi, spec=spec)
    NotifyWorker(WorkerOptions(once=True, tasks=False, periodic=False, sources=False)).run()
    assert not Measurement.objects.exists()  # --no-sources leaves them to other workers
    NotifyWorker(WorkerOptions(once=True, tasks=False, periodic=False)).run()
    assert Measurement.objects.filter(kpi=kpi).count() == 3


def test_a_query_that_writes_through_a_function_is_refused_by_postgresql(
    org: Any, kpi: Kpi, pg_source: Any
) -> None:
    from tests.source_servers import pg_snapshot

    actions.create_connection(
        by=org.admin, name="pg", engine="postgresql", host=pg_source.host, port=pg_source.port,
        database=pg_source.name, user=pg_source.user, password=pg_source.password,
    )  # fmt: skip
    before = pg_snapshot(pg_source)
    spec = SourceSpec("sql", {"query": "SELECT bump() AS value"}, "pg")
    source = actions.set_source(by=org.member, kpi=kpi, spec=spec)  # a SELECT: lint passes
    assert run_worker()["failed"] == 1
    source.refresh_from_db()
    assert source.state == "failing"
    assert "read-only" in source.last_error
    assert pg_snapshot(pg_source) == before
    assert events("source_failing") == 1


def test_a_saved_writing_query_is_refused_by_sqlite(org: Any, kpi: Kpi, lite: Any) -> None:
    from tests.source_servers import sqlite_snapshot

    path = Path(lite.database)
    before = sqlite_snapshot(path)
    # Saved past the lint (an older version, a hand edit): the file still refuses it.
    Source.objects.create(
        kpi=kpi, kind="sql", connection=lite, config={"query": "DELETE FROM notes"},
        due_slot=timezone.now(), next_attempt_at=timezone.now(),
    )  # fmt: skip
    assert run_worker()["failed"] == 1
    assert "read-only" in Source.objects.get().last_error
    assert sqlite_snapshot(path) == before


def test_fetched_values_feed_the_linked_key_result(org: Any, kpi: Kpi, lite: Any) -> None:
    from headway.okrs.models import KeyResult, Objective

    objective = Objective.objects.create(key="sell", cycle=org.cycle, team=org.depot,
                                         owner=org.member, title="Customers buy more")  # fmt: skip
    kr = KeyResult.objects.create(objective=objective, key="sales", title="Sales to 150",
                                  start=100, target=150, kpi=kpi)  # fmt: skip
    spec = SourceSpec("sql", {"query": "SELECT day AS at, amount AS value FROM sales"}, "warehouse")
    actions.set_source(by=None, kpi=kpi, spec=spec)
    run_worker()
    kr.refresh_from_db()
    assert kr.current == 128.25
