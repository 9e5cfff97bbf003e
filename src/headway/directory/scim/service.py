"""SCIM Users and Groups over Headway's people, through the same actions as the web pages.

A SCIM User is a `DirectoryUser` (what the provider sent, kept as it sent it) tied to a
`Person`, whose sign-in e-mail, name and active flag follow from it:

- e-mail: the primary `emails` value, else the first, else `userName` when it is an address;
- name: `displayName`, else `name.formatted`, else `name.givenName name.familyName`;
- active: `active` (a provider's "False" string counts as false).

Creating a user whose e-mail already belongs to a person Headway has (made by hand) links
that person instead of refusing. Deleting a user deactivates the person and forgets the SCIM
record: what they own stays, and GET answers 404 from then on.

A SCIM Group is a `DirectoryGroup`; its members' team memberships follow the group mappings
(headway.directory.groups). Each change runs in one transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_datetime

from headway.directory import groups as group_sync
from headway.directory.models import DirectoryGroup, DirectoryUser
from headway.directory.scim import schema
from headway.directory.scim.filter import (
    And,
    Compare,
    FilterError,
    Node,
    Not,
    Or,
    Present,
    ValuePath,
    parse,
)
from headway.directory.scim.patch import PatchError, apply, get, key_of
from headway.teams import actions
from headway.teams.models import Person

# Never stored: read-only, server-made, or secrets Headway does not keep.
SERVER_KEYS = frozenset({"id", "meta", "schemas", "groups", "active", "password"})
GROUP_SERVER_KEYS = frozenset({"id", "meta", "schemas", "members"})


class ScimError(Exception):
    """An answer other than success: status, RFC 7644 scimType and a message for the provider."""

    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type


def _from_validation(exc: ValidationError) -> ScimError:
    if getattr(exc, "code", None) in {"last_admin", "self"}:
        return ScimError(409, " ".join(exc.messages))
    messages = exc.messages
    if any("already exists" in m for m in messages):
        return ScimError(409, " ".join(messages), "uniqueness")
    return ScimError(400, " ".join(messages), "invalidValue")


@dataclass(frozen=True)
class Page:
    resources: list[dict[str, Any]]
    total: int
    start: int


# Reading -------------------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def user_document(user: DirectoryUser, base: str, groups: list[DirectoryGroup]) -> dict[str, Any]:
    doc: dict[str, Any] = {"schemas": [schema.USER], "id": str(user.scim_id)}
    doc.update(user_attributes(user))
    doc["active"] = user.person.is_active
    if groups:
        doc["groups"] = [
            {
                "value": str(group.scim_id),
                "$ref": f"{base}/Groups/{group.scim_id}",
                "display": group.display_name,
                "type": "direct",
            }
            for group in groups
        ]
    doc["meta"] = {
        "resourceType": "User",
        "created": _iso(user.created_at),
        "lastModified": _iso(user.updated_at),
        "location": f"{base}/Users/{user.scim_id}",
    }
    return doc


def user_attributes(user: DirectoryUser) -> dict[str, Any]:
    """The attributes the provider wrote, as it wrote them (userName kept in its column)."""
    stored = dict(user.attributes)
    stored[key_of(stored, "userName")] = user.user_name
    return stored


def group_document(group: DirectoryGroup, base: str, member_ids: list[str]) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schemas": [schema.GROUP],
        "id": str(group.scim_id),
        "displayName": group.display_name,
    }
    if group.external_id:
        doc["externalId"] = group.external_id
    if member_ids:
        doc["members"] = [
            {"value": member, "$ref": f"{base}/Users/{member}", "type": "User"}
            for member in member_ids
        ]
    doc["meta"] = {
        "resourceType": "Group",
        "created": _iso(group.created_at),
        "lastModified": _iso(group.updated_at),
        "location": f"{base}/Groups/{group.scim_id}",
    }
    return doc


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def get_user(scim_id: str) -> DirectoryUser:
    found = _uuid(scim_id)
    user = (
        DirectoryUser.objects.select_related("person").filter(scim_id=found).first()
        if found
        else None
    )
    if user is None:
        raise ScimError(404, f"No user {scim_id}.")
    return user


def get_group(scim_id: str) -> DirectoryGroup:
    found = _uuid(scim_id)
    group = DirectoryGroup.objects.filter(scim_id=found).first() if found else None
    if group is None:
        raise ScimError(404, f"No group {scim_id}.")
    return group


def groups_by_person(person_ids: list[int]) -> dict[int, list[DirectoryGroup]]:
    through = DirectoryGroup.members.through
    found: dict[int, list[DirectoryGroup]] = {}
    rows = through.objects.filter(person_id__in=person_ids).select_related("directorygroup")
    for row in rows.order_by("directorygroup__display_name"):
        found.setdefault(row.person_id, []).append(row.directorygroup)
    return found


def member_ids(groups: list[DirectoryGroup]) -> dict[int, list[str]]:
    through = DirectoryGroup.members.through
    found: dict[int, list[str]] = {group.pk: [] for group in groups}
    rows = (
        through.objects.filter(directorygroup_id__in=list(found))
        .exclude(person__directory_user__isnull=True)
        .values_list("directorygroup_id", "person__directory_user__scim_id")
        .order_by("person__directory_user__user_name_key")
    )
    for group_id, scim_id in rows:
        found[group_id].append(str(scim_id))
    return found


USER_FILTERS: dict[str, tuple[str, str]] = {
    "username": ("user_name_key", "folded"),
    "externalid": ("external_id", "exact"),
    "id": ("scim_id", "uuid"),
    "displayname": ("display_name", "insensitive"),
    "emails": ("person__email", "folded"),
    "emails.value": ("person__email", "folded"),
    "active": ("person__is_active", "boolean"),
    "meta.created": ("created_at", "moment"),
    "meta.lastmodified": ("updated_at", "moment"),
}
GROUP_FILTERS: dict[str, tuple[str, str]] = {
    "displayname": ("display_name", "insensitive"),
    "externalid": ("external_id", "exact"),
    "id": ("scim_id", "uuid"),
    "members": ("members__directory_user__scim_id", "uuid"),
    "members.value": ("members__directory_user__scim_id", "uuid"),
    "meta.created": ("created_at", "moment"),
    "meta.lastmodified": ("updated_at", "moment"),
}
_LOOKUPS = {"eq": "exact", "co": "contains", "sw": "startswith", "ew": "endswith"}


def _strip_urn(path: str) -> str:
    lowered = path.casefold()
    for urn in (schema.USER, schema.GROUP):
        if lowered.startswith(urn.casefold() + ":"):
            return path[len(urn) + 1 :]
    return path


def to_q(node: Node, fields: dict[str, tuple[str, str]], prefix: str = "") -> Q:
    """The Django condition of a filter; ScimError(400, invalidFilter) where Headway cannot."""
    if isinstance(node, And):
        return to_q(node.left, fields, prefix) & to_q(node.right, fields, prefix)
    if isinstance(node, Or):
        return to_q(node.left, fields, prefix) | to_q(node.right, fields, prefix)
    if isinstance(node, Not):
        return ~to_q(node.inner, fields, prefix)
    if isinstance(node, ValuePath):
        return to_q(node.inner, fields, f"{_strip_urn(node.path)}.")
    path = (prefix + _strip_urn(node.path)).casefold()
    if path not in fields:
        names = ", ".join(sorted({name.split(".")[0] for name in fields}))
        raise ScimError(
            400, f"Headway cannot filter on {node.path} (only {names}).", "invalidFilter"
        )
    field, kind = fields[path]
    if isinstance(node, Present):
        if kind == "boolean":
            return Q()
        return (
            Q(**{f"{field}__isnull": False}) & ~Q(**{field: ""})
            if kind != "uuid" and kind != "moment"
            else Q(**{f"{field}__isnull": False})
        )
    assert isinstance(node, Compare)
    op, value = node.op, node.value
    if kind == "boolean":
        if op not in {"eq", "ne"} or not isinstance(value, bool):
            raise ScimError(
                400, f"{node.path} compares with eq or ne and true or false.", "invalidFilter"
            )
        q = Q(**{field: value})
        return ~q if op == "ne" else q
    if kind == "moment":
        moment = parse_datetime(str(value)) if value is not None else None
        if moment is None or op not in {"eq", "ne", "gt", "ge", "lt", "le"}:
            raise ScimError(400, f"{node.path} compares with a date and time.", "invalidFilter")
        lookup = {"eq": "exact", "ne": "exact", "gt": "gt", "ge": "gte", "lt": "lt", "le": "lte"}[
            op
        ]
        q = Q(**{f"{field}__{lookup}": moment})
        return ~q if op == "ne" else q
    if kind == "uuid":
        if op not in {"eq", "ne"}:
            raise ScimError(400, f"{node.path} compares with eq or ne.", "invalidFilter")
        found = _uuid(str(value))
        q = Q(**{field: found}) if found else Q(pk__in=[])
        return ~q if op == "ne" else q
    if op not in {*_LOOKUPS, "ne"} or value is None:
        raise ScimError(
            400, f"{node.path} compares with eq, ne, co, sw or ew and a string.", "invalidFilter"
        )
    text = str(value)
    lookup = _LOOKUPS.get(op, "exact")
    if kind == "folded":
        text = text.casefold()
    elif kind == "insensitive":
        lookup = "i" + lookup
    q = Q(**{f"{field}__{lookup}": text})
    return ~q if op == "ne" else q


def _filtered(
    queryset: QuerySet[Any], text: str | None, fields: dict[str, tuple[str, str]]
) -> QuerySet[Any]:
    if not text:
        return queryset
    try:
        node = parse(text)
    except FilterError as exc:
        raise ScimError(400, str(exc), "invalidFilter") from None
    return queryset.filter(to_q(node, fields)).distinct()


def _window(start: int, count: int) -> tuple[int, int]:
    return max(1, start), max(0, min(count, schema.MAX_RESULTS))


def list_users(base: str, text: str | None, start: int, count: int) -> Page:
    start, count = _window(start, count)
    users = _filtered(DirectoryUser.objects.select_related("person"), text, USER_FILTERS)
    total = users.count()
    chosen = list(users.order_by("pk")[start - 1 : start - 1 + count]) if count else []
    groups = groups_by_person([u.person_id for u in chosen])
    return Page([user_document(u, base, groups.get(u.person_id, [])) for u in chosen], total, start)


def list_groups(base: str, text: str | None, start: int, count: int, with_members: bool) -> Page:
    start, count = _window(start, count)
    found = _filtered(DirectoryGroup.objects.all(), text, GROUP_FILTERS)
    total = found.count()
    chosen = list(found.order_by("pk")[start - 1 : start - 1 + count]) if count else []
    members = member_ids(chosen) if with_members else {}
    return Page([group_document(g, base, members.get(g.pk, [])) for g in chosen], total, start)


def read_user(base: str, scim_id: str) -> dict[str, Any]:
    user = get_user(scim_id)
    return user_document(user, base, groups_by_person([user.person_id]).get(user.person_id, []))


def read_group(base: str, scim_id: str, with_members: bool = True) -> dict[str, Any]:
    group = get_group(scim_id)
    return group_document(group, base, member_ids([group])[group.pk] if with_members else [])


# Writing users -------------------------------------------------------------------------------


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _boolean(value: Any, default: bool = True) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false", "1", "0"}:
        return value.strip().lower() in {"true", "1"}
    raise ScimError(400, f"active must be true or false, not {value!r}.", "invalidValue")


def _is_email(text: str) -> bool:
    try:
        validate_email(text)
    except ValidationError:
        return False
    return True


def derived_email(doc: dict[str, Any]) -> str:
    emails = get(doc, "emails") or []
    if isinstance(emails, list):
        values = [e for e in emails if isinstance(e, dict) and _text(get(e, "value"))]
        values.sort(key=lambda e: not get(e, "primary"))
        for item in values:
            if _is_email(_text(get(item, "value"))):
                return _text(get(item, "value")).lower()
    user_name = _text(get(doc, "userName"))
    if _is_email(user_name):
        return user_name.lower()
    raise ScimError(
        400,
        "Headway needs an e-mail address to sign a person in: send emails, or a userName "
        "that is an e-mail address.",
        "invalidValue",
    )


def derived_name(doc: dict[str, Any]) -> str:
    name = get(doc, "name") if isinstance(get(doc, "name"), dict) else {}
    parts = [_text(get(name, "givenName")), _text(get(name, "familyName"))]
    found = (
        _text(get(doc, "displayName"))
        or _text(get(name, "formatted"))
        or " ".join(p for p in parts if p)
    )
    return found[:200]


def _clean_user(doc: Any) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise ScimError(400, "The body must be a JSON object.", "invalidSyntax")
    kept = {
        key: value
        for key, value in doc.items()
        if key.casefold() not in SERVER_KEYS and not key.casefold().startswith("urn:")
    }
    user_name = _text(get(kept, "userName"))
    if not user_name:
        raise ScimError(400, "userName is required.", "invalidValue")
    if len(user_name) > 255:
        raise ScimError(400, "userName is longer than 255 characters.", "invalidValue")
    for name in ("displayName", "externalId"):
        value = get(kept, name)
        if value is not None and not isinstance(value, str):
            raise ScimError(400, f"{name} must be a string.", "invalidValue")
    if get(kept, "name") is not None and not isinstance(get(kept, "name"), dict):
        raise ScimError(400, "name must be an object.", "invalidValue")
    if get(kept, "emails") is not None and not isinstance(get(kept, "emails"), list):
        raise ScimError(400, "emails must be a list.", "invalidValue")
    kept[key_of(kept, "userName")] = user_name
    return kept


def _check_user_name(user_name: str, exclude: int | None = None) -> None:
    taken = DirectoryUser.objects.filter(user_name_key=user_name.casefold())
    if exclude is not None:
        taken = taken.exclude(pk=exclude)
    if taken.exists():
        raise ScimError(409, f"userName {user_name} is already taken.", "uniqueness")


def _write_user(user: DirectoryUser, doc: dict[str, Any]) -> None:
    user.user_name = _text(get(doc, "userName"))
    user.external_id = _text(get(doc, "externalId"))[:255]
    user.display_name = _text(get(doc, "displayName"))[:255]
    user.attributes = {k: v for k, v in doc.items() if k.casefold() != "username"}


def _apply_to_person(by: Person, person: Person, doc: dict[str, Any], active: bool) -> Person:
    """Bring the person in line with the document, through the teams actions."""
    email = derived_email(doc)
    if email != person.email:
        person = actions.change_email(by=by, person=person, email=email)
    name = derived_name(doc)
    if name and name != person.name:
        person = actions.update_person(by=by, person=person, name=name)
    if active and not person.is_active:
        person = actions.reactivate_person(by=by, person=person)
    elif not active and person.is_active:
        person = actions.deactivate_person(by=by, person=person)
    return person


def _guarded(function: Any) -> Any:
    """Run a write in one transaction; the actions' refusals become SCIM errors."""

    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            with transaction.atomic():
                return function(*args, **kwargs)
        except ValidationError as exc:
            raise _from_validation(exc) from None
        except PermissionDenied as exc:
            raise ScimError(403, str(exc) or "Not allowed.") from None

    return run


