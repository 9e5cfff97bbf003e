"""People, teams and memberships: who is in the organisation and what they may do."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import connection, models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy
from simple_history.models import HistoricalRecords

from headway.teams.refs import TeamRef
from headway.writes import reaches

KEY_HELP = gettext_lazy(
    "Stable identifier used in URLs, the API and YAML files (letters, digits, - and _)."
)


class PersonManager(BaseUserManager["Person"]):
    """Creates people who sign in by e-mail."""

    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> Person:
        if not email:
            raise ValueError("A person needs an e-mail address.")
        person = self.model(email=self.normalize_email(email).lower(), **extra)
        person.set_password(password)
        person.save(using=self._db)
        return person

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> Person:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class Person(AbstractBaseUser, PermissionsMixin):
    """Someone in the organisation; signs in with an e-mail address."""

    email = models.EmailField(unique=True)
    name = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(
        default=False, help_text=gettext_lazy("May use the Django admin site.")
    )
    date_joined = models.DateTimeField(default=timezone.now)
    # The interface language the person reads Headway and their e-mails in (a code of
    # settings.LANGUAGES); blank: the organisation's default (HEADWAY_INTERFACE_LANGUAGE).
    language = models.CharField(max_length=8, blank=True, default="")

    objects: ClassVar[PersonManager] = PersonManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = ["name"]

    class Meta:
        ordering = ("name", "email")
        verbose_name = "person"
        verbose_name_plural = "people"
        constraints = (
            models.CheckConstraint(condition=~Q(email=""), name="person_email_not_blank"),
        )

    def __str__(self) -> str:
        return self.name or self.email

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)


class TeamKind(models.TextChoices):
    COMPANY = "company", gettext_lazy("Company")
    DEPARTMENT = "department", gettext_lazy("Department")
    TEAM = "team", gettext_lazy("Team")


class Team(models.Model):
    """A node of the organisation tree whose root is the company."""

    key = models.SlugField(max_length=100, unique=True, help_text=KEY_HELP)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=TeamKind, default=TeamKind.TEAM)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        # A team with sub-teams cannot vanish silently: move or delete the children first.
        on_delete=models.PROTECT,
        related_name="children",
    )
    checkin_cadence_days = models.PositiveSmallIntegerField(
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(92)],
        help_text=gettext_lazy("A key result with no check-in for longer than this is overdue."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ("name",)
        constraints = (
            models.CheckConstraint(condition=Q(kind__in=TeamKind.values), name="team_kind_valid"),
            models.CheckConstraint(
                condition=Q(kind=TeamKind.COMPANY) | Q(parent__isnull=False),
                name="team_only_company_is_root",
            ),
            models.CheckConstraint(condition=~Q(parent=models.F("id")), name="team_not_own_parent"),
            models.CheckConstraint(
                condition=Q(checkin_cadence_days__gte=1, checkin_cadence_days__lte=92),
                name="team_cadence_range",
            ),
        )

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Only the company stands at the top, and no team sits below itself."""
        if self.parent_id is None:
            if self.kind != TeamKind.COMPANY:
                raise ValidationError(
                    {"parent": "Only the company stands at the top; pick where this team belongs."}
                )
            return
        if self.pk is None:
            return
        parents = dict(Team.objects.values_list("id", "parent_id"))
        if reaches(parents, self.parent_id, self.pk):
            raise ValidationError(
                {"parent": f"{self.parent} is part of {self}: that would make a loop."}
            )


def team_refs() -> list[TeamRef]:
    """Every team as a plain row, by name: a thousand cost a tenth of a thousand `Team`s."""
    rows = Team.objects.order_by("name").values_list("pk", "key", "name", "kind", "parent_id")
    return [TeamRef(*row) for row in rows]


def team_ancestry(team_ids: Iterable[int]) -> dict[int, int | None]:
    """Parent of each of these teams and of every team above them (one query).

    A recursive query rather than the whole team table: a check-in's notifications need
    the chain of one team, not the organisation's 1,000 teams. UNION (not UNION ALL)
    stops at a row already found, so a loop the database let through ends too.
    """
    ids = sorted(set(team_ids))
    if not ids:
        return {}
    table = connection.ops.quote_name(Team._meta.db_table)
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH RECURSIVE up(id, parent_id) AS ("
            f"SELECT id, parent_id FROM {table} WHERE id IN ({marks}) "
            f"UNION SELECT t.id, t.parent_id FROM {table} t JOIN up ON t.id = up.parent_id"
            f") SELECT id, parent_id FROM up",
            ids,
        )
        return dict(cursor.fetchall())


def team_subtree(teams: Sequence[Team] | Sequence[TeamRef], key: str) -> set[int]:
    """Ids of the team with `key` and every team below it; an empty set for an unknown key."""
    root = next((t for t in teams if t.key == key), None)
    if root is None:
        return set()
    below: dict[int | None, list[int]] = {}
    for team in teams:
        below.setdefault(team.parent_id, []).append(team.pk)
    found: set[int] = set()
    stack = [root.pk]
    while stack:
        node = stack.pop()
        if node not in found:
            found.add(node)
            stack.extend(below.get(node, []))
    return found


class Role(models.TextChoices):
    ADMIN = "admin", gettext_lazy("Admin")
    LEAD = "lead", gettext_lazy("Lead")
    MEMBER = "member", gettext_lazy("Member")
    VIEWER = "viewer", gettext_lazy("Viewer")


class MembershipOrigin(models.TextChoices):
    MANUAL = "manual", gettext_lazy("set by an admin")
    DIRECTORY = "directory", gettext_lazy("from a directory group")


class Membership(models.Model):
    """A person's role on a team; the role holds for that team and every team below it.

    `origin` says who keeps it: an admin (by hand, a file, the API) or the directory's group
    mappings, which add, change and remove only the memberships they made.
    """

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="memberships")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role, default=Role.MEMBER)
    origin = models.CharField(
        max_length=20, choices=MembershipOrigin, default=MembershipOrigin.MANUAL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("team__name", "person__name")
        constraints = (
            models.UniqueConstraint(fields=("person", "team"), name="membership_unique"),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="membership_role_valid"),
            models.CheckConstraint(
                condition=Q(origin__in=MembershipOrigin.values), name="membership_origin_valid"
            ),
        )

    def __str__(self) -> str:
        return f"{self.person} ({self.role}) in {self.team}"
