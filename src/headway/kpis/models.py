"""KPIs (the vital signs of the running business) and their measurements."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy
from simple_history.models import HistoricalRecords

from headway.kpis import schedule, selection
from headway.kpis.health import PROMOTION_STREAK, KpiEvaluation, Point
from headway.kpis.health import Kpi as CoreKpi
from headway.kpis.health import evaluate as evaluate_kpi
from headway.teams.models import KEY_HELP


class Direction(models.TextChoices):
    UP = "up", gettext_lazy("higher is better")
    DOWN = "down", gettext_lazy("lower is better")


class Cadence(models.TextChoices):
    WEEKLY = "weekly", gettext_lazy("Weekly")
    MONTHLY = "monthly", gettext_lazy("Monthly")
    QUARTERLY = "quarterly", gettext_lazy("Quarterly")


class Tier(models.TextChoices):
    KEY = "key", gettext_lazy("Key")
    DIAGNOSTIC = "diagnostic", gettext_lazy("Diagnostic")


class Health(models.TextChoices):
    HEALTHY = "healthy", gettext_lazy("Healthy")
    WARNING = "warning", gettext_lazy("Warning")
    CRITICAL = "critical", gettext_lazy("Critical")
    STALE = "stale", gettext_lazy("Stale")
    NO_DATA = "no_data", gettext_lazy("No Data")


# Health needs a review period; a card without a cadence is judged monthly until it has one.
DEFAULT_CADENCE = "monthly"


class KpiQuerySet(models.QuerySet["Kpi"]):
    def in_use(self) -> KpiQuerySet:
        """KPIs still tracked: not retired by a selection review."""
        return self.filter(retired_at__isnull=True)

    def deserving_promotion(self) -> KpiQuerySet:
        """KPIs to suggest as key results: critical, or deteriorating 3 periods running.

        Skips retired KPIs and those already feeding a key result of an active cycle.
        Reads the state stored by the last evaluation (see kpis.actions.refresh_kpis).
        """
        # The queryset form of kpis.health.deserves_promotion (same streak).
        deteriorating = Q(trend="deteriorating", wrong_way_streak__gte=PROMOTION_STREAK) & ~Q(
            health__in=[Health.STALE, Health.NO_DATA]
        )
        return self.filter(
            Q(health=Health.CRITICAL) | deteriorating, retired_at__isnull=True
        ).exclude(key_results__objective__cycle__state="active")


class Kpi(models.Model):
    """A KPI card: what, why, how, who and when, with direction and thresholds."""

    key = models.SlugField(max_length=150, unique=True, help_text=KEY_HELP)
    name = models.CharField(max_length=200)
    unit = models.CharField(max_length=30, blank=True)
    definition = models.TextField(
        blank=True, help_text=gettext_lazy("What exactly is measured, and how.")
    )
    why = models.TextField(
        blank=True, help_text=gettext_lazy("Which objective or outcome it protects.")
    )
    how = models.TextField(
        blank=True, help_text=gettext_lazy("The process or initiative that drives it.")
    )
    team = models.ForeignKey("teams.Team", on_delete=models.PROTECT, related_name="kpis")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="kpis",
    )
    direction = models.CharField(max_length=10, choices=Direction, default=Direction.UP)
    target = models.FloatField(null=True, blank=True)
    warning = models.FloatField(null=True, blank=True)
    critical = models.FloatField(null=True, blank=True)
    benchmark = models.FloatField(null=True, blank=True)
    # Targets that change by period (kpis.schedule): steps {from, target, warning, critical},
    # each in force from its day on; before the first, the three fields above.
    target_schedule = models.JSONField(default=list, blank=True)
    cadence = models.CharField(max_length=20, choices=Cadence, blank=True, default="")
    tier = models.CharField(max_length=20, choices=Tier, default=Tier.KEY)
    # Last evaluated state, so boards can filter and changes can be announced.
    health = models.CharField(max_length=20, choices=Health, default=Health.NO_DATA)
    trend = models.CharField(max_length=20, default="stable")
    latest_value = models.FloatField(null=True, blank=True)
    latest_at = models.DateTimeField(null=True, blank=True)
    wrong_way_streak = models.PositiveIntegerField(default=0)
    healthy_streak = models.PositiveIntegerField(default=0)
    evaluated_at = models.DateTimeField(null=True, blank=True)
    # What the next evaluation starts from (kpis.incremental.State), so a push costs what
    # its new points cost, not the whole history.
    evaluation_state = models.JSONField(null=True, blank=True, editable=False)
    # The selection review (kpis.selection): is this still the right KPI? A retired KPI
    # keeps its history and takes no new measurements; `replaced_by` names its successor.
    selection_reviewed_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    replaced_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replaces"
    )
    # Why the review is due early (the link to an outcome has decayed), found by the
    # periodic job; blank when nothing is flagged.
    selection_flag = models.CharField(max_length=300, blank=True, editable=False)
    selection_flagged_at = models.DateTimeField(null=True, blank=True, editable=False)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = KpiQuerySet.as_manager()

    history = HistoricalRecords(
        excluded_fields=[
            "health",
            "trend",
            "latest_value",
            "latest_at",
            "wrong_way_streak",
            "healthy_streak",
            "evaluated_at",
            "evaluation_state",
            "selection_flag",
            "selection_flagged_at",
            "updated_at",
        ]
    )

    class Meta:
        verbose_name = "KPI"
        ordering = ("team", "name")
        indexes = (models.Index(fields=("team", "tier")), models.Index(fields=("health",)))
        constraints = (
            models.CheckConstraint(
                condition=Q(direction__in=Direction.values), name="kpi_direction_valid"
            ),
            models.CheckConstraint(
                condition=Q(cadence__in=[*Cadence.values, ""]), name="kpi_cadence_valid"
            ),
            models.CheckConstraint(condition=Q(tier__in=Tier.values), name="kpi_tier_valid"),
            models.CheckConstraint(condition=Q(health__in=Health.values), name="kpi_health_valid"),
            models.CheckConstraint(condition=~Q(name=""), name="kpi_name_not_blank"),
        )

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Refuse thresholds out of order (past the target comes warning, then critical),
        here and in each step of the target schedule, which is stored sorted."""
        errors: dict[str, Any] = dict(
            schedule.order_errors(self.direction, self.target, self.warning, self.critical)
        )
        steps, problems = schedule.problems(self.target_schedule, self.direction)
        if problems:
            errors["target_schedule"] = problems
        else:
            self.target_schedule = steps
        if errors:
            raise ValidationError(errors)

    def thresholds_on(self, day: date) -> tuple[float | None, float | None, float | None]:
        """(target, warning, critical) in force on `day`, the schedule considered."""
        return schedule.in_force(
            self.target_schedule or [], (self.target, self.warning, self.critical), day
        )

    @property
    def thresholds_latest(self) -> tuple[float | None, float | None, float | None]:
        """The thresholds the latest value was judged by (today's when there is none)."""
        return self.thresholds_on((self.latest_at or timezone.now()).date())

    @property
    def thresholds_now(self) -> tuple[float | None, float | None, float | None]:
        return self.thresholds_on(timezone.now().date())

    @property
    def target_now(self) -> float | None:
        """The target in force today (the card's own when it has no schedule)."""
        if not self.target_schedule:
            return self.target
        return self.thresholds_on(timezone.now().date())[0]

    @property
    def effective_cadence(self) -> str:
        return self.cadence or DEFAULT_CADENCE

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None

    @property
    def selection_review_due(self) -> datetime:
        """When the selection review falls due (now, once the link is flagged)."""
        since = self.selection_reviewed_at or self.created_at
        due = selection.review_due(since, self.effective_cadence)
        if self.selection_flagged_at is not None and self.selection_flagged_at < due:
            return self.selection_flagged_at
        return due

    def core(self) -> CoreKpi:
        """This card as the pure core sees it."""
        return CoreKpi(
            direction=self.direction,
            target=self.target,
            warning=self.warning,
            critical=self.critical,
            cadence=self.effective_cadence,
            schedule=schedule.core_steps(self.target_schedule or []),
        )

    def evaluate(self, at: datetime | None = None) -> KpiEvaluation:
        """Health, trend and anomalies at `at` (default now) from all measurements until then.

        Pages read it through `kpis.queries.evaluation`, which sends one row a period.
        """
        at = at or timezone.now()
        points = [
            Point(at=when, value=value)
            for when, value in self.measurements.filter(at__lte=at).values_list("at", "value")
        ]
        return evaluate_kpi(self.core(), points, at)


