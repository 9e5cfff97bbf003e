"""KPI workflows shared by pages, API and CLI: ingest measurements, refresh state, promote."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any, NamedTuple

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from headway.database import update_by_pk
from headway.keys import free_key
from headway.kpis import bulk, incremental, selection
from headway.kpis import health as core
from headway.kpis.models import Kpi, KpiReview, Measurement
from headway.kpis.queries import achieved_while_healthy
from headway.moments import FUTURE_TOLERANCE, to_utc
from headway.okrs import stored
from headway.okrs.models import CheckIn, CycleState, KeyResult, KeyResultKind, Objective
from headway.teams.access import Access, refuse
from headway.teams.models import Person, Team
from headway.teams.refs import TeamRef
from headway.versions import Seen, check_version
from headway.writes import real_changes, refuse_unknown, retry_on_conflict, save_checked

# Who may do what to KPIs, with the reason when not (PRODUCT.md section 6): the actions
# refuse with these, the pages ask them whether to offer a form. None means allowed.


def why_not_add_kpi(access: Access, teams: Iterable[Team | TeamRef]) -> str | None:
    """Members add their team's KPIs; `teams` are the candidates (any one will do)."""
    teams = list(teams)
    if any(access.can_create_in(team.pk) for team in teams):
        return None
    if len(teams) == 1:
        return _("Only members of %(team)s may add its KPIs.") % {"team": teams[0]}
    return _("Only members of a team may add its KPIs.")


def why_not_edit_kpi(access: Access, kpi: Kpi) -> str | None:
    if access.can_edit_kpi(kpi):
        return None
    return _("Only leads of the team and the owner may edit this KPI.")


def why_not_move_kpi(access: Access, team: Team) -> str | None:
    if access.at_least(team.pk, "lead"):
        return None
    return _("Only leads of %(team)s may move a KPI there.") % {"team": team}


def why_not_promote(access: Access, team_ids: Iterable[int]) -> str | None:
    """Leads and admins of the objective's team; `team_ids` are the candidates' teams."""
    if any(access.can_steer(team_id) for team_id in team_ids):
        return None
    return _("Only leads and admins of the objective's team may promote a KPI.")


def why_not_return_to_monitoring(access: Access, key_result: KeyResult) -> str | None:
    """Handing a KPI back to monitoring steers the objective: its team's leads and admins."""
    if access.can_steer(key_result.objective.team_id):
        return None
    return _("Only leads and admins of the objective's team may send a KPI back to monitoring.")


def why_not_push(access: Access, kpi: Kpi) -> str | None:
    if kpi.retired_at is not None:
        return f"{_retired_refusal(kpi)}."
    if access.can_push_measurements(kpi):
        return None
    return _("Only members of the team and the owner may push measurements of this KPI.")


# Larger magnitudes are almost surely unit or parsing mistakes, and lose integer precision.
MAX_ABS_VALUE = 1e15


class MeasurementRow(NamedTuple):
    """One row of a push as received: raw strings or numbers, validated by `ingest`.

    `line` is what error messages call the row (a CSV line number, an array index + 1).
    """

    kpi: str
    at: Any
    value: Any
    note: str = ""
    line: int = 0


@dataclass
class IngestResult:
    """What a push changed: rows created, replaced (old value kept) and left as they were."""

    created: int = 0
    replaced: int = 0
    unchanged: int = 0
    kpis: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "replaced": self.replaced,
            "unchanged": self.unchanged,
            "kpis": self.kpis,
        }


class IngestError(ValidationError):
    """A push with bad rows; `rows` lists (line, message) for every bad row, nothing written."""

    def __init__(self, rows: list[tuple[int, str]]) -> None:
        self.rows = rows
        super().__init__([f"row {line}: {message}" for line, message in rows])


def parse_moment(raw: Any) -> datetime:
    """A UTC moment from a datetime, a date (its 00:00 UTC) or an ISO 8601 string.

    A naive date-time is read as UTC. Raises ValueError with a readable message, also for
    a year outside 1900-2999.
    """
    if isinstance(raw, datetime):
        moment = raw
    elif isinstance(raw, date):
        moment = datetime.combine(raw, time(), tzinfo=UTC)
    elif isinstance(raw, str) and raw.strip():
        text = raw.strip()
        parsed = parse_datetime(text.replace(" ", "T", 1) if len(text) > 10 else text)
        if parsed is None:
            day = parse_date(text)
            if day is None:
                raise ValueError(f"{raw!r} is not an ISO 8601 date or date-time")
            parsed = datetime.combine(day, time())
        moment = parsed
    else:
        raise ValueError("a date or date-time is required")
    return to_utc(moment)


