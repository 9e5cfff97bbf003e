"""Per operation: a viewer or a read token cannot write, a private objective is a 404 to
non-members, and a revoked token is refused."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.core.management.color import no_style
from django.db import connection

from headway.api.main import api as ninja_api
from headway.api.models import ApiToken
from headway.api.testing import ApiClient, token_for
from headway.initiatives.models import Initiative, TrackedIssue, Tracker
from headway.kpis.models import Kpi, KpiReview, Measurement
from headway.okrs.models import CheckIn, Cycle, KeyResult, Objective
from headway.sources.models import Connection, DataIncident, Source, SourceFetch
from headway.teams.models import Membership, Person, Team
from tests.source_servers import closed_port, make_sqlite

NOW = datetime(2027, 2, 15, 12, tzinfo=UTC)
pytestmark = [pytest.mark.django_db, pytest.mark.frozen(NOW)]

# Every writing operation, with a body an admin could send.
WRITES: list[tuple[str, str, Any]] = [
    ("POST", "/teams", {"key": "fleet", "name": "Fleet", "parent": "ops"}),
    ("PATCH", "/teams/depot", {"name": "Depot South"}),
    ("DELETE", "/teams/empty", None),
    ("POST", "/people", {"email": "new@acme.test", "name": "New"}),
    ("PATCH", "/people/member@acme.test", {"name": "Renamed"}),
    ("POST", "/cycles", {"key": "2027-Q2", "start": "2027-04-01", "end": "2027-06-30"}),
    ("PATCH", "/cycles/2027-Q1", {"name": "Renamed"}),
    ("POST", "/cycles/2027-Q1/close", {"reflections": {"reliable": "ok"}}),
    ("POST", "/cycles/2026-Q4/reopen", None),
    ("POST", "/objectives", {"key": "new", "cycle": "2027-Q1", "team": "depot", "title": "New"}),
    ("PATCH", "/objectives/reliable", {"title": "Renamed"}),
    ("DELETE", "/objectives/reliable", None),
    ("POST", "/objectives/reliable/align", {"parent": None}),
    ("POST", "/objectives/reliable/key-results", {"key": "new", "title": "New", "target": 1}),
    ("PATCH", "/objectives/reliable/key-results/otd", {"unit": "pct"}),
    ("DELETE", "/objectives/reliable/key-results/otd", None),
    ("POST", "/objectives/reliable/key-results/otd/recalibrate", {"reason": "r", "target": 97}),
    ("POST", "/objectives/reliable/key-results/otd/checkins", {"value": 90}),
    ("POST", "/kpis", {"key": "new", "name": "New", "team": "depot"}),
    ("PATCH", "/kpis/otd-rate", {"name": "Renamed"}),
    ("POST", "/kpis/otd-rate/promote", {"objective": "reliable"}),
    ("POST", "/kpis/otd-rate/reviews", {"decision": "retire", "reason": "Not ours"}),
    ("POST", "/kpis/otd-rate/measurements", [{"at": "2027-02-01", "value": 90}]),
    ("POST", "/measurements", [{"kpi": "otd-rate", "at": "2027-02-01", "value": 90}]),
    ("POST", "/connections", {"name": "new", "engine": "sqlite", "database": "/srv/new.db"}),
    ("PATCH", "/connections/lite", {"description": "The warehouse"}),
    ("DELETE", "/connections/spare", None),
    (
        "PUT",
        "/kpis/otd-rate/source",
        {"kind": "sql", "connection": "lite", "config": {"query": "SELECT 2 AS value"}},
    ),
    ("DELETE", "/kpis/otd-rate/source", None),
    (
        "POST",
        "/kpis/otd-rate/source/preview",
        {"kind": "sql", "connection": "lite", "config": {"query": "SELECT 3 AS value"}},
    ),
    ("POST", "/kpis/otd-rate/source/run", None),
    ("POST", "/kpis/otd-rate/incidents/1/dismiss", None),
    ("POST", "/objectives/reliable/carry", {"cycle": "2027-H2", "key_results": ["otd"]}),
    ("POST", "/cycles/2027-Q1/carry", {"cycle": "2027-H2", "objectives": {"reliable": ["otd"]}}),
    ("POST", "/objectives/reliable/key-results/otd/initiatives", {"title": "New routes"}),
    ("PATCH", "/initiatives/1", {"status": "done"}),
    ("DELETE", "/initiatives/1", None),
    ("POST", "/initiatives/1/tracker", None),
    ("DELETE", "/initiatives/1/tracker", None),
    ("POST", "/trackers", {"name": "gh", "kind": "github", "url": "https://github.com"}),
    ("POST", "/trackers/spare/test", None),
    ("DELETE", "/trackers/spare", None),
]
# Discussing needs only seeing (docs/discussion.md): viewers may, read tokens may not.
SEEING_WRITES: list[tuple[str, str, Any]] = [
    ("POST", "/comments", {"on": "objectives/reliable", "body": "Hello"}),
    ("PATCH", "/comments/1", {"body": "Edited"}),
    ("DELETE", "/comments/1", None),
]
TOKEN_WRITES: list[tuple[str, str, Any]] = [
    ("POST", "/tokens", {"name": "more"}),
    ("DELETE", "/tokens/1", None),
]
READS = [
    "/teams", "/teams/depot", "/people", "/people/member@acme.test", "/cycles",
    "/cycles/2027-Q1", "/cycles/2027-Q1/tree", "/cycles/2027-Q1/scores", "/objectives",
    "/objectives/reliable", "/objectives/reliable/key-results/otd",
    "/objectives/reliable/key-results/otd/checkins", "/kpis", "/kpis/otd-rate",
    "/kpis/otd-rate/measurements", "/tokens", "/coach/findings", "/coach/rules",
    "/connections", "/connections/lite", "/kpis/otd-rate/source",
    "/cycles/2027-Q1/export", "/cycles/2027-Q1/review/export", "/teams/depot/export",
    "/kpis/export", "/kpis/otd-rate/measurements/export", "/search", "/comments",
    "/comments/1", "/calibration", "/cycles/2027-Q1/kpi-moves", "/objectives/reliable/forecast",
    "/teams/depot/history", "/objectives/reliable/key-results/otd/initiatives", "/initiatives",
    "/initiatives/1", "/pushes/1", "/kpis/otd-rate/reviews", "/trackers",
]  # fmt: skip
PRIVATE: list[tuple[str, str, Any]] = [
    ("GET", "/objectives/depot-secret", None),
    ("PATCH", "/objectives/depot-secret", {"title": "Renamed"}),
    ("DELETE", "/objectives/depot-secret", None),
    ("POST", "/objectives/depot-secret/align", {"parent": None}),
    ("POST", "/objectives/depot-secret/key-results", {"key": "n", "title": "N", "target": 1}),
    ("GET", "/objectives/depot-secret/key-results/award", None),
    ("PATCH", "/objectives/depot-secret/key-results/award", {"unit": "x"}),
    ("DELETE", "/objectives/depot-secret/key-results/award", None),
    (
        "POST",
        "/objectives/depot-secret/key-results/award/recalibrate",
        {"reason": "r", "target": 2},
    ),
    ("GET", "/objectives/depot-secret/key-results/award/checkins", None),
    ("POST", "/objectives/depot-secret/key-results/award/checkins", {"done": True}),
    ("GET", "/objectives/depot-secret/key-results/award/initiatives", None),
    ("POST", "/objectives/depot-secret/key-results/award/initiatives", {"title": "Quiet"}),
]


def _id(case: tuple[str, str, Any]) -> str:
    return f"{case[0]} {case[1]}"


def test_every_operation_is_covered() -> None:
    schema = ninja_api.get_openapi_schema()
    operations = {
        (method.upper(), path.removeprefix("/api/v1"))
        for path, methods in schema["paths"].items()
        for method in methods
    }
    tested_writes = {(m, p) for m, p, _ in WRITES + TOKEN_WRITES + SEEING_WRITES}
    tested_reads = {("GET", p) for p in READS}

    def template(path: str) -> str:
        for known in ("depot", "member@acme.test", "2027-Q1", "2026-Q4", "reliable", "otd-rate",
                      "empty", "otd", "1", "lite", "spare", "dismiss"):  # fmt: skip
            path = path.replace(f"/{known}/", "/{}/").removesuffix(f"/{known}") + (
                "/{}" if path.endswith(f"/{known}") else ""
            )
        return path

    def shape(path: str) -> str:
        return "/".join("{}" if part.startswith("{") else part for part in path.split("/"))

    covered = {(m, template(p)) for m, p in tested_writes | tested_reads}
    missing = {(m, shape(p)) for m, p in operations} - {(m, shape(p)) for m, p in covered}
    assert not missing, f"operations without a permission test: {sorted(missing)}"


@pytest.fixture
def world(org: Any, tmp_path: Any) -> Any:
    Team.objects.create(key="empty", name="Empty", parent=org.ops)
    Cycle.objects.create(
        key="2027-H2", start=datetime(2027, 7, 1).date(), end=datetime(2027, 12, 31).date()
    )
    Cycle.objects.create(
        key="2026-Q4", start=datetime(2026, 10, 1).date(), end=datetime(2026, 12, 31).date(),
        state="closed",
    )  # fmt: skip
    objective = Objective.objects.create(
        key="reliable", cycle=org.cycle, team=org.ops, owner=org.lead, title="Reliable"
    )
    otd = KeyResult.objects.create(
        objective=objective, key="otd", title="On time", start=88, target=96, owner=org.lead
    )
    # A tracker on a loopback port nothing listens on (its test answers "cannot reach").
    tracker_site = f"http://127.0.0.1:{closed_port()}"
    Tracker.objects.create(name="spare", kind="github", url=tracker_site)
    Initiative.objects.create(
        pk=1, key_result=otd, title="New routes", link=f"{tracker_site}/acme/app/issues/1"
    )
    secret = Objective.objects.create(
        key="depot-secret", cycle=org.cycle, team=org.depot, visibility="private", title="Award"
    )
    KeyResult.objects.create(objective=secret, key="award", title="Win it", kind="milestone")
    Kpi.objects.create(
        key="otd-rate", name="On-time", team=org.ops, owner=org.lead, target=95, latest_value=90,
        health="critical",
    )  # fmt: skip
    # Data sources: a connection in use, a spare one, a source with an open incident.
    lite = Connection.objects.create(
        name="lite", engine="sqlite", database=str(make_sqlite(tmp_path / "w.sqlite3"))
    )
    Connection.objects.create(name="spare", engine="sqlite", database="/srv/spare.db")
    source = Source.objects.create(
        kpi=Kpi.objects.get(key="otd-rate"), kind="sql", connection=lite,
        config={"query": "SELECT 1 AS value"}, state="held",
    )  # fmt: skip
    DataIncident.objects.create(pk=1, source=source, kpi=source.kpi, reasons=["jump"], rows=[])
    # Rows made with an explicit pk leave PostgreSQL's sequences behind: move them on, or
    # the next row the API creates would take pk 1 again.
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), [Initiative, DataIncident]):
            cursor.execute(sql)
    return org


def snapshot() -> list[Any]:
    """Everything a write could change (tokens aside, whose last use is recorded)."""
    models = (Team, Person, Membership, Cycle, Objective, KeyResult, CheckIn, Kpi, Measurement,
              Connection, Source, SourceFetch, DataIncident, Initiative, KpiReview,
              Tracker, TrackedIssue)  # fmt: skip
    return [list(m.objects.order_by("pk").values()) for m in models]


@pytest.mark.parametrize("case", WRITES, ids=_id)
def test_a_viewer_cannot_write(world: Any, case: tuple[str, str, Any]) -> None:
    method, path, body = case
    before = snapshot()
    response = ApiClient(token_for(world.viewer, "write")).send(method, path, body)
    if path == "/measurements":
        # Many KPIs at once: each row the viewer may not push is reported with its line.
        assert response.status_code == 422
        assert "may not push" in response.json()["error"]["rows"][0]["message"]
    else:
        assert response.status_code == 403, response.content
        assert response.json()["error"]["code"] == "forbidden"
    assert snapshot() == before


@pytest.mark.parametrize("case", WRITES + TOKEN_WRITES + SEEING_WRITES, ids=_id)
def test_a_read_token_cannot_write(world: Any, case: tuple[str, str, Any]) -> None:
    method, path, body = case
    client = ApiClient(token_for(world.admin, "read"))
    before = snapshot()
    tokens = ApiToken.objects.count()
    response = client.send(method, path, body)
    expected = 401 if path.startswith("/tokens") else 403  # tokens are for sessions only
    assert response.status_code == expected, response.content
    assert snapshot() == before
    assert ApiToken.objects.count() == tokens
    assert ApiToken.objects.filter(revoked_at__isnull=False).count() == 0


@pytest.mark.parametrize(
    "case",
    WRITES,
    ids=_id,
)
def test_an_admins_write_token_can_write(world: Any, case: tuple[str, str, Any]) -> None:
    """The bodies above are right: the same request by an admin goes through."""
    method, path, body = case
    response = ApiClient(token_for(world.admin, "write")).send(method, path, body)
    assert response.status_code in {200, 201, 204}, response.content


@pytest.mark.parametrize("case", PRIVATE, ids=_id)
@pytest.mark.parametrize("who", ["viewer", "outsider"])
def test_a_private_objective_is_404_to_non_members(
    world: Any, case: tuple[str, str, Any], who: str
) -> None:
    method, path, body = case
    before = snapshot()
    response = ApiClient(token_for(getattr(world, who), "write")).send(method, path, body)
    assert response.status_code == 404, response.content
    assert "depot-secret" in response.json()["error"]["message"]
    assert snapshot() == before
    member = ApiClient(token_for(world.member, "write")).send(method, path, body)
    assert member.status_code != 404, member.content


@pytest.mark.parametrize(
    "case", [("GET", p, None) for p in READS if p != "/tokens"] + WRITES, ids=_id
)
def test_a_revoked_token_is_refused(world: Any, case: tuple[str, str, Any]) -> None:
    method, path, body = case
    secret = token_for(world.admin, "write")
    ApiToken.objects.update(revoked_at=NOW)
    before = snapshot()
    response = ApiClient(secret).send(method, path, body)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert snapshot() == before
