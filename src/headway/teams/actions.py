"""Shaping the organisation: teams, people and memberships, written by admins only.

The web pages and the API call these same functions, so a rule (no loops in the team tree,
one e-mail per person, roles that exist) holds whichever way the change comes in. Each runs
in one transaction and raises ValidationError with field names, or PermissionDenied.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from headway.teams.access import Access, refuse
from headway.teams.models import Membership, MembershipOrigin, Person, Role, Team, TeamKind
from headway.writes import real_changes, refuse_unknown, save_checked

TEAM_FIELDS = frozenset({"name", "kind", "parent", "checkin_cadence_days"})


def why_not_manage(access: Access, what: str) -> str | None:
    """People, teams and memberships are the organisation admins' (PRODUCT.md section 6)."""
    return None if access.can_manage() else _("Only admins may manage %(what)s.") % {"what": what}


def _require_admin(by: Person, what: str) -> None:
    refuse(why_not_manage(Access.for_person(by), what))


@transaction.atomic
def create_team(
    *,
    by: Person,
    key: str,
    name: str,
    parent: Team | None,
    kind: str = TeamKind.TEAM,
    checkin_cadence_days: int = 7,
) -> Team:
    """Add a team below `parent` (None only for the company)."""
    _require_admin(by, "teams")
    team = Team(
        key=key,
        name=name.strip(),
        kind=kind,
        parent=parent,
        checkin_cadence_days=checkin_cadence_days,
    )
    save_checked(team, by=by)
    return team


@transaction.atomic
def update_team(*, by: Person, team: Team, **changes: Any) -> Team:
    """Rename, move (`parent`), re-kind or change the check-in cadence of a team.

    Moving a team below one of its own sub-teams is refused. The key never changes: files,
    URLs and API clients refer to it.
    """
    refuse_unknown(changes, TEAM_FIELDS)
    _require_admin(by, "teams")
    team = Team.objects.select_for_update().get(pk=team.pk)
    if "name" in changes:
        changes["name"] = str(changes["name"]).strip()
    moved = real_changes(team, changes)
    if not moved:
        return team
    for name, value in moved.items():
        setattr(team, name, value)
    save_checked(team, by=by)
    return team


@transaction.atomic
def delete_team(*, by: Person, team: Team) -> None:
    """Delete a team; one with sub-teams, objectives or KPIs raises ProtectedError."""
    _require_admin(by, "teams")
    team._history_user = by  # type: ignore[attr-defined]
    team.delete()


# People -------------------------------------------------------------------------------------


def _checked_memberships(memberships: Iterable[tuple[Team, str]]) -> list[tuple[Team, str]]:
    entries = list(memberships)
    errors = []
    keys = [team.key for team, _ in entries]
    twice = sorted({key for key in keys if keys.count(key) > 1})
    if twice:
        errors.append(_("listed twice: %(teams)s") % {"teams": ", ".join(twice)})
    wrong = sorted({role for _email, role in entries if role not in Role.values})
    if wrong:
        errors.append(
            _("no role %(wrong)s (roles: %(roles)s)")
            % {"wrong": ", ".join(map(repr, wrong)), "roles": ", ".join(Role.values)}
        )
    if errors:
        raise ValidationError({"memberships": "; ".join(errors).capitalize() + "."})
    return entries


def _replace_memberships(person: Person, memberships: list[tuple[Team, str]]) -> None:
    Membership.objects.filter(person=person).delete()
    Membership.objects.bulk_create(
        Membership(person=person, team=team, role=role) for team, role in memberships
    )


@transaction.atomic
def invite_person(
    *,
    by: Person,
    email: str,
    name: str = "",
    password: str | None = None,
    is_active: bool = True,
    memberships: Iterable[tuple[Team, str]] = (),
    send_invitation: bool = True,
) -> Person:
    """Add a person who signs in with `email`, on the given (team, role) pairs.

    Without a password they cannot sign in until they set one: they are sent an invitation
    e-mail with a link for it (queued in the outbox with this transaction; the worker sends it),
    unless `send_invitation` is off (SCIM: the identity provider signs them in).
    """
    _require_admin(by, "people")
    address = email.strip().lower()
    try:
        validate_email(address)
    except ValidationError:
        raise ValidationError({"email": f"{email!r} is not a valid e-mail address."}) from None
    if Person.objects.filter(email=address).exists():
        raise ValidationError(
            {
                "email": _("Someone with the e-mail %(address)s already exists.")
                % {"address": address}
            }
        )
    entries = _checked_memberships(memberships)
    person = Person(email=address, name=name.strip(), is_active=is_active)
    if password:
        try:
            validate_password(password, person)
        except ValidationError as exc:
            raise ValidationError({"password": exc.messages}) from None
        person.set_password(password)
    else:
        person.set_unusable_password()
    person.full_clean()
    person.save()
    _replace_memberships(person, entries)
    if not password and send_invitation and person.is_active:
        from headway.notify.outbox import queue_invitation

        queue_invitation(person, by=by)
    return person


