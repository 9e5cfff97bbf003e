"""The Slack app against the live server: signed slash commands and interactions.

Requests are signed as Slack documents (v0: HMAC-SHA256 of "v0:<timestamp>:<body>" with the
signing secret); Slack's Web API is a recording server on 127.0.0.1
(HEADWAY_SLACK_API_URL), whose calls are asserted.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
import time_machine
from django.test import Client
from slack_sdk.models.blocks import Block

from headway import secrets
from headway.kpis.actions import MeasurementRow, ingest_measurements
from headway.kpis.models import Kpi
from headway.notify.actions import configure_slack
from headway.notify.models import SlackApp
from headway.okrs.models import CheckIn, KeyResult, Objective
from tests.recording_server import Call, RecordingServer, recording_server

pytestmark = pytest.mark.django_db(transaction=True)

NOW = datetime(2027, 2, 15, 12, tzinfo=UTC)
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOKEN = "xoxb-test-token"
SLACK_USERS = {
    "U_MEMBER": {"email": "member@acme.test", "confirmed": True},
    "U_STRANGER": {"email": "nobody@elsewhere.test", "confirmed": True},
    "U_UNCONFIRMED": {"email": "member@acme.test", "confirmed": False},
}


def users_info(call: Call) -> dict[str, Any]:
    user = SLACK_USERS.get(str(call.body.get("user")))
    if user is None:
        return {"ok": False, "error": "user_not_found"}
    return {
        "ok": True,
        "user": {
            "id": call.body["user"],
            "is_email_confirmed": user["confirmed"],
            "profile": {"email": user["email"]},
        },
    }


@pytest.fixture
def slack_api(settings: Any) -> Iterator[RecordingServer]:
    with recording_server() as server:
        server.answers["users.info"] = users_info
        settings.HEADWAY_SLACK_API_URL = server.url + "/api/"
        yield server


@pytest.fixture
def world(org: Any, slack_api: RecordingServer) -> Iterator[Any]:
    """The Slack app set up by the admin; a key result of the member's, due for a check-in."""
    configure_slack(by=org.admin, bot_token=TOKEN, signing_secret=SECRET)
    objective = Objective.objects.create(
        key="calm", cycle=org.cycle, team=org.depot, owner=org.lead, title="Calm depot"
    )
    org.kr = KeyResult.objects.create(
        objective=objective, key="otd", title="On-time delivery", unit="%", start=80,
        target=96, owner=org.member,
    )  # fmt: skip
    org.objective = objective
    org.api = slack_api
    # Time runs on from a moment in the cycle, in the live server's thread too.
    with time_machine.travel(NOW, tick=True):
        yield org


def sign(body: bytes, timestamp: int, secret: str = SECRET) -> str:
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def post(
    live_server: Any,
    path: str,
    form: dict[str, str],
    *,
    signed: bool = True,
    age: float = 0,
    secret: str = SECRET,
    tamper: bool = False,
) -> httpx.Response:
    body = urlencode(form).encode()
    timestamp = int(time.time() - age)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signed:
        headers["X-Slack-Request-Timestamp"] = str(timestamp)
        headers["X-Slack-Signature"] = sign(body, timestamp, secret)
    if tamper:
        body = body.replace(b"checkin", b"kpi+x")
    return httpx.post(f"{live_server.url}{path}", content=body, headers=headers, timeout=20)


def command(live_server: Any, text: str, user: str = "U_MEMBER", **kw: Any) -> httpx.Response:
    form = {"command": "/headway", "text": text, "user_id": user, "trigger_id": "T.123"}
    return post(live_server, "/slack/commands", form, **kw)


def interaction(live_server: Any, payload: dict[str, Any], **kw: Any) -> httpx.Response:
    return post(live_server, "/slack/interactions", {"payload": json.dumps(payload)}, **kw)


def submission(kr: KeyResult, user: str = "U_MEMBER", **fields: str) -> dict[str, Any]:
    """A view_submission payload as Slack sends it for the check-in modal."""
    values = {
        f"kr-{kr.pk}-{name}": {name: {"type": "plain_text_input", "value": value}}
        for name, value in fields.items()
    }
    return {
        "type": "view_submission",
        "user": {"id": user},
        "view": {
            "callback_id": "headway_checkin",
            "private_metadata": json.dumps({"key_results": [kr.pk]}),
            "blocks": [{"type": "input", "block_id": f"kr-{kr.pk}-value"}],
            "state": {"values": values},
        },
    }


