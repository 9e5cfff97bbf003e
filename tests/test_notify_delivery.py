"""Delivering notifications: webhooks, e-mail, retries with back-off, the pages around them."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from headway.database import when_unlocked
from headway.notify import delivery as worker_side
from headway.notify import events
from headway.notify.channels import CHANNELS, SendContext
from headway.notify.delivery import claim, deliver_due, drain, mark_interrupted
from headway.notify.events import Draft, record
from headway.notify.models import (
    Delivery,
    DeliveryStatus,
    Event,
    Notification,
    PersonalWebhook,
    Preference,
    TeamWebhook,
)
from headway.okrs.actions import record_checkin
from headway.okrs.models import KeyResult, Objective

NOW = datetime(2027, 2, 15, 12, tzinfo=UTC)


@pytest.fixture(autouse=True)
def loud(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events, "RAISE_ERRORS", True)


class Receiver:
    """A webhook receiver on 127.0.0.1 that keeps every request it gets."""

    def __init__(self) -> None:
        self.status = 200
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.lock = threading.Lock()
        self.url = ""
        #: Called in the server's thread while a request is being answered.
        self.during: Callable[[], None] | None = None

    @property
    def keys(self) -> list[str]:
        return [body["headway"]["idempotency_key"] for _headers, body in self.requests]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    received = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with received.lock:
                received.requests.append((dict(self.headers), body))
            if received.during is not None:
                received.during()
            self.send_response(received.status)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok" if received.status < 300 else b"no luck")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    received.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield received
    server.shutdown()
    server.server_close()


def make_events(org: Any, count: int, kind: str = "kr_achieved") -> list[Event]:
    """`count` team-level events for the depot, told to the ops lead."""
    return record(
        Draft(
            kind=kind,
            key=f"test:{kind}:{i}",
            title=f"Key result {i} achieved",
            summary=f"Key result {i} reached 1.00.",
            facts=[("Score", "1.00"), ("Current value", f"{90 + i}%")],
            occurred_at=NOW,
            link="/objectives/x/",
            team_id=org.depot.pk,
            people=[org.lead.pk],
            webhook_teams=[org.depot.pk],
        )
        for i in range(count)
    )


def signed_in(person: Any) -> Client:
    client = Client()
    client.force_login(person)
    return client


@pytest.mark.django_db
def test_webhook_receiver_gets_json_for_slack_and_teams(org: Any, receiver: Receiver) -> None:
    TeamWebhook.objects.create(team=org.depot, name="Depot channel", url=receiver.url)
    [event] = make_events(org, 1)
    stats = drain(worker_id="test")
    assert (stats.sent, stats.failed) == (1, 0)
    [(headers, body)] = receiver.requests
    assert headers["Content-Type"] == "application/json"
    # Slack: text + blocks; Teams (MessageCard): text, title, summary.
    assert body["text"].startswith("Key result 0 achieved\nKey result 0 reached 1.00.")
    assert body["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Key result 0 achieved"},
    }
    assert {"type": "mrkdwn", "text": "*Current value*\n90%"} in body["blocks"][2]["fields"]
    assert (body["@type"], body["title"], body["summary"]) == ("MessageCard",) + (event.title,) * 2
    assert body["headway"]["event_id"] == event.pk
    assert body["headway"]["url"] == "http://127.0.0.1:8000/objectives/x/"
    assert headers["Idempotency-Key"] == body["headway"]["idempotency_key"]
    delivery = Delivery.objects.get(channel="webhook")
    assert (delivery.status, delivery.attempts) == ("sent", 1)
    assert drain(worker_id="test").claimed == 0  # nothing is sent twice


@pytest.mark.django_db
def test_failing_webhook_is_retried_with_backoff_then_failed_and_shown_to_admins(
    org: Any, receiver: Receiver, settings: Any
) -> None:
    settings.HEADWAY_NOTIFY_MAX_ATTEMPTS = 3
    settings.HEADWAY_NOTIFY_RETRY_SECONDS = 30
    receiver.status = 500
    TeamWebhook.objects.create(team=org.depot, name="Broken", url=receiver.url)
    with time_machine.travel(NOW, tick=False) as clock:
        make_events(org, 1)
        delivery = Delivery.objects.get(channel="webhook")
        waits = []
        for _attempt in range(3):
            assert deliver_due(worker_id="test").claimed == 1
            delivery.refresh_from_db()
            waits.append(delivery.next_attempt_at - NOW)
            assert deliver_due(worker_id="test").claimed == 0  # not before the back-off
            clock.shift(delivery.next_attempt_at - datetime.now(UTC) + timedelta(seconds=1))
    assert len(receiver.requests) == 3
    assert waits[:2] == [timedelta(seconds=30), timedelta(seconds=30 + 1 + 60)]
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    assert "HTTP 500" in delivery.last_error
    page = signed_in(org.admin).get("/admin-tools/deliveries")
    assert page.status_code == 200
    assert "Key result 0 achieved" in page.content.decode()
    assert "HTTP 500: no luck" in page.content.decode()
    assert signed_in(org.lead).get("/admin-tools/deliveries").status_code == 403
    retried = signed_in(org.admin).post("/admin-tools/deliveries/retry", {"all": "1"})
    assert retried.status_code == 302
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 0)


@pytest.mark.django_db(transaction=True)
def test_delivery_task_is_queued_after_commit_and_run_by_the_worker(
    org: Any, receiver: Receiver
) -> None:
    from django_tasks_db.models import DBTaskResult

    from headway.notify.worker import NotifyWorker, WorkerOptions

    TeamWebhook.objects.create(team=org.depot, name="Depot", url=receiver.url)
    created = make_events(org, 2)  # commits: the task is queued
    [task] = DBTaskResult.objects.all()
    assert task.task_path == "headway.notify.tasks.deliver"
    assert task.args_kwargs["kwargs"] == {"event_ids": sorted(e.pk for e in created)}
    runner = NotifyWorker(WorkerOptions(once=True, periodic=False))
    runner.run_tasks()
    assert runner.tasks_run == 1
    assert len(receiver.requests) == 2
    task.refresh_from_db()
    assert task.status == "SUCCESSFUL"
    assert task.return_value["sent"] == 2


@pytest.mark.django_db
def test_refused_webhook_fails_at_once(org: Any, receiver: Receiver) -> None:
    receiver.status = 404  # e.g. a deleted Slack webhook: retrying cannot help
    TeamWebhook.objects.create(team=org.depot, name="Gone", url=receiver.url)
    make_events(org, 1)
    assert drain(worker_id="test").failed == 1
    assert Delivery.objects.get(channel="webhook").status == "failed"


@pytest.mark.django_db
def test_personal_webhook_receives_own_notifications(org: Any, receiver: Receiver) -> None:
    PersonalWebhook.objects.create(person=org.lead, url=receiver.url)
    make_events(org, 2)
    assert drain(worker_id="test").sent == 2
    assert sorted(receiver.keys) == sorted(
        f"headway-{e.pk}-webhook-person-{org.lead.pk}" for e in Event.objects.all()
    )


@pytest.mark.django_db
def test_email_has_the_numbers(org: Any) -> None:
    objective = Objective.objects.create(
        key="calm", cycle=org.cycle, team=org.depot, owner=org.lead, title="Calm depot"
    )
    kr = KeyResult.objects.create(
        objective=objective, key="otd", title="On-time delivery", unit="%", start=80, target=96,
        owner=org.member,
    )  # fmt: skip
    with time_machine.travel(NOW, tick=False):
        record_checkin(key_result=kr, by=org.member, value=82, confidence=4)
        assert drain(worker_id="test").sent == 1
    [message] = mail.outbox
    assert message.to == [org.lead.email]
    assert message.subject == "[Headway] Off track: “On-time delivery”"
    assert "“On-time delivery” scores 0.12 where 0.51 was expected by now" in message.body
    for line in ("Score: 0.12", "Start → target: 80% → 96%", "Current value: 82%",
                 "Confidence: 4/10", "http://127.0.0.1:8000/objectives/calm/"):  # fmt: skip
        assert line in message.body
    html, mimetype = message.alternatives[0]  # type: ignore[attr-defined]
    assert mimetype == "text/html"
    for number in ("0.12", "0.51", "80% → 96%", "82%", "4/10"):
        assert number in html
    assert message.extra_headers["Message-ID"].startswith("<headway-")


@pytest.mark.django_db
def test_preferences_switch_email_off(org: Any) -> None:
    Preference.objects.create(person=org.lead, kind="kr_off_track", email=False, webhook=False)
    make_events(org, 1, kind="kr_off_track")
    assert not Delivery.objects.filter(channel="email").exists()
    assert Notification.objects.filter(person=org.lead).count() == 1  # the inbox stays


@pytest.mark.django_db
def test_inbox_lists_pages_and_marks_read_in_constant_queries(org: Any) -> None:
    client = signed_in(org.lead)
    make_events(org, 3)
    client.get("/inbox/")  # warm up the session and template caches
    with CaptureQueriesContext(connection) as small:
        response = client.get("/inbox/")
    assert response.content.decode().count('class="card notification unread"') == 3
    record(
        Draft(kind="kpi_health", key=f"more:{i}", title=f"KPI {i} is critical",
              occurred_at=NOW, team_id=org.depot.pk, people=[org.lead.pk])
        for i in range(40)
    )  # fmt: skip
    with CaptureQueriesContext(connection) as large:
        response = client.get("/inbox/")
    body = response.content.decode()
    assert len(large.captured_queries) == len(small.captured_queries)
    assert body.count('class="card notification unread"') == 25
    assert "Page 1 of 2" in body
    assert "43 unread" in body
    note = Notification.objects.filter(person=org.lead).order_by("id").first()
    assert note is not None
    assert client.post(f"/inbox/{note.pk}/read").status_code == 302
    note.refresh_from_db()
    assert note.read_at is not None
    assert signed_in(org.member).post(f"/inbox/{note.pk}/read").status_code == 404
    assert client.post("/inbox/read-all").status_code == 302
    assert not Notification.objects.filter(person=org.lead, read_at__isnull=True).exists()
    assert "Nothing unread" in client.get("/inbox/").content.decode()


@pytest.mark.django_db
def test_unread_count_for_the_nav(org: Any, rf: Any) -> None:
    from django.template import engines

    from headway.notify.context_processors import notifications

    make_events(org, 2)
    request = rf.get("/")
    request.user = org.lead
    assert str(notifications(request)["inbox_unread"]) == "2"
    template = engines["django"].from_string("{% load notify %}{% unread_count %}")
    assert template.render({"request": request}) == "2"


@pytest.mark.django_db
def test_settings_page_saves_channels_per_kind(org: Any) -> None:
    client = signed_in(org.member)
    page = client.get("/settings/notifications")
    assert page.status_code == 200
    assert 'name="email_kr_off_track" id="id_email_kr_off_track" checked' in page.content.decode()
    bad = client.post("/settings/notifications", {"webhook_url": "ftp://example.test/x"})
    assert bad.status_code == 200
    assert not Preference.objects.exists()
    saved = client.post(
        "/settings/notifications",
        {"email_kr_achieved": "on", "webhook_kpi_health": "on",
         "webhook_url": "https://hooks.slack.test/services/T/B/x"},
    )  # fmt: skip
    assert saved.status_code == 302
    prefs = {p.kind: (p.email, p.webhook) for p in Preference.objects.filter(person=org.member)}
    assert prefs["kr_achieved"] == (True, False)
    assert prefs["kr_off_track"] == (False, False)
    assert prefs["kpi_health"] == (False, True)
    assert PersonalWebhook.objects.get(person=org.member).url.endswith("/T/B/x")


@pytest.mark.django_db
def test_team_webhooks_are_managed_by_team_leads(org: Any) -> None:
    lead = signed_in(org.lead)  # lead of ops, hence of the depot below it
    assert lead.get("/teams/depot/webhooks").status_code == 200
    added = lead.post(
        "/teams/depot/webhooks",
        {"name": "Depot", "url": "https://hooks.slack.test/services/A/B/secret-token",
         "kinds": ["kr_achieved", "kpi_health"]},
    )  # fmt: skip
    assert added.status_code == 302
    hook = TeamWebhook.objects.get(team=org.depot)
    assert hook.kinds == ["kr_achieved", "kpi_health"]
    page = lead.get("/teams/depot/webhooks").content.decode()
    assert "secret-token" not in page  # the URL is a secret: shown masked
    assert signed_in(org.member).get("/teams/depot/webhooks").status_code == 403
    assert signed_in(org.lead).get("/teams/sales/webhooks").status_code == 403
    assert lead.post(f"/teams/depot/webhooks/{hook.pk}/delete").status_code == 302
    assert not TeamWebhook.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_workers_in_parallel_deliver_every_notification_once(
    org: Any, receiver: Receiver
) -> None:
    TeamWebhook.objects.create(team=org.depot, name="Depot", url=receiver.url)
    Preference.objects.create(person=org.lead, kind="kr_achieved", email=True, webhook=False)
    created = make_events(org, 40)
    assert Delivery.objects.filter(status="pending").count() == 80  # e-mail + webhook each
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def work(name: str) -> None:
        try:
            start.wait()
            drain(worker_id=name, batch=3)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(2)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(60)
    assert errors == []
    assert sorted(receiver.keys) == sorted(
        f"headway-{e.pk}-webhook-team-webhook-{e.deliveries.get(channel='webhook').team_webhook_id}"
        for e in created
    )
    message_ids = [m.extra_headers["Message-ID"] for m in mail.outbox]
    assert len(message_ids) == len(set(message_ids)) == 40
    outcomes = set(Delivery.objects.values_list("status", "attempts"))
    assert outcomes == {("sent", 1)}
    # Both workers really took part.
    claims = Delivery.objects.exclude(channel="inbox").values_list("claimed_by", flat=True)
    assert {c.split("/")[0] for c in claims} == {"w0", "w1"}


@pytest.mark.django_db(transaction=True)
def test_worker_loop_stops_when_told(org: Any, receiver: Receiver) -> None:
    from headway.notify.worker import NotifyWorker, WorkerOptions

    TeamWebhook.objects.create(team=org.depot, name="Depot", url=receiver.url)
    make_events(org, 3)
    runner = NotifyWorker(WorkerOptions(interval=0.05, periodic=False))

    def work() -> None:
        runner.run()
        connection.close()

    thread = threading.Thread(target=work)
    thread.start()
    deadline = time.monotonic() + 10
    while len(receiver.requests) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    runner.stop()
    thread.join(5)
    assert not thread.is_alive()
    assert runner.tasks_run == 1  # the delivery task queued after the events' commit
    assert len(receiver.requests) == 3
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}


@pytest.mark.django_db(transaction=True)
def test_send_started_is_committed_before_the_post_and_cleared_when_it_failed(
    org: Any, receiver: Receiver
) -> None:
    receiver.status = 503
    TeamWebhook.objects.create(team=org.depot, name="Busy", url=receiver.url)
    make_events(org, 1)
    seen: list[tuple[str, bool]] = []

    def look() -> None:
        # Another connection (the receiver's thread) sees the marker: it is committed.
        try:
            row = when_unlocked(lambda: Delivery.objects.get(channel="webhook"))
            seen.append((row.status, row.send_started_at is not None))
        finally:
            connection.close()

    receiver.during = look
    stats = deliver_due(worker_id="test")
    assert (stats.claimed, stats.retrying) == (1, 1)
    assert seen == [("sending", True)]
    row = Delivery.objects.get(channel="webhook")
    # The outcome is known (HTTP 503): no marker, an ordinary retry after the back-off.
    assert (row.status, row.send_started_at, row.attempts) == ("pending", None, 1)
    assert "HTTP 503" in row.last_error


class Killed(BaseException):
    """The worker process dying at this point (nothing after it runs)."""


@pytest.mark.django_db
def test_interrupted_send_is_uncertain_and_an_admin_retries_it(
    org: Any, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    TeamWebhook.objects.create(team=org.depot, name="Depot channel", url=receiver.url)

    class DiesMidSend:
        external = True

        def send(self, delivery: Delivery, context: SendContext) -> None:
            raise Killed  # the marker is committed; whether the POST left is unknown

    with time_machine.travel(NOW, tick=False) as clock:
        make_events(org, 1)
        row = Delivery.objects.get(channel="webhook")
        with monkeypatch.context() as patch:
            patch.setitem(CHANNELS, "webhook", DiesMidSend())
            with pytest.raises(Killed):
                deliver_due(worker_id="dies", lease=60)
        row.refresh_from_db()
        assert (row.status, row.send_started_at) == ("sending", NOW)
        assert deliver_due(worker_id="next").claimed == 0  # still within the lease
        clock.shift(timedelta(seconds=61))
        stats = deliver_due(worker_id="next")
        assert (stats.claimed, stats.uncertain) == (0, 1)
        row.refresh_from_db()
        assert row.status == "uncertain"
        assert "stopped mid-send" in row.last_error
        assert drain(worker_id="later").claimed == 0  # never sent again by itself
        assert receiver.requests == []

        admin = signed_in(org.admin)
        page = admin.get("/admin-tools/deliveries").content.decode()
        assert "May have been sent: the worker stopped mid-send" in page
        assert f'name="delivery" value="{row.pk}"' in page
        assert "uncertain 1" in page
        # The team's leads see it beside their webhook too.
        hooks = signed_in(org.lead).get("/teams/depot/webhooks").content.decode()
        assert "and 1 uncertain: may have been sent" in hooks
        uncertain_tab = admin.get("/admin-tools/deliveries?status=uncertain").content.decode()
        assert f'name="delivery" value="{row.pk}"' in uncertain_tab
        # "Retry every failed delivery" leaves it: it may have reached the receiver.
        admin.post("/admin-tools/deliveries/retry", {"all": "1"})
        row.refresh_from_db()
        assert row.status == "uncertain"
        refused = signed_in(org.lead).post("/admin-tools/deliveries/retry", {"delivery": row.pk})
        assert refused.status_code == 403
        # The admin checked the channel, saw nothing, and retries this one.
        retried = admin.post("/admin-tools/deliveries/retry", {"delivery": row.pk})
        assert retried.status_code == 302
        row.refresh_from_db()
        assert (row.status, row.attempts, row.send_started_at) == ("pending", 0, None)
        assert drain(worker_id="after-retry").sent == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 1)
    assert len(receiver.requests) == 1


@pytest.mark.django_db
def test_worker_outliving_its_lease_does_not_start_a_send_but_marks_one_it_started(
    org: Any, receiver: Receiver
) -> None:
    TeamWebhook.objects.create(team=org.depot, name="Depot channel", url=receiver.url)
    with time_machine.travel(NOW, tick=False) as clock:
        make_events(org, 2)
        slow = claim("slow", lease=30)
        first, second = slow.deliveries
        assert worker_side._start_send(slow, first)
        clock.shift(timedelta(seconds=31))
        # Too late to start the second send: it stays due for the next worker.
        assert not worker_side._start_send(slow, second)
        # The first one's send may have happened: another worker marks it uncertain.
        assert mark_interrupted() == 1
        assert mark_interrupted() == 0  # once
        assert drain(worker_id="next").sent == 1
        # The slow worker was alive after all and learns its POST went through.
        assert worker_side._mark_sent(slow, first)
    statuses = dict(Delivery.objects.filter(channel="webhook").values_list("pk", "status"))
    assert statuses == {first.pk: "sent", second.pk: "sent"}
    assert len(receiver.requests) == 1  # only the next worker's: the slow one was simulated


@pytest.mark.django_db
def test_inbox_delivery_is_written_again_after_a_lost_claim_without_a_marker(org: Any) -> None:
    [event] = make_events(org, 1)
    Notification.objects.all().delete()
    row = Delivery.objects.get(channel="inbox")
    Delivery.objects.filter(pk=row.pk).update(status="pending", attempts=0)
    with time_machine.travel(NOW, tick=False) as clock:
        dead = claim("dead", lease=10)
        assert [d.pk for d in dead.deliveries] == [row.pk]
        context = SendContext()
        CHANNELS["inbox"].send(dead.deliveries[0], context)  # written, not marked
        context.close()
        clock.shift(timedelta(seconds=11))
        stats = drain(worker_id="next")
    assert (stats.sent, stats.uncertain) == (1, 0)
    row.refresh_from_db()
    assert (row.status, row.send_started_at) == ("sent", None)
    assert Notification.objects.filter(person=org.lead, event=event).count() == 1


@pytest.mark.django_db
def test_adding_a_team_webhook_is_refused_for_members_and_bad_urls_and_writes_nothing(
    org: Any,
) -> None:
    member = signed_in(org.member)
    refused = member.post(
        "/teams/depot/webhooks", {"name": "Mine", "url": "https://hooks.slack.test/x"}
    )
    assert refused.status_code == 403
    assert "Only leads and admins of the team manage its webhooks." in refused.content.decode()
    lead = signed_in(org.lead)
    bad = lead.post(
        "/teams/depot/webhooks",
        {"name": " ", "url": "ftp://files.example/x", "kinds": ["no_such_kind"]},
    )
    page = bad.content.decode()
    assert bad.status_code == 200
    assert "Give the webhook a name" in page
    assert "starts with https://" in page
    assert "Not an event a team webhook posts: no_such_kind." in page
    assert not TeamWebhook.objects.exists()


@pytest.mark.django_db
def test_removing_a_team_webhook_is_refused_for_members_and_keeps_it(org: Any) -> None:
    from headway.notify.actions import add_team_webhook

    hook = add_team_webhook(
        by=org.lead, team=org.depot, name="Depot", url="https://hooks.slack.com/services/A/B/c"
    )
    assert hook.format == "slack"  # guessed from the host when none is chosen
    refused = signed_in(org.member).post(f"/teams/depot/webhooks/{hook.pk}/delete")
    assert refused.status_code == 403
    assert TeamWebhook.objects.filter(pk=hook.pk).exists()
    # Another team's lead cannot reach it through their own team either.
    elsewhere = signed_in(org.lead).post(f"/teams/sales/webhooks/{hook.pk}/delete")
    assert elsewhere.status_code == 403
    assert TeamWebhook.objects.filter(pk=hook.pk).exists()


@pytest.mark.django_db
def test_a_bad_personal_webhook_url_is_refused_and_no_setting_is_saved(org: Any) -> None:
    client = signed_in(org.member)
    answer = client.post(
        "/settings/notifications",
        {"email_kr_achieved": "on", "webhook_url": "javascript:alert(1)"},
    )
    assert answer.status_code == 200
    assert "starts with https://" in answer.content.decode()
    assert not Preference.objects.filter(person=org.member).exists()
    assert not PersonalWebhook.objects.filter(person=org.member).exists()


@pytest.mark.django_db
def test_retrying_deliveries_is_refused_for_non_admins_and_changes_nothing(org: Any) -> None:
    from headway.notify.actions import retry_deliveries

    TeamWebhook.objects.create(team=org.depot, name="Depot", url="https://hooks.example/x")
    make_events(org, 1)
    Delivery.objects.exclude(channel="inbox").update(status=DeliveryStatus.FAILED, attempts=5)
    before = list(Delivery.objects.values_list("pk", "status", "attempts").order_by("pk"))
    assert any(status == "failed" for _, status, _ in before)
    with pytest.raises(PermissionDenied, match="Only organisation admins see deliveries"):
        retry_deliveries(by=org.lead, every_failed=True)
    refused = signed_in(org.lead).post("/admin-tools/deliveries/retry", {"all": "1"})
    assert refused.status_code == 403
    assert list(Delivery.objects.values_list("pk", "status", "attempts").order_by("pk")) == before
    assert retry_deliveries(by=org.admin, every_failed=True).queued == sum(
        status == "failed" for _, status, _ in before
    )
