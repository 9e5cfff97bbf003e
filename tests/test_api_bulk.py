"""The whole-cycle tree and scores kept per reader: exactly what rendering afresh gives.

These run outside a test transaction (`transaction=True`): inside one nothing is kept
(`readversion.current` is None), which is what every other API test sees.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import time_machine
from django.db import connection, transaction
from ninja.responses import NinjaJSONEncoder

from headway.api import bulk, readversion, tokens, tree
from headway.api.routes import cycles
from headway.api.testing import ApiClient, token_for
from headway.api.tree import dumps
from headway.okrs import scoring
from headway.okrs.actions import create_key_result, create_objective, record_checkin
from headway.okrs.models import KeyResult
from headway.teams.actions import update_team
from headway.teams.models import Person

NOW = datetime(2027, 2, 15, 12, tzinfo=UTC)
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.frozen(NOW)]


# One token per reader: creating one is a write, which moves PostgreSQL's version.
CLIENTS: dict[int, ApiClient] = {}


@pytest.fixture(autouse=True)
def _nothing_kept() -> Any:
    bulk.KEPT.clear()
    CLIENTS.clear()
    yield
    bulk.KEPT.clear()


@pytest.fixture
def okr(org: Any) -> Any:
    """Two levels of alignment, a private objective of the depot, check-ins."""
    top = create_objective(by=org.admin, cycle=org.cycle, team=org.ops, title="Deliver",
                           owner=org.lead)  # fmt: skip
    leaf = create_objective(by=org.lead, cycle=org.cycle, team=org.depot, parent=top,
                            title="Calm depot")  # fmt: skip
    secret = create_objective(by=org.member, cycle=org.cycle, team=org.depot, title="Secret",
                              visibility="private")  # fmt: skip
    otd = create_key_result(by=org.lead, objective=leaf, title="On time 88 to 96", start=88,
                            target=96, unit="%", owner=org.member)  # fmt: skip
    create_key_result(by=org.member, objective=secret, title="Hidden", start=0, target=10)
    create_key_result(by=org.lead, objective=top, title="Untouched", start=0, target=10)
    record_checkin(key_result=otd, by=org.member, value=91.5, confidence=7,
                   at=datetime(2027, 2, 8, 9, tzinfo=UTC))  # fmt: skip
    return org


def client_of(person: Person) -> ApiClient:
    if person.pk not in CLIENTS:
        CLIENTS[person.pk] = ApiClient(token_for(person, "read"))
        CLIENTS[person.pk].get("/cycles")  # the token's first use is written down
    return CLIENTS[person.pk]


def read(person: Person, what: str = "tree", **params: str) -> bytes:
    response = client_of(person).get(f"/cycles/2027-Q1/{what}", params)
    assert response.status_code == 200, response.content
    return bytes(response.content)


def afresh(person: Person, what: str = "tree", **params: str) -> bytes:
    """The body rendered from the rows, nothing kept before or after."""
    bulk.KEPT.clear()
    body = read(person, what, **params)
    bulk.KEPT.clear()
    return body


def kr_of(body: bytes, key: str) -> dict[str, Any]:
    def walk(nodes: list[dict[str, Any]]) -> Any:
        for node in nodes:
            for kr in node["key_results"]:
                if kr["key"] == key:
                    return kr
            found = walk(node["children"])
            if found is not None:
                return found
        return None

    found = walk(json.loads(body)["objectives"])
    assert found is not None, key
    return dict(found)


@pytest.mark.parametrize(("what", "params"), [("tree", {}), ("tree", {"team": "ops"}),
                                              ("scores", {})])  # fmt: skip
def test_a_second_reading_is_the_kept_body_and_reads_as_one_rendered_afresh(
    okr: Any, what: str, params: dict[str, str]
) -> None:
    first = read(okr.member, what, **params)
    hits = bulk.KEPT.hits
    assert read(okr.member, what, **params) == first
    assert bulk.KEPT.hits == hits + 1
    assert afresh(okr.member, what, **params) == first
    # And the same answer as the cycle scored afresh at this moment, field by field.
    assert json.loads(first) == json.loads(read(okr.member, what, at=NOW.isoformat(), **params))


def test_a_checkin_through_its_action_shows_in_the_next_body(okr: Any) -> None:
    read(okr.viewer)
    before = read(okr.viewer)
    assert bulk.KEPT.hits == 1
    assert kr_of(before, "on-time-88-to-96")["current"] == 91.5
    record_checkin(key_result=KeyResult.objects.get(key="on-time-88-to-96"), by=okr.member,
                   value=94.0, at=datetime(2027, 2, 14, 9, tzinfo=UTC))  # fmt: skip
    after = read(okr.viewer)
    assert kr_of(after, "on-time-88-to-96")["current"] == 94.0
    assert after == afresh(okr.viewer)
    scores = json.loads(read(okr.viewer, "scores"))
    assert scores["key_results"]["calm-depot/on-time-88-to-96"]["current"] == 94.0


def test_a_write_by_any_path_moves_the_version(okr: Any) -> None:
    """Not only the actions: a bare queryset update (as bulk loaders write) too."""
    read(okr.viewer)
    version = readversion.current(connection)
    assert version is not None
    KeyResult.objects.filter(key="untouched").update(title="Touched")
    assert readversion.current(connection) != version
    assert kr_of(read(okr.viewer), "untouched")["title"] == "Touched"
    version = readversion.current(connection)
    Person.objects.filter(pk=okr.lead.pk).update(email="lou@acme.test")
    assert readversion.current(connection) != version
    assert b'"owner":"lou@acme.test"' in read(okr.viewer)


def test_a_renamed_team_reorders_the_kept_tree(okr: Any) -> None:
    """Objectives are listed by team name: Depot North before Operations, then after."""
    assert list(json.loads(read(okr.admin, "scores"))["objectives"]) == [
        "calm-depot",
        "secret",
        "deliver",
    ]
    read(okr.admin, "scores")
    update_team(by=okr.admin, team=okr.depot, name="Zebra depot")
    body = read(okr.admin, "scores")
    assert list(json.loads(body)["objectives"]) == ["deliver", "calm-depot", "secret"]
    assert bulk.KEPT.hits == 1
    assert body == afresh(okr.admin, "scores")


@pytest.mark.parametrize("first", ["member", "viewer"])
def test_readers_who_see_different_objectives_never_get_each_others_body(
    okr: Any, first: str
) -> None:
    """The depot's member sees its private objective; the viewer of operations does not."""
    second = "viewer" if first == "member" else "member"
    client_of(okr.member), client_of(okr.viewer)
    for who in (first, second, first, second):
        for what in ("tree", "scores"):
            body = read(getattr(okr, who), what)
            assert (b"secret" in body) is (who == "member"), (who, what)
    assert bulk.KEPT.hits == 4