def test_checkin_command_opens_a_modal_of_the_persons_due_key_results(
    live_server: Any, world: Any
) -> None:
    response = command(live_server, "checkin")
    assert response.status_code == 200, response.text
    assert world.api.methods() == ["users.info", "views.open"]
    info, opened = world.api.calls
    assert info.body["user"] == "U_MEMBER"
    assert opened.headers["Authorization"] == f"Bearer {TOKEN}"
    assert opened.body["trigger_id"] == "T.123"
    view = opened.body["view"]
    assert (view["type"], view["callback_id"]) == ("modal", "headway_checkin")
    assert json.loads(view["private_metadata"]) == {"key_results": [world.kr.pk]}
    ids = [block.get("block_id") for block in view["blocks"]]
    kr = world.kr.pk
    assert ids[:4] == [f"kr-{kr}", f"kr-{kr}-value", f"kr-{kr}-confidence", f"kr-{kr}-comment"]
    assert "On-time delivery" in view["blocks"][0]["text"]["text"]
    for raw in view["blocks"]:
        block = Block.parse(raw)
        assert block is not None
        block.validate_json()


def test_submitted_modal_records_the_checkin_through_the_action_and_rescores(
    live_server: Any, world: Any
) -> None:
    before = KeyResult.objects.get(pk=world.kr.pk).score
    response = interaction(
        live_server, submission(world.kr, value="92", confidence="7", comment="New routes")
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"response_action": "clear"}
    [checkin] = CheckIn.objects.filter(key_result=world.kr)
    assert (checkin.value, checkin.confidence, checkin.comment, checkin.author_id) == (
        92.0,
        7,
        "New routes",
        world.member.pk,
    )
    kr = KeyResult.objects.get(pk=world.kr.pk)
    assert kr.current == 92.0
    assert kr.score == pytest.approx(0.75)
    assert kr.score != before
    assert Objective.objects.get(pk=world.objective.pk).score == pytest.approx(0.75)
    assert world.api.methods() == ["users.info"]


@pytest.mark.parametrize(
    ("fields", "block", "message"),
    [
        ({"value": "lots"}, "value", "Enter a number."),
        ({"value": "nan"}, "value", "Enter a finite number (not NaN or infinity)."),
        ({"value": "90", "confidence": "11"}, "confidence", "Confidence is a whole number"),
        ({}, "value", "Nothing to check in"),
    ],
)
def test_a_bad_value_comes_back_as_a_field_error_in_the_modal(
    live_server: Any, world: Any, fields: dict[str, str], block: str, message: str
) -> None:
    response = interaction(live_server, submission(world.kr, **fields))
    assert response.status_code == 200
    answer = response.json()
    assert answer["response_action"] == "errors"
    assert answer["errors"][f"kr-{world.kr.pk}-{block}"].startswith(message)
    assert CheckIn.objects.count() == 0
    assert KeyResult.objects.get(pk=world.kr.pk).current is None


@pytest.mark.parametrize(
    ("how", "options"),
    [
        ("unsigned", {"signed": False}),
        ("replayed", {"age": 6 * 60}),
        ("tampered", {"tamper": True}),
        ("another secret", {"secret": "not-the-signing-secret"}),
    ],
)
def test_unsigned_replayed_and_tampered_requests_get_401_and_write_nothing(
    live_server: Any, world: Any, caplog: Any, how: str, options: dict[str, Any]
) -> None:
    caplog.set_level(logging.WARNING, logger="headway.slack")
    for response in (
        command(live_server, "checkin", **options),
        interaction(live_server, submission(world.kr, value="92"), **options),
    ):
        assert response.status_code == 401, how
    assert CheckIn.objects.count() == 0
    assert KeyResult.objects.get(pk=world.kr.pk).current is None
    assert world.api.calls == []  # not even a look-up of who is asking
    refused = [r.getMessage() for r in caplog.records if r.name == "headway.slack"]
    assert len(refused) == 2
    assert all("Refused a Slack request" in m for m in refused)


def test_a_request_signed_four_minutes_ago_is_still_taken(live_server: Any, world: Any) -> None:
    assert command(live_server, "checkin", age=4 * 60).status_code == 200


def test_someone_unknown_gets_a_clear_answer_and_nothing_is_written(
    live_server: Any, world: Any
) -> None:
    answer = command(live_server, "checkin", user="U_STRANGER").json()
    assert answer["response_type"] == "ephemeral"
    assert "No one in Headway has the e-mail address nobody@elsewhere.test" in answer["text"]
    answer = command(live_server, "checkin", user="U_UNCONFIRMED").json()
    assert "verified e-mail address" in answer["text"]
    response = interaction(live_server, submission(world.kr, user="U_STRANGER", value="92"))
    assert response.json()["response_action"] == "errors"
    assert CheckIn.objects.count() == 0
    assert "views.open" not in world.api.methods()


