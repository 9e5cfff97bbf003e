"""Discussion: comments on objectives, key results, KPIs and check-ins; @mentions reach the
inbox of those who may see the thing; edits kept; rights as for seeing; constant queries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from headway.api.tokens import create_token
from headway.discussion.actions import add_comment, delete_comment, edit_comment
from headway.discussion.mentions import handles, resolve
from headway.discussion.models import Comment
from headway.discussion.targets import resolve as target
from headway.kpis.models import Kpi
from headway.notify import events
from headway.notify.models import Delivery, Notification
from headway.okrs.models import CheckIn, KeyResult, Objective

pytestmark = [pytest.mark.django_db, pytest.mark.frozen(datetime(2027, 2, 15, 12, tzinfo=UTC))]


@pytest.fixture(autouse=True)
def loud(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events, "RAISE_ERRORS", True)


@pytest.fixture
def world(org: Any) -> Any:
    org.objective = Objective.objects.create(
        key="tidy", cycle=org.cycle, team=org.depot, owner=org.member, title="Tidy depot floors"
    )
    org.kr = KeyResult.objects.create(
        objective=org.objective, key="trips", title="Cut trip hazards from 12 to 2", start=12,
        target=2, kind="decrease",
    )  # fmt: skip
    org.checkin = CheckIn.objects.create(
        key_result=org.kr, at=datetime(2027, 1, 11, tzinfo=UTC), value=9, author=org.member
    )
    org.kpi = Kpi.objects.create(key="slips", name="Slips per month", team=org.depot)
    org.private = Objective.objects.create(
        key="hush", cycle=org.cycle, team=org.sales, owner=org.outsider, title="Hush deal",
        visibility="private",
    )  # fmt: skip
    return org


def signed_in(who: Any) -> Client:
    client = Client()
    client.force_login(who)
    return client


def test_mentions_are_addresses_or_unique_local_parts() -> None:
    text = "Thanks @mo and @lou@acme.test, cc @Mo. Not pat@acme.test nor email@@x; @ghost."
    assert handles(text) == ["mo", "lou@acme.test", "ghost"]
    people = [(1, "mo@acme.test"), (2, "lou@acme.test"), (3, "ghost@a.test"), (4, "ghost@b.test")]
    assert resolve(handles(text), people) == {"mo": 1, "lou@acme.test": 2}


@pytest.mark.parametrize(
    "path", ["objectives/tidy", "objectives/tidy/key_results/trips", "kpis/slips", "checkin"]
)
def test_people_comment_on_each_kind_of_thing_and_the_thread_shows_it(
    world: Any, path: str
) -> None:
    if path == "checkin":
        path = f"checkins/{world.checkin.pk}"
    client = signed_in(world.viewer)  # seeing is enough to discuss
    response = client.post(f"/discussion/{path}/", {"body": "Who owns the <b>mop</b> rota?"})
    comment = Comment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/discussion/{path}/#comment-{comment.pk}"
    assert comment.author == world.viewer
    page = client.get(f"/discussion/{path}/")
    assert b"Who owns the &lt;b&gt;mop&lt;/b&gt; rota?" in page.content
    assert target(path).path == path


def test_the_objective_and_kpi_pages_show_their_discussion(world: Any) -> None:
    add_comment(by=world.member, target=target("objectives/tidy"), body="Floors first")
    add_comment(by=world.member, target=target("objectives/tidy/key_results/trips"), body="x")
    add_comment(by=world.member, target=target(f"checkins/{world.checkin.pk}"), body="y")
    add_comment(by=world.member, target=target("kpis/slips"), body="Slippery after rain")
    client = signed_in(world.lead)
    page = client.get("/objectives/tidy/").content.decode()
    assert "Floors first" in page
    assert "Discussion (1)" in page  # the key result's thread
    assert "1 comment" in page  # the check-in's
    assert "Slippery after rain" in client.get("/kpis/slips/").content.decode()


def test_a_mention_reaches_the_inbox_and_links_back_to_the_comment(world: Any) -> None:
    comment = add_comment(
        by=world.member, target=target("kpis/slips"), body="@lead can you look? cc @member"
    )
    note = Notification.objects.get(person=world.lead)
    assert note.event.kind == "mentioned"
    assert note.event.link == f"/comments/{comment.pk}/"
    assert "Slips per month" in note.event.title
    # The author mentioned themselves: not told. E-mail goes out by default.
    assert not Notification.objects.filter(person=world.member).exists()
    assert Delivery.objects.filter(person=world.lead, channel="email").exists()
    client = signed_in(world.lead)
    assert "can you look?" in client.get("/inbox/").content.decode()
    landing = client.get(f"/comments/{comment.pk}/")
    assert landing["Location"] == f"/discussion/kpis/slips/?page=1#comment-{comment.pk}"


def test_a_private_objective_is_discussed_only_by_those_who_may_see_it(world: Any) -> None:
    sales = target("objectives/hush")
    comment = add_comment(by=world.outsider, target=sales, body="Keep it quiet, @lead")
    # The ops lead may not see sales' private objective: not told, and no thread for them.
    assert not Notification.objects.filter(person=world.lead).exists()
    lead = signed_in(world.lead)
    assert lead.get("/discussion/objectives/hush/").status_code == 404
    assert lead.get(f"/comments/{comment.pk}/").status_code == 404
    refused = lead.post("/discussion/objectives/hush/", {"body": "let me in"})
    assert refused.status_code == 404
    with pytest.raises(PermissionDenied):
        add_comment(by=world.lead, target=sales, body="let me in")
    assert list(Comment.objects.values_list("body", flat=True)) == ["Keep it quiet, @lead"]
    api = Client(HTTP_AUTHORIZATION=f"Bearer {create_token(person=world.lead, name='t').secret}")
    assert api.get("/api/v1/comments", {"on": "objectives/hush"}).status_code == 404
    assert api.get(f"/api/v1/comments/{comment.pk}").status_code == 404


def test_edits_are_kept_in_history_and_only_the_author_edits(world: Any) -> None:
    thing = target("objectives/tidy")
    comment = add_comment(by=world.member, target=thing, body="Floors by Friday")
    with pytest.raises(PermissionDenied):
        edit_comment(by=world.lead, comment=comment, body="changed", seen_version=1)
    edited = edit_comment(
        by=world.member, comment=comment, body="Floors by Monday, @lead", seen_version=1
    )
    assert edited.version == 2
    assert edited.edited_at is not None
    # Newly mentioned on the edit: told once.
    assert Notification.objects.filter(person=world.lead, event__kind="mentioned").count() == 1
    with pytest.raises(ValidationError):
        edit_comment(by=world.member, comment=comment, body="stale", seen_version=1)
    assert Comment.objects.get().body == "Floors by Monday, @lead"
    page = signed_in(world.lead).get("/discussion/objectives/tidy/").content.decode()
    assert "Floors by Friday" in page  # the earlier version
    assert "Earlier versions (1)" in page
    assert [h.body for h in comment.history.order_by("history_date")] == [
        "Floors by Friday",
        "Floors by Monday, @lead",
    ]


def test_the_author_or_an_admin_deletes_a_comment(world: Any) -> None:
    thing = target("objectives/tidy")
    mine = add_comment(by=world.member, target=thing, body="one")
    with pytest.raises(PermissionDenied):
        delete_comment(by=world.lead, comment=mine)
    assert Comment.objects.count() == 1
    pk = mine.pk
    delete_comment(by=world.admin, comment=mine)
    assert not Comment.objects.exists()
    assert Comment.history.filter(id=pk, history_type="-", history_user=world.admin).exists()


def test_the_web_edit_form_saves_from_the_seen_version(world: Any) -> None:
    comment = add_comment(by=world.member, target=target("kpis/slips"), body="first")
    client = signed_in(world.member)
    assert client.get(f"/comments/{comment.pk}/edit/").status_code == 200
    response = client.post(f"/comments/{comment.pk}/edit/", {"body": "second", "version": "1"})
    assert response.status_code == 302
    stale = client.post(f"/comments/{comment.pk}/edit/", {"body": "third", "version": "1"})
    assert stale.status_code == 422
    assert Comment.objects.get().body == "second"
    assert signed_in(world.lead).get(f"/comments/{comment.pk}/edit/").status_code == 403


def test_the_api_lists_writes_edits_and_deletes_comments(world: Any) -> None:
    token = create_token(person=world.member, name="t", scope="write")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token.secret}")
    created = api.post(
        "/api/v1/comments",
        {"on": "objectives/tidy/key_results/trips", "body": "Ask @lead@acme.test"},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["on"], body["mentions"], body["version"]) == (
        "objectives/tidy/key_results/trips", ["lead@acme.test"], 1
    )  # fmt: skip
    listed = api.get("/api/v1/comments", {"on": "objectives/tidy/key_results/trips"}).json()
    assert listed["count"] == 1
    url = f"/api/v1/comments/{body['id']}"
    stale = api.patch(url, {"body": "x"}, content_type="application/json", HTTP_IF_MATCH='"7"')
    assert stale.status_code == 412
    patched = api.patch(url, {"body": "Asked"}, content_type="application/json")
    assert patched.json()["earlier"][0]["body"] == "Ask @lead@acme.test"
    assert (
        api.post(
            "/api/v1/comments", {"on": "kpis/nope", "body": "x"}, content_type="application/json"
        ).status_code
        == 404
    )
    assert (
        api.post(
            "/api/v1/comments", {"on": "kpis/slips", "body": "  "}, content_type="application/json"
        ).status_code
        == 422
    )
    assert api.delete(url).status_code == 204
    assert not Comment.objects.exists()


def count_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def grow(world: Any, n: int) -> None:
    for i in range(n):
        for path in ("objectives/tidy", "objectives/tidy/key_results/trips", "kpis/slips",
                     f"checkins/{world.checkin.pk}"):  # fmt: skip
            c = add_comment(by=world.member, target=target(path), body=f"note {i} @lead")
            edit_comment(by=world.member, comment=c, body=f"note {i} edited", seen_version=1)


@pytest.mark.parametrize(
    "url",
    [
        "/objectives/tidy/",
        "/kpis/slips/",
        "/discussion/objectives/tidy/",
        "/discussion/objectives/tidy/key_results/trips/",
        "/discussion/checkins/{checkin}/",
        "/inbox/",
        "/api/v1/comments?on=kpis/slips",
    ],
)
def test_pages_with_comments_run_a_constant_number_of_queries(world: Any, url: str) -> None:
    url = url.format(checkin=world.checkin.pk)
    client = signed_in(world.lead)
    grow(world, 2)
    client.get("/")
    small = count_queries(client, url)
    grow(world, 12)
    assert count_queries(client, url) == small
