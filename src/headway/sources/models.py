"""Connections (admin-defined, secrets encrypted), a KPI's source, its fetches and incidents."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy

from headway import secrets
from headway.sources.kinds import KINDS, ConnectionInfo
from headway.teams.models import KEY_HELP
from headway.words import Says, unpack


class Engine(models.TextChoices):
    POSTGRESQL = "postgresql", gettext_lazy("PostgreSQL")
    MYSQL = "mysql", gettext_lazy("MySQL / MariaDB")
    SQLITE = "sqlite", gettext_lazy("SQLite file")
    HTTP = "http", gettext_lazy("HTTP (JSON, CSV, Prometheus)")


#: The fields each engine uses (the others stay empty).
ENGINE_FIELDS: dict[str, tuple[str, ...]] = {
    Engine.POSTGRESQL: ("host", "port", "database", "user"),
    Engine.MYSQL: ("host", "port", "database", "user"),
    Engine.SQLITE: ("database",),
    Engine.HTTP: ("base_url",),
}
SQL_ENGINES = (Engine.POSTGRESQL, Engine.MYSQL, Engine.SQLITE)


class Connection(models.Model):
    """Where sources read from, defined once by an admin and named by sources.

    The secret (a database password, or HTTP headers such as `Authorization`) is stored
    encrypted (headway.secrets) and never shown again: forms, pages, the API, exports and
    error messages only say whether one is set.
    """

    name = models.SlugField(max_length=100, unique=True, help_text=KEY_HELP)
    engine = models.CharField(max_length=20, choices=Engine)
    description = models.CharField(max_length=300, blank=True)
    host = models.CharField(max_length=255, blank=True)
    port = models.PositiveIntegerField(null=True, blank=True)
    database = models.CharField(
        max_length=500,
        blank=True,
        help_text=gettext_lazy("Database name; for SQLite, the file's path."),
    )
    user = models.CharField(max_length=150, blank=True)
    base_url = models.URLField(
        max_length=500,
        blank=True,
        help_text=gettext_lazy("HTTP: the address every URL of its sources is under."),
    )
    #: Fernet token of {"password": …} or {"headers": {…}}; see `secret_values`.
    secret = models.TextField(blank=True, editable=False)
    secret_set_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("name",)
        constraints = (
            models.CheckConstraint(
                condition=Q(engine__in=Engine.values), name="connection_engine_valid"
            ),
        )

    def __str__(self) -> str:
        return self.name

    @property
    def has_secret(self) -> bool:
        return bool(self.secret)

    @property
    def incomplete(self) -> bool:
        """Declared by an imported file but not set up by an admin yet (no address)."""
        if self.engine == Engine.HTTP:
            return not self.base_url
        if self.engine == Engine.SQLITE:
            return not self.database
        return not (self.host and self.database)

    def set_secret(self, *, password: str = "", headers: dict[str, str] | None = None) -> None:
        """Encrypt and keep a new secret (empty values clear it)."""
        payload: dict[str, Any] = {}
        if password:
            payload["password"] = password
        if headers:
            payload["headers"] = dict(headers)
        self.secret = secrets.encrypt(json.dumps(payload)) if payload else ""
        self.secret_set_at = timezone.now() if payload else None

    def secret_values(self) -> dict[str, Any]:
        """The decrypted secret (raises secrets.SecretError if the key cannot open it)."""
        if not self.secret:
            return {}
        data = json.loads(secrets.decrypt(self.secret))
        return data if isinstance(data, dict) else {}

    @property
    def secret_header_names(self) -> list[str]:
        """Names (never values) of the secret headers, for display."""
        try:
            return sorted(self.secret_values().get("headers", {}))
        except (secrets.SecretError, ValueError):
            return []

    def info(self) -> ConnectionInfo:
        """What a kind gets to fetch with, secrets decrypted."""
        values = self.secret_values()
        return ConnectionInfo(
            name=self.name,
            engine=self.engine,
            host=self.host,
            port=self.port,
            database=self.database,
            user=self.user,
            base_url=self.base_url,
            password=str(values.get("password", "")),
            headers={str(k): str(v) for k, v in (values.get("headers") or {}).items()},
        )

    def address(self) -> str:
        """Where it points, without any secret, for lists and pages."""
        if self.engine == Engine.HTTP:
            return self.base_url
        if self.engine == Engine.SQLITE:
            return self.database
        port = f":{self.port}" if self.port else ""
        user = f"{self.user}@" if self.user else ""
        return f"{user}{self.host}{port}/{self.database}"


class SourceState(models.TextChoices):
    NEW = "new", gettext_lazy("not fetched yet")
    OK = "ok", gettext_lazy("ok")
    FAILING = "failing", gettext_lazy("failing")
    HELD = "held", gettext_lazy("held back (data incident)")


class Source(models.Model):
    """Where a KPI's values come from and when to fetch them; the row workers claim.

    `due_slot` is the scheduled moment the next fetch is for (a single value is stored at
    it); `next_attempt_at` is when a worker may take it (the slot, or a retry after a
    back-off). A worker claims a row by a conditional UPDATE that stamps `claimed_by`, a
    lease and the slot, so one slot is fetched by one worker.
    """

    kpi = models.OneToOneField("kpis.Kpi", on_delete=models.CASCADE, related_name="source")
    kind = models.CharField(max_length=20)
    connection = models.ForeignKey(
        Connection, null=True, blank=True, on_delete=models.PROTECT, related_name="sources"
    )
    #: The kind's fields, as its `clean` returned them (never a secret).
    config = models.JSONField(default=dict)
    schedule = models.CharField(
        max_length=100,
        blank=True,
        help_text=gettext_lazy(
            "Cron expression (minute hour day month weekday); empty: the KPI's cadence."
        ),
    )
    enabled = models.BooleanField(default=True)
    state = models.CharField(max_length=20, choices=SourceState, default=SourceState.NEW)
    last_error = models.TextField(blank=True)
    #: How `last_error` was worded (headway.words.pack), so pages say it in their reader's
    #: language; read through `error_said`, which trusts it only while it still reads as
    #: `last_error` (every write of the English text need not clear it).
    last_error_said = models.JSONField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    #: Consecutive failed attempts (0 after a success); the back-off grows with it.
    attempts = models.PositiveIntegerField(default=0)
    due_slot = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=100, blank=True)
    claimed_slot = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = (models.Index(fields=("enabled", "next_attempt_at"), name="source_due"),)
        # No check constraint on `kind`: a new kind is a module and a line in KINDS, with no
        # migration; set_source refuses unknown kinds.
        constraints = (
            models.CheckConstraint(
                condition=Q(state__in=SourceState.values), name="source_state_valid"
            ),
        )

    def __str__(self) -> str:
        return f"{self.kind} source of {self.kpi_id}"

    @property
    def failing(self) -> bool:
        return self.state == SourceState.FAILING

    @property
    def error_said(self) -> str:
        """`last_error` as worded (a `Says`, for `spoken`), else its English text."""
        said = unpack(self.last_error_said) if self.last_error_said is not None else None
        return said if isinstance(said, Says) and said == self.last_error else self.last_error

    @property
    def label(self) -> str:
        return KINDS[self.kind].label if self.kind in KINDS else self.kind


class FetchOutcome(models.TextChoices):
    STORED = "stored", gettext_lazy("Stored")
    FAILED = "failed", gettext_lazy("Failed")
    HELD = "held", gettext_lazy("held back (data incident)")


class SourceFetch(models.Model):
    """One attempt of one source: what it returned and what became of it."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="fetches")
    slot = models.DateTimeField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    outcome = models.CharField(max_length=20, choices=FetchOutcome)
    rows = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    replaced = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    worker = models.CharField(max_length=100, blank=True)
    manual = models.BooleanField(
        default=False, help_text=gettext_lazy("Run by a person, not the schedule.")
    )

    class Meta:
        ordering = ("-started_at", "-id")
        indexes = (models.Index(fields=("source", "-started_at"), name="fetch_recent"),)
        constraints = (
            models.CheckConstraint(
                condition=Q(outcome__in=FetchOutcome.values), name="fetch_outcome_valid"
            ),
        )

    def __str__(self) -> str:
        return f"{self.source_id} @ {self.slot:%Y-%m-%d %H:%M}: {self.outcome}"


