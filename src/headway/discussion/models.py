"""A comment on one thing (an objective, a key result, a KPI or a check-in) and its mentions."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

# Exactly one of these names what a comment is about.
TARGET_FIELDS = ("objective", "key_result", "kpi", "checkin")


def _one_target() -> Q:
    condition = Q()
    for chosen in TARGET_FIELDS:
        each = Q(**{f"{chosen}__isnull": False})
        for other in TARGET_FIELDS:
            if other != chosen:
                each &= Q(**{f"{other}__isnull": True})
        condition |= each
    return condition


class Comment(models.Model):
    """What someone wrote about a thing; edits are kept in its history, never lost."""

    objective = models.ForeignKey(
        "okrs.Objective", null=True, blank=True, on_delete=models.CASCADE, related_name="comments"
    )
    key_result = models.ForeignKey(
        "okrs.KeyResult", null=True, blank=True, on_delete=models.CASCADE, related_name="comments"
    )
    kpi = models.ForeignKey(
        "kpis.Kpi", null=True, blank=True, on_delete=models.CASCADE, related_name="comments"
    )
    checkin = models.ForeignKey(
        "okrs.CheckIn", null=True, blank=True, on_delete=models.CASCADE, related_name="comments"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        # People leave; what they said stays in the thread.
        on_delete=models.SET_NULL,
        related_name="comments",
    )
    body = models.TextField()
    mentions = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="mentioned_in"
    )
    created_at = models.DateTimeField()
    edited_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    history = HistoricalRecords()

    class Meta:
        ordering = ("created_at", "id")
        indexes = (
            models.Index(fields=("objective", "created_at")),
            models.Index(fields=("key_result", "created_at")),
            models.Index(fields=("kpi", "created_at")),
            models.Index(fields=("checkin", "created_at")),
        )
        constraints = (
            models.CheckConstraint(condition=_one_target(), name="comment_one_target"),
            models.CheckConstraint(condition=~Q(body=""), name="comment_body_not_blank"),
        )

    def __str__(self) -> str:
        return f"{self.author or 'someone'}: {self.body[:60]}"
