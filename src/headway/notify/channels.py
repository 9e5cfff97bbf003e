"""Channels as a registry: channel id -> implementation that sends one delivery.

`inbox` writes the Notification row (exactly once: unique per person and event); `email`
sends plain text + HTML through Django's mailers (MAILERS); `webhook` POSTs JSON in the
webhook's format (`FORMATS`: generic, Slack Block Kit, Teams Adaptive Card). Each send raises
`DeliveryError` on failure, saying whether trying again could help. E-mail and webhooks
are `external` (see ChannelImpl): what they sent cannot be taken back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext

from headway import speech
from headway.database import when_unlocked
from headway.notify import formats, text
from headway.notify.kinds import Channel, EventKind, WebhookFormat, label
from headway.notify.models import Delivery, Event, Notification
from headway.web.common import Chip, grade_chip, health_chip, status_chip

USER_AGENT = "Headway-Notify/1"
# httpx logs every request with its URL at INFO; webhook URLs are secrets (Slack, Teams).
logging.getLogger("httpx").setLevel(logging.WARNING)
#: Connect, read, write and pool timeouts of a webhook POST, in seconds.
WEBHOOK_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
#: Answers worth trying again later; any other 4xx is a permanent mistake (bad URL, gone).
RETRYABLE_STATUS = {408, 409, 425, 429}
THEME: dict[str, str] = {
    EventKind.KR_ACHIEVED: "2e7d32",
    EventKind.OBJECTIVE_0_7: "2e7d32",
    EventKind.OBJECTIVE_1_0: "2e7d32",
    EventKind.KR_OFF_TRACK: "c62828",
    EventKind.KPI_HEALTH: "ef6c00",
    EventKind.POSSIBLE_GAMING: "c62828",
    EventKind.SOURCE_FAILING: "c62828",
    EventKind.SOURCE_RECOVERED: "2e7d32",
    EventKind.DATA_INCIDENT: "6b2fa3",
    EventKind.BACK_TO_MONITORING: "2e7d32",
}


class DeliveryError(Exception):
    """A send that did not succeed; `permanent` when retrying cannot help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass
class SendContext:
    """Resources shared by the sends of one batch (one HTTP client for every webhook)."""

    http: httpx.Client = field(
        default_factory=lambda: httpx.Client(
            timeout=WEBHOOK_TIMEOUT, follow_redirects=False, headers={"User-Agent": USER_AGENT}
        )
    )

    def close(self) -> None:
        self.http.close()


class ChannelImpl(Protocol):
    """What a channel does with one claimed delivery.

    `external` channels hand the message to another system, which cannot take it back:
    the worker commits a "send started" marker before each of their sends, and never sends
    again automatically once a send may have happened. A channel that only writes to the
    database, idempotently, needs no marker.
    """

    @property
    def external(self) -> bool: ...

    def send(self, delivery: Delivery, context: SendContext) -> None: ...


def idempotency_key(delivery: Delivery) -> str:
    """Same for every attempt of one delivery: receivers drop a second copy by it."""
    address = delivery.address.replace(":", "-")
    return f"headway-{delivery.event_id}-{delivery.channel}-{address}"


# --------------------------------------------------------------------------- inbox


class InboxChannel:
    """A Notification row; normally written at fan-out, in the event's own transaction."""

    #: Writing the (unique) row again is harmless: exactly once without a marker.
    external = False

    def send(self, delivery: Delivery, context: SendContext) -> None:
        person_id = delivery.person_id
        if person_id is None:
            raise DeliveryError("An inbox delivery needs a person.", permanent=True)
        when_unlocked(
            lambda: Notification.objects.bulk_create(
                [Notification(person_id=person_id, event_id=delivery.event_id)],
                ignore_conflicts=True,
            )
        )


# --------------------------------------------------------------------------- e-mail


def email_chip(event: Event) -> Chip | None:
    """The signal an event is about, in the pages' words and colours (web.common)."""
    numbers = event.numbers
    if event.kind in (EventKind.KR_ACHIEVED, EventKind.OBJECTIVE_1_0):
        return status_chip("achieved")
    if event.kind == EventKind.KR_OFF_TRACK:
        return status_chip("off_track")
    if event.kind == EventKind.KPI_HEALTH and isinstance(numbers.get("health"), str):
        return health_chip(numbers["health"])
    if event.kind == EventKind.CYCLE_CLOSED and isinstance(numbers.get("mean_grade"), int | float):
        return grade_chip(float(numbers["mean_grade"]))
    return None