@_guarded
def create_user(by: Person, base: str, body: Any) -> dict[str, Any]:
    doc = _clean_user(body)
    active = _boolean(get(body, "active"))
    _check_user_name(get(doc, "userName"))
    email = derived_email(doc)
    person = Person.objects.select_for_update().filter(email=email).first()
    if person is not None:
        if DirectoryUser.objects.filter(person=person).exists():
            raise ScimError(409, f"A user with the e-mail {email} already exists.", "uniqueness")
        person = _apply_to_person(by, person, doc, active)  # a person made by hand: linked
    else:
        person = actions.invite_person(
            by=by, email=email, name=derived_name(doc), is_active=active, send_invitation=False
        )
    user = DirectoryUser(person=person)
    _write_user(user, doc)
    user.save()
    return user_document(user, base, [])


@_guarded
def replace_user(by: Person, base: str, scim_id: str, body: Any) -> dict[str, Any]:
    user = get_user(scim_id)
    doc = _clean_user(body)
    _check_user_name(get(doc, "userName"), exclude=user.pk)
    active = _boolean(get(body, "active"))
    _apply_to_person(by, user.person, doc, active)
    _write_user(user, doc)
    user.save()
    user.refresh_from_db()
    return read_user(base, scim_id)


@_guarded
def patch_user(by: Person, base: str, scim_id: str, body: Any) -> dict[str, Any]:
    user = get_user(scim_id)
    current = user_attributes(user)
    current["active"] = user.person.is_active
    operations = get(body, "Operations") if isinstance(body, dict) else None
    try:
        changed = apply(
            current, operations, read_only=frozenset({"id", "meta", "groups", "schemas"})
        )
    except PatchError as exc:
        raise ScimError(400, str(exc), exc.scim_type) from None
    if get(changed, "active") is None:
        raise ScimError(
            400,
            "active cannot be removed: a Headway person is either active or not; send "
            "active true or false.",
            "mutability",
        )
    active = _boolean(get(changed, "active"))
    doc = _clean_user(changed)
    _check_user_name(get(doc, "userName"), exclude=user.pk)
    _apply_to_person(by, user.person, doc, active)
    _write_user(user, doc)
    user.save()
    return read_user(base, scim_id)