def parse_value(raw: Any) -> float:
    """A finite number within ±1e15 from a number or a numeric string (no NaN, no infinity)."""
    if isinstance(raw, bool) or raw is None:
        raise ValueError("a number is required")
    if isinstance(raw, str):
        text = raw.strip()
        if not text:
            raise ValueError("a number is required")
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"{raw!r} is not a number") from None
    elif isinstance(raw, int | float):
        number = float(raw)
    else:
        raise ValueError(f"{raw!r} is not a number")
    if not math.isfinite(number):
        raise ValueError(f"{raw!r} is not a finite number")
    if abs(number) > MAX_ABS_VALUE:
        raise ValueError(f"{raw!r} is out of range (at most ±1e15)")
    return number


@retry_on_conflict
@transaction.atomic
def ingest_measurements(
    *,
    rows: Iterable[MeasurementRow],
    by: Person | None,
    source: str = "",
    now: datetime | None = None,
) -> IngestResult:
    """Validate and store a batch of measurements: all rows or none, idempotent per moment.

    Pushing a (KPI, moment) again replaces the value and keeps the old one as a revision;
    pushing the same value again changes nothing. Every bad row is reported at once with
    its line. `by=None` is the system (the CLI run by an operator, the demo).
    Writes are set-based (bulk inserts and updates), never a save per row.
    """
    now = now or timezone.now()
    rows = list(rows)
    problems: list[tuple[int, str]] = []
    if not rows:
        raise IngestError([(0, "the batch is empty")])
    keys = {row.kpi.strip() for row in rows if isinstance(row.kpi, str)}
    kpis = {k.key: k for k in Kpi.objects.filter(key__in=keys).select_related("replaced_by")}
    access = Access.for_person(by) if by is not None else None
    forbidden: set[str] = set()
    if access is not None:
        forbidden = {key for key, kpi in kpis.items() if not access.can_push_measurements(kpi)}

    # A push repeats few moments (a day for each KPI): each distinct one is read once.
    moments: dict[str, datetime | str] = {}
    limit = now + FUTURE_TOLERANCE
    # What each key given is: its KPI's id, or what is wrong with it.
    targets: dict[str, int | str] = {"": "the KPI key is missing"}
    clean: dict[tuple[int, datetime], tuple[float, str, int]] = {}
    for index, row in enumerate(rows, start=1):
        line = row.line or index
        key = row.kpi.strip() if isinstance(row.kpi, str) else ""
        target = targets.get(key)
        if target is None:
            kpi = kpis.get(key)
            if kpi is None:
                target = f"no KPI with key {key!r}"
            elif key in forbidden:
                target = f"you may not push measurements to {key!r}"
            elif kpi.retired_at is not None:
                target = _retired_refusal(kpi)
            else:
                target = kpi.pk
            targets[key] = target
        raw = row.at
        moment = moments.get(raw) if isinstance(raw, str) else None
        if moment is None:
            try:
                parsed = parse_moment(raw)
                moment = f"{parsed.isoformat()} is in the future" if parsed > limit else parsed
            except ValueError as exc:
                moment = f"at: {exc}"
            if isinstance(raw, str):
                moments[raw] = moment
        raw_value = row.value
        value: float | str
        if type(raw_value) is float and -MAX_ABS_VALUE <= raw_value <= MAX_ABS_VALUE:
            value = raw_value  # finite: NaN and infinities fail the comparison
        else:
            try:
                value = parse_value(raw_value)
            except ValueError as exc:
                value = f"value: {exc}"
        if type(target) is str or type(moment) is str or type(value) is str:
            errors = [x for x in (target, moment, value) if type(x) is str]
            problems.append((line, "; ".join(errors)))
            continue
        slot = (target, moment)
        if slot in clean:
            problems.append((line, f"same KPI and moment as row {clean[slot][2]}"))
            continue
        note = row.note if isinstance(row.note, str) else ""
        clean[slot] = (value, note.strip() if note else note, line)  # type: ignore[index,assignment]
    if problems:
        raise IngestError(problems)

    result = IngestResult()
    touched = {kpi_id for (kpi_id, _m) in clean}
    # Lock the KPIs (in id order: first in the global lock order) before reading what is
    # stored, so that identical pushes at once run one after the other and the later ones
    # find the row and answer "unchanged" instead of colliding on the unique (KPI, moment).
    list(Kpi.objects.select_for_update().filter(pk__in=touched).order_by("pk").values("pk"))
    staged = [
        (kpi_id, moment, value, note) for (kpi_id, moment), (value, note, _l) in clean.items()
    ]
    written = bulk.store(staged, source=source, by_id=by.pk if by is not None else None, now=now)
    result.created, result.replaced = written.created, written.replaced
    result.unchanged = len(written.unchanged)
    if result.created or result.replaced:
        changed: dict[int, list[tuple[datetime, float]]] = defaultdict(list)
        unchanged = written.unchanged
        for index, (kpi_id, moment, value, _note) in enumerate(staged):
            if index not in unchanged:
                changed[kpi_id].append((moment, value))
        refresh_kpis(kpi_ids=touched, at=now, by=by, changed=changed)
        # Notifications (issue 8): guard rails the push moved.
        from headway.notify import events as notify_events

        notify_events.after_measurements(kpi_ids=touched, by=by, at=now)
    id_to_key = {kpi.pk: key for key, kpi in kpis.items()}
    result.kpis = sorted(id_to_key[i] for i in touched)
    return result


