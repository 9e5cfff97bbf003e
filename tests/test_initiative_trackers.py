"""Tracker sync: an initiative linked to a GitHub, GitLab or Jira issue takes its status from it.

The trackers are local HTTP servers speaking each documented REST API (tests/tracker_servers.py),
auth checks, 404, 401, 5xx and slow answers included. Nothing is mocked.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, connections
from django.test import Client
from django.utils import timezone

from headway.api.testing import ApiClient, token_for
from headway.initiatives.actions import (
    FAILING_AFTER,
    create_initiative,
    create_tracker,
    delete_tracker,
    follow_tracker,
    try_tracker,
    unfollow_tracker,
    update_initiative,
)
from headway.initiatives.models import Initiative, TrackedIssue, Tracker
from headway.initiatives.sync import claim, sync_due
from headway.initiatives.trackers import TRACKERS, Issue, TrackerError, TrackerInfo
from headway.notify.models import Event, Notification
from headway.okrs.models import KeyResult, Objective
from tests.tracker_servers import FakeTracker, Fault

KEYS = {"github": "acme/app/12", "gitlab": "acme/platform/api/5", "jira": "ABC-7"}


# --------------------------------------------------------------------------- pure: no database


def test_each_kind_recognises_its_issue_links_only() -> None:
    gh, gl, jira = TRACKERS["github"], TRACKERS["gitlab"], TRACKERS["jira"]
    assert gh.parse("https://github.com/acme/app/issues/12", "https://github.com") == Issue(
        "github", ("acme", "app", "12")
    )
    assert gh.parse("https://github.com/acme/app/pull/12", "https://github.com") is None
    assert gh.parse("https://gitlab.com/acme/app/issues/12", "https://github.com") is None
    assert gl.parse(
        "https://git.acme.test/tools/gitlab/a/b/c/-/issues/5", "https://git.acme.test/tools/gitlab"
    ) == Issue("gitlab", ("a/b/c", "5"))
    assert (
        gl.parse("https://git.acme.test/other/a/-/issues/5", "https://git.acme.test/tools") is None
    )
    assert gl.parse("https://git.acme.test/a/b/issues/5", "https://git.acme.test") is None
    assert jira.parse("https://acme.atlassian.net/browse/ABC-12", "https://acme.atlassian.net") == (
        Issue("jira", ("ABC-12",))
    )
    assert jira.parse("https://acme.atlassian.net/browse/ABC", "https://acme.atlassian.net") is None
    assert (
        jira.parse("http://acme.atlassian.net/browse/ABC-1", "https://acme.atlassian.net") is None
    )
    assert Issue("github", ("acme", "app", "12")).label == "acme/app#12"
    assert Issue("gitlab", ("a/b", "5")).label == "a/b#5"


def test_each_kind_builds_the_documented_request_and_auth_header() -> None:
    gh = TRACKERS["github"].issue_request(
        Issue("github", ("acme", "app", "12")),
        TrackerInfo("github", "https://github.com", token="t"),
    )
    assert gh.url == "https://api.github.com/repos/acme/app/issues/12"
    assert gh.headers["Authorization"] == "Bearer t"
    assert gh.headers["X-GitHub-Api-Version"] == "2022-11-28"
    ghes = TRACKERS["github"].issue_request(
        Issue("github", ("a", "b", "1")), TrackerInfo("github", "https://git.acme.test")
    )
    assert ghes.url == "https://git.acme.test/api/v3/repos/a/b/issues/1"
    assert "Authorization" not in ghes.headers
    gl = TRACKERS["gitlab"].issue_request(
        Issue("gitlab", ("acme/platform/api", "5")),
        TrackerInfo("gitlab", "https://gitlab.com", token="t"),
    )
    assert gl.url == "https://gitlab.com/api/v4/projects/acme%2Fplatform%2Fapi/issues/5"
    assert gl.headers == {"PRIVATE-TOKEN": "t"}
    cloud = TrackerInfo("jira", "https://acme.atlassian.net", email="bot@acme.test", token="t")
    jira = TRACKERS["jira"].issue_request(Issue("jira", ("ABC-7",)), cloud)
    assert jira.url == "https://acme.atlassian.net/rest/api/3/issue/ABC-7?fields=status"
    assert jira.headers["Authorization"] == "Basic Ym90QGFjbWUudGVzdDp0"  # bot@acme.test:t
    center = TrackerInfo("jira", "https://jira.acme.test", token="pat")
    assert (
        TRACKERS["jira"].issue_request(Issue("jira", ("ABC-7",)), center).headers["Authorization"]
        == "Bearer pat"
    )


def _jira(name: str, category: str) -> dict[str, Any]:
    return {"fields": {"status": {"name": name, "statusCategory": {"key": category}}}}


@pytest.mark.parametrize(
    ("kind", "payload", "status"),
    [
        ("github", {"state": "open", "state_reason": None}, "planned"),
        ("github", {"state": "open", "assignees": [{"login": "mo"}]}, "in_progress"),
        ("github", {"state": "open", "state_reason": "reopened"}, "in_progress"),
        ("github", {"state": "closed", "state_reason": "completed"}, "done"),
        ("github", {"state": "closed", "state_reason": None}, "done"),
        ("github", {"state": "closed", "state_reason": "not_planned"}, "dropped"),
        ("github", {"state": "closed", "state_reason": "duplicate"}, "dropped"),
        ("gitlab", {"state": "opened"}, "planned"),
        ("gitlab", {"state": "opened", "assignee": {"username": "mo"}}, "in_progress"),
        ("gitlab", {"state": "closed"}, "done"),
        ("jira", _jira("To Do", "new"), "planned"),
        ("jira", _jira("In Review", "indeterminate"), "in_progress"),
        ("jira", _jira("Done", "done"), "done"),
        ("jira", _jira("Won't Do", "done"), "dropped"),
        ("jira", _jira("Won\u2019t Do", "done"), "dropped"),
    ],
)
def test_the_answer_maps_to_an_initiative_status(kind: str, payload: Any, status: str) -> None:
    assert TRACKERS[kind].remote(payload).status == status


@pytest.mark.parametrize(
    ("kind", "payload"),
    [("github", {"state": "merged"}), ("gitlab", {}), ("jira", {"fields": {"status": {}}})],
)
def test_an_unknown_answer_is_an_error_not_a_guess(kind: str, payload: Any) -> None:
    with pytest.raises(TrackerError, match="unknown"):
        TRACKERS[kind].remote(payload)


# --------------------------------------------------------------------------- with a database


@pytest.fixture
def world(org: Any, tracker_servers: dict[str, FakeTracker]) -> Any:
    org.objective = Objective.objects.create(
        key="reliable", cycle=org.cycle, team=org.depot, owner=org.member, title="Reliable"
    )
    org.kr = KeyResult.objects.create(
        objective=org.objective, key="otd", title="On time", start=80, target=90, owner=org.member
    )
    org.servers = tracker_servers
    org.trackers = {}
    for kind, server in tracker_servers.items():
        org.trackers[kind] = create_tracker(
            by=org.admin,
            name=f"{kind}-test",
            kind=kind,
            url=server.base,
            api_url=server.api_url,
            email=server.email if kind == "jira" else "",
            token=server.token,
        )
    return org


def _followed(world: Any, kind: str, title: str = "Ship it", **fields: Any) -> Initiative:
    server: FakeTracker = world.servers[kind]
    key = KEYS[kind]
    server.issues.setdefault(key, fields)
    initiative = create_initiative(
        by=world.member, key_result=world.kr, title=title, owner=world.member, link=server.link(key)
    )
    follow_tracker(by=world.member, initiative=initiative)
    return initiative


def _due_now() -> None:
    TrackedIssue.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))


OPEN: dict[str, dict[str, Any]] = {"github": {"state": "open", "assignees": [{"login": "mo"}]},
        "gitlab": {"state": "opened", "assignees": [{"username": "mo"}]},
        "jira": {"category": "indeterminate"}}  # fmt: skip
CLOSED: dict[str, dict[str, Any]] = {"github": {"state": "closed", "state_reason": "completed"},
          "gitlab": {"state": "closed"}, "jira": {"category": "done"}}  # fmt: skip


@pytest.mark.parametrize("kind", ["github", "gitlab", "jira"])
def test_sync_takes_the_status_from_each_tracker_with_history(world: Any, kind: str) -> None:
    initiative = _followed(world, kind, **OPEN[kind])
    stats = sync_due(worker_id="w")
    assert (stats.claimed, stats.changed) == (1, 1)
    initiative.refresh_from_db()
    assert (initiative.status, initiative.version) == ("in_progress", 2)
    tracked = TrackedIssue.objects.get(initiative=initiative)
    assert tracked.last_synced_at is not None
    assert tracked.last_error == ""
    assert tracked.next_attempt_at > timezone.now() + timedelta(minutes=14)
    last = initiative.history.order_by("history_id").last()
    assert last.status == "in_progress"
    assert last.history_user is None
    assert last.history_change_reason.startswith(f"From {kind}-test:")
    server = world.servers[kind]
    assert server.hits[KEYS[kind]] == 1
    if kind == "jira":
        assert server.seen_queries[-1] == {"fields": ["status"]}
    # Not due again until the next sync.
    assert sync_due(worker_id="w").claimed == 0
    # The issue closes: the next sync makes it done, and the "all done" announcement follows.
    server.issues[KEYS[kind]] = CLOSED[kind]
    _due_now()
    assert sync_due(worker_id="w").changed == 1
    initiative.refresh_from_db()
    assert initiative.status == "done"
    assert Event.objects.filter(kind="work_done", key_result=world.kr).count() == 1
    # Unchanged answers write no new version.
    _due_now()
    assert sync_due(worker_id="w").unchanged == 1
    initiative.refresh_from_db()
    assert initiative.version == 3


def test_a_wrong_token_fails_without_showing_it(world: Any) -> None:
    initiative = _followed(world, "github", **OPEN["github"])
    tracker = world.trackers["github"]
    tracker.set_token("wrong-token-value")
    tracker.save()
    assert sync_due(worker_id="w").failed == 1
    tracked = TrackedIssue.objects.get(initiative=initiative)
    assert "refused the tracker's token (HTTP 401)" in tracked.last_error
    assert "wrong-token-value" not in tracked.last_error
    initiative.refresh_from_db()
    assert initiative.status == "planned"
    # The server saw the documented header with the wrong token.
    assert world.servers["github"].seen_headers[-1]["Authorization"] == "Bearer wrong-token-value"


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (Fault(status=500), "answered HTTP 500"),
        (Fault(status=503), "answered HTTP 503"),
        (Fault(delay=1.5), "did not answer within 0.5 s"),
        (Fault(status=403, headers={"x-ratelimit-remaining": "0"}), "rate limiting the token"),
        (Fault(status=429, headers={"Retry-After": "30"}), "rate limiting the token"),
        # A redirect is never followed with the token (it could carry it to another host).
        (Fault(status=302, headers={"Location": "http://127.0.0.1:9/x"}), "answered a redirect"),
    ],
)
def test_server_errors_and_slow_answers_are_failures(
    world: Any, settings: Any, fault: Fault, message: str
) -> None:
    settings.HEADWAY_SOURCE_TIMEOUT = 0.5
    initiative = _followed(world, "gitlab", **OPEN["gitlab"])
    world.servers["gitlab"].faults[KEYS["gitlab"]] = fault
    assert sync_due(worker_id="w").failed == 1
    tracked = TrackedIssue.objects.get(initiative=initiative)
    assert message in tracked.last_error
    assert tracked.failures == 1


def test_a_missing_issue_is_a_failure_naming_it(world: Any) -> None:
    server = world.servers["jira"]
    initiative = create_initiative(
        by=world.member, key_result=world.kr, title="Gone", link=server.link("ABC-404")
    )
    follow_tracker(by=world.member, initiative=initiative)
    assert sync_due(worker_id="w").failed == 1
    assert "has no issue ABC-404 (HTTP 404)" in TrackedIssue.objects.get().last_error


def test_failures_back_off_and_a_success_resets(world: Any) -> None:
    initiative = _followed(world, "github", **OPEN["github"])
    world.servers["github"].faults[KEYS["github"]] = Fault(status=502)
    delays = []
    for _ in range(4):
        _due_now()
        before = timezone.now()
        sync_due(worker_id="w")
        tracked = TrackedIssue.objects.get(initiative=initiative)
        delays.append((tracked.next_attempt_at - before).total_seconds())
        assert sync_due(worker_id="w").claimed == 0  # backed off: not due yet
    assert tracked.failures == 4
    assert [round(d / 60) for d in delays] == [1, 2, 4, 8]
    world.servers["github"].faults.clear()
    _due_now()
    sync_due(worker_id="w")
    tracked.refresh_from_db()
    assert (tracked.failures, tracked.failing_since, tracked.last_error) == (0, None, "")


def test_tracker_failing_is_sent_once_per_spell_and_cleared(world: Any) -> None:
    initiative = _followed(world, "jira", **OPEN["jira"])
    world.servers["jira"].faults[KEYS["jira"]] = Fault(status=500)
    for attempt in range(1, FAILING_AFTER + 3):
        _due_now()
        sync_due(worker_id="w")
        expected = 1 if attempt >= FAILING_AFTER else 0
        assert Event.objects.filter(kind="tracker_failing").count() == expected, attempt
    event = Event.objects.get(kind="tracker_failing")
    assert event.objective == world.objective
    assert "HTTP 500" in event.summary
    note = Notification.objects.get(event=event)
    assert note.person == initiative.owner
    assert note.read_at is None
    # Recovery clears it: the inbox entry is read, the spell is over.
    world.servers["jira"].faults.clear()
    _due_now()
    sync_due(worker_id="w")
    note.refresh_from_db()
    assert note.read_at is not None
    tracked = TrackedIssue.objects.get()
    assert (tracked.failures, tracked.announced) == (0, False)
    # A new spell is announced again.
    world.servers["jira"].faults[KEYS["jira"]] = Fault(status=500)
    for _ in range(FAILING_AFTER):
        _due_now()
        sync_due(worker_id="w")
    assert Event.objects.filter(kind="tracker_failing").count() == 2


def test_following_needs_edit_rights_and_a_tracker(world: Any) -> None:
    server = world.servers["github"]
    initiative = create_initiative(
        by=world.member, key_result=world.kr, title="Ship", link=server.link(KEYS["github"])
    )
    for who in (world.viewer, world.outsider):
        with pytest.raises(PermissionDenied):
            follow_tracker(by=who, initiative=initiative)
    assert not TrackedIssue.objects.exists()
    elsewhere = create_initiative(
        by=world.member, key_result=world.kr, title="Else", link="https://example.test/a/b/issues/1"
    )
    with pytest.raises(ValidationError, match="No tracker is set up"):
        follow_tracker(by=world.member, initiative=elsewhere)
    follow_tracker(by=world.member, initiative=initiative)
    with pytest.raises(PermissionDenied):
        unfollow_tracker(by=world.outsider, initiative=initiative)
    assert TrackedIssue.objects.count() == 1
    # A new link on the same tracker is followed; a link elsewhere stops the following.
    update_initiative(by=world.member, initiative=initiative, link=server.link("acme/app/13"))
    assert TrackedIssue.objects.get().issue == ["acme", "app", "13"]
    update_initiative(by=world.member, initiative=initiative, link="https://example.test/x")
    assert not TrackedIssue.objects.exists()
    update_initiative(by=world.member, initiative=initiative, link=server.link("acme/app/12"))
    follow_tracker(by=world.member, initiative=initiative)
    assert unfollow_tracker(by=world.member, initiative=initiative) is True
    assert not TrackedIssue.objects.exists()


def test_a_closed_cycle_is_not_synced(world: Any) -> None:
    initiative = _followed(world, "github", **OPEN["github"])
    world.cycle.state = "closed"
    world.cycle.save()
    assert sync_due(worker_id="w").claimed == 0
    initiative.refresh_from_db()
    assert initiative.status == "planned"


def test_trackers_are_admin_only_and_keep_the_token_encrypted(world: Any) -> None:
    tracker = world.trackers["gitlab"]
    assert tracker.secret.startswith("enc1:")
    assert world.servers["gitlab"].token not in tracker.secret
    assert try_tracker(by=world.admin, tracker=tracker) == "headway-bot"
    for who in (world.lead, world.member):
        with pytest.raises(PermissionDenied):
            create_tracker(by=who, name="x", kind="github", url="https://github.com")
        with pytest.raises(PermissionDenied):
            try_tracker(by=who, tracker=tracker)
        with pytest.raises(PermissionDenied):
            delete_tracker(by=who, tracker=tracker)
    assert Tracker.objects.count() == 3
    with pytest.raises(ValidationError) as info:
        create_tracker(by=world.admin, name="x", kind="bugzilla", url="https://b.test")
    assert "kind" in info.value.message_dict
    with pytest.raises(ValidationError) as info:
        create_tracker(by=world.admin, name="y", kind="jira", url="ftp://jira.test")
    assert "url" in info.value.message_dict


def test_the_worker_syncs_trackers_in_its_pass(world: Any) -> None:
    from headway.notify.worker import NotifyWorker, WorkerOptions

    initiative = _followed(world, "gitlab", **CLOSED["gitlab"])
    worker = NotifyWorker(WorkerOptions(once=True, tasks=False, periodic=False, sources=False))
    worker.sync_trackers()  # the step `_pass` runs after the data sources
    initiative.refresh_from_db()
    assert initiative.status == "done"


# --------------------------------------------------------------------------- the settings page


def _signed_in(person: Any) -> Client:
    client = Client()
    client.force_login(person)
    return client


def test_the_settings_page_refuses_non_admins_and_changes_nothing(world: Any) -> None:
    before = list(Tracker.objects.values_list("name", "url", "secret"))
    for who in (world.lead, world.member, world.viewer):
        client = _signed_in(who)
        assert client.get("/settings/trackers").status_code == 403
        posted = client.post(
            "/settings/trackers",
            {"name": "evil", "kind": "github", "url": "https://github.com", "token": "t"},
        )
        assert posted.status_code == 403
        assert (
            client.post("/settings/trackers/github-test", {"action": "delete"}).status_code == 403
        )
    assert list(Tracker.objects.values_list("name", "url", "secret")) == before


def test_an_admin_adds_tests_and_removes_a_tracker_on_the_page(world: Any) -> None:
    client = _signed_in(world.admin)
    page = client.get("/settings/trackers")
    assert page.status_code == 200
    assert world.servers["github"].token not in page.content.decode()
    server = world.servers["jira"]
    answer = client.post(
        "/settings/trackers",
        {"name": "jira2", "kind": "jira", "url": server.base, "email": server.email,
         "token": server.token},
    )  # fmt: skip
    assert answer.status_code == 302
    made = Tracker.objects.get(name="jira2")
    assert made.email == server.email
    assert made.has_secret
    tested = client.post("/settings/trackers/jira2", {"action": "test"}, follow=True)
    assert f"signed in as {server.email}" in tested.content.decode()
    made.set_token("nope")
    made.save()
    failed = client.post("/settings/trackers/jira2", {"action": "test"}, follow=True)
    assert "refused the token (HTTP 401)" in failed.content.decode()
    bad = client.post("/settings/trackers", {"name": "z", "kind": "github", "url": "nope"})
    assert bad.status_code == 200
    assert not Tracker.objects.filter(name="z").exists()
    client.post("/settings/trackers/jira2", {"action": "delete"})
    assert not Tracker.objects.filter(name="jira2").exists()


# --------------------------------------------------------------------------- the API


def test_the_api_shows_the_sync_state_and_follows(world: Any) -> None:
    server = world.servers["github"]
    server.issues[KEYS["github"]] = CLOSED["github"]
    api = ApiClient(token_for(world.member))
    made = api.post(
        "/objectives/reliable/key-results/otd/initiatives",
        {"title": "Ship", "link": server.link(KEYS["github"])},
    )
    assert made.status_code == 201
    assert made.json()["sync"] is None
    pk = made.json()["id"]
    assert (
        ApiClient(token_for(world.outsider)).post(f"/initiatives/{pk}/tracker").status_code == 403
    )
    followed = api.post(f"/initiatives/{pk}/tracker")
    assert followed.status_code == 200, followed.content
    assert followed.json()["sync"]["kind"] == "github"
    assert followed.json()["sync"]["issue"] == "acme/app#12"
    sync_due(worker_id="w")
    body = api.get(f"/initiatives/{pk}").json()
    assert body["status"] == "done"
    assert body["sync"]["last_synced_at"] is not None
    assert body["sync"]["last_error"] == ""
    assert body["sync"]["remote_state"] == "closed (completed)"
    listed = api.get("/objectives/reliable/key-results/otd/initiatives").json()
    assert listed["items"][0]["sync"]["tracker"] == "github-test"
    assert api.delete(f"/initiatives/{pk}/tracker").status_code == 204
    assert api.get(f"/initiatives/{pk}").json()["sync"] is None


def test_the_tracker_routes_are_admin_only(world: Any) -> None:
    admin = ApiClient(token_for(world.admin))
    listed = admin.get("/trackers")
    assert listed.status_code == 200
    assert {t["name"] for t in listed.json()} == {"github-test", "gitlab-test", "jira-test"}
    assert all(t["has_token"] for t in listed.json())
    assert all(world.servers["github"].token not in str(t) for t in listed.json())
    member = ApiClient(token_for(world.member))
    assert member.get("/trackers").status_code == 403
    assert (
        member.post(
            "/trackers", {"name": "x", "kind": "github", "url": "https://github.com"}
        ).status_code
        == 403
    )
    assert member.delete("/trackers/github-test").status_code == 403
    assert Tracker.objects.count() == 3
    made = admin.post(
        "/trackers", {"name": "gh", "kind": "github", "url": "https://github.com", "token": "t"}
    )
    assert made.status_code == 201
    assert made.json()["has_token"] is True
    assert "token" not in made.json()
    assert admin.post("/trackers/gitlab-test/test").json() == {
        "ok": True, "account": "headway-bot", "error": ""
    }  # fmt: skip
    assert (
        admin.post(
            "/trackers", {"name": "gh", "kind": "github", "url": "https://github.com"}
        ).status_code
        == 422
    )
    assert admin.delete("/trackers/gh").status_code == 204
    assert admin.delete("/trackers/gh").status_code == 404


# --------------------------------------------------------------------------- claims on PostgreSQL


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="SKIP LOCKED races need PostgreSQL")
def test_two_workers_sync_each_initiative_once(world: Any) -> None:
    server = world.servers["github"]
    for index in range(6):
        key = f"acme/app/{100 + index}"
        server.issues[key] = OPEN["github"]
        server.faults[key] = Fault(delay=0.2)
        initiative = create_initiative(
            by=world.member, key_result=world.kr, title=f"I {index}", link=server.link(key)
        )
        follow_tracker(by=world.member, initiative=initiative)
    barrier = threading.Barrier(2)
    results: list[Any] = [None, None]
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = sync_due(worker_id=f"w{index}", batch=2)
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert all(server.hits[f"acme/app/{100 + i}"] == 1 for i in range(6))
    assert sum(r.claimed for r in results) == 6
    assert all(r.claimed > 0 for r in results)
    assert sum(r.changed for r in results) == 6
    assert set(TrackedIssue.objects.values_list("claimed_by", flat=True)) == {""}
    assert Initiative.objects.filter(status="in_progress").count() == 6


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_never_share_a_tracked_initiative(world: Any) -> None:
    server = world.servers["github"]
    for index in range(10):
        initiative = create_initiative(
            by=world.member, key_result=world.kr, title=f"C {index}",
            link=server.link(f"acme/app/{200 + index}"),
        )  # fmt: skip
        follow_tracker(by=world.member, initiative=initiative)
    _due_now()
    taken = [t.pk for worker in ("a", "b", "c") for t in claim(worker, batch=3)[1]]
    assert len(taken) == len(set(taken)) == 9
    assert len(claim("late", batch=50)[1]) == 1
    assert claim("later", batch=50)[1] == []


def test_the_objective_page_follows_and_shows_the_sync_state(world: Any) -> None:
    server = world.servers["gitlab"]
    server.issues[KEYS["gitlab"]] = CLOSED["gitlab"]
    initiative = create_initiative(
        by=world.member, key_result=world.kr, title="Ship", link=server.link(KEYS["gitlab"])
    )
    outsider = _signed_in(world.outsider)
    assert outsider.post(f"/initiatives/{initiative.pk}/tracker/").status_code == 403
    assert not TrackedIssue.objects.exists()
    member = _signed_in(world.member)
    page = member.get("/objectives/reliable/").content.decode()
    assert "Take its status from the tracker" in page
    member.post(f"/initiatives/{initiative.pk}/tracker/", {"action": "follow"})
    assert TrackedIssue.objects.filter(initiative=initiative).exists()
    assert "first sync soon" in member.get("/objectives/reliable/").content.decode()
    sync_due(worker_id="w")
    page = member.get("/objectives/reliable/").content.decode()
    assert "status from GitLab, synced" in page
    assert "Stop following the tracker" in page
    member.post(f"/initiatives/{initiative.pk}/tracker/", {"action": "unfollow"})
    assert not TrackedIssue.objects.exists()


def test_removing_a_tracker_stops_its_initiatives_following(world: Any) -> None:
    initiative = _followed(world, "jira", **OPEN["jira"])
    sync_due(worker_id="w")
    assert delete_tracker(by=world.admin, tracker=world.trackers["jira"]) == 1
    assert not TrackedIssue.objects.exists()
    initiative.refresh_from_db()
    assert initiative.status == "in_progress"  # the last synced status stays


def test_yaml_round_trip_keeps_the_following(world: Any) -> None:
    from django.db import transaction

    from headway.document.exporter import export_text
    from headway.document.importer import import_document, load_texts_for_import
    from headway.document.load import DocumentError

    initiative = _followed(world, "github", **OPEN["github"])
    create_initiative(by=world.member, key_result=world.kr, title="By hand")
    sync_due(worker_id="w")
    synced_at = TrackedIssue.objects.get().last_synced_at
    first = export_text()
    assert first.count("follow: true") == 1

    def load(text: str) -> None:
        import_document(load_texts_for_import([("export.yaml", text)]))

    with transaction.atomic():
        load(first)  # the same file changes nothing: the sync state stays
        assert TrackedIssue.objects.get(initiative=initiative).last_synced_at == synced_at
        TrackedIssue.objects.all().delete()
        load(first)
        assert TrackedIssue.objects.get().initiative == initiative
        assert export_text() == first
        load(first.replace(", follow: true", ""))
        assert not TrackedIssue.objects.exists()
    elsewhere = first.replace(server_link := world.servers["github"].link(KEYS["github"]),
                              "https://example.test/a/b/issues/1")  # fmt: skip
    assert server_link in first
    with pytest.raises(DocumentError, match="no tracker in Headway knows this link"):
        load(elsewhere)


# --------------------------------------------------------------------------- query budgets


def _queries(client: Client, url: str) -> int:
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.django_db
def test_the_trackers_page_runs_a_constant_number_of_queries(world: Any) -> None:
    client = Client()
    client.force_login(world.admin)
    _followed(world, "github")
    client.get("/settings/trackers")
    few = _queries(client, "/settings/trackers")
    for n in range(6):
        create_tracker(
            by=world.admin, name=f"more-{n}", kind="gitlab", url=f"https://git{n}.example.test",
            token="t",
        )  # fmt: skip
    for kind in ("gitlab", "jira"):
        _followed(world, kind, title=f"Also {kind}")
    assert _queries(client, "/settings/trackers") <= few


@pytest.mark.django_db
def test_the_objective_page_shows_followed_initiatives_in_a_constant_number_of_queries(
    world: Any,
) -> None:
    client = Client()
    client.force_login(world.member)
    url = f"/objectives/{world.objective.key}/"
    _followed(world, "github")
    client.get(url)
    few = _queries(client, url)
    for kind in ("gitlab", "jira"):
        _followed(world, kind, title=f"Also {kind}")
    for n in range(4):
        create_initiative(by=world.member, key_result=world.kr, title=f"Unlinked {n}")
    page = client.get(url).text
    assert page.count("status from") == 3
    assert _queries(client, url) <= few
