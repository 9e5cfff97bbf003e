"""Events, their deliveries per recipient and channel, the inbox, preferences and webhooks.

An Event is written in the same transaction as the change that causes it and carries a
deterministic `dedupe_key` (unique), so the same event can never be recorded twice. Each
(event, recipient, channel) is one Delivery row (unique), which the worker claims, sends
and marks; the inbox channel writes a Notification row (unique per person and event).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from headway import speech
from headway.notify.kinds import Channel, EventKind, WebhookFormat


class Event(models.Model):
    """Something worth telling people about, recorded once (see `dedupe_key`)."""

    kind = models.CharField(max_length=32, choices=EventKind)
    dedupe_key = models.CharField(
        max_length=255,
        unique=True,
        help_text=gettext_lazy("Deterministic identity of the event; a second insert is ignored."),
    )
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    title = models.CharField(max_length=300)
    summary = models.TextField(blank=True)
    #: {"facts": [[label, value], ...], "numbers": {...}} rendered by every channel.
    data = models.JSONField(default=dict, blank=True)
    link = models.CharField(
        max_length=300, blank=True, help_text=gettext_lazy("Path of the page to open.")
    )
    team = models.ForeignKey(
        "teams.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cycle = models.ForeignKey(
        "okrs.Cycle", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    objective = models.ForeignKey(
        "okrs.Objective", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    key_result = models.ForeignKey(
        "okrs.KeyResult", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kpi = models.ForeignKey(
        "kpis.Kpi", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    private = models.BooleanField(
        default=False,
        help_text=gettext_lazy("About a private objective: only its team may be told."),
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    fanned_out = models.BooleanField(
        default=False,
        help_text=gettext_lazy("Its deliveries were created (in the same transaction)."),
    )

    class Meta:
        ordering = ("-occurred_at", "-id")
        indexes = (models.Index(fields=("kind", "occurred_at")),)
        constraints = (
            models.CheckConstraint(condition=Q(kind__in=EventKind.values), name="event_kind_valid"),
        )

    def __str__(self) -> str:
        return self.title

    @property
    def facts(self) -> list[tuple[str, str]]:
        """The facts as stored: English labels and values (programs and webhooks read them)."""
        return [(str(a), str(b)) for a, b in self.data.get("facts", [])]

    # Title, summary and facts are stored in English when the event happens, with how each
    # sentence was made (`data["said"]`, headway.words.pack), so every recipient reads them
    # in their own language: these say them in the active one. Events recorded before the
    # sentences were kept read as stored.

    @property
    def said_title(self) -> str:
        return speech.spoken_packed(self._said.get("title"), self.title)

    @property
    def said_summary(self) -> str:
        return speech.spoken_packed(self._said.get("summary"), self.summary)

    @property
    def said_facts(self) -> list[tuple[str, str]]:
        packed = self._said.get("facts")
        if not isinstance(packed, list) or len(packed) != len(self.data.get("facts", [])):
            return [(gettext(name), value) for name, value in self.facts]
        return [
            (
                gettext(label) if isinstance(label, str) else speech.spoken_packed(label),
                speech.spoken_packed(value),
            )
            for label, value in packed
        ]

    @property
    def _said(self) -> dict[str, Any]:
        said = self.data.get("said") if isinstance(self.data, dict) else None
        return said if isinstance(said, dict) else {}

    @property
    def numbers(self) -> dict[str, Any]:
        numbers = self.data.get("numbers", {})
        return numbers if isinstance(numbers, dict) else {}


class TeamWebhook(models.Model):
    """An incoming-webhook URL (Slack, Teams, …) a team lead added for the team's news."""

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="webhooks")
    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    format = models.CharField(
        max_length=10,
        choices=WebhookFormat,
        default=WebhookFormat.GENERIC,
        help_text=gettext_lazy(
            "What the receiver reads: generic JSON, Slack Block Kit or a Teams card."
        ),
    )
    kinds = models.JSONField(
        default=list,
        blank=True,
        help_text=gettext_lazy("Event kinds to post; empty means every team kind."),
    )
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("team", "name", "id")

    def __str__(self) -> str:
        return f"{self.name} ({self.team})"

    def wants(self, kind: str) -> bool:
        return self.active and (not self.kinds or kind in self.kinds)


class PersonalWebhook(models.Model):
    """A person's own webhook URL (e.g. a Slack app posting to their direct messages)."""

    person = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notify_webhook"
    )
    url = models.URLField(max_length=500, blank=True)
    #: Guessed from the URL when the person saves it (notify.formats.guess_format).
    format = models.CharField(max_length=10, choices=WebhookFormat, default=WebhookFormat.GENERIC)

    def __str__(self) -> str:
        return f"{self.person}: {self.url or 'no URL'}"