def test_reminder_button_opens_the_modal_for_that_key_result(live_server: Any, world: Any) -> None:
    payload = {
        "type": "block_actions",
        "user": {"id": "U_MEMBER"},
        "trigger_id": "T.456",
        "actions": [{"action_id": "headway_checkin", "value": str(world.kr.pk)}],
    }
    assert interaction(live_server, payload).status_code == 200
    assert world.api.methods() == ["users.info", "views.open"]
    view = world.api.calls[1].body["view"]
    assert world.api.calls[1].body["trigger_id"] == "T.456"
    assert json.loads(view["private_metadata"]) == {"key_results": [world.kr.pk]}


def test_kpi_command_answers_with_health_trend_and_a_sparkline_image(
    live_server: Any, world: Any, settings: Any
) -> None:
    settings.SITE_URL = live_server.url
    Kpi.objects.create(
        key="otd-rate", name="On-time rate", team=world.depot, owner=world.member, unit="%",
        target=95, warning=90, critical=85, cadence="weekly",
    )  # fmt: skip
    ingest_measurements(
        rows=[
            MeasurementRow(kpi="otd-rate", at=NOW - timedelta(weeks=w), value=v)
            for w, v in [(3, 96), (2, 93), (1, 88), (0, 84)]
        ],
        by=world.member,
    )
    answer = command(live_server, "kpi On-time rate").json()
    kpi = Kpi.objects.get(key="otd-rate")
    assert answer["response_type"] == "ephemeral"
    assert answer["text"] == f"On-time rate: {kpi.health}, trend {kpi.trend}, latest 84%"
    assert kpi.health == "critical"
    fields = [f["text"] for f in answer["blocks"][1]["fields"]]
    assert fields[0].startswith("*Health*\n")
    assert fields[0].endswith("critical")
    assert fields[1] == f"*Trend*\n{kpi.trend}"
    image = answer["blocks"][2]
    assert image["type"] == "image"
    for raw in answer["blocks"]:
        block = Block.parse(raw)
        assert block is not None
        block.validate_json()
    png = httpx.get(image["image_url"], timeout=20)
    assert png.status_code == 200
    assert png.headers["Content-Type"] == "image/png"
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    forged = urlsplit(image["image_url"])._replace(query="k=otd-rate:forged").geturl()
    assert httpx.get(forged, timeout=20).status_code == 404
    unknown = command(live_server, "kpi No such thing").json()
    assert unknown["text"].startswith("No KPI is called")


def test_only_an_admin_sets_the_slack_app_and_its_secrets_are_stored_encrypted(
    org: Any,
) -> None:
    lead = Client()
    lead.force_login(org.lead)
    form = {"bot_token": "xoxb-1", "signing_secret": "s3cr3t"}
    assert lead.post("/admin-tools/slack", form).status_code == 403
    assert SlackApp.objects.count() == 0
    admin = Client()
    admin.force_login(org.admin)
    assert admin.post("/admin-tools/slack", form).status_code == 302
    [app] = SlackApp.objects.all()
    assert app.bot_token.startswith(secrets.PREFIX)
    assert "xoxb-1" not in app.bot_token
    assert app.signing_secret.startswith(secrets.PREFIX)
    assert "s3cr3t" not in app.signing_secret
    assert (secrets.decrypt(app.bot_token), secrets.decrypt(app.signing_secret)) == (
        "xoxb-1",
        "s3cr3t",
    )
    page = admin.get("/admin-tools/slack").content.decode()
    assert "/slack/commands" in page
    assert "s3cr3t" not in page


@pytest.mark.django_db(transaction=False)
def test_manifest_points_slack_at_the_request_urls() -> None:
    from pathlib import Path

    import yaml
    from django.urls import resolve

    path = Path(__file__).resolve().parent.parent / "docs" / "slack-manifest.yaml"
    manifest = yaml.safe_load(path.read_text(encoding="utf-8"))
    [slash] = manifest["features"]["slash_commands"]
    assert slash["command"] == "/headway"
    assert resolve(urlsplit(slash["url"]).path).url_name == "slack_commands"
    interactivity = manifest["settings"]["interactivity"]["request_url"]
    assert resolve(urlsplit(interactivity).path).url_name == "slack_interactions"
    assert {"commands", "users:read", "users:read.email"} <= set(
        manifest["oauth_config"]["scopes"]["bot"]
    )


def lookup_by_email(call: Call) -> dict[str, Any]:
    ids = {u["email"]: uid for uid, u in SLACK_USERS.items() if u["confirmed"]}
    uid = ids.get(str(call.body.get("email")))
    if uid is None:
        return {"ok": False, "error": "users_not_found"}
    return {"ok": True, "user": {"id": uid}}


