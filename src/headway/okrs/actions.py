"""OKR workflows shared by the web pages, the API and the CLI; each runs in one transaction.

Every action checks the caller's rights (PRODUCT.md section 6) and raises
PermissionDenied or ValidationError (with field names) instead of writing anything.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from headway.keys import free_key
from headway.kpis.models import Kpi
from headway.moments import FUTURE_TOLERANCE, to_utc
from headway.okrs import sharing, stored
from headway.okrs.models import (
    CheckIn,
    CopyKind,
    Cycle,
    CycleState,
    KeyResult,
    KeyResultKind,
    Objective,
    ObjectiveContributor,
)
from headway.teams.access import Access, refuse
from headway.teams.models import Person, Team
from headway.teams.refs import TeamRef
from headway.versions import Seen, check_version
from headway.writes import reaches, real_changes, refuse_unknown, retry_on_conflict, save_checked

# Who may do what, with the reason when not (PRODUCT.md section 6). The actions refuse with
# these and the pages ask the same functions whether to offer a form or a button, so a
# rule and its wording live here only. None means allowed.


def why_not_create_objective(access: Access, teams: Iterable[Team | TeamRef]) -> str | None:
    """Members write their team's objectives; `teams` are the candidates (any one will do)."""
    teams = list(teams)
    if any(access.can_create_in(team.pk) for team in teams):
        return None
    if len(teams) == 1:
        return _("Only members of %(team)s may create its objectives.") % {"team": teams[0]}
    return _("Only members of a team may create its objectives.")


def why_not_align(access: Access, team_id: int) -> str | None:
    if access.can_steer(team_id):
        return None
    return _("Only leads and admins of the team may align an objective.")


def why_not_edit_objective(access: Access, objective: Objective) -> str | None:
    """Text, owner, type, visibility and reflection: leads of the team and the owner."""
    if access.can_edit_objective(objective):
        return None
    return _("Only leads of the team and the owner may edit this objective.")


def why_not_delete_objective(access: Access, objective: Objective) -> str | None:
    if access.can_edit_objective(objective):
        return None
    return _("Only leads of the team and the owner may delete this objective.")


def why_not_add_key_result(access: Access, objective: Objective) -> str | None:
    if access.can_create_in(objective.team_id) or access.can_edit_objective(objective):
        return None
    return _("Only members of the team and the objective's owner may add key results.")


def why_not_edit_key_result(access: Access, key_result: KeyResult) -> str | None:
    if access.can_edit_key_result(key_result):
        return None
    return _("Only leads of the team and the owners may edit this key result.")


def why_not_delete_key_result(access: Access, key_result: KeyResult) -> str | None:
    if access.can_edit_objective(key_result.objective):
        return None
    return _("Only leads of the team and the objective's owner may delete its key results.")


def why_not_check_in(access: Access, key_result: KeyResult) -> str | None:
    if access.can_check_in(key_result):
        return None
    return _("Only the team's members, the owners and the owner's contributing team may check in.")


def why_computed(key_result: KeyResult) -> str | None:
    """Why a key result takes no check-ins (its value is computed), or None when it does.

    `record_checkin` refuses with this; the check-in page shows it on the row instead of a form.
    """
    if key_result.kpi is not None:
        return (
            f"This key result takes its value from the KPI “{key_result.kpi}”: "
            "push a measurement to the KPI instead of checking in."
        )
    if key_result.kind == KeyResultKind.OBJECTIVES:
        return (
            "This key result is rolled up from the objectives aligned to it; "
            "check in on their key results instead."
        )
    return None


def why_not_check_in_for_team(
    access: Access, team: Team, key_results: Iterable[KeyResult]
) -> str | None:
    """The team's check-in page: its members, and whoever may check in on one of them."""
    if access.at_least(team.pk, "member") or any(access.can_check_in(k) for k in key_results):
        return None
    return _("Only members of the team and key-result owners may check in.")


def why_not_recalibrate(access: Access, key_result: KeyResult) -> str | None:
    if access.can_steer(key_result.objective.team_id):
        return None
    return _("Only leads and admins of the team may recalibrate a key result.")


def why_not_manage_cycles(access: Access) -> str | None:
    return None if access.can_manage() else _("Only admins may manage cycles.")


def why_not_close(access: Access) -> str | None:
    return None if access.can_manage() else _("Only admins may close a cycle.")


def why_not_reopen(access: Access) -> str | None:
    return None if access.can_manage() else _("Only admins may reopen a cycle.")


def why_not_write_reflections(access: Access, objectives: Iterable[Objective]) -> str | None:
    """The cycle review's reflections: whoever may edit one of `objectives`."""
    if any(access.can_edit_objective(objective) for objective in objectives):
        return None
    return _("You may not write any reflection in this cycle.")


def why_not_carry_over(access: Access, objective: Objective) -> str | None:
    if access.can_create_in(objective.team_id):
        return None
    return _("Only members of the team may carry its objectives over.")