class Preference(models.Model):
    """Which channels a person wants for one kind of event (the inbox is always on)."""

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notify_preferences"
    )
    kind = models.CharField(max_length=32, choices=EventKind)
    email = models.BooleanField()
    webhook = models.BooleanField()
    #: A Slack direct message from the app; None: the kind's default (KindInfo.slack).
    slack = models.BooleanField(null=True, blank=True)

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=("person", "kind"), name="preference_one_per_kind"),
        )

    def __str__(self) -> str:
        return f"{self.person} {self.kind}: email={self.email} webhook={self.webhook}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", gettext_lazy("Pending")
    SENDING = "sending", gettext_lazy("Sending (claimed by a worker)")
    SENT = "sent", gettext_lazy("Sent")
    FAILED = "failed", gettext_lazy("Failed")
    #: A worker stopped (killed, lease lost) after starting an external send and before
    #: recording its outcome: never sent again automatically; an admin checks and retries.
    UNCERTAIN = "uncertain", gettext_lazy("May have been sent: the worker stopped mid-send")


class Delivery(models.Model):
    """One event to one recipient over one channel; the unit the worker claims and sends."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=20, choices=Channel)
    #: Who it goes to, as "person:<id>" or "team-webhook:<id>": unique with event and channel.
    address = models.CharField(max_length=100)
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notify_deliveries",
    )
    team_webhook = models.ForeignKey(
        TeamWebhook, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    status = models.CharField(max_length=20, choices=DeliveryStatus, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_by = models.CharField(max_length=100, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    send_started_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=gettext_lazy(
            "Committed just before an e-mail or webhook send; cleared when it failed."
        ),
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "deliveries"
        ordering = ("-created_at", "-id")
        indexes = (
            models.Index(fields=("status", "next_attempt_at"), name="delivery_due"),
            models.Index(fields=("status", "lease_until"), name="delivery_lease"),
            models.Index(fields=("claimed_by",), name="delivery_claim"),
        )
        constraints = (
            models.UniqueConstraint(
                fields=("event", "channel", "address"), name="delivery_once_per_recipient"
            ),
            models.CheckConstraint(
                condition=Q(channel__in=Channel.values), name="delivery_channel_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=DeliveryStatus.values), name="delivery_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(person__isnull=False) | Q(team_webhook__isnull=False),
                name="delivery_has_recipient",
            ),
        )

    def __str__(self) -> str:
        return f"{self.event} → {self.address} ({self.channel}, {self.status})"


class Notification(models.Model):
    """An event in a person's inbox: one row per person and event, by construction."""

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="notifications")
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-id",)
        indexes = (models.Index(fields=("person", "read_at"), name="notification_unread"),)
        constraints = (
            models.UniqueConstraint(fields=("person", "event"), name="notification_once"),
        )

    def __str__(self) -> str:
        return f"{self.person}: {self.event}"


class SlackApp(models.Model):
    """The Slack app installed to one workspace: its bot token and signing secret.

    Both are secrets, stored encrypted with headway.secrets (as data-source connections
    are); one row at most (`SlackApp.current()`), set by an organisation admin.
    """

    bot_token = models.TextField(blank=True, help_text=gettext_lazy("Encrypted xoxb- bot token."))
    signing_secret = models.TextField(
        blank=True, help_text=gettext_lazy("Encrypted signing secret.")
    )
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    def __str__(self) -> str:
        return "Slack app" if self.configured else "Slack app (not configured)"

    @classmethod
    def current(cls) -> SlackApp | None:
        return cls.objects.order_by("id").first()

    @property
    def configured(self) -> bool:
        return bool(self.bot_token and self.signing_secret)


class MailKind(models.TextChoices):
    NOTIFICATION = "notification", gettext_lazy("Notification")
    INVITATION = "invitation", gettext_lazy("Invitation")
    PASSWORD_RESET = "password_reset", gettext_lazy("Password reset")
    #: Other mail of the sign-in pages (allauth's notices).
    ACCOUNT = "account", gettext_lazy("Account")


class OutboxMail(models.Model):
    """An e-mail as Headway sent it (or will): the outbox admins read without a mail server.

    Invitations and password resets are written here `pending` in the transaction that asks
    for them, and the worker sends them (so an unreachable SMTP server fails a row, never a
    page); a notification e-mail is copied here once its delivery has sent it.
    """

    kind = models.CharField(max_length=20, choices=MailKind)
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="outbox_mails",
    )
    to = models.EmailField()
    subject = models.CharField(max_length=255)
    body = models.TextField()
    html = models.TextField(blank=True)
    status = models.CharField(max_length=12, choices=DeliveryStatus, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_by = models.CharField(max_length=100, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = (
            models.Index(fields=("status", "next_attempt_at"), name="outbox_due"),
            models.Index(fields=("person", "kind", "-created_at"), name="outbox_person_kind"),
        )
        constraints = (
            models.CheckConstraint(condition=Q(kind__in=MailKind.values), name="outbox_kind_valid"),
        )

    def __str__(self) -> str:
        return f"{self.subject} → {self.to}"