def test_weekly_reminder_is_a_slack_message_whose_button_opens_the_modal(
    live_server: Any, world: Any
) -> None:
    from headway.notify.delivery import drain
    from headway.notify.models import Delivery
    from headway.notify.periodic import checkin_overdue

    world.api.answers["users.lookupByEmail"] = lookup_by_email
    assert checkin_overdue(NOW) == 1
    assert drain(worker_id="test").sent >= 1
    assert Delivery.objects.get(channel="slack").status == "sent"
    assert world.api.methods() == ["users.lookupByEmail", "chat.postMessage"]
    lookup, message = world.api.calls
    assert lookup.body["email"] == "member@acme.test"
    assert message.headers["Authorization"] == f"Bearer {TOKEN}"
    assert message.body["channel"] == "U_MEMBER"
    assert message.body["text"].startswith("Check-in overdue")
    blocks = message.body["blocks"]
    if isinstance(blocks, str):  # form-encoded by the client
        blocks = json.loads(blocks)
    [actions] = [b for b in blocks if b["type"] == "actions"]
    button = actions["elements"][0]
    assert (button["text"]["text"], button["action_id"], button["value"]) == (
        "Check in",
        "headway_checkin",
        str(world.kr.pk),
    )
    # The click Slack sends back opens the check-in modal for that key result.
    click = {
        "type": "block_actions",
        "user": {"id": "U_MEMBER"},
        "trigger_id": "T.789",
        "actions": [{"action_id": button["action_id"], "value": button["value"]}],
    }
    assert interaction(live_server, click).status_code == 200
    assert world.api.methods()[-2:] == ["users.info", "views.open"]
    view = world.api.calls[-1].body["view"]
    assert json.loads(view["private_metadata"]) == {"key_results": [world.kr.pk]}


@pytest.mark.django_db(transaction=False)
def test_no_slack_message_is_queued_while_the_slack_app_is_not_set_up(org: Any) -> None:
    from headway.notify.models import Delivery
    from headway.notify.periodic import checkin_overdue

    objective = Objective.objects.create(
        key="calm", cycle=org.cycle, team=org.depot, owner=org.lead, title="Calm depot"
    )
    KeyResult.objects.create(
        objective=objective, key="otd", title="On-time delivery", unit="%", start=80,
        target=96, owner=org.member,
    )  # fmt: skip
    assert checkin_overdue(NOW) == 1
    assert sorted(Delivery.objects.values_list("channel", flat=True)) == ["email", "inbox"]


def test_a_person_slack_does_not_know_fails_for_good_with_the_reason(
    live_server: Any, world: Any
) -> None:
    from headway.notify.delivery import drain
    from headway.notify.models import Delivery
    from headway.notify.periodic import checkin_overdue

    world.api.answers["users.lookupByEmail"] = {"ok": False, "error": "users_not_found"}
    assert checkin_overdue(NOW) == 1
    drain(worker_id="test")
    delivery = Delivery.objects.get(channel="slack")
    assert delivery.status == "failed"
    assert delivery.last_error == "Slack: no Slack user has the e-mail address member@acme.test"
    assert world.api.methods() == ["users.lookupByEmail"]


@pytest.mark.django_db(transaction=False)
def test_a_person_turns_the_slack_reminder_off_on_the_settings_page(org: Any) -> None:
    from headway.notify.models import Delivery, Preference
    from headway.notify.periodic import checkin_overdue

    client = Client()
    client.force_login(org.member)
    assert "slack_checkin_overdue" not in client.get("/settings/notifications").content.decode()
    configure_slack(by=org.admin, bot_token=TOKEN, signing_secret=SECRET)
    page = client.get("/settings/notifications").content.decode()
    assert 'name="slack_checkin_overdue" id="id_slack_checkin_overdue" checked' in page
    response = client.post("/settings/notifications", {"email_checkin_overdue": "on"})
    assert response.status_code == 302
    assert Preference.objects.get(person=org.member, kind="checkin_overdue").slack is False
    objective = Objective.objects.create(
        key="calm", cycle=org.cycle, team=org.depot, owner=org.lead, title="Calm depot"
    )
    KeyResult.objects.create(
        objective=objective, key="otd", title="On-time delivery", unit="%", start=80,
        target=96, owner=org.member,
    )  # fmt: skip
    assert checkin_overdue(NOW) == 1
    assert not Delivery.objects.filter(channel="slack").exists()


@pytest.mark.django_db(transaction=False)
def test_anything_but_a_signed_post_to_the_slack_urls_is_401(org: Any) -> None:
    configure_slack(by=org.admin, bot_token=TOKEN, signing_secret=SECRET)
    client = Client()
    for url in ("/slack/commands", "/slack/interactions"):
        assert client.get(url).status_code == 401
        assert client.post(url, {"text": "checkin"}).status_code == 401
    assert client.get("/slack/sparkline.png").status_code == 404