class Measurement(models.Model):
    """One value of a KPI at one moment; pushing the same moment again replaces the value."""

    kpi = models.ForeignKey(Kpi, on_delete=models.CASCADE, related_name="measurements")
    at = models.DateTimeField()
    value = models.FloatField()
    source = models.CharField(max_length=100, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("kpi", "at")
        constraints = (
            models.UniqueConstraint(fields=("kpi", "at"), name="measurement_one_per_moment"),
        )

    def __str__(self) -> str:
        return f"{self.kpi} @ {self.at:%Y-%m-%d}: {self.value}"


class MeasurementRevision(models.Model):
    """The value a measurement had before a push replaced it (bulk-written, so no signals)."""

    measurement = models.ForeignKey(Measurement, on_delete=models.CASCADE, related_name="revisions")
    old_value = models.FloatField()
    old_source = models.CharField(max_length=100, blank=True)
    old_note = models.TextField(blank=True)
    replaced_at = models.DateTimeField(auto_now_add=True)
    replaced_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ("measurement", "replaced_at")

    def __str__(self) -> str:
        return f"{self.measurement} was {self.old_value}"


class ReviewDecision(models.TextChoices):
    CONFIRM = "confirm", gettext_lazy("confirmed")
    RETARGET = "retarget", gettext_lazy("retargeted")
    RETIRE = "retire", gettext_lazy("retired")
    REPLACE = "replace", gettext_lazy("replaced")


class KpiReview(models.Model):
    """One selection review of a KPI: what was decided, by whom, and why (append-only)."""

    kpi = models.ForeignKey(Kpi, on_delete=models.CASCADE, related_name="reviews")
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField()
    decision = models.CharField(max_length=10, choices=ReviewDecision)
    reason = models.TextField()
    # The flag the review answered, if any (kept: the flag itself is cleared by the review).
    flag = models.CharField(max_length=300, blank=True)
    # Field -> [before, after] for a retarget; empty otherwise.
    changes = models.JSONField(default=dict, blank=True)
    replacement = models.ForeignKey(
        Kpi, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ("-at", "-id")
        constraints = (
            models.CheckConstraint(
                condition=Q(decision__in=ReviewDecision.values), name="kpi_review_decision_valid"
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="kpi_review_reason_not_blank"),
        )

    def __str__(self) -> str:
        return f"{self.kpi}: {self.get_decision_display()}"