@transaction.atomic
def resend_invitation(*, by: Person, person: Person) -> None:
    """Send `person` a new invitation e-mail (a fresh link) unless they already signed up."""
    from headway.notify.outbox import invitation_states, queue_invitation

    _require_admin(by, "people")
    person = Person.objects.select_for_update().get(pk=person.pk)
    if invitation_states([person])[person.pk].state == "accepted":
        raise ValidationError(
            _("%(email)s has set a password already: nothing to resend.") % {"email": person.email}
        )
    if not person.is_active:
        raise ValidationError(
            _("%(email)s is deactivated: reactivate them first.") % {"email": person.email}
        )
    queue_invitation(person, by=by)


@transaction.atomic
def set_language(*, by: Person, language: str) -> Person:
    """The interface language `by` reads Headway in; "" follows the organisation's default."""
    from django.conf import settings

    codes = [code for code, _ in settings.LANGUAGES]
    language = language.strip().lower()
    if language and language not in codes:
        raise ValidationError(
            {"language": _("Choose one of the languages offered.")}, code="language"
        )
    person = Person.objects.select_for_update().get(pk=by.pk)
    person.language = language
    person.save(update_fields=["language"])
    return person


@transaction.atomic
def update_person(
    *,
    by: Person,
    person: Person,
    name: str | None = None,
    is_active: bool | None = None,
    memberships: Iterable[tuple[Team, str]] | None = None,
) -> Person:
    """Rename, deactivate or reactivate a person; `memberships` replaces all of theirs."""
    _require_admin(by, "people")
    person = Person.objects.select_for_update().get(pk=person.pk)
    if name is not None:
        if not name.strip() and person.name:
            raise ValidationError({"name": _("A person's name cannot be emptied.")})
        person.name = name.strip()
    deactivated = is_active is False and person.is_active
    if deactivated:
        if person.pk == by.pk:
            raise ValidationError(_("You cannot deactivate yourself."), code="self")
        refuse_losing_last_admin(person, gettext_noop("deactivating them"))
    if memberships is not None:
        memberships = list(memberships)
        _refuse_losing_admin(by, person, [(t.pk, r) for t, r in memberships])
    if is_active is not None:
        person.is_active = is_active
    person.full_clean(exclude=["password"])
    person.save()
    if deactivated:
        end_sessions(person)
    if memberships is not None:
        _replace_memberships(person, _checked_memberships(memberships))
    return person


@transaction.atomic
def set_membership(*, by: Person, team: Team, person: Person, role: str) -> Membership:
    """Put `person` on `team` with `role`, or change the role they have there."""
    _require_admin(by, "people and teams")
    if role not in Role.values:
        raise ValidationError(
            {
                "role": _("No role %(role)s (roles: %(names)s).")
                % {"role": repr(role), "names": ", ".join(Role.values)}
            }
        )
    others = Membership.objects.filter(person=person).exclude(team=team)
    _refuse_losing_admin(by, person, [*others.values_list("team_id", "role"), (team.pk, role)])
    # An admin's hand takes the membership over from the directory (it stays as set).
    membership, _created = Membership.objects.update_or_create(
        team=team, person=person, defaults={"role": role, "origin": MembershipOrigin.MANUAL}
    )
    return membership


@transaction.atomic
def remove_membership(*, by: Person, membership: Membership) -> None:
    """Take a person off a team (their objectives and KPIs there stay theirs)."""
    _require_admin(by, "people and teams")
    person = membership.person
    kept = Membership.objects.filter(person=person).exclude(pk=membership.pk)
    _refuse_losing_admin(by, person, list(kept.values_list("team_id", "role")))
    membership.delete()


def _refuse_losing_admin(by: Person, person: Person, roles: list[tuple[int, str]]) -> None:
    """Refuse memberships (team id, role) that would take `person`'s admin rights away
    when they are `by` themselves, or the organisation's last admin (nothing changes)."""
    if person.is_superuser or person.pk not in _admin_ids():
        return
    roots = set(Team.objects.filter(parent__isnull=True).values_list("pk", flat=True))
    if any(team_id in roots and role == Role.ADMIN for team_id, role in roles):
        return
    if person.pk == by.pk:
        raise ValidationError(
            _("You cannot take away your own admin rights: ask another admin."), code="self"
        )
    refuse_losing_last_admin(person, gettext_noop("taking their admin role away"))


# Directory: deactivation and group-mapped memberships ----------------------------------------
#
# SCIM provisioning and single sign-on change people only through these, so the rules about
# admins hold whichever way a change comes in.


def _admin_ids() -> set[int]:
    """Active people who are organisation admins: superusers or admins of a root team."""
    superusers = Person.objects.filter(is_active=True, is_superuser=True).values_list(
        "id", flat=True
    )
    root_admins = Membership.objects.filter(
        role=Role.ADMIN, team__parent__isnull=True, person__is_active=True
    ).values_list("person_id", flat=True)
    return set(superusers) | set(root_admins)


