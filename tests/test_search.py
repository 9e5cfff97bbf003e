"""Search: every kind found by its words, ranked, within visibility, in a constant number of
queries; the full-text index follows every write (triggers) and repairs itself."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from headway.api.tokens import create_token
from headway.kpis.models import Kpi
from headway.okrs.models import CheckIn, KeyResult, Objective
from headway.search.highlight import START, STOP, plain, ranges, segments
from headway.search.index import fts5_query, install, words
from headway.search.query import search
from headway.teams.access import Access
from headway.teams.models import Person, Team

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org: Any) -> Any:
    """A public objective of the depot, a private one of sales, a KPI, check-ins."""
    public = Objective.objects.create(
        key="delight", cycle=org.cycle, team=org.depot, owner=org.member,
        title="Delight every customer at the depot counter",
        description="Waiting times are what people remember about the quayside depot.",
    )  # fmt: skip
    kr = KeyResult.objects.create(
        objective=public, key="waits", title="Cut the median counter wait from 9 to 4 minutes",
        start=9, target=4, kind="decrease",
    )  # fmt: skip
    CheckIn.objects.create(
        key_result=kr, at=datetime(2027, 1, 11, tzinfo=UTC), value=8,
        comment="Second cashier on Saturdays helped a lot", author=org.member,
    )  # fmt: skip
    secret = Objective.objects.create(
        key="acquire", cycle=org.cycle, team=org.sales, owner=org.outsider,
        title="Acquire Zanzibarco before the summer", visibility="private",
        description="Zanzibarco's founders want a quiet deal; nobody outside sales may know.",
    )  # fmt: skip
    secret_kr = KeyResult.objects.create(
        objective=secret, key="signed", title="Zanzibarco term sheet signed", kind="milestone"
    )
    CheckIn.objects.create(
        key_result=secret_kr, at=datetime(2027, 1, 12, tzinfo=UTC), done=False,
        comment="Zanzibarco counter-offer expected next week", author=org.outsider,
    )  # fmt: skip
    kpi = Kpi.objects.create(
        key="counter-wait", name="Counter wait", team=org.depot, unit="min",
        definition="Median minutes from queueing to being served at the quayside counter.",
    )  # fmt: skip
    org.public, org.kr, org.secret, org.kpi = public, kr, secret, kpi
    return org


def kinds_and_keys(access: Access, text: str) -> list[tuple[str, str]]:
    return [(h.kind, h.key) for h in search(access, text)]


def test_search_finds_every_kind_by_its_words(world: Any) -> None:
    me = Access.for_person(world.member)
    assert ("objective", "delight") in kinds_and_keys(me, "delight")
    # a description, a check-in comment, a KPI's definition, as the start of a word
    assert ("objective", "delight") in kinds_and_keys(me, "remember quays")
    assert ("checkin", "waits") in kinds_and_keys(me, "cashier saturday")
    assert ("kpi", "counter-wait") in kinds_and_keys(me, "queueing")
    assert ("key_result", "waits") in kinds_and_keys(me, "median wait")
    assert ("team", "depot") in kinds_and_keys(me, "depot north")
    assert ("person", "lead@acme.test") in kinds_and_keys(me, "lou")
    # every word must match
    assert kinds_and_keys(me, "delight saturday") == []


def test_search_ranks_and_shows_cycle_and_team(world: Any) -> None:
    hits = search(Access.for_person(world.member), "counter")
    kinds = [h.kind for h in hits]
    assert {"objective", "key_result", "kpi"} <= set(kinds)
    assert [h.rank for h in hits] == sorted((h.rank for h in hits), reverse=True)
    objective = next(h for h in hits if h.kind == "objective")
    assert (objective.cycle_key, objective.team_key) == ("2027-Q1", "depot")
    assert objective.url == "/objectives/delight/"
    assert ("counter", True) in objective.title
    kr = next(h for h in hits if h.kind == "key_result")
    assert kr.url == "/objectives/delight/#kr-waits"


def test_private_objective_words_never_surface_for_a_non_member(world: Any) -> None:
    """Neither the private objective, its key result nor its check-in, in results or snippets,
    on the page or in the API; its team and its owner find all three."""
    for outsider in (world.member, world.lead, world.viewer):
        assert kinds_and_keys(Access.for_person(outsider), "zanzibarco") == []
        client = Client()
        client.force_login(outsider)
        page = client.get("/search/", {"q": "zanzibarco"})
        assert page.status_code == 200
        assert b"search-hit" not in page.content
        # Words of its description, its key result and its check-in: none of it shows.
        for words_only_it_has in ("founders quiet", "term sheet", "offer expected"):
            page = client.get("/search/", {"q": words_only_it_has})
            assert b"anzibarco" not in page.content
            api = client.get("/api/v1/search", {"q": words_only_it_has})
            assert api.status_code == 200
            assert api.json()["count"] == 0
            assert "anzibarco" not in api.content.decode()
        # A word the private texts share with public ones: only public texts come back.
        for hit in search(Access.for_person(outsider), "counter"):
            assert "anzibarco" not in plain(hit.title) + plain(hit.snippet)
            assert hit.key not in {"acquire", "signed"}
    for insider in (world.outsider, world.admin):
        found = kinds_and_keys(Access.for_person(insider), "zanzibarco")
        assert {("objective", "acquire"), ("key_result", "signed"), ("checkin", "signed")} <= set(
            found
        )


def test_index_follows_edits_and_deletions(world: Any) -> None:
    me = Access.for_person(world.member)
    world.public.title = "Make the harbour depot a joy to visit"
    world.public.save()
    assert ("objective", "delight") not in kinds_and_keys(me, "delight")
    assert ("objective", "delight") in kinds_and_keys(me, "harbour joy")
    Objective.objects.filter(pk=world.public.pk).update(description="Ferries and tides")
    assert ("objective", "delight") in kinds_and_keys(me, "tides")
    assert ("objective", "delight") not in kinds_and_keys(me, "quayside")
    world.kpi.delete()
    assert kinds_and_keys(me, "queueing") == []
    # Bulk inserts (the importer, the large demo) are indexed as well.
    Team.objects.bulk_create([Team(key="harbour", name="Harbour Crew", parent=world.ops)])
    assert ("team", "harbour") in kinds_and_keys(me, "crew")


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite drops triggers on rebuilds")
def test_install_repairs_an_index_whose_triggers_a_table_rebuild_dropped(world: Any) -> None:
    with connection.cursor() as cursor:
        for suffix in ("ai", "ad", "au"):
            cursor.execute(f"DROP TRIGGER search_okrs_objective_{suffix}")
    Objective.objects.create(key="late", cycle=world.cycle, team=world.depot, title="Late bloomer")
    me = Access.for_person(world.member)
    assert kinds_and_keys(me, "bloomer") == []
    assert install(connection) == ["okrs_objective"]
    assert ("objective", "late") in kinds_and_keys(me, "bloomer")
    assert install(connection) == []


def test_install_is_idempotent(world: Any) -> None:
    install(connection)
    assert ("objective", "delight") in kinds_and_keys(Access.for_person(world.member), "delight")


def test_search_words_cannot_inject_query_syntax(world: Any) -> None:
    me = Access.for_person(world.member)
    for text in ['"delight', "delight OR zanzibarco", "NEAR(delight", "de*", "a & b | !c", "_:*"]:
        search(me, text)  # no syntax error from either database
    assert words('Delight "OR" NEAR(x) ü_ß') == ["delight", "or", "near", "x", "ü", "ß"]
    assert fts5_query(["or", "x"]) == '"or"* "x"*'
    assert search(me, "   ") == []
    assert search(me, "delight OR zanzibarco") == []


def test_highlight_segments_are_balanced_whatever_the_marks() -> None:
    marked = f"Cut the {START}wait{STOP} {START}{START}now{STOP}{STOP} stray{STOP}"
    pieces = segments(marked)
    assert pieces == [("Cut the ", False), ("wait", True), (" ", False), ("now", True),
                      (" stray", False)]  # fmt: skip
    assert plain(pieces) == "Cut the wait now stray"
    assert ranges(pieces) == [(8, 12), (13, 16)]


def test_search_page_escapes_and_marks(world: Any) -> None:
    Objective.objects.create(
        key="tags", cycle=world.cycle, team=world.depot, title="<script>x</script> depot tags"
    )
    client = Client()
    client.force_login(world.member)
    page = client.get("/search/", {"q": "tags"})
    assert b"<script>x" not in page.content
    assert b"&lt;script&gt;x&lt;/script&gt; depot <mark>tags</mark>" in page.content
    assert b'role="search"' in client.get("/").content  # the header's box


def test_search_api_answers_offsets_and_refuses_bad_queries(world: Any) -> None:
    token = create_token(person=world.member, name="search")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token.secret}")
    body = client.get("/api/v1/search", {"q": "counter", "kind": "objective"}).json()
    assert body["count"] == 1
    item = body["items"][0]
    assert (item["kind"], item["key"], item["cycle"], item["team"]) == (
        "objective", "delight", "2027-Q1", "depot"
    )  # fmt: skip
    start, end = item["title_matches"][0]
    assert item["title"][start:end] == "counter"
    assert item["url"].endswith("/objectives/delight/")
    assert client.get("/api/v1/search", {"q": ""}).status_code == 400
    assert client.get("/api/v1/search", {"q": "x", "kind": "nope"}).status_code == 400
    assert Client().get("/api/v1/search", {"q": "counter"}).status_code == 401


def grow(world: Any, n: int, start: int) -> None:
    """n more of every kind, each matching the word "harvest"."""
    for i in range(start, start + n):
        team = Team.objects.create(key=f"harvest-{i}", name=f"Harvest {i}", parent=world.ops)
        Person.objects.create_user(f"h{i}@acme.test", None, name=f"Harvest Hand {i}")
        for visibility in ("public", "private"):
            o = Objective.objects.create(
                key=f"harvest-{i}-{visibility}", cycle=world.cycle, team=team,
                title=f"Harvest goal {i}", visibility=visibility, description="harvest",
            )  # fmt: skip
            kr = KeyResult.objects.create(objective=o, key="k", title="Harvest more", target=1)
            CheckIn.objects.create(
                key_result=kr, at=datetime(2027, 1, 5, tzinfo=UTC), value=1, comment="harvest"
            )
        Kpi.objects.create(key=f"harvest-{i}", name=f"Harvest {i}", team=team)


def count_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    return len(queries)


@pytest.mark.parametrize("url", ["/search/?q=harvest", "/api/v1/search?q=harvest&limit=100"])
def test_search_runs_a_constant_number_of_queries(world: Any, url: str) -> None:
    client = Client()
    client.force_login(world.lead)
    grow(world, 3, 0)
    client.get("/")  # warm the session
    small = count_queries(client, url)
    grow(world, 30, 3)
    assert count_queries(client, url) == small
    # Access (2), one ranking query and at most one detail query (people: two) per kind.
    assert small <= 2 + 6 + 7 + 4
