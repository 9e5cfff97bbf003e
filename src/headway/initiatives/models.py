"""Initiatives: the work planned to move a key result (never part of its score)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy
from simple_history.models import HistoricalRecords

from headway import secrets
from headway.initiatives import progress
from headway.initiatives.trackers import TRACKERS, TrackerInfo
from headway.teams.models import KEY_HELP


class InitiativeStatus(models.TextChoices):
    PLANNED = progress.PLANNED, gettext_lazy("planned")
    IN_PROGRESS = progress.IN_PROGRESS, gettext_lazy("in progress")
    DONE = progress.DONE, gettext_lazy("done")
    DROPPED = progress.DROPPED, gettext_lazy("dropped")


class Initiative(models.Model):
    """A piece of work (a project, an epic, a task) that should move a key result."""

    key_result = models.ForeignKey(
        "okrs.KeyResult", on_delete=models.CASCADE, related_name="initiatives"
    )
    title = models.CharField(max_length=300)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="initiatives",
    )
    status = models.CharField(
        max_length=20, choices=InitiativeStatus, default=InitiativeStatus.PLANNED
    )
    due = models.DateField(null=True, blank=True)
    link = models.URLField(
        max_length=500,
        blank=True,
        help_text=gettext_lazy("An issue in a tracker (GitHub, GitLab, Jira...)."),
    )
    position = models.PositiveSmallIntegerField(default=0)
    version = models.PositiveIntegerField(default=1)

    history = HistoricalRecords()

    class Meta:
        ordering = ("key_result", "position", "id")
        indexes = (models.Index(fields=("owner", "status")),)
        constraints = (
            models.CheckConstraint(
                condition=Q(status__in=InitiativeStatus.values), name="initiative_status_valid"
            ),
            models.CheckConstraint(condition=~Q(title=""), name="initiative_title_not_blank"),
        )

    def __str__(self) -> str:
        return self.title

    @property
    def sync_state(self) -> TrackedIssue | None:
        """Its tracker sync state when it follows its issue (select_related `tracked`)."""
        try:
            return self.tracked
        except TrackedIssue.DoesNotExist:
            return None


class Tracker(models.Model):
    """An issue tracker (GitHub, GitLab, Jira) initiatives may follow, set up by an admin.

    Its token is stored encrypted (headway.secrets) and never shown again: pages, the API
    and error messages only say whether one is set. An initiative whose link is an issue
    under `url` may follow it (initiatives.actions.follow_tracker).
    """

    name = models.SlugField(max_length=100, unique=True, help_text=KEY_HELP)
    #: A key of initiatives.trackers.TRACKERS (no check constraint: a kind is a registry line).
    kind = models.CharField(max_length=20)
    url = models.URLField(
        max_length=500, help_text=gettext_lazy("The site its issue links are under.")
    )
    api_url = models.URLField(
        max_length=500,
        blank=True,
        help_text=gettext_lazy("GitHub only: the REST API's address when it is not the usual one."),
    )
    email = models.CharField(
        max_length=254,
        blank=True,
        help_text=gettext_lazy("Jira Cloud: the account's e-mail (basic auth)."),
    )
    #: Fernet token of the API token; see `token`.
    secret = models.TextField(blank=True, editable=False)
    secret_set_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        return TRACKERS[self.kind].label if self.kind in TRACKERS else self.kind

    @property
    def has_secret(self) -> bool:
        return bool(self.secret)

    def set_token(self, token: str) -> None:
        """Encrypt and keep a new token (empty clears it)."""
        self.secret = secrets.encrypt(token) if token else ""
        self.secret_set_at = timezone.now() if token else None

    def info(self) -> TrackerInfo:
        """What a kind gets to call the tracker with, the token decrypted (SecretError)."""
        return TrackerInfo(
            kind=self.kind,
            url=self.url,
            api_url=self.api_url,
            email=self.email,
            token=secrets.decrypt(self.secret) if self.secret else "",
            name=self.name,
        )


class TrackedIssue(models.Model):
    """An initiative following its tracker issue: the issue and the sync state workers claim.

    `next_attempt_at` is when a worker may take it (the next sync, or a retry after a
    back-off); `failures` counts consecutive failed syncs and `failing_since` names the
    failure spell; `announced` says the owner was told of this spell (`tracker_failing`).
    """

    initiative = models.OneToOneField(Initiative, on_delete=models.CASCADE, related_name="tracked")
    tracker = models.ForeignKey(Tracker, on_delete=models.CASCADE, related_name="issues")
    #: The parts of the link that name the issue (see trackers.Issue).
    issue = models.JSONField(default=list)
    remote_state = models.CharField(max_length=100, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    announced = models.BooleanField(default=False)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_by = models.CharField(max_length=100, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    followed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = (models.Index(fields=("next_attempt_at",), name="tracked_due"),)

    def __str__(self) -> str:
        return f"{self.tracker_id}: {self.issue}"

    @property
    def failing(self) -> bool:
        return self.failures > 0
