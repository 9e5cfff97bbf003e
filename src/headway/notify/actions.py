"""Changes to the notify app's settings that need rights checks.

The Slack app, a team's webhooks and the admins' retry of failed deliveries: each action is
the one gate of its change (rights, validation, one transaction), as elsewhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from headway import secrets
from headway.notify.delivery import retry_now
from headway.notify.formats import guess_format
from headway.notify.kinds import KINDS, TEAM_KINDS, WebhookFormat
from headway.notify.models import (
    Delivery,
    DeliveryStatus,
    PersonalWebhook,
    Preference,
    SlackApp,
    TeamWebhook,
)
from headway.teams.access import Access, refuse
from headway.teams.models import Person, Team

#: Webhooks are posted to over the web only (no file:, ftp: or internal schemes).
WEB_SCHEMES = URLValidator(schemes=["http", "https"])


def why_not_configure_slack(access: Access) -> str | None:
    if access.can_manage():
        return None
    return _("Only organisation admins set up the Slack app.")


@transaction.atomic
def configure_slack(*, by: Person, bot_token: str, signing_secret: str) -> SlackApp:
    """Store the Slack app's bot token and signing secret, encrypted (organisation admins)."""
    refuse(why_not_configure_slack(Access.for_person(by)))
    app = SlackApp.objects.select_for_update().order_by("id").first() or SlackApp()
    app.bot_token = secrets.encrypt(bot_token.strip())
    app.signing_secret = secrets.encrypt(signing_secret.strip())
    app.updated_at = timezone.now()
    app.updated_by = by
    app.save()
    return app


def why_not_manage_team_webhooks(access: Access, team: Team) -> str | None:
    """A team's webhooks post its news to a channel: its leads (and admins) choose them."""
    if access.can_steer(team.pk):
        return None
    return _("Only leads and admins of the team manage its webhooks.")


def why_not_see_deliveries(access: Access) -> str | None:
    """Deliveries, the outbox and invitations carry addresses and set-password links."""
    if access.can_manage():
        return None
    return _("Only organisation admins see deliveries.")


def _url_problem(url: str) -> str | None:
    if len(url) > 500:
        return "A webhook URL has at most 500 characters."
    try:
        WEB_SCHEMES(url)
    except ValidationError:
        return "A webhook URL starts with https:// (or http://) and names a host."
    return None


def _webhook_fields(name: str, url: str, fmt: str, kinds: Sequence[str]) -> dict[str, object]:
    """The webhook's fields, checked; every problem reported at once, per field."""
    errors: dict[str, list[str]] = {}
    name = name.strip()
    url = url.strip()
    if not name:
        errors["name"] = [_("Give the webhook a name (where it posts, e.g. “#depot-news”).")]
    elif len(name) > TeamWebhook._meta.get_field("name").max_length:  # type: ignore[operator]
        errors["name"] = [_("A webhook's name has at most 100 characters.")]
    if not url:
        errors["url"] = [_("Paste the incoming-webhook URL the receiving service gave you.")]
    elif problem := _url_problem(url):
        errors["url"] = [problem]
    if fmt and fmt not in WebhookFormat.values:
        errors["format"] = [
            _("Choose one of the formats: %(names)s.") % {"names": ", ".join(WebhookFormat.values)}
        ]
    unknown = sorted(set(kinds) - set(TEAM_KINDS))
    if unknown:
        errors["kinds"] = [
            _("Not an event a team webhook posts: %(names)s.") % {"names": ", ".join(unknown)}
        ]
    if errors:
        raise ValidationError(errors)
    return {
        "name": name,
        "url": url,
        "format": fmt or guess_format(url),
        # Keep the order the form lists them in, once each.
        "kinds": [kind for kind in TEAM_KINDS if kind in set(kinds)],
    }


@transaction.atomic
def add_team_webhook(
    *, by: Person, team: Team, name: str, url: str, format: str = "", kinds: Sequence[str] = ()
) -> TeamWebhook:
    """Add a webhook that posts the team's news (no kinds = every team kind)."""
    refuse(why_not_manage_team_webhooks(Access.for_person(by), team))
    fields = _webhook_fields(name, url, format, kinds)
    return TeamWebhook.objects.create(team=team, created_by=by, **fields)


@transaction.atomic
def remove_team_webhook(*, by: Person, team: Team, webhook_id: int) -> TeamWebhook | None:
    """Remove one of the team's webhooks; None when it was already gone (a second click)."""
    refuse(why_not_manage_team_webhooks(Access.for_person(by), team))
    hook = TeamWebhook.objects.select_for_update().filter(pk=webhook_id, team=team).first()
    if hook is not None:
        hook.delete()
    return hook


@dataclass(frozen=True)
class Retried:
    """What a retry queued again: the count, and how many of the chosen ones could not be."""

    queued: int
    skipped: int


@transaction.atomic
def retry_deliveries(
    *, by: Person, delivery_ids: Sequence[int] = (), every_failed: bool = False
) -> Retried:
    """Queue failed or uncertain deliveries again: the chosen ones, or every failed one.

    "Every failed" leaves the uncertain ones alone: each may have reached its receiver, so
    an admin retries it by choosing it after checking.
    """
    refuse(why_not_see_deliveries(Access.for_person(by)))
    if every_failed:
        ids = list(
            Delivery.objects.filter(status=DeliveryStatus.FAILED).values_list("pk", flat=True)
        )
    else:
        ids = sorted(set(delivery_ids))
    queued = retry_now(ids)
    return Retried(queued=queued, skipped=len(ids) - queued)


@dataclass(frozen=True)
class ChannelChoice:
    """One kind's channels as the person chose them; `slack` None = not offered (no app)."""

    email: bool
    webhook: bool
    slack: bool | None = None


@transaction.atomic
def save_preferences(
    *, by: Person, choices: dict[str, ChannelChoice], webhook_url: str
) -> PersonalWebhook:
    """A person's own channels per kind and their webhook URL (empty for none).

    Everyone sets only their own, so there is no rights check beyond being signed in.
    """
    unknown = sorted(set(choices) - set(KINDS))
    if unknown:
        raise ValidationError(
            _("Not a kind of notification: %(names)s.") % {"names": ", ".join(unknown)}
        )
    url = webhook_url.strip()
    if url and (problem := _url_problem(url)):
        raise ValidationError({"webhook_url": [problem]})
    for kind, choice in choices.items():
        defaults: dict[str, object] = {"email": choice.email, "webhook": choice.webhook}
        if choice.slack is not None:
            defaults["slack"] = choice.slack
        Preference.objects.update_or_create(person=by, kind=kind, defaults=defaults)
    hook, _created = PersonalWebhook.objects.update_or_create(
        person=by, defaults={"url": url, "format": guess_format(url)}
    )
    return hook
