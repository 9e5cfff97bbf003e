"""Personal API tokens (only a SHA-256 hash and a short display prefix are stored) and
the push jobs of large measurement pushes."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy


class Scope(models.TextChoices):
    READ = "read", gettext_lazy("read only")
    WRITE = "write", gettext_lazy("read and write")


class ApiToken(models.Model):
    """A secret that lets a machine act as its person (read scope: safe methods only)."""

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(
        max_length=100, help_text=gettext_lazy("What the token is for, e.g. the pipeline.")
    )
    scope = models.CharField(max_length=10, choices=Scope, default=Scope.READ)
    prefix = models.CharField(
        max_length=16, help_text=gettext_lazy("The first characters, for recognition.")
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = (
            models.CheckConstraint(
                condition=Q(scope__in=Scope.values), name="api_token_scope_valid"
            ),
            models.CheckConstraint(condition=~Q(name=""), name="api_token_name_not_blank"),
        )

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


def new_push_key() -> str:
    return secrets.token_hex(12)


class PushState(models.TextChoices):
    QUEUED = "queued", gettext_lazy("Queued")
    RUNNING = "running", gettext_lazy("Running")
    DONE = "done", gettext_lazy("Done")


class PushJob(models.Model):
    """A large measurement push accepted with 202: its body waits here for a worker, which
    claims the row atomically, stores it through the same ingestion as a synchronous push
    and keeps the answer (`status`, `result`) for the client polling `/pushes/{key}`."""

    key = models.CharField(max_length=32, unique=True, default=new_push_key, editable=False)
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_jobs"
    )
    only = models.CharField(
        max_length=100, blank=True, help_text=gettext_lazy("The one KPI pushed to.")
    )
    source = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, help_text=gettext_lazy("csv or json"))
    body = models.BinaryField(
        help_text=gettext_lazy("The body as sent; emptied once the push is done.")
    )
    rows = models.PositiveIntegerField(
        help_text=gettext_lazy("Rows in the body (lines or objects).")
    )
    state = models.CharField(max_length=10, choices=PushState, default=PushState.QUEUED)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = (
            models.CheckConstraint(
                condition=Q(state__in=PushState.values), name="push_job_state_valid"
            ),
        )

    def __str__(self) -> str:
        return f"push {self.key} ({self.state})"