def _evaluate_fully(
    kpis: list[Kpi], at: datetime
) -> dict[int, tuple[incremental.Evaluation | core.KpiEvaluation, incremental.State]]:
    """Evaluate `kpis` from their whole histories (one query), with the state that leaves."""
    if not kpis:
        return {}
    points: dict[int, list[core.Point]] = defaultdict(list)
    for kpi_id, when, value in (
        Measurement.objects.filter(kpi__in=kpis)
        .order_by()
        .values_list("kpi_id", "at", "value")
        .iterator(chunk_size=20000)
    ):
        points[kpi_id].append(core.Point(at=when, value=value))
    return {kpi.pk: incremental.from_points(kpi.core(), points.get(kpi.pk, []), at) for kpi in kpis}


def refresh_kpis(
    *,
    kpi_ids: Iterable[int],
    at: datetime | None = None,
    by: Person | None = None,
    changed: dict[int, list[tuple[datetime, float]]] | None = None,
    histories: Mapping[int, Sequence[core.Point]] | None = None,
) -> list[Kpi]:
    """Re-evaluate KPIs, store their state, and feed the value to linked key results.

    With `changed` (the measurements just stored or replaced, by KPI: what ingest_measurements
    passes) a KPI's stored evaluation state is advanced by those points only
    (kpis.incremental), at the cost of the new points, not of the history; a KPI whose state
    cannot answer (none yet, thresholds changed, a back-fill of old periods) and every KPI
    when `changed` is None is evaluated from its whole history, in one query. The KPI rows
    and the current value of linked key results in cycles not closed are then updated in
    bulk and their objectives rescored. `by` is who caused it (announcements skip telling
    them what they did). `histories` gives the whole stored history of some KPIs (an
    import that has just written them from its document): those evaluated in full are
    evaluated from it instead of reading it back.
    """
    at = at or timezone.now()
    kpis = list(Kpi.objects.filter(pk__in=list(kpi_ids)))
    # Notifications (issue 8): the stored state before this evaluation, to announce changes.
    from headway.notify import events as notify_events

    notify_old = {kpi.pk: notify_events.kpi_state(kpi) for kpi in kpis}
    evaluated: dict[int, tuple[incremental.Evaluation | core.KpiEvaluation, incremental.State]]
    evaluated = {}
    full: list[Kpi] = []
    for kpi in kpis:
        state = incremental.State.from_json(kpi.evaluation_state) if changed is not None else None
        card = kpi.core()
        advanced = None
        if state is not None and changed is not None:
            advanced = incremental.advance(card, state, changed.get(kpi.pk, []), at)
        if advanced is None:
            full.append(kpi)
        else:
            evaluated[kpi.pk] = (incremental.evaluation(card, advanced, at), advanced)
    given = histories or {}
    for kpi in full:
        if kpi.pk in given:
            evaluated[kpi.pk] = incremental.from_points(kpi.core(), given[kpi.pk], at)
    evaluated.update(_evaluate_fully([kpi for kpi in full if kpi.pk not in given], at))
    for kpi in kpis:
        evaluation, state = evaluated[kpi.pk]
        kpi.health = evaluation.health
        kpi.trend = evaluation.trend
        kpi.wrong_way_streak = evaluation.wrong_way_streak
        kpi.healthy_streak = evaluation.healthy_streak
        latest = evaluation.latest
        kpi.latest_value = latest.value if latest else None
        kpi.latest_at = latest.at if latest else None
        kpi.evaluated_at = at
        kpi.evaluation_state = state.as_json()
    _write_evaluated(kpis)
    linked = list(
        KeyResult.objects.filter(kpi__in=kpis)
        .exclude(objective__cycle__state=CycleState.CLOSED)
        .only("id", "kpi_id", "current", "objective_id")
    )
    latest_by_kpi = {kpi.pk: kpi.latest_value for kpi in kpis}
    # Objectives before their key results (the global lock order, stored.lock_objectives).
    stored.lock_objectives({kr.objective_id for kr in linked})
    moved = [kr for kr in linked if kr.current != latest_by_kpi[kr.kpi_id]]  # type: ignore[index]
    for kr in moved:
        kr.current = latest_by_kpi[kr.kpi_id]  # type: ignore[index]
    update_by_pk(KeyResult, moved, ["current"])  # bulk_update's CASE costs ten times as much
    changes = stored.rescore({kr.objective_id for kr in linked}, at=at)
    # Notifications (issue 8): KPI health changes, promotion suggestions, key results moved.
    notify_events.after_kpi_refresh(notify_old, kpis, at)
    notify_events.after_rescore(changes, by=by)
    return kpis