def _finite(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError({field: _("Enter a number.")})
    if not math.isfinite(value):
        raise ValidationError({field: _("Enter a finite number (not NaN or infinity).")})
    return float(value)


def _checkin_moment(at: datetime, now: datetime) -> tuple[datetime, str | None]:
    """The check-in moment in UTC, or the reason it is refused (naive, future).

    A moment outside the cycle is not refused: `okrs.timing` accepts late updates and
    early baselines (the coach warns about the early ones), as files do.
    """
    if timezone.is_naive(at):
        return at, "Give the moment with a time zone."
    try:
        at = to_utc(at)
    except ValueError as exc:
        return at, f"{str(exc).capitalize()}."
    if at > now + FUTURE_TOLERANCE:
        return at, "A check-in cannot be in the future."
    return at, None


def _locked_key_result(key_result: KeyResult) -> KeyResult:
    """The key result's row locked for this transaction, with its objective, cycle and KPI."""
    return (
        # of=self: PostgreSQL cannot lock the nullable side (kpi) of an outer join.
        KeyResult.objects.select_for_update(of=("self",))
        .select_related("objective__cycle", "objective__team", "kpi")
        .get(pk=key_result.pk)
    )


@retry_on_conflict
@transaction.atomic
def record_checkin(
    *,
    key_result: KeyResult,
    by: Person,
    value: float | None = None,
    done: bool | None = None,
    confidence: int | None = None,
    comment: str = "",
    at: datetime | None = None,
) -> CheckIn:
    """Record a check-in and move the key result's current value; never edits earlier ones.

    Confidence defaults to the previous check-in's. A milestone takes `done`, the other
    kinds a finite `value`. KPI-linked and rolled-up key results refuse check-ins: their
    value is computed. The moment may not be in the future; outside the cycle it is kept
    (`okrs.timing`), and at an instant already taken it comes after the check-ins there.
    """
    # The objectives before the key result: the global lock order (stored.lock_objectives).
    locked = stored.lock_objectives([key_result.objective_id])
    key_result = _locked_key_result(key_result)
    refuse(why_not_check_in(Access.for_person(by), key_result))
    cycle = key_result.objective.cycle
    cycle.refuse_if_closed()
    computed = why_computed(key_result)
    if computed is not None:
        raise ValidationError(computed)

    errors: dict[str, str] = {}
    if key_result.kind == KeyResultKind.MILESTONE:
        if done is None:
            errors["done"] = _("Say whether the milestone is done.")
        value = None
    else:
        if value is None:
            errors["value"] = _("Enter the current value.")
        else:
            try:
                value = _finite(value, "value")
            except ValidationError as exc:
                errors.update({k: v[0] for k, v in exc.message_dict.items()})
        done = None
    if confidence is not None and (
        isinstance(confidence, bool) or not isinstance(confidence, int) or not 0 <= confidence <= 10
    ):
        errors["confidence"] = _("Confidence is a whole number from 0 to 10.")
    now = timezone.now()
    at, at_error = _checkin_moment(at or now, now)
    if at_error:
        errors["at"] = at_error
    if errors:
        raise ValidationError(errors)

    # Check-ins already at this very moment come before this one (`okrs.timing`). The
    # usual check-in is the newest: then the latest one so far is also the previous one,
    # none can share its moment unless that latest does, and one query answers all three.
    newest = key_result.checkins.order_by("-at", "-ordinal").first()
    if newest is None or newest.at < at:
        previous, ordinal, is_latest = newest, 0, True
    else:  # back-dated, or at the latest's very moment
        previous = key_result.checkins.filter(at__lte=at).order_by("-at", "-ordinal").first()
        ordinal = key_result.checkins.filter(at=at).count()
        is_latest = newest.at == at
    if confidence is None and previous is not None:
        confidence = previous.confidence
    checkin = CheckIn.objects.create(
        key_result=key_result,
        at=at,
        ordinal=ordinal,
        value=value,
        done=done,
        confidence=confidence,
        comment=comment.strip(),
        author=by,
    )
    latest = checkin if is_latest else newest
    assert latest is not None
    # update() rather than save(): the check-in is the history, not a new KR version.
    KeyResult.objects.filter(pk=key_result.pk).update(
        current=latest.value,
        done=bool(latest.done),
        version=F("version") + 1,
    )
    changes = stored.rescore([key_result.objective_id], at=max(now, at), locked=locked)
    # Notifications (issue 8): record what the check-in changed, in this transaction.
    from headway.notify import events as notify_events

    notify_events.after_checkin(changes, checkin=checkin, key_result=key_result, by=by)
    return checkin


@transaction.atomic
def recalibrate_key_result(
    *,
    key_result: KeyResult,
    by: Person,
    reason: str,
    title: str | None = None,
    start: float | None = None,
    target: float | None = None,
    version: Seen = None,
) -> KeyResult:
    """Change a key result's title, start or target mid-cycle, keeping who, when and why.

    Earlier check-ins keep their raw values; only the yardstick moves. Needs a reason and
    at least one real change.
    """
    key_result = (
        KeyResult.objects.select_for_update()
        .select_related("objective__cycle", "objective__team")
        .get(pk=key_result.pk)
    )
    refuse(why_not_recalibrate(Access.for_person(by), key_result))
    check_version(key_result.version, version)
    key_result.objective.cycle.refuse_if_closed()
    errors: dict[str, str] = {}
    if not reason or not reason.strip():
        errors["reason"] = _("Say why the key result is recalibrated; it is kept in the history.")
    changes: dict[str, object] = {}
    if title is not None:
        if not title.strip():
            errors["title"] = _("The title cannot be blank.")
        elif title.strip() != key_result.title:
            changes["title"] = title.strip()
    for field, raw in (("start", start), ("target", target)):
        if raw is None:
            continue
        try:
            number = _finite(raw, field)
        except ValidationError as exc:
            errors[field] = exc.message_dict[field][0]
            continue
        if number != getattr(key_result, field):
            changes[field] = number
    if not errors and not changes:
        errors["__all__"] = _("Nothing changes: give a new title, start or target.")
    if errors:
        raise ValidationError(errors)
    for field, new in changes.items():
        setattr(key_result, field, new)
    key_result.version += 1
    key_result._change_reason = f"Recalibrated: {reason.strip()}"  # type: ignore[attr-defined]
    key_result._history_user = by  # type: ignore[attr-defined]
    key_result.save()
    stored.rescore([key_result.objective_id])
    return key_result


def _check_alignment(objective: Objective, parent: Objective) -> None:
    """Refuse a parent that is the objective itself, in a cycle not spanning it, or below it."""
    if objective.pk is not None and parent.pk == objective.pk:
        raise ValidationError({"parent": _("An objective cannot align to itself.")})
    if parent.cycle_id != objective.cycle_id and not parent.cycle.contains(objective.cycle):
        raise ValidationError(
            {
                "parent": f"“{parent}” belongs to {parent.cycle}, which does not span "
                f"{objective.cycle}; align to an objective of the same or a spanning cycle."
            }
        )
    if objective.pk is None:
        return  # a new objective has nothing below it yet
    parents = dict(Objective.objects.values_list("id", "parent_id"))
    if reaches(parents, parent.pk, objective.pk):
        raise ValidationError(
            {"parent": f"“{parent}” already aligns to this objective: that would loop."}
        )


def _refuse_hidden_parent(parent: Objective, access: Access, field: str = "parent") -> None:
    """A private objective the person may not see is not there for them (as in a lookup)."""
    if not access.can_see_objective(parent):
        raise ValidationError({field: _("No objective %(key)s.") % {"key": repr(parent.key)}})


# What create_objective and update_objective accept besides the cycle, team and parent.
OBJECTIVE_FIELDS = frozenset(
    {"key", "title", "description", "owner", "type", "visibility", "reflection", "coach_ignore",
     "coach_ignore_why"}
)  # fmt: skip


def _contributing_teams(team: Team, contributors: Iterable[Team | str]) -> list[Team]:
    """The contributing teams named (Team rows or keys), each once, checked: they exist
    and are not the owning team (okrs.sharing words the refusals). One query."""
    named = list(contributors)
    keys = [str(e) for e in named if not isinstance(e, Team)]
    ids = [e.pk for e in named if isinstance(e, Team)]
    rows = list(Team.objects.filter(Q(key__in=keys) | Q(pk__in=ids))) if named else []
    by_key, by_id = {t.key: t for t in rows}, {t.pk: t for t in rows}
    missing = [k for k in keys if k not in by_key]
    missing += [e.key for e in named if isinstance(e, Team) and e.pk not in by_id]
    if missing:
        raise ValidationError({sharing.FIELD: sharing.unknown_teams(dict.fromkeys(missing))})
    teams = {by_id[e.pk] if isinstance(e, Team) else by_key[str(e)] for e in named}
    if any(t.pk == team.pk for t in teams):
        raise ValidationError({sharing.FIELD: sharing.owning_team_contributes(team)})
    return sorted(teams, key=lambda t: (t.name, t.key))


def _set_contributors(objective: Objective, teams: list[Team], by: Person) -> bool:
    """Make `teams` the objective's contributing teams, each change in the history; whether
    anything changed."""
    current = {c.team_id: c for c in objective.contributions.all()}
    wanted = {t.pk for t in teams}
    for team_id, row in current.items():
        if team_id not in wanted:
            row._history_user = by  # type: ignore[attr-defined]
            row.delete()
    for team in teams:
        if team.pk not in current:
            row = ObjectiveContributor(objective=objective, team=team)
            row._history_user = by  # type: ignore[attr-defined]
            row.save()
    return wanted != set(current)


def contributor_keys(objective: Objective) -> list[str]:
    """The keys of the objective's contributing teams, by team name (1 query)."""
    return list(
        objective.contributions.order_by("team__name", "team__key").values_list(
            "team__key", flat=True
        )
    )


@transaction.atomic
def create_objective(
    *,
    by: Person,
    cycle: Cycle,
    team: Team,
    parent: Objective | None = None,
    contributors: Iterable[Team | str] = (),
    **fields: Any,
) -> Objective:
    """Create an objective of `team` in `cycle` (members of the team may).

    Aligning it to `parent` at once is for leads and admins, as `align_objective` is; the
    key is made from the title when not given. `contributors` (teams or their keys) share
    it (docs/okrs.md, "Shared objectives"). Raises ValidationError with field names.
    """
    refuse_unknown(fields, OBJECTIVE_FIELDS)
    access = Access.for_person(by)
    refuse(why_not_create_objective(access, [team]))
    if parent is not None:
        refuse(why_not_align(access, team.pk))
    cycle.refuse_if_closed()
    sharing_teams = _contributing_teams(team, contributors)
    title = str(fields.pop("title", "")).strip()
    key = fields.pop("key", "") or free_key(Objective, title or "objective")
    objective = Objective(cycle=cycle, team=team, title=title, key=key, **fields)
    if parent is not None:
        parent = Objective.objects.select_related("cycle").get(pk=parent.pk)
        _refuse_hidden_parent(parent, access)
        _check_alignment(objective, parent)
    objective.parent = parent
    save_checked(objective, by=by)
    _set_contributors(objective, sharing_teams, by)
    # A parent gains a roll-up child.
    stored.rescore([objective.pk])
    if parent is not None:
        _announce_aligned(objective, parent, by)
    return objective


def _announce_aligned(objective: Objective, parent: Objective, by: Person) -> None:
    # Notifications (issue 19): the parent's owner and leads hear of a new roll-up child.
    from headway.notify import events as notify_events

    notify_events.after_aligned(objective, parent, by=by)


@transaction.atomic
def update_objective(
    *,
    by: Person,
    objective: Objective,
    version: Seen = None,
    contributors: Iterable[Team | str] | None = None,
    **changes: Any,
) -> Objective:
    """Change an objective's text, owner, type, visibility, coach settings or contributing
    teams (leads of its team, its owner; contributing teams do not edit it).

    A real change bumps the version; giving the values it already has changes nothing.
    `contributors` None leaves them; a list replaces them. Re-parenting is
    `align_objective`. Raises ValidationError with field names.
    """
    refuse_unknown(changes, OBJECTIVE_FIELDS - {"key"})
    objective = (
        Objective.objects.select_for_update(of=("self",))
        .select_related("cycle", "team")
        .get(pk=objective.pk)
    )
    refuse(why_not_edit_objective(Access.for_person(by), objective))
    check_version(objective.version, version)
    objective.cycle.refuse_if_closed()
    if "title" in changes:
        changes["title"] = str(changes["title"]).strip()
    sharing_teams = (
        None if contributors is None else _contributing_teams(objective.team, contributors)
    )
    moved = real_changes(objective, changes)
    if sharing_teams is not None:
        before = contributor_keys(objective)
        if sorted(before) == sorted(t.key for t in sharing_teams):
            sharing_teams = None
    if not moved and sharing_teams is None:
        return objective
    for name, value in moved.items():
        setattr(objective, name, value)
    objective.version += 1
    if sharing_teams is not None:
        _set_contributors(objective, sharing_teams, by)
        names = ", ".join(t.key for t in sharing_teams) or "none"
        objective._change_reason = f"Contributing teams: {names}"  # type: ignore[attr-defined]
    save_checked(objective, by=by)
    return objective


@transaction.atomic
def delete_objective(*, by: Person, objective: Objective, version: Seen = None) -> None:
    """Delete an objective and its key results (leads, owner); its children stay, unaligned."""
    objective = (
        Objective.objects.select_for_update(of=("self",))
        .select_related("cycle")
        .get(pk=objective.pk)
    )
    refuse(why_not_delete_objective(Access.for_person(by), objective))
    check_version(objective.version, version)
    objective.cycle.refuse_if_closed()
    objective._history_user = by  # type: ignore[attr-defined]
    parent_id = objective.parent_id
    objective.delete()
    stored.rescore([parent_id])


# What create_key_result and update_key_result accept besides the objective and guard rails.
KEY_RESULT_FIELDS = frozenset(
    {"key", "title", "kind", "owner", "unit", "start", "target", "weight", "due", "position",
     "kpi"}
)  # fmt: skip
# Moving these once the cycle is under way is a recalibration (recalibrate_key_result).
YARDSTICK = ("title", "kind", "start", "target")


def _set_kpi(key_result: KeyResult, kpi: Kpi | None) -> None:
    """Link (or unlink) a KPI: its latest value, or the latest check-in, becomes current."""
    if kpi is not None and kpi.pk != key_result.kpi_id:
        key_result.current = kpi.latest_value
    elif kpi is None and key_result.kpi_id is not None:
        latest = (
            key_result.checkins.order_by("-at", "-ordinal").values_list("value", flat=True).first()
        )
        key_result.current = latest
    key_result.kpi = kpi


@transaction.atomic
def create_key_result(
    *, by: Person, objective: Objective, counter_kpis: Iterable[Kpi] = (), **fields: Any
) -> KeyResult:
    """Add a key result to an objective (members of the team and its owner may).

    It goes last unless `position` is given; a KPI-fed one starts from the KPI's latest
    value; the key is made from the title when not given. Raises ValidationError with field
    names.
    """
    refuse_unknown(fields, KEY_RESULT_FIELDS)
    access = Access.for_person(by)
    refuse(why_not_add_key_result(access, objective))
    objective.cycle.refuse_if_closed()
    if fields.get("key") and objective.key_results.filter(key=fields["key"]).exists():
        raise ValidationError({"key": f"“{objective}” already has a key result {fields['key']!r}."})
    kpi = fields.pop("kpi", None)
    if fields.get("position") is None:
        fields["position"] = objective.key_results.count()
    fields["title"] = str(fields.get("title", "")).strip()
    if not fields.get("key"):
        fields["key"] = free_key(KeyResult, fields["title"] or "key-result", objective=objective)
    key_result = KeyResult(objective=objective, **fields)
    _set_kpi(key_result, kpi)
    save_checked(key_result, by=by)
    key_result.counter_kpis.set(counter_kpis)
    stored.rescore([objective.pk])
    return key_result


@transaction.atomic
def update_key_result(
    *,
    by: Person,
    key_result: KeyResult,
    counter_kpis: Iterable[Kpi] | None = None,
    version: Seen = None,
    **changes: Any,
) -> KeyResult:
    """Change a key result (leads, the objective's and its own owner).

    Once the cycle is under way, moving its title, kind, start or target is refused: that
    is `recalibrate_key_result`, which keeps a reason. A real change bumps the version.
    """
    refuse_unknown(changes, KEY_RESULT_FIELDS - {"key"})
    key_result = _locked_key_result(key_result)
    refuse(why_not_edit_key_result(Access.for_person(by), key_result))
    check_version(key_result.version, version)
    cycle = key_result.objective.cycle
    cycle.refuse_if_closed()
    if "title" in changes:
        changes["title"] = str(changes["title"]).strip()
    moved = real_changes(key_result, changes)
    recalibrated = [name for name in YARDSTICK if name in moved]
    if recalibrated and cycle.state != CycleState.PLANNING:
        message = (
            "The cycle is under way: changing this is a recalibration, kept in the "
            "history with a reason (the recalibrate operation, or a reason on the form)."
        )
        raise ValidationError(dict.fromkeys(recalibrated, message))
    guard_rails = None if counter_kpis is None else {k.pk for k in counter_kpis}
    guards_moved = guard_rails is not None and guard_rails != set(
        key_result.counter_kpis.values_list("pk", flat=True)
    )
    if not moved and not guards_moved:
        return key_result
    if "kpi" in moved:
        _set_kpi(key_result, moved.pop("kpi"))
    for name, value in moved.items():
        setattr(key_result, name, value)
    key_result.version += 1
    save_checked(key_result, by=by)
    if guard_rails is not None:
        key_result.counter_kpis.set(list(guard_rails))
    stored.rescore([key_result.objective_id])
    return key_result


@transaction.atomic
def delete_key_result(*, by: Person, key_result: KeyResult, version: Seen = None) -> None:
    """Delete a key result with its check-ins (leads, the objective's owner)."""
    key_result = _locked_key_result(key_result)
    objective = key_result.objective
    refuse(why_not_delete_key_result(Access.for_person(by), key_result))
    check_version(key_result.version, version)
    objective.cycle.refuse_if_closed()
    key_result._history_user = by  # type: ignore[attr-defined]
    key_result.delete()
    stored.rescore([objective.pk])


@transaction.atomic
def align_objective(
    *, objective: Objective, parent: Objective | None, by: Person, version: Seen = None
) -> Objective:
    """Re-parent an objective, refusing loops and parents in a cycle that does not span it."""
    objective = Objective.objects.select_for_update().select_related("cycle").get(pk=objective.pk)
    access = Access.for_person(by)
    refuse(why_not_align(access, objective.team_id))
    check_version(objective.version, version)
    if parent is not None:
        parent = Objective.objects.select_related("cycle").get(pk=parent.pk)
        _refuse_hidden_parent(parent, access)
        _check_alignment(objective, parent)
    previous_parent = objective.parent_id
    objective.parent = parent
    objective.version += 1
    objective._history_user = by  # type: ignore[attr-defined]
    objective.save()
    # The old parent loses a roll-up child; the new one (an ancestor now) gains one.
    stored.rescore([objective.pk, previous_parent] if previous_parent else [objective.pk])
    if parent is not None and parent.pk != previous_parent:
        _announce_aligned(objective, parent, by)
    return objective


CYCLE_FIELDS = frozenset({"name", "start", "end", "state"})
# Closing and reopening have actions of their own (grades, reflections).
OPEN_STATES = frozenset({CycleState.PLANNING, CycleState.ACTIVE})


def _check_state(cycle: Cycle) -> None:
    if cycle.state not in OPEN_STATES:
        raise ValidationError(
            {
                "state": _(
                    "A cycle is planning or active; close it from its review, which grades it."
                )
            }
        )


def _check_active_spans(cycle: Cycle) -> None:
    """Active cycles nest or stay apart (docs/okrs.md, "Cycles").

    A year and its quarters may be active together (one contains the other); two active
    cycles over the same span, or overlapping in part (Q1 and a 1 Feb to 30 Apr cycle),
    would split the organisation's check-ins between two clocks, so that is refused.
    """
    if cycle.state != CycleState.ACTIVE:
        return
    others = Cycle.objects.filter(
        state=CycleState.ACTIVE, start__lte=cycle.end, end__gte=cycle.start
    ).exclude(pk=cycle.pk)
    for other in others.order_by("start", "key"):
        same = other.start == cycle.start and other.end == cycle.end
        nested = (other.start <= cycle.start and cycle.end <= other.end) or (
            cycle.start <= other.start and other.end <= cycle.end
        )
        if same or not nested:
            raise ValidationError(
                {
                    "state": f"{other} ({other.start:%d %b %Y} to {other.end:%d %b %Y}) is active "
                    f"and {'covers the same days' if same else 'overlaps these dates in part'}: "
                    "active cycles nest (a year and its quarters) or stay apart. Close it, "
                    "or keep this one planning until it ends."
                }
            )


@dataclass(frozen=True)
class ClosePreview:
    """What closing a cycle freezes, for the confirmation that names it."""

    objectives: int
    key_results: int
    #: Days until the cycle's end (inclusive) when closing early; 0 on or after its end.
    days_left: int


def preview_close(
    *, cycle: Cycle, by: Person, reflections: Mapping[str, str] | None = None, today: date
) -> ClosePreview:
    """What closing would freeze, refused exactly as `close_cycle` would refuse it.

    The review asks this before it closes: the confirmation names the counts, and a
    positive `days_left` warns that the cycle has not ended yet. Changes nothing.
    """
    refuse(why_not_close(Access.for_person(by)))
    if cycle.is_closed:
        raise ValidationError(_("The cycle %(cycle)s is already closed.") % {"cycle": cycle})
    tree = stored.cycle_tree(cycle, at=timezone.now())
    _check_reflections(cycle, tree, _stripped(reflections))
    return ClosePreview(
        objectives=len(tree.objectives),
        key_results=len(list(tree.key_results())),
        days_left=(cycle.end - today).days + 1 if today <= cycle.end else 0,
    )


def _stripped(reflections: Mapping[str, str] | None) -> dict[str, str]:
    return {key: text.strip() for key, text in (reflections or {}).items()}


def _check_reflections(cycle: Cycle, tree: Any, reflections: Mapping[str, str]) -> None:
    """Every committed objective graded below 1.0 needs a reflection: all missing named."""
    unknown = sorted(set(reflections) - {o.key for o in tree.objectives})
    if unknown:
        raise ValidationError(
            {
                "reflections": _("Not objectives of %(cycle)s: %(names)s.")
                % {"cycle": cycle, "names": ", ".join(unknown)}
            }
        )
    missing = []
    for objective in tree.objectives:
        score = tree.objective_result(objective).score
        written = reflections.get(objective.key) or objective.reflection.strip()
        if objective.type == "committed" and score < 1.0 and not written:
            missing.append(f"“{objective}” ({score:.1f})")
    if missing:
        raise ValidationError(
            {
                "reflections": _(
                    "Committed objectives graded below 1.0 need a reflection (what worked, what "
                    "did not, carry over or drop): "
                )
                + "; ".join(missing)
            }
        )


@transaction.atomic
def create_cycle(
    *,
    by: Person,
    key: str,
    start: date,
    end: date,
    name: str = "",
    state: str = CycleState.PLANNING,
) -> Cycle:
    """Add a cycle (admins only), planning or active."""
    refuse(why_not_manage_cycles(Access.for_person(by)))
    cycle = Cycle(key=key, name=name.strip(), start=start, end=end, state=state)
    _check_state(cycle)
    if start and end and start <= end:
        _check_active_spans(cycle)
    save_checked(cycle, by=by)
    return cycle


@transaction.atomic
def update_cycle(*, by: Person, cycle: Cycle, **changes: Any) -> Cycle:
    """Rename a cycle, move its dates or switch it between planning and active (admins).

    A closed cycle keeps its dates and state until it is reopened; moving the dates
    rescores the cycle, since pace, forecasts and KPI-fed key results follow its window.
    """
    refuse_unknown(changes, CYCLE_FIELDS)
    refuse(why_not_manage_cycles(Access.for_person(by)))
    cycle = Cycle.objects.select_for_update().get(pk=cycle.pk)
    if "name" in changes:
        changes["name"] = str(changes["name"]).strip()
    moved = real_changes(cycle, changes)
    if not moved:
        return cycle
    if cycle.is_closed and set(moved) - {"name"}:
        raise ValidationError(
            _("The cycle %(cycle)s is closed: reopen it before changing its dates or state.")
            % {"cycle": cycle}
        )
    for name, value in moved.items():
        setattr(cycle, name, value)
    if not cycle.is_closed:
        _check_state(cycle)
        if cycle.start <= cycle.end:
            _check_active_spans(cycle)
    save_checked(cycle, by=by)
    if {"start", "end"} & set(moved):
        stored.rescore_cycle(cycle)
    return cycle


@transaction.atomic
def close_cycle(
    *,
    cycle: Cycle,
    by: Person,
    reflections: Mapping[str, str] | None = None,
    at: datetime | None = None,
) -> Cycle:
    """Freeze every objective's and key result's score as its grade and close the cycle.

    `reflections` maps objective keys to reflection notes (merged with those already
    written). Every committed objective below 1.0 needs one; all that lack one are
    named at once. A closed cycle cannot be closed again.
    """
    cycle = Cycle.objects.select_for_update().get(pk=cycle.pk)
    refuse(why_not_close(Access.for_person(by)))
    if cycle.is_closed:
        raise ValidationError(_("The cycle %(cycle)s is already closed.") % {"cycle": cycle})
    at = at or timezone.now()
    tree = stored.cycle_tree(cycle, at=at)
    typed = _stripped(reflections)
    _check_reflections(cycle, tree, typed)
    for objective in tree.objectives:
        if typed.get(objective.key):
            objective.reflection = typed[objective.key]
        objective.grade = tree.objective_result(objective).score
    key_results = []
    for objective in tree.objectives:
        for kr in tree.key_results_of(objective):
            kr.grade = tree.key_result_result(kr).score
            key_results.append(kr)
    Objective.objects.bulk_update(tree.objectives, ["grade", "reflection"], batch_size=500)
    KeyResult.objects.bulk_update(key_results, ["grade"], batch_size=500)
    cycle.state = CycleState.CLOSED
    cycle.closed_at = timezone.now()
    cycle.closed_by = by
    cycle._history_user = by  # type: ignore[attr-defined]
    cycle.save()
    # The stored scores freeze with the grades: those of the moment of closing.
    stored.store_tree(tree)
    _announce_cycle_state(cycle, closed=True, by=by)
    return cycle


def _announce_cycle_state(cycle: Cycle, *, closed: bool, by: Person) -> None:
    # Notifications (issue 19): owners in the cycle, their leads and team webhooks.
    from headway.notify import events as notify_events

    notify_events.after_cycle_state(cycle, closed=closed, by=by)


@transaction.atomic
def write_reflections(*, by: Person, cycle: Cycle, reflections: Mapping[str, str]) -> int:
    """Save the review's reflections (objective key → text); returns how many changed.

    Each objective named must be one the person may edit (leads, its owner); naming none
    is refused when the person may edit no objective of the cycle at all.
    """
    access = Access.for_person(by)
    objectives = {
        o.key: o
        for o in Objective.objects.select_for_update(of=("self",)).filter(
            cycle=cycle, key__in=list(reflections)
        )
    }
    if not reflections:
        refuse(why_not_write_reflections(access, Objective.objects.filter(cycle=cycle)))
    for key in reflections:
        if key not in objectives:
            raise ValidationError(
                _("No objective %(key)s in %(cycle)s.") % {"key": repr(key), "cycle": cycle}
            )
        refuse(why_not_edit_objective(access, objectives[key]))
    cycle.refuse_if_closed()
    changed = 0
    for key, text in reflections.items():
        objective = objectives[key]
        if objective.reflection != text.strip():
            objective.reflection = text.strip()
            objective._history_user = by  # type: ignore[attr-defined]
            objective.save(update_fields=["reflection", "updated_at"])
            changed += 1
    return changed


@transaction.atomic
def reopen_cycle(*, cycle: Cycle, by: Person) -> Cycle:
    """Reopen a closed cycle (admins only); grades stay until the next close replaces them."""
    cycle = Cycle.objects.select_for_update().get(pk=cycle.pk)
    refuse(why_not_reopen(Access.for_person(by)))
    if not cycle.is_closed:
        raise ValidationError(_("The cycle %(cycle)s is not closed.") % {"cycle": cycle})
    cycle.state = CycleState.ACTIVE
    _check_active_spans(cycle)
    cycle.closed_at = None
    cycle.closed_by = None
    cycle._history_user = by  # type: ignore[attr-defined]
    cycle.save()
    stored.rescore_cycle(cycle)
    _announce_cycle_state(cycle, closed=False, by=by)
    return cycle


@transaction.atomic
def copy_objective_to_cycle(
    *,
    objective: Objective,
    cycle: Cycle,
    key_results: Iterable[KeyResult],
    by: Person,
    key: str | None = None,
    as_template: bool = False,
) -> Objective:
    """Carry an unfinished objective into another cycle with the key results picked, or
    duplicate it as a template (into any open cycle, its own included).

    Carried, increase/decrease key results start from their last value; as a template they
    keep the original start. Milestones start not done. The copy links back to the original
    (`copied_from`, `copy_kind`) and keeps its parent only when that parent's cycle spans
    the new cycle. An objective is carried into a cycle once.
    """
    objective = Objective.objects.select_related("cycle", "parent__cycle").get(pk=objective.pk)
    refuse(why_not_carry_over(Access.for_person(by), objective))
    cycle.refuse_if_closed()
    if cycle.pk == objective.cycle_id and not as_template:
        raise ValidationError({"cycle": _("Pick another cycle than the objective's own.")})
    if not as_template:
        graded = objective.grade if objective.grade is not None else objective.score
        if graded >= 1.0:
            raise ValidationError(
                {"objective": f"“{objective.title}” is achieved: duplicate it as a template."}
            )
        if Objective.objects.filter(
            copied_from=objective, cycle=cycle, copy_kind=CopyKind.CARRIED
        ).exists():
            raise ValidationError(
                {"objective": f"“{objective.title}” is already carried into {cycle}."}
            )
    picked = list(key_results)
    if not picked:
        raise ValidationError({"key_results": _("Pick at least one key result to take along.")})
    foreign = [kr for kr in picked if kr.objective_id != objective.pk]
    if foreign:
        raise ValidationError({"key_results": _("Pick key results of this objective only.")})
    if key is not None and Objective.objects.filter(key=key).exists():
        raise ValidationError({"key": _("The key %(key)s is taken.") % {"key": repr(key)}})
    parent = objective.parent
    if parent is not None and not (parent.cycle_id == cycle.pk or parent.cycle.contains(cycle)):
        parent = None
    suffix = "copy" if cycle.pk == objective.cycle_id else cycle.key
    copy = Objective(
        key=key or free_key(Objective, f"{objective.key}-{suffix}"),
        cycle=cycle,
        team=objective.team,
        owner=objective.owner,
        title=objective.title,
        description=objective.description,
        type=objective.type,
        visibility=objective.visibility,
        parent=parent,
        language=objective.language,
        copied_from=objective,
        copy_kind=CopyKind.TEMPLATE if as_template else CopyKind.CARRIED,
    )
    save_checked(copy, by=by)
    for position, kr in enumerate(sorted(picked, key=lambda k: (k.position, k.pk))):
        numeric = kr.kind in {KeyResultKind.INCREASE, KeyResultKind.DECREASE}
        carry_value = numeric and not as_template and kr.current is not None
        new = KeyResult(
            objective=copy,
            key=kr.key,
            title=kr.title,
            kind=kr.kind,
            owner=kr.owner,
            unit=kr.unit,
            start=kr.current if carry_value else kr.start,
            target=kr.target,
            weight=kr.weight,
            position=position,
            kpi=kr.kpi,
            current=kr.current if kr.kpi_id else None,
        )
        new._history_user = by  # type: ignore[attr-defined]
        new.save()
        new.counter_kpis.set(kr.counter_kpis.all())
    stored.rescore([copy.pk])
    return copy


@transaction.atomic
def carry_objectives(
    *, cycle: Cycle, picks: Iterable[tuple[Objective, Iterable[KeyResult]]], by: Person
) -> list[Objective]:
    """Carry several unfinished objectives into `cycle` at once (the cycle review's bulk
    carry-over): all or nothing; every refusal is named, by objective."""
    copies: list[Objective] = []
    problems: list[str] = []
    for objective, key_results in picks:
        try:
            with transaction.atomic():
                copies.append(
                    copy_objective_to_cycle(
                        objective=objective, cycle=cycle, key_results=key_results, by=by
                    )
                )
        except ValidationError as exc:
            problems.extend(f"{objective.title}: {m}" for m in exc.messages)
    if not copies and not problems:
        raise ValidationError(_("Pick the objectives to carry over."))
    if problems:
        raise ValidationError(problems)
    return copies
