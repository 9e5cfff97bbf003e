"""Changes to the notify app's settings that need rights checks: the Slack app."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from headway import secrets
from headway.notify.models import SlackApp
from headway.teams.access import Access, refuse
from headway.teams.models import Person


def why_not_configure_slack(access: Access) -> str | None:
    if access.can_manage():
        return None
    return "Only organisation admins set up the Slack app."


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
