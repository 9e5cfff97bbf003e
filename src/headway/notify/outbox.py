"""The outbox: every e-mail Headway sends, readable by admins, sent by the worker.

Invitations and password resets are queued (`queue`) in the transaction that asks for them
and sent by the worker (`send_due`), so a page never waits on, or fails with, the SMTP
server: a failed send is retried with the notifications' back-off and then shown as
failed on the outbox page, where an admin can resend an invitation. Notification e-mails
are sent by their deliveries (headway.notify.delivery) and copied here once sent
(`record_sent`), so that without a mail server (the demo) admins still read what went out.

A claim is a conditional UPDATE (pending → sending, with a lease), so any number of
workers share the outbox. A row whose worker died mid-send is marked failed with a note
that it may have arrived; it is never sent again by itself (the deliveries' "uncertain"
rule), an admin resends it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from allauth.account.forms import default_token_generator
from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from headway.notify.models import DeliveryStatus, MailKind, OutboxMail
from headway.notify.retries import backoff, max_attempts
from headway.teams.models import Person

logger = logging.getLogger("headway.notify")

OUTBOX_LEASE = timedelta(minutes=2)
MID_SEND = "The worker stopped mid-send: it may have been sent. Resend it if it did not arrive."


def _parts(message: EmailMessage) -> tuple[str, str]:
    html = ""
    for alternative in getattr(message, "alternatives", []) or []:
        content, mimetype = alternative[0], alternative[1]
        if mimetype == "text/html":
            html = str(content)
    return str(message.body), html


def queue(
    *, kind: str, to: str, subject: str, body: str, html: str = "", person: Person | None = None
) -> OutboxMail:
    """Write a mail for the worker to send (in the caller's transaction)."""
    mail = OutboxMail.objects.create(
        kind=kind, to=to, subject=subject[:255], body=body, html=html, person=person
    )
    return mail


def queue_message(kind: str, message: EmailMessage, person: Person | None = None) -> OutboxMail:
    """Queue a mail rendered elsewhere (allauth's password reset)."""
    body, html = _parts(message)
    return queue(
        kind=kind,
        to=", ".join(message.to),
        subject=str(message.subject),
        body=body,
        html=html,
        person=person,
    )


def record_sent(message: EmailMessage, person: Person | None) -> None:
    """Keep a copy of a notification e-mail its delivery has just sent."""
    body, html = _parts(message)
    now = timezone.now()
    OutboxMail.objects.create(
        kind=MailKind.NOTIFICATION,
        to=", ".join(message.to),
        subject=str(message.subject)[:255],
        body=body,
        html=html,
        person=person,
        status=DeliveryStatus.SENT,
        attempts=1,
        sent_at=now,
        created_at=now,
    )


# --------------------------------------------------------------------------- invitations


def password_link(person: Person) -> str:
    """A link with which `person` sets their password.

    It works once (the token covers the password hash and the last sign-in, which setting
    the password changes) and expires after PASSWORD_RESET_TIMEOUT (3 days by default).
    """
    from allauth.account.utils import user_pk_to_url_str

    path = reverse(
        "account_reset_password_from_key",
        kwargs={
            "uidb36": user_pk_to_url_str(person),
            "key": default_token_generator.make_token(person),
        },
    )
    return f"{settings.SITE_URL}{path}"


def queue_invitation(person: Person, *, by: Person | None) -> OutboxMail:
    """The invitation e-mail with a set-password link (queued; the worker sends it)."""
    days = max(1, int(settings.PASSWORD_RESET_TIMEOUT) // 86400)
    context = {
        "person": person,
        "by": by,
        "link": password_link(person),
        "days": days,
        "site_url": settings.SITE_URL,
    }
    return queue(
        kind=MailKind.INVITATION,
        to=person.email,
        subject=f"[Headway] {by.name or by.email} invited you to Headway"
        if by is not None
        else "[Headway] You are invited to Headway",
        body=render_to_string("notify/email/invitation.txt", context),
        html=render_to_string("notify/email/invitation.html", context),
        person=person,
    )


@dataclass(frozen=True)
class InvitationState:
    #: "accepted", "sent", "failed", "queued" or "none" (never invited by e-mail).
    state: str
    mail: OutboxMail | None

    @property
    def can_resend(self) -> bool:
        return self.state != "accepted"


def invitation_states(people: Sequence[Person]) -> dict[int, InvitationState]:
    """Each person's invitation state, in one query for the lot."""
    latest: dict[int, OutboxMail] = {}
    mails = OutboxMail.objects.filter(
        kind=MailKind.INVITATION, person__in=[p.pk for p in people]
    ).order_by("person_id", "-created_at", "-id")
    for row in mails:
        assert row.person_id is not None
        latest.setdefault(row.person_id, row)
    states: dict[int, InvitationState] = {}
    for someone in people:
        mail = latest.get(someone.pk)
        if someone.has_usable_password() or someone.last_login is not None:
            state = "accepted"
        elif mail is None:
            state = "none"
        elif mail.status == DeliveryStatus.SENT:
            state = "sent"
        elif mail.status in {DeliveryStatus.FAILED, DeliveryStatus.UNCERTAIN}:
            state = "failed"
        else:
            state = "queued"
        states[someone.pk] = InvitationState(state, mail)
    return states


# --------------------------------------------------------------------------- sending


@dataclass
class OutboxStats:
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"sent": self.sent, "retrying": self.retrying, "failed": self.failed}


def mark_interrupted() -> int:
    """Rows whose worker died mid-send: failed, with why (never sent again by themselves)."""
    return OutboxMail.objects.filter(
        status=DeliveryStatus.SENDING, lease_until__lt=timezone.now()
    ).update(status=DeliveryStatus.FAILED, last_error=MID_SEND)


def send_due(*, worker_id: str, batch: int = 50, stopping: Any = None) -> OutboxStats:
    """Send the queued mails that are due, each claimed by this worker alone."""
    stats = OutboxStats()
    mark_interrupted()
    now = timezone.now()
    candidates = list(
        OutboxMail.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:batch]
    )
    for pk in candidates:
        if stopping is not None and stopping():
            break
        claimed = OutboxMail.objects.filter(pk=pk, status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.SENDING,
            claimed_by=worker_id[:100],
            lease_until=timezone.now() + OUTBOX_LEASE,
        )
        if not claimed:
            continue  # another worker took it
        mail = OutboxMail.objects.get(pk=pk)
        _send_one(mail, stats)
    return stats