@_guarded
def delete_user(by: Person, scim_id: str) -> None:
    user = get_user(scim_id)
    person = user.person
    if person.is_active:
        actions.deactivate_person(by=by, person=person)
    for group in DirectoryGroup.objects.filter(members=person):
        group.members.remove(person)
    user.delete()
    group_sync.sync(person)


# Writing groups ------------------------------------------------------------------------------


def _clean_group(body: Any) -> tuple[str, str, list[Person] | None]:
    if not isinstance(body, dict):
        raise ScimError(400, "The body must be a JSON object.", "invalidSyntax")
    display = _text(get(body, "displayName"))
    if not display:
        raise ScimError(400, "displayName is required.", "invalidValue")
    if len(display) > 255:
        raise ScimError(400, "displayName is longer than 255 characters.", "invalidValue")
    external = get(body, "externalId")
    if external is not None and not isinstance(external, str):
        raise ScimError(400, "externalId must be a string.", "invalidValue")
    members = get(body, "members")
    if members is None:
        return display, _text(external), None
    if not isinstance(members, list):
        raise ScimError(400, "members must be a list.", "invalidValue")
    ids: list[uuid.UUID] = []
    for member in members:
        value = get(member, "value") if isinstance(member, dict) else None
        found_id = _uuid(value) if isinstance(value, str) else None
        if found_id is None:
            raise ScimError(400, f"{member!r} is not a member (value: a user id).", "invalidValue")
        ids.append(found_id)
    found = {
        u.scim_id: u.person
        for u in DirectoryUser.objects.filter(scim_id__in=ids).select_related("person")
    }
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise ScimError(
            400,
            f"No user {', '.join(missing)} (groups in groups are not kept).",
            "invalidValue",
        )
    return display, _text(external), list(dict.fromkeys(found[i] for i in ids))


