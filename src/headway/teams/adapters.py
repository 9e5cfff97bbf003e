"""Sign-in policy: people are invited or created by an admin, never self-registered."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from django.http import HttpRequest


class InviteOnlyAccountAdapter(DefaultAccountAdapter):  # type: ignore[misc]
    """Closes sign-up to strangers; nobody deactivated ever gets a session."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """Queue the mail in the outbox for the worker instead of sending it in the request.

        A password reset then never waits on the mail server, and one that cannot be
        reached fails a row in the outbox (retried, shown to admins), never the page.
        """
        from headway.notify.models import MailKind
        from headway.notify.outbox import queue_message
        from headway.teams.models import Person

        message = self.render_mail(template_prefix, email, context)
        kind = MailKind.PASSWORD_RESET if "password_reset" in template_prefix else MailKind.ACCOUNT
        person = Person.objects.filter(email=email.strip().lower()).first()
        queue_message(kind, message, person)

    def login(self, request: HttpRequest, user: Any) -> None:
        """Check the database, not the person as they were when the sign-in began.

        A sign-in in steps (password, then the two-factor code; or a provider's redirect)
        carries the person from the first step; one deactivated in between is refused here,
        whichever way they came, and the half-done sign-in is dropped.
        """
        if not type(user).objects.filter(pk=user.pk, is_active=True).exists():
            from allauth.account.internal.stagekit import clear_login

            clear_login(request)
            raise ImmediateHttpResponse(self.respond_user_inactive(request, user))
        super().login(request, user)