def email_context(event: Event) -> dict[str, Any]:
    return {
        "event": event,
        "chip": email_chip(event),
        "kind_label": label(event.kind),
        # Worded when the event happened and said here in the recipient's language.
        "title": event.said_title,
        "summary": event.said_summary,
        "facts": event.said_facts,
        "sections": [
            {
                **section,
                "title": speech.spoken_packed(section.get("title")),
                "rows": [
                    {
                        **row,
                        "text": speech.spoken_packed(row.get("text")),
                        "detail": speech.spoken_packed(row.get("detail")),
                    }
                    for row in section.get("rows", [])
                ],
            }
            for section in event.data.get("sections", [])
        ],
        "url": text.absolute(event.link),
        "settings_url": text.absolute(text.link("notify:settings")),
        "site_url": getattr(settings, "SITE_URL", ""),
    }


def render_email(event: Event) -> tuple[str, str, str]:
    """Subject, plain text and HTML of the e-mail about `event`."""
    context = email_context(event)
    base = "notify/email/digest" if event.kind == EventKind.WEEKLY_DIGEST else "notify/email/event"
    body = render_to_string(f"{base}.txt", context)
    html = render_to_string(f"{base}.html", context)
    subject = f"[Headway] {context['title']}".replace("\n", " ")[:200]
    return subject, body, html


class EmailChannel:
    """Plain text + HTML through the MAILERS alias HEADWAY_NOTIFY_MAILER (default "default")."""

    external = True

    def send(self, delivery: Delivery, context: SendContext) -> None:
        person = delivery.person
        if person is None or not person.email or not person.is_active:
            raise DeliveryError("The recipient left or has no e-mail address.", permanent=True)
        from headway.teams.middleware import language_of

        # In the recipient's language (their choice, else the organisation's default).
        with translation.override(language_of(person)):
            subject, body, html = render_email(delivery.event)
        key = idempotency_key(delivery)
        message = EmailMultiAlternatives(
            subject=subject,
            body=body,
            to=[person.email],
            headers={
                # The same Message-ID on every attempt lets mail systems drop a duplicate.
                "Message-ID": f"<{key}@headway>",
                "X-Headway-Event": delivery.event.kind,
                "X-Headway-Idempotency-Key": key,
            },
        )
        message.attach_alternative(html, "text/html")
        mailer = getattr(settings, "HEADWAY_NOTIFY_MAILER", "default")
        try:
            message.send(using=mailer)
        except Exception as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        from headway.notify.outbox import record_sent

        try:
            record_sent(message, person)
        except Exception:  # the copy is for reading; the send itself succeeded
            logging.getLogger("headway.notify").exception("Outbox: copy of a sent e-mail lost")


# --------------------------------------------------------------------------- webhook


def webhook_body(event: Event, delivery: Delivery | None = None) -> dict[str, Any]:
    """A JSON body that Slack and Teams incoming webhooks both accept.

    Slack reads `text` (fallback and notification) and `blocks` (Block Kit); Teams reads
    `text` with `title`, `summary` and `themeColor` (a MessageCard) and ignores `blocks`.
    Both ignore the `headway` object, which carries the event for other receivers, with
    an `idempotency_key` that stays the same on every retry.
    """
    url = text.absolute(event.link)
    # People read the text and blocks (in the active language); programs read the
    # `headway` object, which keeps the English title, summary and facts.
    title, summary, facts = event.said_title, event.said_summary, event.said_facts
    lines = [summary] if summary else []
    lines += [f"{name}: {value}" for name, value in facts[:10]]
    if url:
        lines.append(url)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
    ]
    if summary:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": _mrkdwn(summary)[:2900]}}
        )
    if facts:
        blocks.append(
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*{_mrkdwn(name)}*\n{_mrkdwn(value)}"[:1900]}
                    for name, value in facts[:10]
                ],
            }
        )
    context = f"{label(event.kind)} · {text.moment(event.occurred_at)}"
    if url:
        context += f" · <{url}|{gettext('Open in Headway')}>"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    key = idempotency_key(delivery) if delivery is not None else f"headway-{event.pk}"
    return {
        "text": f"{title}\n" + "\n".join(lines),
        "blocks": blocks,
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "title": title,
        "summary": title,
        "themeColor": THEME.get(event.kind, "1565c0"),
        "headway": {
            "event_id": event.pk,
            "idempotency_key": key,
            "kind": event.kind,
            "dedupe_key": event.dedupe_key,
            "occurred_at": event.occurred_at.isoformat(),
            "title": event.title,
            "summary": event.summary,
            "url": url,
            "facts": [list(f) for f in event.facts],
            "numbers": event.numbers,
        },
    }


