"""Initiatives: the work planned to move a key result (never part of its score)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy
from simple_history.models import HistoricalRecords

from headway.initiatives import progress


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