def refuse_losing_last_admin(person: Person, what: str) -> None:
    """Refuse a change that would leave the organisation with no active admin."""
    admins = _admin_ids()
    if person.pk in admins and not admins - {person.pk}:
        raise ValidationError(
            _(
                "%(email)s is the last admin: %(what)s would leave nobody to manage Headway. "
                "Make someone else an admin first."
            )
            % {"email": person.email, "what": _(what)},
            code="last_admin",
        )


def end_sessions(person: Person) -> int:
    """Sign `person` out everywhere (allauth records each signed-in session); returns how many."""
    from allauth.usersessions.models import UserSession

    ended = 0
    for session in UserSession.objects.filter(user=person):
        session.end()
        ended += 1
    return ended


@transaction.atomic
def deactivate_person(*, by: Person, person: Person) -> Person:
    """Stop `person` signing in: sessions end, their API tokens stop working, what they own stays.

    An admin cannot deactivate themselves, nor the last admin.
    """
    _require_admin(by, "people")
    person = Person.objects.select_for_update().get(pk=person.pk)
    if not person.is_active:
        return person
    if person.pk == by.pk:
        raise ValidationError(_("You cannot deactivate yourself."), code="self")
    refuse_losing_last_admin(person, gettext_noop("deactivating them"))
    person.is_active = False
    person.save(update_fields=["is_active"])
    end_sessions(person)
    return person


@transaction.atomic
def reactivate_person(*, by: Person, person: Person) -> Person:
    """Let a deactivated person sign in again (with the memberships they had)."""
    _require_admin(by, "people")
    person = Person.objects.select_for_update().get(pk=person.pk)
    if not person.is_active:
        person.is_active = True
        person.save(update_fields=["is_active"])
    return person


@transaction.atomic
def change_email(*, by: Person, person: Person, email: str) -> Person:
    """Change the address `person` signs in with (one person per address)."""
    _require_admin(by, "people")
    address = email.strip().lower()
    try:
        validate_email(address)
    except ValidationError:
        raise ValidationError({"email": f"{email!r} is not a valid e-mail address."}) from None
    person = Person.objects.select_for_update().get(pk=person.pk)
    if address == person.email:
        return person
    if Person.objects.filter(email=address).exclude(pk=person.pk).exists():
        raise ValidationError(
            {
                "email": _("Someone with the e-mail %(address)s already exists.")
                % {"address": address}
            }
        )
    person.email = address
    person.save(update_fields=["email"])
    return person


@dataclass
class MembershipChanges:
    """What a directory sync did, as (team key, role) pairs."""

    added: list[tuple[str, str]] = field(default_factory=list)
    changed: list[tuple[str, str]] = field(default_factory=list)
    removed: list[tuple[str, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)


@transaction.atomic
def sync_directory_memberships(*, person: Person, grants: Mapping[Team, str]) -> MembershipChanges:
    """Make the memberships the directory made for `person` exactly `grants` (team -> role).

    The authority is the admins' group mappings (only admins write them). Memberships an admin
    made by hand are left as they are: on such a team the directory changes nothing. Raises
    ValidationError (code "last_admin") rather than take the last admin's admin role away.
    """
    person = Person.objects.select_for_update().get(pk=person.pk)
    wrong = sorted({role for role in grants.values() if role not in Role.values})
    if wrong:
        raise ValidationError({"role": _("No role %(names)s.") % {"names": ", ".join(wrong)}})
    existing = {
        m.team_id: m for m in Membership.objects.filter(person=person).select_related("team")
    }
    wanted = {team.pk: (team, role) for team, role in grants.items()}
    changes = MembershipChanges()
    loses_admin = False
    for team_id, membership in existing.items():
        if membership.origin != MembershipOrigin.DIRECTORY:
            continue
        if team_id not in wanted:
            changes.removed.append((membership.team.key, membership.role))
            loses_admin |= membership.role == Role.ADMIN and membership.team.parent_id is None
            membership.delete()
        elif wanted[team_id][1] != membership.role:
            loses_admin |= membership.role == Role.ADMIN and membership.team.parent_id is None
            membership.role = wanted[team_id][1]
            membership.save(update_fields=["role"])
            changes.changed.append((membership.team.key, membership.role))
    new = [
        Membership(person=person, team=team, role=role, origin=MembershipOrigin.DIRECTORY)
        for team_id, (team, role) in wanted.items()
        if team_id not in existing
    ]
    Membership.objects.bulk_create(new)
    changes.added.extend((m.team.key, m.role) for m in new)
    if loses_admin and person.is_active and not person.is_superuser:
        admins = _admin_ids()
        if not admins:
            raise ValidationError(
                _(
                    "%(email)s is the last admin: the directory's groups would take the "
                    "admin role away and leave nobody to manage Headway. Make someone else "
                    "an admin first."
                )
                % {"email": person.email},
                code="last_admin",
            )
    return changes