EVALUATED_FIELDS = ("health", "trend", "wrong_way_streak", "healthy_streak", "latest_value",
                    "latest_at", "evaluated_at", "evaluation_state")  # fmt: skip


def _write_evaluated(kpis: list[Kpi]) -> None:
    """Store the evaluated fields of `kpis`: an UPDATE by primary key run over every row
    (SQLite), an UPDATE from a list of values per 500 KPIs (PostgreSQL).

    `bulk_update` builds a CASE per field over every row, which costs ten times as much.
    """
    if not kpis:
        return
    meta = Kpi._meta
    quote = connection.ops.quote_name
    ops = connection.ops
    sets = ", ".join(f"{quote(n)} = %s" for n in EVALUATED_FIELDS)  # columns named as fields
    moment = ops.adapt_datetimefield_value
    params = [
        (kpi.pk, kpi.health, kpi.trend, kpi.wrong_way_streak, kpi.healthy_streak,
         kpi.latest_value, moment(kpi.latest_at), moment(kpi.evaluated_at),
         json.dumps(kpi.evaluation_state, separators=(",", ":")))
        for kpi in kpis
    ]  # fmt: skip
    table, pk = quote(meta.db_table), quote(str(meta.pk.column))
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.executemany(
                f"UPDATE {table} SET {sets} WHERE {pk} = %s", [(*p[1:], p[0]) for p in params]
            )
            return
        # One statement per 500 KPIs: an UPDATE from a VALUES list, typed by the casts.
        casts = ("integer", "text", "text", "integer", "integer", "double precision",
                 "timestamptz", "timestamptz", "jsonb")  # fmt: skip
        names = ["id", *EVALUATED_FIELDS]
        assign = ", ".join(
            f"{quote(n)} = v.{n}::{c}" for n, c in zip(names[1:], casts[1:], strict=True)
        )
        for start in range(0, len(params), 500):
            chunk = params[start : start + 500]
            values = ", ".join(["(" + ", ".join(["%s"] * len(names)) + ")"] * len(chunk))
            cursor.execute(
                f"UPDATE {table} SET {assign} FROM (VALUES {values}) AS v({', '.join(names)}) "
                f"WHERE {table}.{pk} = v.id::integer",
                [value for row in chunk for value in row],
            )