def _send_one(mail: OutboxMail, stats: OutboxStats) -> None:
    message = EmailMultiAlternatives(
        subject=mail.subject,
        body=mail.body,
        to=[address.strip() for address in mail.to.split(",") if address.strip()],
        headers={"Message-ID": f"<outbox-{mail.pk}@headway>"},
    )
    if mail.html:
        message.attach_alternative(mail.html, "text/html")
    attempts = mail.attempts + 1
    try:
        message.send(using=getattr(settings, "HEADWAY_NOTIFY_MAILER", "default"))
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        if attempts >= max_attempts():
            status = DeliveryStatus.FAILED
            stats.failed += 1
        else:
            status = DeliveryStatus.PENDING
            stats.retrying += 1
        with transaction.atomic():
            OutboxMail.objects.filter(pk=mail.pk, claimed_by=mail.claimed_by).update(
                status=status,
                attempts=attempts,
                last_error=error,
                next_attempt_at=timezone.now() + backoff(attempts),
                lease_until=None,
            )
        logger.warning("Outbox mail %s to %s not sent: %s", mail.pk, mail.to, error)
        return
    OutboxMail.objects.filter(pk=mail.pk, claimed_by=mail.claimed_by).update(
        status=DeliveryStatus.SENT,
        attempts=attempts,
        sent_at=timezone.now(),
        last_error="",
        lease_until=None,
    )
    stats.sent += 1


def resend(mail: OutboxMail) -> OutboxMail:
    """Queue a failed (or sent) mail again; an invitation gets a fresh link."""
    if mail.kind == MailKind.INVITATION and mail.person is not None:
        return queue_invitation(mail.person, by=None)
    return queue(
        kind=mail.kind,
        to=mail.to,
        subject=mail.subject,
        body=mail.body,
        html=mail.html,
        person=mail.person,
    )
