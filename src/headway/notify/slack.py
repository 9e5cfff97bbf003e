"""The Slack app: verified requests, people by verified e-mail, the check-in modal.

Slack POSTs slash commands (`/headway checkin`, `/headway kpi NAME`) and interactions (a
"Check in" button, a modal submitted) to the endpoints in slack_views.py. Each request is
verified here first (`verify`: v0 signature with the signing secret, timestamp within five
minutes, constant-time comparison). Calls to Slack's Web API (users.info, views.open) go to
HEADWAY_SLACK_API_URL with the bot token. Check-ins are recorded by
`okrs.actions.record_checkin`, the same action the web check-in uses.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from headway import secrets
from headway.notify import text
from headway.notify.models import SlackApp
from headway.okrs.models import CycleState, KeyResult, KeyResultKind
from headway.teams.models import Person

log = logging.getLogger("headway.slack")

#: Requests older (or newer) than this are refused as possible replays.
MAX_AGE_SECONDS = 5 * 60
CHECKIN_CALLBACK = "headway_checkin"
#: A modal holds at most 100 blocks; four a key result keeps it well below.
MAX_MODAL_KEY_RESULTS = 10
DEFAULT_API_URL = "https://slack.com/api/"


class Refused(Exception):
    """A request that is not provably from Slack: answered 401, logged, nothing written."""


class Unknown(Exception):
    """The Slack user matches no active person by a verified e-mail address."""


@dataclass(frozen=True)
class Installed:
    bot_token: str
    signing_secret: str


def installed() -> Installed | None:
    app = SlackApp.current()
    if app is None or not app.configured:
        return None
    try:
        return Installed(secrets.decrypt(app.bot_token), secrets.decrypt(app.signing_secret))
    except secrets.SecretUnreadable:
        # SECRET_KEY or HEADWAY_SECRETS_KEY changed: as if not set up until saved again.
        log.error("The Slack app's stored credentials cannot be decrypted: save them again.")
        return None


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's v0 signature: HMAC-SHA256 of "v0:<timestamp>:<body>" with the signing secret."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str | None, given: str | None, body: bytes) -> None:
    """Raise Refused unless the request is signed with `secret` within five minutes."""
    if not secret:
        raise Refused("the Slack app is not configured")
    if not timestamp or not given:
        raise Refused("unsigned (no X-Slack-Signature or X-Slack-Request-Timestamp)")
    try:
        moment = int(timestamp)
    except ValueError:
        raise Refused("the timestamp is not a number") from None
    if abs(time.time() - moment) > MAX_AGE_SECONDS:
        raise Refused("the timestamp is more than five minutes away (a replay?)")
    if not hmac.compare_digest(signature(secret, timestamp, body), given):
        raise Refused("the signature does not match (tampered, or another secret)")


def client(app: Installed) -> WebClient:
    base = getattr(settings, "HEADWAY_SLACK_API_URL", DEFAULT_API_URL).rstrip("/") + "/"
    return WebClient(token=app.bot_token, base_url=base, timeout=10)


def person_for(app: Installed, user_id: str) -> Person:
    """The active person whose e-mail is the Slack user's verified e-mail (users.info)."""
    try:
        answer = client(app).users_info(user=user_id)
    except SlackApiError as exc:
        raise Unknown(f"Slack could not tell who you are ({exc.response.get('error')}).") from exc
    user = answer.get("user") or {}
    email = str((user.get("profile") or {}).get("email") or "")
    if not email or not user.get("is_email_confirmed"):
        raise Unknown(
            "Headway matches people by a verified e-mail address, and your Slack account "
            "has none: confirm your e-mail in Slack, then try again."
        )
    found = Person.objects.filter(email__iexact=email, is_active=True).first()
    if found is None:
        raise Unknown(
            f"No one in Headway has the e-mail address {email}: ask an admin to invite "
            "you, or to use the address your Slack account has."
        )
    return found


# --------------------------------------------------------------------------- the modal


def due_key_results(person: Person, only: int | None = None) -> list[KeyResult]:
    """The person's key results due for a check-in (or the one a reminder's button names)."""
    owned = (
        KeyResult.objects.needing_checkins()
        .filter(owner=person, objective__cycle__state=CycleState.ACTIVE)
        .select_related("objective__cycle", "objective__team")
    )
    if only is not None:
        return [kr for kr in owned.filter(pk=only)]
    due = owned.overdue(timezone.now()).order_by("objective__key", "position", "id")
    return list(due[:MAX_MODAL_KEY_RESULTS])


def checkin_modal(key_results: list[KeyResult]) -> dict[str, Any]:
    """A modal with value (or done), confidence and comment for each key result."""
    blocks: list[Block] = []
    for kr in key_results:
        target = text.number(kr.target, kr.unit)
        current = text.number(kr.current, kr.unit) if kr.current is not None else "no value yet"
        blocks.append(
            SectionBlock(
                block_id=f"kr-{kr.pk}",
                text=MarkdownTextObject(
                    text=f"*{kr.title[:200]}*\n{kr.objective.title[:200]} · now {current}, "
                    f"target {target}"
                ),
            )
        )
        if kr.kind == KeyResultKind.MILESTONE:
            blocks.append(
                InputBlock(
                    block_id=f"kr-{kr.pk}-done",
                    label=gettext("Done?"),
                    optional=True,
                    element=StaticSelectElement(
                        action_id="done",
                        options=[
                            Option(value="yes", text="Done"),
                            Option(value="no", text="Not yet"),
                        ],
                    ),
                )
            )
        else:
            blocks.append(
                InputBlock(
                    block_id=f"kr-{kr.pk}-value",
                    label=(
                        gettext("Current value (%(unit)s)") % {"unit": kr.unit}
                        if kr.unit
                        else gettext("Current value")
                    ),
                    optional=True,
                    element=PlainTextInputElement(action_id="value", placeholder=target),
                )
            )
        blocks.append(
            InputBlock(
                block_id=f"kr-{kr.pk}-confidence",
                label=gettext("Confidence (0 to 10)"),
                optional=True,
                element=PlainTextInputElement(action_id="confidence", max_length=2),
            )
        )
        blocks.append(
            InputBlock(
                block_id=f"kr-{kr.pk}-comment",
                label=gettext("Comment"),
                optional=True,
                element=PlainTextInputElement(action_id="comment", multiline=True),
            )
        )
    blocks.append(
        ContextBlock(elements=[MarkdownTextObject(text="Leave a key result empty to skip it.")])
    )
    view = View(
        type="modal",
        callback_id=CHECKIN_CALLBACK,
        title="Check in",
        submit="Check in",
        close="Cancel",
        private_metadata=json.dumps({"key_results": [kr.pk for kr in key_results]}),
        blocks=blocks,
    )
    return view.to_dict()


def open_checkin_modal(app: Installed, trigger_id: str, key_results: list[KeyResult]) -> None:
    client(app).views_open(trigger_id=trigger_id, view=checkin_modal(key_results))


def input_blocks(view: dict[str, Any]) -> list[str]:
    """The block ids of the view's input blocks, in order (errors attach to those)."""
    return [
        str(block.get("block_id"))
        for block in view.get("blocks", [])
        if block.get("type") == "input" and block.get("block_id")
    ]