# What create_kpi and update_kpi accept besides the team.
KPI_FIELDS = frozenset(
    {"name", "unit", "definition", "why", "how", "owner", "direction", "target", "warning",
     "critical", "target_schedule", "benchmark", "cadence", "tier"}
)  # fmt: skip
# A change to these re-evaluates the KPI's health (and what it feeds).
EVALUATED = frozenset({"direction", "target", "warning", "critical", "target_schedule", "cadence"})


@transaction.atomic
def create_kpi(*, by: Person, team: Team, name: str, key: str = "", **fields: Any) -> Kpi:
    """Add a KPI card to `team` (its members may); the key is made from the name when empty.

    Thresholds must be in order past the target (Kpi.clean). Raises ValidationError with
    field names.
    """
    refuse_unknown(fields, KPI_FIELDS)
    refuse(why_not_add_kpi(Access.for_person(by), [team]))
    name = name.strip()
    kpi = Kpi(team=team, name=name, key=key or free_key(Kpi, name or "kpi"), **fields)
    save_checked(kpi, by=by)
    return kpi


@transaction.atomic
def update_kpi(*, by: Person, kpi: Kpi, version: Seen = None, **changes: Any) -> Kpi:
    """Change a KPI card (leads of the team and its owner); `team` moves it to another team.

    A real change bumps the version; giving the values it already has changes nothing. A new
    direction, threshold or cadence re-evaluates its health at once.
    """
    refuse_unknown(changes, KPI_FIELDS | {"team"})
    kpi = Kpi.objects.select_for_update(of=("self",)).select_related("team").get(pk=kpi.pk)
    access = Access.for_person(by)
    refuse(why_not_edit_kpi(access, kpi))
    check_version(kpi.version, version)
    if "name" in changes:
        changes["name"] = str(changes["name"]).strip()
    moved = real_changes(kpi, changes)
    if not moved:
        return kpi
    if "team" in moved:
        refuse(why_not_move_kpi(access, moved["team"]))
    for name, value in moved.items():
        setattr(kpi, name, value)
    kpi.version += 1
    save_checked(kpi, by=by)
    if EVALUATED & set(moved):
        refresh_kpis(kpi_ids=[kpi.pk], by=by)
        kpi.refresh_from_db()
    return kpi


def _number(value: float) -> str:
    return f"{value:g}"


@transaction.atomic
@dataclass(frozen=True)
class PromotionPreview:
    """What promoting would do to the objective's score (the new key result starts at 0)."""

    objective: Objective
    score_before: float
    score_after: float
    key_result_score: float
    title: str


class _DryRun(Exception):
    def __init__(self, preview: PromotionPreview) -> None:
        self.preview = preview


def preview_promotion(
    *,
    kpi: Kpi,
    objective: Objective,
    by: Person,
    target: float | None = None,
    title: str | None = None,
) -> PromotionPreview:
    """Promote in a savepoint, read the scores, roll back: the preview is the real thing.

    Refuses exactly as `promote_kpi` would (rights, cycle, start, target, duplicates) and
    changes nothing, not even a notification.
    """
    before = Objective.objects.values_list("score", flat=True).get(pk=objective.pk)
    try:
        with transaction.atomic():
            key_result = promote_kpi(
                kpi=kpi, objective=objective, by=by, target=target, title=title
            )
            after = Objective.objects.values_list("score", flat=True).get(pk=objective.pk)
            raise _DryRun(
                PromotionPreview(
                    objective=key_result.objective,
                    score_before=before,
                    score_after=after,
                    key_result_score=KeyResult.objects.values_list("score", flat=True).get(
                        pk=key_result.pk
                    ),
                    title=key_result.title,
                )
            )
    except _DryRun as dry:
        return dry.preview