def _check_group_name(display: str, exclude: int | None = None) -> None:
    taken = DirectoryGroup.objects.filter(display_name__iexact=display)
    if exclude is not None:
        taken = taken.exclude(pk=exclude)
    if taken.exists():
        raise ScimError(409, f"A group named {display} already exists.", "uniqueness")


def _save_group(
    group: DirectoryGroup, display: str, external: str, members: list[Person] | None
) -> None:
    renamed = group.pk is not None and (group.display_name, group.external_id) != (
        display,
        external,
    )
    group.display_name, group.external_id = display, external[:255]
    group.save()
    before = set(group.members.values_list("pk", flat=True))
    touched: set[int] = set()
    if members is not None:
        after = {p.pk for p in members}
        group.members.remove(*[pk for pk in before - after])
        group.members.add(*[pk for pk in after - before])
        touched = before ^ after
        before = after
    if renamed:
        touched |= before
    for person in Person.objects.filter(pk__in=touched).order_by("pk"):
        group_sync.sync(person)


@_guarded
def create_group(by: Person, base: str, body: Any) -> dict[str, Any]:
    display, external, members = _clean_group(body)
    _check_group_name(display)
    group = DirectoryGroup()
    _save_group(group, display, external, members or [])
    return read_group(base, str(group.scim_id))