class IncidentStatus(models.TextChoices):
    OPEN = "open", gettext_lazy("Open")
    ACCEPTED = "accepted", gettext_lazy("accepted (rows stored)")
    DISMISSED = "dismissed", gettext_lazy("Dismissed")


class DataIncident(models.Model):
    """A fetch the data guard held back: rows kept for review, not stored as measurements."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="incidents")
    kpi = models.ForeignKey("kpis.Kpi", on_delete=models.CASCADE, related_name="data_incidents")
    status = models.CharField(max_length=20, choices=IncidentStatus, default=IncidentStatus.OPEN)
    reasons = models.JSONField(default=list)
    #: [[ISO moment, value], …]: what the fetch would have stored.
    rows = models.JSONField(default=list)
    opened_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    seen = models.PositiveIntegerField(
        default=1, help_text=gettext_lazy("Fetches that were held for it.")
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ("-opened_at", "-id")
        indexes = (models.Index(fields=("kpi", "status"), name="incident_open"),)
        constraints = (
            models.CheckConstraint(
                condition=Q(status__in=IncidentStatus.values), name="incident_status_valid"
            ),
            models.UniqueConstraint(
                fields=("source",),
                condition=Q(status="open"),
                name="incident_one_open_per_source",
            ),
        )

    def __str__(self) -> str:
        return f"data incident {self.pk} of KPI {self.kpi_id} ({self.status})"