@transaction.atomic
def promote_kpi(
    *,
    kpi: Kpi,
    objective: Objective,
    by: Person,
    target: float | None = None,
    title: str | None = None,
) -> KeyResult:
    """Make a KPI a key result of an objective of the active cycle, linked to the KPI.

    Start is the KPI's latest value, target the KPI's target unless given; the kind is
    `increase` for an `up` KPI and `decrease` for a `down` one.
    """
    kpi = Kpi.objects.select_for_update().get(pk=kpi.pk)
    objective = Objective.objects.select_related("cycle", "team").get(pk=objective.pk)
    access = Access.for_person(by)
    refuse(why_not_promote(access, [objective.team_id]))
    if not access.can_see_objective(objective):
        # A private objective the person may not see is not there for them.
        raise ValidationError(
            {"objective": _("No objective %(key)s.") % {"key": repr(objective.key)}}
        )
    errors: dict[str, str] = {}
    if objective.cycle.state != CycleState.ACTIVE:
        errors["objective"] = f"“{objective}” is not in the active cycle."
    if kpi.latest_value is None:
        errors["kpi"] = f"“{kpi}” has no measurement yet: there is no start value."
    if target is None:
        # The target in force at the cycle's end (targets may change by period).
        target = kpi.thresholds_on(objective.cycle.end)[0]
    if target is None:
        errors["target"] = f"“{kpi}” has no target: give one."
    elif not math.isfinite(target):
        errors["target"] = _("Enter a finite number.")
    if KeyResult.objects.filter(objective=objective, kpi=kpi).exists():
        errors["kpi"] = f"“{objective}” already has a key result linked to “{kpi}”."
    if errors:
        raise ValidationError(errors)
    assert target is not None
    assert kpi.latest_value is not None
    start = kpi.latest_value
    kind = KeyResultKind.INCREASE if kpi.direction == "up" else KeyResultKind.DECREASE
    verb = "Raise" if kind == KeyResultKind.INCREASE else "Bring"
    unit = f" {kpi.unit}" if kpi.unit else ""
    key_result = KeyResult(
        objective=objective,
        key=free_key(KeyResult, kpi.key, objective=objective),
        title=(title or "").strip()
        or f"{verb} {kpi.name.lower()} from {_number(start)} to {_number(target)}{unit}",
        kind=kind,
        owner=kpi.owner or objective.owner,
        unit=kpi.unit,
        start=start,
        target=target,
        kpi=kpi,
        current=start,
        position=objective.key_results.count(),
    )
    key_result._history_user = by  # type: ignore[attr-defined]
    key_result._change_reason = f"Promoted from KPI {kpi.key}"  # type: ignore[attr-defined]
    key_result.full_clean()
    key_result.save()
    stored.rescore([objective.pk])
    return key_result


@transaction.atomic
def return_to_monitoring(*, by: Person, key_result: KeyResult, version: Seen = None) -> KeyResult:
    """Hand a promoted KPI back to monitoring once its key result did its job.

    Allowed when `kpis.health.may_return_to_monitoring` says so (the key result achieved
    on the KPI's value, the KPI healthy 3 periods running, in the active cycle). The key
    result keeps its history: its final value becomes a check-in, then the link to the
    KPI goes, so it no longer moves with the KPI; the KPI stays on the board. Announced as
    `back_to_monitoring` after commit.
    """
    key_result = (
        KeyResult.objects.select_for_update(of=("self",))
        .select_related("objective__cycle", "objective__team", "kpi")
        .get(pk=key_result.pk)
    )
    refuse(why_not_return_to_monitoring(Access.for_person(by), key_result))
    check_version(key_result.version, version)
    kpi = key_result.kpi
    if kpi is None:
        raise ValidationError(_("This key result is not fed by a KPI."))
    if not achieved_while_healthy([key_result]):
        raise ValidationError(
            _(
                "“%(key_result)s” cannot go back to monitoring yet: it must be achieved "
                "while %(kpi)s stays healthy %(periods)s review periods running."
            )
            % {"key_result": key_result, "kpi": kpi, "periods": core.MONITORING_STREAK}
        )
    now = timezone.now()
    last = key_result.checkins.order_by("-at", "-ordinal").first()
    CheckIn.objects.create(
        key_result=key_result,
        at=now,
        ordinal=(last.ordinal + 1) if last is not None and last.at == now else 0,
        value=key_result.current,
        confidence=last.confidence if last is not None else None,
        comment=f"Back to monitoring: {kpi} stayed healthy; final value kept from the KPI.",
        author=by,
    )
    key_result.kpi = None
    key_result.version += 1
    key_result._change_reason = f"Back to monitoring: KPI {kpi.key}"  # type: ignore[attr-defined]
    save_checked(key_result, by=by)
    stored.rescore([key_result.objective_id])
    from headway.notify import events as notify_events

    notify_events.after_back_to_monitoring(key_result, kpi, by=by)
    return key_result


# --------------------------------------------------------------------------- selection review

#: What a retarget may change (the target and the thresholds past it).
RETARGET_FIELDS = ("target", "warning", "critical")