def test_statuses_and_expectations_of_a_kept_body_follow_the_clock(
    okr: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Half-way through the cycle 0.44 is on track; a month later it is off track."""
    # A month later a token's use would be written down, a write that on PostgreSQL
    # starts a new version: keep it from hiding what this test is about.
    monkeypatch.setattr(tokens, "LAST_USED_RESOLUTION", timedelta(days=365))
    tree_now, scores_now = read(okr.viewer), read(okr.viewer, "scores")
    assert kr_of(tree_now, "on-time-88-to-96")["status"] == "on_track"
    later = NOW + timedelta(days=30)
    with time_machine.travel(later, tick=False):
        hits = bulk.KEPT.hits
        tree_later, scores_later = read(okr.viewer), read(okr.viewer, "scores")
        assert bulk.KEPT.hits == hits + 2
        assert kr_of(tree_later, "on-time-88-to-96")["status"] == "off_track"
        assert json.loads(tree_later)["at"] != json.loads(tree_now)["at"]
        scores = json.loads(scores_later)
        kr = scores["key_results"]["calm-depot/on-time-88-to-96"]
        assert kr["expected"] == json.loads(tree_later)["expected"] > 0.8
        assert scores_later != scores_now
        assert tree_later == afresh(okr.viewer)
        assert scores_later == afresh(okr.viewer, "scores")


def test_a_body_read_while_someone_writes_is_not_kept(
    okr: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    read_rows = tree.stored_rows

    def rows_then_a_write(*args: Any, **kwargs: Any) -> Any:
        rows = read_rows(*args, **kwargs)
        KeyResult.objects.filter(key="untouched").update(title="Written meanwhile")
        return rows

    monkeypatch.setattr(cycles, "stored_rows", rows_then_a_write)
    read(okr.viewer)
    monkeypatch.undo()
    assert kr_of(read(okr.viewer), "untouched")["title"] == "Written meanwhile"
    assert bulk.KEPT.hits == 0


def test_nothing_is_kept_inside_a_transaction(okr: Any) -> None:
    with transaction.atomic():
        assert readversion.current(connection) is None
        read(okr.viewer)
        read(okr.viewer)
    assert bulk.KEPT.hits == 0


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2027, 2, 8, 9, tzinfo=UTC),
        datetime(2027, 2, 8, 9, 0, 0, 123999, tzinfo=UTC),
        datetime(2027, 2, 8, 9, 0, 0, 999, tzinfo=UTC),
        datetime(2027, 2, 8, 9, 0, 0, 1000, tzinfo=timezone(timedelta(hours=2))),
        datetime(2027, 2, 8, 9, 0, 0, 5),
    ],
)
def test_bodies_write_moments_as_the_rest_of_the_api_does(moment: datetime) -> None:
    expected = json.dumps({"at": moment, "day": moment.date()}, cls=NinjaJSONEncoder,
                          separators=(",", ":"))  # fmt: skip
    assert dumps({"at": moment, "day": moment.date()}) == expected.encode()


def test_a_template_judges_every_status_as_scoring_does_at_any_moment() -> None:
    """Scores on and around every boundary of the statuses, judged at moments across the
    cycle, read as `scoring.status_for` judges them one by one."""
    rng = random.Random(16)
    edges = [1.0, 1.0 - 1e-10, 0.0, 0.5, 0.4, 0.25, 0.15, 0.9, 0.75]
    scores = [*edges, *(e + d for e in edges for d in (1e-12, -1e-12)),
              *(rng.random() for _ in range(300))]  # fmt: skip
    moments = [0.0, 1.0, 0.5, 0.35, 0.4, 0.25, *(rng.random() for _ in range(40))]
    results = [
        scoring.KeyResultResult(
            score=score,
            status="",
            forecast=None,
            current=None,
            expected=0.0,
            last_checkin_at=None,
            confidence=None,
            has_data=has_data,
        )
        for score in scores
        for has_data in (True, False)
    ]
    marks = bulk.Marks()
    tail = {"items": [{"status": marks.status(r), "expected": marks.expected(r)} for r in results]}
    template = bulk.Template.of(tail, marks)
    for expected in moments:
        body = json.loads(template.render({"at": "now"}, expected))
        assert body["at"] == "now"
        assert [item["status"] for item in body["items"]] == [
            scoring.status_for(r.score, expected, r.has_data) for r in results
        ]
        assert {item["expected"] for item in body["items"]} == {expected}


def test_folding_the_changes_keeps_the_version_and_the_next_write_moves_it(
    okr: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL keeps a row per writing transaction and folds them past PRUNE_AT."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite keeps one counter row")
    monkeypatch.setattr(readversion, "PRUNE_AT", 2)
    for n in range(4):
        KeyResult.objects.filter(key="untouched").update(title=f"Touched {n}")
    before = readversion.current(connection)  # folds
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {readversion.CHANGES}")
        assert cursor.fetchone()[0] == 1
    assert readversion.current(connection) == before
    KeyResult.objects.filter(key="untouched").update(title="Touched again")
    assert readversion.current(connection) != before
