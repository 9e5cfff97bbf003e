"""Personal API tokens: only a SHA-256 hash and a short display prefix are stored."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Scope(models.TextChoices):
    READ = "read", "read only"
    WRITE = "write", "read and write"


class ApiToken(models.Model):
    """A secret that lets a machine act as its person (read scope: safe methods only)."""

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text="What the token is for, e.g. the pipeline.")
    scope = models.CharField(max_length=10, choices=Scope, default=Scope.READ)
    prefix = models.CharField(max_length=16, help_text="The first characters, for recognition.")
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