def why_not_review_kpi(access: Access, kpi: Kpi) -> str | None:
    """The selection review is the KPI's owner's (and its team's leads'), like its card."""
    if kpi.retired_at is not None:
        return f"{kpi.name} was retired on {kpi.retired_at:%Y-%m-%d}; it has no more reviews."
    if access.can_edit_kpi(kpi):
        return None
    return _("Only leads of the team and the owner may review this KPI.")


@dataclass
class ReviewResult:
    """What a selection review changed: the review row, and what else it touched."""

    review: KpiReview
    kpi: Kpi
    sources_paused: int = 0
    changed: dict[str, list[float | None]] = field(default_factory=dict)


def _retired_refusal(kpi: Kpi) -> str:
    successor = f" (replaced by {kpi.replaced_by.key!r})" if kpi.replaced_by else ""
    return (
        f"{kpi.key!r} was retired on {kpi.retired_at:%Y-%m-%d}{successor}; "
        "it takes no new measurements"
    )


@transaction.atomic
def review_kpi(
    *,
    by: Person,
    kpi: Kpi,
    decision: str,
    reason: str,
    version: Seen = None,
    replacement: Kpi | None = None,
    **changes: float | None,
) -> ReviewResult:
    """Is this still the right KPI? Confirm it, retarget it, retire it, or replace it.

    The reason is required and kept with the review (and in the card's history). A
    retarget changes at least one of target, warning and critical (validated like an
    edit: thresholds in order) and re-evaluates the KPI's health. Retiring keeps every
    measurement, pauses its data source and refuses new measurements; replacing retires
    it in favour of another KPI in use. Key results linked to it keep their link: their
    start and target are on this KPI's scale, so moving them is their owners' decision.
    Every decision clears the flag and starts the next interval (kpis.selection).
    """
    refuse_unknown(changes, frozenset(RETARGET_FIELDS))
    kpi = (
        Kpi.objects.select_for_update(of=("self",))
        .select_related("team", "replaced_by")
        .get(pk=kpi.pk)
    )
    refuse(why_not_review_kpi(Access.for_person(by), kpi))
    check_version(kpi.version, version)
    errors: dict[str, str] = {}
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = _("Say why: the reason is kept with the review.")
    if decision not in selection.DECISIONS:
        errors["decision"] = _("Choose one of: %(names)s.") % {
            "names": ", ".join(selection.DECISIONS)
        }
    moved = real_changes(kpi, changes) if decision == "retarget" else {}
    if decision == "retarget" and not moved:
        errors["target"] = _("A retarget changes the target or a threshold; none was changed.")
    if decision != "retarget" and changes:
        errors["decision"] = _("Only a retarget changes the target or the thresholds.")
    if decision == "replace":
        if replacement is None:
            errors["replacement"] = _("Name the KPI that replaces this one.")
        elif replacement.pk == kpi.pk:
            errors["replacement"] = _("A KPI cannot replace itself.")
        elif replacement.retired_at is not None:
            errors["replacement"] = f"{replacement.name} is retired itself."
    elif replacement is not None:
        errors["replacement"] = _("Only a replacement names another KPI.")
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    result = ReviewResult(
        review=KpiReview(
            kpi=kpi,
            by=by,
            at=now,
            decision=decision,
            reason=reason,
            flag=kpi.selection_flag,
            replacement=replacement,
            changes={name: [getattr(kpi, name), value] for name, value in moved.items()},
        ),
        kpi=kpi,
    )
    result.changed = result.review.changes
    for name, value in moved.items():
        setattr(kpi, name, value)
    if decision in ("retire", "replace"):
        kpi.retired_at = now
        kpi.replaced_by = replacement
        from headway.sources.models import Source

        result.sources_paused = Source.objects.filter(kpi=kpi, enabled=True).update(enabled=False)
    kpi.selection_reviewed_at = now
    kpi.selection_flag = ""
    kpi.selection_flagged_at = None
    kpi.version += 1
    kpi._change_reason = f"Review ({decision}): {reason}"  # type: ignore[attr-defined]
    save_checked(kpi, by=by)
    save_checked(result.review, by=by)
    if moved:
        refresh_kpis(kpi_ids=[kpi.pk], by=by)
        kpi.refresh_from_db()
    return result
