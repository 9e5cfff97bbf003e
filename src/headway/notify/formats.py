"""What a webhook POSTs, by format: `generic` JSON, Slack Block Kit, Teams Adaptive Card.

Each webhook (a team's or a person's) has a format (`WebhookFormat`); `FORMATS` in
channels.py maps it to the builder of the body. Slack's blocks are built with slack-sdk's
block models, which check Slack's limits as they serialise (`to_dict` validates). The
Teams body is the message envelope a Teams Workflows webhook ("Post to a channel when a
webhook request is received") takes, carrying one Adaptive Card of schema 1.5.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.utils.translation import gettext
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from headway.notify import text
from headway.notify.kinds import EventKind, WebhookFormat, label
from headway.notify.models import Event

#: The action of the reminder's "Check in" button; the Slack app opens the modal on it.
CHECKIN_ACTION = "headway_checkin"
ADAPTIVE_CARD_VERSION = "1.5"
ADAPTIVE_CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"


def guess_format(url: str) -> str:
    """The format a webhook URL most likely wants; generic when the host says nothing.

    Slack's incoming webhooks live on hooks.slack.com. Teams' Workflows webhooks are Power
    Automate URLs (*.logic.azure.com/workflows/…, *.api.powerplatform.com/…); the retired
    Office 365 connectors (*.webhook.office.com, outlook.office.com/webhook/…) took the
    same Adaptive Card envelope, so they are Teams too.
    """
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    path = parts.path.lower()
    if host == "hooks.slack.com":
        return WebhookFormat.SLACK
    if host.endswith(".webhook.office.com") or (
        host == "outlook.office.com" and path.startswith("/webhook")
    ):
        return WebhookFormat.TEAMS
    if host.endswith(".logic.azure.com") and "/workflows/" in path:
        return WebhookFormat.TEAMS
    if host.endswith(".api.powerplatform.com") and "/workflows/" in path:
        return WebhookFormat.TEAMS
    return WebhookFormat.GENERIC


def checkin_url(event: Event) -> str:
    """The web check-in of the event's key result (its row on the team's check-in page)."""
    kr = event.key_result
    if kr is None:
        return ""
    team_key = kr.objective.team.key
    return text.absolute(text.link("checkin", team_key)) + f"#row-{kr.pk}"


def is_reminder(event: Event) -> bool:
    """Events that ask someone to check in (the reminder carries a "Check in" button)."""
    return event.kind == EventKind.CHECKIN_OVERDUE and event.key_result_id is not None


def _mrkdwn(value: str) -> str:
    """Escape the three characters Slack's mrkdwn gives a meaning to."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_blocks(event: Event) -> list[Block]:
    """Block Kit: title, the change (summary), score/status/numbers as fields, link back."""
    url = text.absolute(event.link)
    blocks: list[Block] = [HeaderBlock(text=event.said_title[:150])]
    if summary := event.said_summary:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=_mrkdwn(summary)[:3000])))
    facts = event.said_facts[:10]
    if facts:
        blocks.append(
            SectionBlock(
                fields=[
                    MarkdownTextObject(text=f"*{_mrkdwn(name)}*\n{_mrkdwn(value)}"[:2000])
                    for name, value in facts
                ]
            )
        )
    buttons: list[ButtonElement] = []
    if is_reminder(event):
        buttons.append(
            ButtonElement(
                text=gettext("Check in"),
                action_id=CHECKIN_ACTION,
                value=str(event.key_result_id),
                style="primary",
            )
        )
    if url:
        buttons.append(
            ButtonElement(text=gettext("Open in Headway"), action_id="headway_open", url=url)
        )
    if buttons:
        blocks.append(ActionsBlock(elements=buttons))
    context = f"{label(event.kind)} · {text.moment(event.occurred_at)}"
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=_mrkdwn(context))]))
    return blocks


def slack_fallback(event: Event) -> str:
    """The plain `text` Slack shows in notifications and where blocks cannot be shown."""
    return f"{event.said_title}\n{event.said_summary}".strip()[:3000]


def slack_body(event: Event, key: str) -> dict[str, Any]:
    return {
        "text": slack_fallback(event),
        "blocks": [block.to_dict() for block in slack_blocks(event)],
    }


def adaptive_card(event: Event) -> dict[str, Any]:
    """An Adaptive Card 1.5: title, the change, the facts, and a button back to Headway.

    A reminder's button opens the web check-in of that key result (Action.OpenUrl): an
    Action.Submit would need a registered Bot Framework bot (docs/decisions.md).
    """
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": event.said_title,
            "size": "Medium",
            "weight": "Bolder",
            "wrap": True,
            "style": "heading",
        }
    ]
    if summary := event.said_summary:
        body.append({"type": "TextBlock", "text": summary, "wrap": True})
    facts = event.said_facts[:10]
    if facts:
        body.append(
            {"type": "FactSet", "facts": [{"title": name, "value": value} for name, value in facts]}
        )
    body.append(
        {
            "type": "TextBlock",
            "text": f"{label(event.kind)} · {text.moment(event.occurred_at)}",
            "isSubtle": True,
            "size": "Small",
            "wrap": True,
        }
    )
    actions: list[dict[str, Any]] = []
    if is_reminder(event):
        actions.append(
            {
                "type": "Action.OpenUrl",
                "title": "Check in",
                "url": checkin_url(event),
                "style": "positive",
            }
        )
    url = text.absolute(event.link)
    if url:
        actions.append({"type": "Action.OpenUrl", "title": "Open in Headway", "url": url})
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": ADAPTIVE_CARD_VERSION,
        "fallbackText": slack_fallback(event),
        "body": body,
    }
    if actions:
        card["actions"] = actions
    return card


def teams_body(event: Event, key: str) -> dict[str, Any]:
    """The envelope a Teams Workflows webhook takes: a message with one card attachment."""
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": ADAPTIVE_CARD_CONTENT_TYPE,
                "contentUrl": None,
                "content": adaptive_card(event),
            }
        ],
    }
