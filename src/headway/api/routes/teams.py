"""Teams and people: read by everyone signed in, written by admins."""

from __future__ import annotations

from django.db.models import Prefetch
from django.http import HttpRequest
from ninja import Query, Router, Status

from headway.api import lookups
from headway.api import serialize as ser
from headway.api.auth import caller
from headway.api.routes.common import LIST, READ, WRITE, page, responses
from headway.api.schemas import (
    Page,
    PageParams,
    PersonIn,
    PersonOut,
    PersonPatch,
    TeamIn,
    TeamOut,
    TeamPatch,
)
from headway.teams import actions
from headway.teams.models import Membership, Person, Team

router = Router()


@router.get(
    "/teams", response=responses({200: Page[TeamOut]}, *LIST), tags=["teams"], summary="List teams"
)
def list_teams(request: HttpRequest, params: Query[PageParams]) -> dict[str, object]:
    """Every team of the organisation, by name."""
    teams = Team.objects.select_related("parent").order_by("name", "key")
    count, items = lookups.paginate(teams, params.limit, params.offset)
    return page(count, params.limit, params.offset, [ser.team(t) for t in items])


@router.get(
    "/teams/{key}", response=responses({200: TeamOut}, *READ), tags=["teams"], summary="Get a team"
)
def get_team(request: HttpRequest, key: str) -> dict[str, object]:
    return ser.team(lookups.team(key))


@router.post(
    "/teams", response=responses({201: TeamOut}, *WRITE), tags=["teams"], summary="Create a team"
)
def create_team(request: HttpRequest, payload: TeamIn) -> Status[dict[str, object]]:
    """Admins only."""
    team = actions.create_team(
        by=caller(request),
        key=payload.key,
        name=payload.name,
        kind=payload.kind,
        parent=lookups.team_ref(payload.parent, "parent") if payload.parent else None,
        checkin_cadence_days=payload.checkin_cadence_days,
    )
    return Status(201, ser.team(lookups.team(team.key)))


@router.patch(
    "/teams/{key}", response=responses({200: TeamOut}, *WRITE), tags=["teams"],
    summary="Update a team",
)  # fmt: skip
def update_team(request: HttpRequest, key: str, payload: TeamPatch) -> dict[str, object]:
    """Admins only. Only the fields sent change; `parent: null` makes it a root."""
    data = payload.model_dump(exclude_unset=True)
    changes = {
        field: data[field]
        for field in ("name", "kind", "checkin_cadence_days")
        if data.get(field) is not None
    }
    if "parent" in data:
        changes["parent"] = lookups.team_ref(data["parent"], "parent") if data["parent"] else None
    team = actions.update_team(by=caller(request), team=lookups.team(key), **changes)
    return ser.team(lookups.team(team.key))


@router.delete(
    "/teams/{key}", response=responses({204: None}, *WRITE), tags=["teams"],
    summary="Delete a team",
)  # fmt: skip
def delete_team(request: HttpRequest, key: str) -> Status[None]:
    """Admins only; a team with sub-teams, objectives or KPIs cannot go (409)."""
    actions.delete_team(by=caller(request), team=lookups.team(key))
    return Status(204, None)


@router.get(
    "/people", response=responses({200: Page[PersonOut]}, *LIST), tags=["people"],
    summary="List people",
)  # fmt: skip
def list_people(request: HttpRequest, params: Query[PageParams]) -> dict[str, object]:
    """Everyone in the organisation with their memberships, by name."""
    people = Person.objects.prefetch_related(
        Prefetch("memberships", queryset=Membership.objects.select_related("team"))
    ).order_by("name", "email")
    count, items = lookups.paginate(people, params.limit, params.offset)
    return page(count, params.limit, params.offset, [ser.person(p) for p in items])


def _person_out(email: str) -> dict[str, object]:
    found = lookups.get_by(
        Person.objects.prefetch_related(
            Prefetch("memberships", queryset=Membership.objects.select_related("team"))
        ),
        "person with e-mail",
        email=email.strip().lower(),
    )
    return ser.person(found)


@router.get(
    "/people/{email}", response=responses({200: PersonOut}, *READ), tags=["people"],
    summary="Get a person",
)  # fmt: skip
def get_person(request: HttpRequest, email: str) -> dict[str, object]:
    return _person_out(email)


@router.post(
    "/people", response=responses({201: PersonOut}, *WRITE), tags=["people"],
    summary="Invite a person",
)  # fmt: skip
def create_person(request: HttpRequest, payload: PersonIn) -> Status[dict[str, object]]:
    """Admins only. The person gets no password: they set one with the sign-in page's reset."""
    person = actions.invite_person(
        by=caller(request),
        email=payload.email,
        name=payload.name,
        is_active=payload.is_active,
        memberships=lookups.membership_refs([m.model_dump() for m in payload.memberships or []]),
    )
    return Status(201, _person_out(person.email))


@router.patch(
    "/people/{email}", response=responses({200: PersonOut}, *WRITE), tags=["people"],
    summary="Update a person",
)  # fmt: skip
def update_person(request: HttpRequest, email: str, payload: PersonPatch) -> dict[str, object]:
    """Admins only. `memberships`, when sent, replaces all of the person's memberships."""
    data = payload.model_dump(exclude_unset=True)
    memberships = data.get("memberships")
    person = actions.update_person(
        by=caller(request),
        person=lookups.person(email),
        name=data.get("name"),
        is_active=data.get("is_active"),
        memberships=None if memberships is None else lookups.membership_refs(list(memberships)),
    )
    return _person_out(person.email)
