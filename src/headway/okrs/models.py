"""Cycles, objectives, key results and check-ins."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Case, DateTimeField, F, Q, Value, When
from django.db.models.functions import Cast, Coalesce, TruncDate
from django.utils.translation import gettext, gettext_lazy
from simple_history.models import HistoricalRecords

from headway.okrs import sharing
from headway.teams.models import KEY_HELP

# Fields derived from check-ins and measurements, rewritten by okrs/stored.py.
STORED_OBJECTIVE_FIELDS = ("score", "forecast", "has_data")
STORED_KEY_RESULT_FIELDS = (
    "score",
    "forecast",
    "has_data",
    "scored_value",
    "last_checkin_at",
    "confidence",
)


class CycleState(models.TextChoices):
    PLANNING = "planning", gettext_lazy("Planning")
    ACTIVE = "active", gettext_lazy("Active")
    CLOSED = "closed", gettext_lazy("Closed")


class CycleQuerySet(models.QuerySet["Cycle"]):
    def current(self, today: date | None = None) -> Cycle | None:
        """The cycle the pages open by default: the one home of "the current cycle".

        Among active cycles: the one running today, the shortest first (the quarter
        before its year); else the one that started most recently; else the next to
        start. A future cycle made active early never hides the running one. None when
        no cycle is active.
        """
        from django.utils import timezone

        today = today or timezone.localdate()
        active = list(self.filter(state=CycleState.ACTIVE))
        running = [c for c in active if c.start <= today <= c.end]
        if running:
            return min(running, key=lambda c: (c.end - c.start, -c.start.toordinal(), c.key))
        started = [c for c in active if c.start <= today]
        if started:
            return max(started, key=lambda c: (c.start, c.key))
        return min(active, key=lambda c: (c.start, c.key)) if active else None


class Cycle(models.Model):
    """A named time box (a quarter, a year, any span) that objectives belong to."""

    key = models.SlugField(max_length=100, unique=True, help_text=KEY_HELP)
    name = models.CharField(max_length=200, blank=True)
    start = models.DateField()
    end = models.DateField(help_text=gettext_lazy("Last day of the cycle (inclusive)."))
    state = models.CharField(max_length=20, choices=CycleState, default=CycleState.PLANNING)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    history = HistoricalRecords()
    objects = CycleQuerySet.as_manager()

    class Meta:
        ordering = ("-start", "key")
        constraints = (
            models.CheckConstraint(condition=Q(end__gte=F("start")), name="cycle_end_after_start"),
            models.CheckConstraint(
                condition=Q(state__in=CycleState.values), name="cycle_state_valid"
            ),
        )

    def __str__(self) -> str:
        return self.name or self.key

    @property
    def is_closed(self) -> bool:
        return self.state == CycleState.CLOSED

    def clean(self) -> None:
        if self.start and self.end and self.end < self.start:
            raise ValidationError({"end": "The cycle cannot end before it starts."})

    def refuse_if_closed(self) -> None:
        """Raise ValidationError when the cycle is closed: its scores are frozen as grades."""
        if self.is_closed:
            raise ValidationError(
                gettext(
                    "The cycle %(cycle)s is closed: its scores are frozen as grades. "
                    "An admin can reopen it."
                )
                % {"cycle": self}
            )

    def contains(self, other: Cycle) -> bool:
        """Whether this cycle spans `other` (so an objective of `other` may align into it)."""
        return self.start <= other.start and other.end <= self.end


class ObjectiveType(models.TextChoices):
    COMMITTED = "committed", gettext_lazy("Committed")
    ASPIRATIONAL = "aspirational", gettext_lazy("Aspirational")


class Visibility(models.TextChoices):
    PUBLIC = "public", gettext_lazy("Public")
    PRIVATE = "private", gettext_lazy("Private")


class CopyKind(models.TextChoices):
    """How an objective came from another: carried over unfinished, or duplicated as a template."""

    CARRIED = "carried", gettext_lazy("Carried")
    TEMPLATE = "template", gettext_lazy("Template")


class Objective(models.Model):
    """A qualitative statement of a change worth making, in one cycle, owned by a team."""

    key = models.SlugField(max_length=150, unique=True, help_text=KEY_HELP)
    cycle = models.ForeignKey(Cycle, on_delete=models.PROTECT, related_name="objectives")
    team = models.ForeignKey("teams.Team", on_delete=models.PROTECT, related_name="objectives")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        # People leave; their objectives stay, waiting for a new owner.
        on_delete=models.SET_NULL,
        related_name="objectives",
    )
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    type = models.CharField(
        max_length=20, choices=ObjectiveType, default=ObjectiveType.ASPIRATIONAL
    )
    visibility = models.CharField(max_length=20, choices=Visibility, default=Visibility.PUBLIC)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        # Deleting a parent leaves its children unaligned (the coach then says so).
        on_delete=models.SET_NULL,
        related_name="children",
    )
    grade = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(1)]
    )
    reflection = models.TextField(
        blank=True, help_text=gettext_lazy("What worked, what did not, carry over?")
    )
    # Where it came from (okrs.actions.copy_objective_to_cycle): the objective it carries
    # over or was duplicated from; the review of that cycle shows what was carried.
    copied_from = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        # The copy stands on its own once the original is gone.
        on_delete=models.SET_NULL,
        related_name="copies",
    )
    copy_kind = models.CharField(max_length=20, choices=CopyKind, blank=True, default="")
    coach_ignore = models.JSONField(
        default=list, blank=True, help_text=gettext_lazy("Coach rule ids to silence.")
    )
    coach_ignore_why = models.TextField(blank=True)
    # The language its titles were stated to be in (the `language` of the YAML file it
    # was imported from); blank: the organisation's (HEADWAY_LANGUAGE). The coach reads a
    # title in it unless the title is plainly in another language.
    language = models.CharField(max_length=2, blank=True, default="")
    # Stored scores (okrs/stored.py keeps them in step with every change): pages read
    # them instead of scoring the whole cycle; status follows from them and the clock.
    score = models.FloatField(default=0.0)
    forecast = models.FloatField(null=True, blank=True)
    has_data = models.BooleanField(default=False)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(excluded_fields=list(STORED_OBJECTIVE_FIELDS))

    class Meta:
        ordering = ("cycle", "team", "key")
        indexes = (models.Index(fields=("cycle", "team")),)
        constraints = (
            models.CheckConstraint(
                condition=Q(type__in=ObjectiveType.values), name="objective_type_valid"
            ),
            models.CheckConstraint(
                condition=Q(visibility__in=Visibility.values), name="objective_visibility_valid"
            ),
            models.CheckConstraint(
                condition=Q(grade__isnull=True) | Q(grade__gte=0, grade__lte=1),
                name="objective_grade_range",
            ),
            models.CheckConstraint(condition=~Q(parent=F("id")), name="objective_not_own_parent"),
            models.CheckConstraint(
                condition=Q(copy_kind__in=[*CopyKind.values, ""]), name="objective_copy_kind_valid"
            ),
            models.CheckConstraint(
                condition=~Q(copied_from=F("id")), name="objective_not_own_copy"
            ),
            models.CheckConstraint(condition=~Q(title=""), name="objective_title_not_blank"),
        )

    def __str__(self) -> str:
        return self.title


class ObjectiveContributor(models.Model):
    """A team contributing to an objective it does not own (a shared objective, issue 18).

    The objective appears in the contributing team's tree and its members' home pages; its
    members may check in on the key results owned by people on that team; the objective's
    score still counts once, for its owning team (docs/okrs.md, "Shared objectives").
    """

    objective = models.ForeignKey(Objective, on_delete=models.CASCADE, related_name="contributions")
    # A team that goes away stops contributing; the objective stays with its owning team.
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="contributions")
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ("objective", "team__name")
        constraints = (
            models.UniqueConstraint(
                fields=("objective", "team"), name="objective_contributor_unique"
            ),
        )

    def __str__(self) -> str:
        return f"{self.team} contributes to {self.objective}"

    def clean(self) -> None:
        """The owning team does not contribute to its own objective (the admin asks this)."""
        if self.objective_id is not None and self.objective.team_id == self.team_id:
            raise ValidationError({"team": sharing.owning_team_contributes(self.team)})


class KeyResultKind(models.TextChoices):
    INCREASE = "increase", gettext_lazy("Increase")
    DECREASE = "decrease", gettext_lazy("Decrease")
    ABOVE = "above", gettext_lazy("Above")
    BELOW = "below", gettext_lazy("Below")
    MILESTONE = "milestone", gettext_lazy("Milestone")
    OBJECTIVES = "objectives", gettext_lazy("Objectives")


class KeyResultQuerySet(models.QuerySet["KeyResult"]):
    def needing_checkins(self) -> KeyResultQuerySet:
        """Key results that take manual check-ins: not KPI-fed, not rolled up, cycle active."""
        return self.filter(objective__cycle__state=CycleState.ACTIVE, kpi__isnull=True).exclude(
            kind=KeyResultKind.OBJECTIVES
        )

    def overdue(self, now: datetime) -> KeyResultQuerySet:
        """Key results with no check-in for longer than their team's cadence (one query).

        One with no check-in at all is overdue once its cycle has run longer than the
        cadence. Each distinct cadence (at most 92) becomes one flat CASE branch giving its
        cutoff moment, so SQL stays shallow however many cadences the teams use.
        """
        from headway.teams.models import Team

        # order_by(): the default ordering (name) would make DISTINCT keep one row per team.
        cadences = Team.objects.order_by().values_list("checkin_cadence_days", flat=True).distinct()
        cutoff = Case(
            *(
                When(
                    objective__team__checkin_cadence_days=days,
                    then=Value(now - timedelta(days=days)),
                )
                for days in cadences
            ),
            output_field=DateTimeField(),
        )
        # The stored latest check-in (okrs/stored.py) spares a join over every check-in.
        since = Coalesce("last_checkin_at", Cast("objective__cycle__start", DateTimeField()))
        return (
            self.needing_checkins()
            .annotate(checkin_since=since, checkin_cutoff=cutoff)
            .filter(checkin_since__lt=F("checkin_cutoff"))
        )


class KeyResult(models.Model):
    """An outcome that proves the objective was reached."""

    objective = models.ForeignKey(Objective, on_delete=models.CASCADE, related_name="key_results")
    key = models.SlugField(max_length=150, help_text=KEY_HELP)
    title = models.CharField(max_length=300)
    kind = models.CharField(max_length=20, choices=KeyResultKind, default=KeyResultKind.INCREASE)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="key_results",
    )
    unit = models.CharField(max_length=30, blank=True)
    start = models.FloatField(null=True, blank=True)
    target = models.FloatField(null=True, blank=True)
    weight = models.FloatField(default=1.0, validators=[MinValueValidator(0)])
    due = models.DateField(
        null=True, blank=True, help_text=gettext_lazy("Defaults to the end of the cycle.")
    )
    position = models.PositiveSmallIntegerField(default=0)
    kpi = models.ForeignKey(
        "kpis.Kpi",
        null=True,
        blank=True,
        # Deleting a KPI turns its key results back into manually checked-in ones.
        on_delete=models.SET_NULL,
        related_name="key_results",
    )
    counter_kpis = models.ManyToManyField(
        "kpis.Kpi",
        blank=True,
        related_name="guarded_key_results",
        help_text=gettext_lazy(
            "Guard rails: KPIs that must not deteriorate while this key result improves."
        ),
    )
    # The latest value and done state, kept in step by check-ins and KPI measurements.
    current = models.FloatField(null=True, blank=True)
    done = models.BooleanField(default=False)
    # Stored scores, as on Objective; `scored_value` is the value the score came from
    # (the start before any check-in), `confidence` the latest one given.
    score = models.FloatField(default=0.0)
    forecast = models.FloatField(null=True, blank=True)
    has_data = models.BooleanField(default=False)
    scored_value = models.FloatField(null=True, blank=True)
    last_checkin_at = models.DateTimeField(null=True, blank=True)
    confidence = models.PositiveSmallIntegerField(null=True, blank=True)
    grade = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(1)]
    )
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(
        excluded_fields=["current", "updated_at", *STORED_KEY_RESULT_FIELDS]
    )

    objects = KeyResultQuerySet.as_manager()

    class Meta:
        ordering = ("objective", "position", "id")
        constraints = (
            models.UniqueConstraint(fields=("objective", "key"), name="key_result_key_unique"),
            models.CheckConstraint(
                condition=Q(kind__in=KeyResultKind.values), name="key_result_kind_valid"
            ),
            models.CheckConstraint(condition=Q(weight__gte=0), name="key_result_weight_positive"),
            models.CheckConstraint(
                condition=Q(grade__isnull=True) | Q(grade__gte=0, grade__lte=1),
                name="key_result_grade_range",
            ),
            models.CheckConstraint(condition=~Q(title=""), name="key_result_title_not_blank"),
        )

    def __str__(self) -> str:
        return self.title

    @property
    def due_date(self) -> date:
        """The due date, defaulting to the end of the cycle."""
        return self.due or self.objective.cycle.end

    @property
    def takes_checkins(self) -> bool:
        """Whether people check in on it (KPI-fed and rolled-up key results compute their value)."""
        return self.kpi_id is None and self.kind != KeyResultKind.OBJECTIVES


class CheckInQuerySet(models.QuerySet["CheckIn"]):
    def before_cycle(self) -> CheckInQuerySet:
        """Check-ins dated before their cycle's start (00:00 UTC): `okrs.timing`'s "early".

        The same boundary as `timing.checkin_timing`, in SQL, so the coach can find them
        without reading every check-in (tests/test_messy_history.py holds both to it).
        """
        # Compared as UTC dates: an instant is before 00:00 UTC of the start day exactly
        # when its UTC date is before it (against a cast datetime SQLite compares text).
        return self.annotate(at_day=TruncDate("at", tzinfo=UTC)).filter(
            at_day__lt=F("key_result__objective__cycle__start")
        )


class CheckIn(models.Model):
    """One moment's value, confidence and comment for a key result; history, never edited.

    Check-ins at the same moment are kept in the order they were given (`okrs.timing`):
    `ordinal` is 0 for the first at that moment, 1 for the next, and so on.
    """

    key_result = models.ForeignKey(KeyResult, on_delete=models.CASCADE, related_name="checkins")
    at = models.DateTimeField()
    ordinal = models.PositiveSmallIntegerField(
        default=0,
        help_text=gettext_lazy(
            "Order among the check-ins of the same moment (the last is latest)."
        ),
    )
    value = models.FloatField(null=True, blank=True)
    done = models.BooleanField(null=True, blank=True)
    confidence = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(10)]
    )
    comment = models.TextField(blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="checkins",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CheckInQuerySet.as_manager()

    class Meta:
        ordering = ("key_result", "at", "ordinal")
        constraints = (
            models.UniqueConstraint(
                fields=("key_result", "at", "ordinal"), name="checkin_one_per_moment_and_ordinal"
            ),
            models.CheckConstraint(
                condition=Q(confidence__isnull=True) | Q(confidence__gte=0, confidence__lte=10),
                name="checkin_confidence_range",
            ),
            models.CheckConstraint(
                condition=Q(value__isnull=False) | Q(done__isnull=False),
                name="checkin_has_value_or_done",
            ),
        )

    def __str__(self) -> str:
        return f"{self.key_result} @ {self.at:%Y-%m-%d}"
