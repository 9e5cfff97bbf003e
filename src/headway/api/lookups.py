"""Reading for the API: lookups by stable key (404 when absent or hidden), references in
bodies (422 when unknown) and pagination."""

from __future__ import annotations

from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet

from headway.api.errors import NotFound
from headway.api.models import PushJob
from headway.kpis.models import Kpi
from headway.okrs.models import Cycle, KeyResult, Objective
from headway.teams.access import Access
from headway.teams.models import Person, Team


def _usable(value: str) -> bool:
    """Whether a key from a URL or a filter can be looked up (no NUL, valid Unicode)."""
    if not value or "\x00" in value or len(value) > 254:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def get_by[M: Model](queryset: QuerySet[M], what: str, **lookup: str) -> M:
    """The one object matching `lookup`, or a 404 naming what was looked for."""
    value = next(iter(lookup.values()))
    if _usable(value):
        found = queryset.filter(**lookup).first()
        if found is not None:
            return found
    raise NotFound(f"No {what} {value!r}.")


def push_job(key: str, person: Person) -> PushJob:
    """A push job of this person (another's is not found, as if it did not exist)."""
    return get_by(PushJob.objects.filter(person=person), "push", key=key)


def team(key: str) -> Team:
    return get_by(Team.objects.select_related("parent"), "team", key=key)


def person(email: str) -> Person:
    return get_by(Person.objects.all(), "person with e-mail", email=email.strip().lower())


def cycle(key: str) -> Cycle:
    return get_by(Cycle.objects.select_related("closed_by"), "cycle", key=key)


def kpi(key: str) -> Kpi:
    return get_by(Kpi.objects.select_related("team", "owner", "replaced_by"), "KPI", key=key)


def visible_objectives(access: Access) -> QuerySet[Objective]:
    """Objectives the person may see: public ones, and private ones of their teams or own."""
    return Objective.objects.filter(access.objective_condition())


def objective(key: str, access: Access) -> Objective:
    """A visible objective by key; a private one outside the caller's team is a 404 too."""
    # order_by(): keys are unique, and the default ordering (cycle, team, key) costs more
    # to compile than the lookup takes to run.
    found = get_by(
        Objective.objects.select_related("cycle", "team", "owner", "parent").order_by(),
        "objective",
        key=key,
    )
    if not access.can_see_objective(found):
        raise NotFound(f"No objective {key!r}.")
    return found


def key_result(objective_key: str, kr_key: str, access: Access) -> KeyResult:
    # Two queries, not one joining all eight tables: PostgreSQL takes longer to plan that
    # join (3.3 ms warm, on the loaded machine of docs/performance.md) than to plan and
    # run these two (1.6 ms).
    parent = objective(objective_key, access)
    found = get_by(
        KeyResult.objects.filter(objective=parent).select_related("owner", "kpi").order_by(),
        f"key result of {objective_key!r} with key",
        key=kr_key,
    )
    found.objective = parent
    return found


def paginate[M: Model](queryset: QuerySet[M], limit: int, offset: int) -> tuple[int, list[M]]:
    """The total count and one page of `queryset` (two queries plus its prefetches)."""
    count = queryset.count()
    items = list(queryset[offset : offset + limit]) if offset < count else []
    return count, items


# References in request bodies: an unknown key is a field error (422), not a 404. Whether the
# caller may see or use what is named is the action's question, asked after its rights check.


def _no(field: str, message: str) -> ValidationError:
    return ValidationError({field: message})


def team_ref(key: str, field: str = "team") -> Team:
    found = Team.objects.filter(key=key).first()
    if found is None:
        raise _no(field, f"No team {key!r}.")
    return found


def cycle_ref(key: str) -> Cycle:
    found = Cycle.objects.filter(key=key).first()
    if found is None:
        raise _no("cycle", f"No cycle {key!r}.")
    return found


def person_ref(email: str | None, field: str = "owner") -> Person | None:
    if email is None:
        return None
    found = Person.objects.filter(email=email.strip().lower()).first()
    if found is None:
        raise _no(field, f"No person with e-mail {email!r}.")
    return found


def kpi_ref(key: str | None, field: str = "kpi") -> Kpi | None:
    if key is None:
        return None
    found = Kpi.objects.filter(key=key).first()
    if found is None:
        raise _no(field, f"No KPI {key!r}.")
    return found


def kpi_refs(keys: list[str]) -> list[Kpi]:
    found = {k.key: k for k in Kpi.objects.filter(key__in=keys)}
    missing = [key for key in keys if key not in found]
    if missing:
        raise _no("counter_kpis", f"No KPI {', '.join(map(repr, missing))}.")
    return [found[key] for key in dict.fromkeys(keys)]


def objective_ref(key: str, field: str = "parent") -> Objective:
    """An objective named in a body; the action refuses one the caller may not see."""
    found = Objective.objects.select_related("cycle").filter(key=key).first()
    if found is None:
        raise _no(field, f"No objective {key!r}.")
    return found


def membership_refs(entries: list[Mapping[str, str]]) -> list[tuple[Team, str]]:
    keys = [entry["team"] for entry in entries]
    teams = {t.key: t for t in Team.objects.filter(key__in=keys)}
    unknown = [key for key in dict.fromkeys(keys) if key not in teams]
    if unknown:
        raise _no("memberships", f"No team {', '.join(map(repr, unknown))}.")
    return [(teams[entry["team"]], entry.get("role", "member")) for entry in entries]