@_guarded
def replace_group(by: Person, base: str, scim_id: str, body: Any) -> dict[str, Any]:
    group = get_group(scim_id)
    display, external, members = _clean_group(body)
    _check_group_name(display, exclude=group.pk)
    _save_group(group, display, external, members or [])
    return read_group(base, scim_id)


@_guarded
def patch_group(by: Person, base: str, scim_id: str, body: Any) -> dict[str, Any]:
    group = get_group(scim_id)
    current: dict[str, Any] = {"displayName": group.display_name}
    if group.external_id:
        current["externalId"] = group.external_id
    current["members"] = [{"value": m} for m in member_ids([group])[group.pk]]
    operations = get(body, "Operations") if isinstance(body, dict) else None
    try:
        changed = apply(current, operations, read_only=frozenset({"id", "meta", "schemas"}))
    except PatchError as exc:
        raise ScimError(400, str(exc), exc.scim_type) from None
    changed.setdefault("members", [])
    display, external, members = _clean_group(changed)
    _check_group_name(display, exclude=group.pk)
    _save_group(group, display, external, members or [])
    return read_group(base, scim_id)


@_guarded
def delete_group(by: Person, scim_id: str) -> None:
    group = get_group(scim_id)
    people = list(group.members.order_by("pk"))
    group.delete()
    for person in people:
        group_sync.sync(person)