def _mrkdwn(value: str) -> str:
    """Escape the three characters Slack's mrkdwn gives a meaning to."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _generic_body(event: Event, key: str) -> dict[str, Any]:
    body = webhook_body(event)
    body["headway"]["idempotency_key"] = key
    return body


#: Webhook format -> the body it POSTs for an event (given the delivery's idempotency key).
FORMATS: dict[str, Callable[[Event, str], dict[str, Any]]] = {
    WebhookFormat.GENERIC: _generic_body,
    WebhookFormat.SLACK: formats.slack_body,
    WebhookFormat.TEAMS: formats.teams_body,
}


class WebhookChannel:
    """POST the JSON body to a person's or a team's incoming-webhook URL."""

    external = True

    def send(self, delivery: Delivery, context: SendContext) -> None:
        fmt: str = WebhookFormat.GENERIC
        if delivery.team_webhook is not None:
            url = delivery.team_webhook.url if delivery.team_webhook.active else ""
            fmt = delivery.team_webhook.format
        else:
            hook = getattr(delivery.person, "notify_webhook", None) if delivery.person else None
            url = hook.url if hook is not None else ""
            fmt = hook.format if hook is not None else fmt
        if not url:
            raise DeliveryError("The webhook was removed or switched off.", permanent=True)
        key = idempotency_key(delivery)
        build = FORMATS.get(fmt, _generic_body)
        from headway.teams.middleware import language_of

        # A person's webhook speaks their language; a team's, the organisation's default.
        with translation.override(language_of(delivery.person)):
            body = build(delivery.event, key)
        try:
            response = context.http.post(
                url,
                json=body,
                headers={"Idempotency-Key": key, "X-Headway-Event": delivery.event.kind},
            )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        if response.is_success:
            return
        status = response.status_code
        snippet = response.text[:200].replace("\n", " ")
        permanent = 400 <= status < 500 and status not in RETRYABLE_STATUS
        raise DeliveryError(f"HTTP {status}: {snippet}", permanent=permanent)


# --------------------------------------------------------------------------- Slack app


class SlackChannel:
    """A direct message from the Slack app's bot: users.lookupByEmail, then chat.postMessage.

    The person is found in Slack by their Headway e-mail address (Slack answers only for
    a confirmed address); the message is the Slack webhook format's Block Kit, so the
    reminder's "Check in" button opens the check-in modal (docs/slack.md).
    """

    external = True

    def send(self, delivery: Delivery, context: SendContext) -> None:
        from slack_sdk.errors import SlackApiError

        from headway.notify import slack

        person = delivery.person
        if person is None or not person.email or not person.is_active:
            raise DeliveryError("The recipient left or has no e-mail address.", permanent=True)
        app = slack.installed()
        if app is None:
            raise DeliveryError("The Slack app is not set up any more.", permanent=True)
        api = slack.client(app)
        event = delivery.event
        from headway.teams.middleware import language_of

        with translation.override(language_of(person)):
            fallback, blocks = formats.slack_fallback(event), formats.slack_blocks(event)
        try:
            found = api.users_lookupByEmail(email=person.email)
            user_id = str((found.get("user") or {}).get("id") or "")
            api.chat_postMessage(
                channel=user_id,
                text=fallback,
                blocks=blocks,
                unfurl_links=False,
            )
        except SlackApiError as exc:
            error = str(exc.response.get("error") or exc.response.status_code)
            # Rate limits and Slack's own trouble pass; anything else will not (no user,
            # a revoked token, a missing scope).
            retry = error in {"ratelimited", "internal_error", "fatal_error", "service_unavailable"}
            if error == "users_not_found":
                error = f"no Slack user has the e-mail address {person.email}"
            raise DeliveryError(f"Slack: {error}", permanent=not retry) from exc
        except OSError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc


CHANNELS: dict[str, ChannelImpl] = {
    Channel.INBOX: InboxChannel(),
    Channel.EMAIL: EmailChannel(),
    Channel.WEBHOOK: WebhookChannel(),
    Channel.SLACK: SlackChannel(),
}
