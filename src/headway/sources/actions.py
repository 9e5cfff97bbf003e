"""Data-source workflows: connections, a KPI's source, preview, fetch, and data incidents.

Every change goes through here, with its rights check (teams/access.py), its validation and
its messages. A fetch has two halves: `collect` runs the kind (network, the source's own
database) outside any Headway transaction; `store` then writes everything in one
transaction: the rows through `kpis.actions.ingest_measurements` (all or nothing,
idempotent per moment), or the failure, or the data incident, and the source's state.
Messages never carry a secret: each goes through `headway.secrets.redact`.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from headway import secrets
from headway.kpis.actions import (
    IngestError,
    IngestResult,
    MeasurementRow,
    ingest_measurements,
    parse_moment,
    parse_value,
)
from headway.kpis.models import Kpi, Measurement
from headway.moments import FUTURE_TOLERANCE
from headway.sources import guard, notices
from headway.sources import schedule as timing
from headway.sources.kinds import (
    KINDS,
    ConfigError,
    ConnectionInfo,
    FetchError,
    Limits,
    Row,
)
from headway.sources.kinds.web import header_lines
from headway.sources.models import (
    ENGINE_FIELDS,
    Connection,
    DataIncident,
    Engine,
    FetchOutcome,
    IncidentStatus,
    Source,
    SourceFetch,
    SourceState,
)
from headway.speech import spoken
from headway.teams.access import Access, refuse
from headway.teams.models import Person
from headway.versions import Seen, check_version
from headway.words import Number, Says, _, pack, separated

# Who may do what to data sources, with the reason when not: the actions refuse with these,
# the pages and the API ask them first. None means allowed.


def why_not_manage_connections(access: Access) -> str | None:
    """Connections hold secrets: organisation admins only."""
    return (
        None if access.can_manage_connections() else gettext("Only admins may manage connections.")
    )


def why_not_set_source(access: Access, kpi: Kpi, verb: str = "set") -> str | None:
    """Set, run or try a KPI's source: as for editing the KPI (its owner, the team's leads)."""
    if access.can_set_source(kpi):
        return None
    return gettext("Only the KPI's owner and the leads of its team may %(verb)s its source.") % {
        "verb": verb
    }


def why_not_decide_incident(access: Access, kpi: Kpi) -> str | None:
    if access.can_set_source(kpi):
        return None
    return gettext(
        "Only the KPI's owner and the leads of its team may decide on its data incidents."
    )


logger = logging.getLogger("headway.sources")

#: Past fetches the data guard compares a fetch's row count with.
GUARD_FETCHES = 5
MAX_ERROR = 1000


def limits() -> Limits:
    return Limits(
        timeout=float(settings.HEADWAY_SOURCE_TIMEOUT),
        max_rows=int(settings.HEADWAY_SOURCE_MAX_ROWS),
        max_bytes=int(settings.HEADWAY_SOURCE_MAX_BYTES),
    )


# --------------------------------------------------------------------------- connections

NAME = re.compile(r"^[A-Za-z0-9_-]+$")
CONNECTION_FIELDS = frozenset(
    {"engine", "description", "host", "port", "database", "user", "base_url"}
)


def _clean_connection(values: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    engine = values.get("engine")
    if engine not in Engine.values:
        errors["engine"] = gettext("Choose one of %(names)s.") % {"names": ", ".join(Engine.values)}
        raise ValidationError(errors)
    used = ENGINE_FIELDS[engine]
    cleaned: dict[str, Any] = {
        "engine": engine,
        "description": str(values.get("description") or "").strip(),
    }
    for name in ("host", "database", "user", "base_url"):
        raw = values.get(name) or ""
        if not isinstance(raw, str):
            errors[name] = gettext("Enter text.")
            continue
        cleaned[name] = raw.strip() if name in used else ""
    port = values.get("port")
    if port in (None, "") or "port" not in used:
        cleaned["port"] = None
    else:
        try:
            cleaned["port"] = int(port)
            if not 1 <= cleaned["port"] <= 65535:
                raise ValueError
        except (TypeError, ValueError):
            errors["port"] = gettext("Enter a port between 1 and 65535.")
    if engine in (Engine.POSTGRESQL, Engine.MYSQL) and not cleaned.get("host"):
        errors["host"] = gettext("Enter the database server's host name.")
    if engine != Engine.HTTP and not cleaned.get("database"):
        errors["database"] = (
            gettext("Enter the path of the SQLite file.")
            if engine == Engine.SQLITE
            else gettext("Enter the database name.")
        )
    if engine == Engine.HTTP:
        from headway.sources.kinds.web import check_url

        url = cleaned.get("base_url", "")
        problem = (
            gettext("Enter the base URL (https://…).")
            if not url
            else spoken(check_url(url, relative_ok=False) or "")
        )
        if problem:
            errors["base_url"] = (
                problem[0].upper() + problem[1:] if problem[0].islower() else problem
            )
    if errors:
        raise ValidationError(errors)
    return cleaned


def _apply_secret(
    connection: Connection, password: str | None, headers: str | Mapping[str, str] | None
) -> None:
    """Replace the secret when a new one is given; None keeps the stored one."""
    if password is None and headers is None:
        return
    if connection.engine == Engine.HTTP:
        parsed, problem = header_lines(headers or "")
        if problem:
            raise ValidationError({"headers": spoken(problem)})
        connection.set_secret(headers=parsed)
    else:
        connection.set_secret(password=password or "")


@transaction.atomic
def create_connection(
    *,
    by: Person,
    name: str,
    password: str | None = None,
    headers: str | Mapping[str, str] | None = None,
    **values: Any,
) -> Connection:
    """Define a connection (admins). The secret is encrypted and never shown again."""
    refuse(why_not_manage_connections(Access.for_person(by)))
    unknown = set(values) - CONNECTION_FIELDS
    if unknown:
        raise TypeError(f"unknown fields: {', '.join(sorted(unknown))}")
    name = (name or "").strip()
    if not name or not NAME.match(name) or len(name) > 100:
        raise ValidationError({"name": gettext("Use letters, digits, - and _ (at most 100).")})
    if Connection.objects.filter(name=name).exists():
        raise ValidationError(
            {"name": gettext("A connection named %(name)s exists already.") % {"name": repr(name)}}
        )
    connection = Connection(name=name, created_by=by, **_clean_connection(values))
    _apply_secret(connection, password, headers)
    connection.full_clean()
    connection.save()
    return connection


@transaction.atomic
def update_connection(
    *,
    by: Person,
    connection: Connection,
    password: str | None = None,
    headers: str | Mapping[str, str] | None = None,
    **changes: Any,
) -> Connection:
    """Change a connection (admins); a password or headers given replace the stored secret.

    The engine cannot change while sources use the connection (their queries would break).
    """
    refuse(why_not_manage_connections(Access.for_person(by)))
    unknown = set(changes) - CONNECTION_FIELDS
    if unknown:
        raise TypeError(f"unknown fields: {', '.join(sorted(unknown))}")
    connection = Connection.objects.select_for_update().get(pk=connection.pk)
    values = {name: getattr(connection, name) for name in CONNECTION_FIELDS}
    values.update(changes)
    cleaned = _clean_connection(values)
    if cleaned["engine"] != connection.engine and connection.sources.exists():
        raise ValidationError(
            {"engine": gettext("Sources use this connection: its engine cannot change.")}
        )
    engine_changed = cleaned["engine"] != connection.engine
    for name, value in cleaned.items():
        setattr(connection, name, value)
    if engine_changed and password is None and headers is None:
        connection.set_secret()
    _apply_secret(connection, password, headers)
    connection.full_clean()
    connection.save()
    return connection


@transaction.atomic
def delete_connection(*, by: Person, connection: Connection) -> None:
    refuse(why_not_manage_connections(Access.for_person(by)))
    used = list(connection.sources.values_list("kpi__key", flat=True)[:5])
    if used:
        raise ValidationError(
            {
                "name": gettext("Sources use %(name)s (%(names)s): change them first.")
                % {"name": repr(connection.name), "names": ", ".join(used)}
            }
        )
    connection.delete()


# --------------------------------------------------------------------------- a KPI's source


@dataclass
class SourceSpec:
    """A source as given (a form, the API, a YAML file), checked by `check_spec`."""

    kind: str
    config: dict[str, Any]
    connection: str = ""
    schedule: str = ""
    enabled: bool = True


def check_spec(spec: SourceSpec) -> tuple[dict[str, Any], Connection | None]:
    """The cleaned config and the connection of a spec; ValidationError with field names."""
    errors: dict[str, str] = {}
    kind = KINDS.get(spec.kind)
    if kind is None:
        raise ValidationError(
            {"kind": gettext("Choose one of %(names)s.") % {"names": ", ".join(KINDS)}}
        )
    config: dict[str, Any] = {}
    try:
        config = kind.clean(spec.config or {})
    except ConfigError as error:
        # The kind's messages are `Says`: said here in the reader's language.
        errors.update({name: spoken(message) for name, message in error.errors.items()})
    connection = None
    name = (spec.connection or "").strip()
    if name:
        connection = Connection.objects.filter(name=name).first()
        if connection is None:
            errors["connection"] = gettext(
                "No connection named %(name)s; an admin defines connections."
            ) % {"name": repr(name)}
        elif connection.engine not in kind.engines:
            errors["connection"] = gettext(
                "%(name)s is a %(engine)s connection; a %(kind)s source needs %(engines)s."
            ) % {
                "name": repr(name),
                "engine": connection.get_engine_display(),
                "kind": kind.id,
                "engines": spoken(_either(sorted(kind.engines))),
            }
    elif kind.connection == "required":
        errors["connection"] = gettext("A %(id)s source needs a connection.") % {"id": kind.id}
    elif "url" not in errors and (raw := (spec.config or {}).get("url")) and "://" not in str(raw):
        errors["url"] = gettext("Without a connection, give a full http:// or https:// URL.")
    if connection is not None and connection.engine in (
        Engine.POSTGRESQL,
        Engine.MYSQL,
        Engine.SQLITE,
    ):
        for problem in kind.lint(config, connection.engine):
            errors.setdefault("query", _capital(spoken(problem)))
    if wrong := timing.schedule_problem(spec.schedule or ""):
        errors["schedule"] = _capital(spoken(wrong))
    if errors:
        raise ValidationError(errors)
    return config, connection


def _capital(text: str) -> str:
    return text[0].upper() + text[1:] if text else text


def _either(names: list[str]) -> str:
    """ "a or b or c": the alternatives, the "or" said in the reader's language."""
    listed: str = names[0] if names else ""
    for name in names[1:]:
        listed = _("%(either)s or %(other)s", either=listed, other=name)
    return listed


@transaction.atomic
def set_source(*, by: Person | None, kpi: Kpi, spec: SourceSpec, version: Seen = None) -> Source:
    """Give a KPI a source or change it (its owner and the leads of its team).

    A new or changed source is due at once, so the owner sees the first values soon; a
    failure state is reset, since the old error was about the old configuration.
    `version` is the source version the person saw: a newer one refuses the change.
    """
    if by is not None:
        refuse(why_not_set_source(Access.for_person(by), kpi, "set"))
    source = Source.objects.select_for_update().filter(kpi=kpi).first()
    if source is not None:
        check_version(source.version, version)
    config, connection = check_spec(spec)
    now = timezone.now()
    if source is None:
        source = Source(kpi=kpi)
    changed = (
        source.pk is None
        or source.kind != spec.kind
        or source.config != config
        or source.connection_id != (connection.pk if connection else None)
        or source.schedule != spec.schedule.strip()
        or source.enabled != spec.enabled
    )
    if not changed:
        return source
    source.kind, source.config, source.connection = spec.kind, config, connection
    source.schedule, source.enabled, source.updated_by = spec.schedule.strip(), spec.enabled, by
    source.version = (source.version or 0) + 1 if source.pk else 1
    source.state = SourceState.NEW if source.state != SourceState.HELD else source.state
    source.attempts, source.last_error, source.failing_since = 0, "", None
    source.due_slot = source.next_attempt_at = now.replace(microsecond=0)
    source.claimed_by, source.lease_until = "", None
    source.save()
    return source


@transaction.atomic
def remove_source(*, by: Person | None, kpi: Kpi) -> bool:
    """Take a KPI's source away (its measurements stay)."""
    if by is not None:
        refuse(why_not_set_source(Access.for_person(by), kpi, "set"))
    deleted, _kinds = Source.objects.filter(kpi=kpi).delete()
    return bool(deleted)


# --------------------------------------------------------------------------- fetching


@dataclass
class Collected:
    """What the network half of a fetch gave: rows, or an error (already redacted).

    The error is a `Says` when Headway worded it (what a server said is a parameter), so
    the pages and the notification say it in the reader's language; its `str` is English.
    """

    rows: list[MeasurementRow] = field(default_factory=list)
    error: str = ""
    started_at: datetime = field(default_factory=timezone.now)


def _redacted(message: str, connection: ConnectionInfo | None) -> str:
    secret_values = connection.secrets if connection is not None else []
    if isinstance(message, Says):
        # Each text parameter is redacted; if that does not mask all the English text
        # would (a secret across a parameter's edge), the plain redacted text is kept.
        cleaned = _redacted_said(message, secret_values)
        english = secrets.redact(str(message), secret_values)
        if str(cleaned) == english:
            return fitted(cleaned)
        return english[:MAX_ERROR]
    return secrets.redact(message, secret_values)[:MAX_ERROR]


def _redacted_said(message: Says, secret_values: list[str]) -> Says:
    params: dict[str, Any] = {}
    for name, value in message.params.items():
        if isinstance(value, Says):
            params[name] = _redacted_said(value, secret_values)
        elif isinstance(value, Number):
            params[name] = value
        else:
            params[name] = secrets.redact(str(value), secret_values)
    return Says(message.template, message.plural, message.number, **params)


def fitted(error: str) -> str:
    """An error cut to MAX_ERROR characters; a `Says` that fits is kept as one."""
    return error if len(error) <= MAX_ERROR else str(error)[:MAX_ERROR]


def collect(
    kind_id: str,
    config: Mapping[str, Any],
    connection: Connection | None,
    *,
    kpi_key: str,
    slot: datetime,
) -> Collected:
    """Run the kind: raw rows as MeasurementRows (`at` defaulting to the slot), or an error.

    Touches no Headway table, so the worker runs it in threads; any exception becomes a
    readable, redacted error (a fetch never crashes the worker).
    """
    started = timezone.now()
    info: ConnectionInfo | None = None
    if connection is not None and connection.incomplete:
        return Collected(
            error=fitted(
                _(
                    "the connection %(name)s is not set up yet: an admin completes it on the "
                    "Connections page",
                    name=repr(connection.name),
                )
            ),
            started_at=started,
        )
    try:
        if connection is not None:
            info = connection.info()
        raw: list[Row] = KINDS[kind_id].fetch(config, info, limits())
    except FetchError as error:
        return Collected(error=_redacted(error.said, info), started_at=started)
    except secrets.SecretError as error:
        return Collected(error=str(error), started_at=started)
    except Exception as error:  # a driver's surprise must not stop the other sources
        logger.warning("Source of %s failed unexpectedly: %s", kpi_key, type(error).__name__)
        return Collected(
            error=_redacted(
                _(
                    "unexpected error: %(error)s",
                    error=f"{type(error).__name__}: {error}",  # the driver's words
                ),
                info,
            ),
            started_at=started,
        )
    if not raw:
        return Collected(error=_("the source returned no rows"), started_at=started)
    rows = [
        MeasurementRow(kpi=kpi_key, at=slot if r.at is None else r.at, value=r.value, line=i)
        for i, r in enumerate(raw, start=1)
    ]
    return Collected(rows=rows, started_at=started)


def check_rows(rows: list[MeasurementRow], now: datetime) -> tuple[list[guard.Point], str]:
    """The rows as points for the data guard, or the message naming the bad rows."""
    points: list[guard.Point] = []
    problems: list[str] = []
    seen: dict[datetime, int] = {}
    for row in rows:
        try:
            at = parse_moment(row.at)
        except ValueError as error:  # the ingestion's own words (headway.kpis)
            problems.append(
                _("row %(line)s: at: %(problem)s", line=str(row.line), problem=str(error))
            )
            continue
        if at > now + FUTURE_TOLERANCE:
            problems.append(
                _(
                    "row %(line)s: at: %(at)s is in the future",
                    line=str(row.line),
                    at=at.isoformat(),
                )
            )
            continue
        if at in seen:
            problems.append(
                _(
                    "rows %(first)s and %(second)s are both for %(at)s",
                    first=str(seen[at]),
                    second=str(row.line),
                    at=at.isoformat(),
                )
            )
            continue
        seen[at] = row.line
        try:
            points.append(guard.Point(at=at, value=parse_value(row.value)))
        except ValueError as error:
            problems.append(
                _("row %(line)s: value: %(problem)s", line=str(row.line), problem=str(error))
            )
    if problems:
        return [], fitted(_problems(problems))
    return points, ""


def _problems(problems: list[str]) -> str:
    """The first three problems, "; " between them, and how many more there are."""
    listed = separated(problems[:3], "; ")
    if len(problems) > 3:
        listed = _(
            "%(problems)s (and %(count)s more)", problems=listed, count=str(len(problems) - 3)
        )
    return listed


@dataclass
class FetchResult:
    outcome: str  # stored | failed | held | lost
    rows: int = 0
    created: int = 0
    replaced: int = 0
    unchanged: int = 0
    error: str = ""
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "rows": self.rows,
            "created": self.created,
            "replaced": self.replaced,
            "unchanged": self.unchanged,
            "error": self.error,
            "reasons": self.reasons,
        }


def _history(kpi: Kpi) -> list[guard.Point]:
    return [
        guard.Point(at=at, value=value)
        for at, value in Measurement.objects.filter(kpi=kpi)
        .order_by("at")
        .values_list("at", "value")
    ]


def _past_counts(source: Source) -> list[int]:
    return list(
        SourceFetch.objects.filter(source=source, outcome=FetchOutcome.STORED, manual=False)
        .order_by("-started_at")
        .values_list("rows", flat=True)[:GUARD_FETCHES]
    )


def store(
    source: Source,
    collected: Collected,
    *,
    slot: datetime,
    token: str = "",
    worker: str = "",
    manual: bool = False,
    now: datetime | None = None,
) -> FetchResult:
    """Write one fetch's outcome in one transaction (see the module doc).

    With a `token` (a worker's claim), nothing is written unless the row still carries it.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = (
            Source.objects.select_for_update(of=("self",)).select_related("kpi").get(pk=source.pk)
        )
        if token and locked.claimed_by != token:
            return FetchResult("lost")
        kpi = locked.kpi
        result: FetchResult
        error = collected.error
        points: list[guard.Point] = []
        if not error:
            points, error = check_rows(collected.rows, now)
        if not error:
            reasons = guard.judge(_history(kpi), points, _past_counts(locked))
            if reasons:
                result = _hold(locked, collected, points, reasons, now)
                _finish(locked, result, collected, slot, worker, manual, now)
                return result
            try:
                ingested = ingest_measurements(
                    rows=collected.rows, by=None, source=_label(locked), now=now
                )
            except IngestError as problem:
                error = fitted(
                    separated(
                        (
                            _("row %(line)s: %(problem)s", line=str(line), problem=str(message))
                            for line, message in problem.rows[:3]
                        ),
                        "; ",
                    )
                )
            else:
                result = _stored(locked, ingested, len(collected.rows), now, manual)
                _finish(locked, result, collected, slot, worker, manual, now)
                return result
        result = _failed(locked, error, now, manual)
        _finish(locked, result, collected, slot, worker, manual, now)
        return result


@dataclass
class _Judged:
    """One fetch of a batch after the checks: its rows as points, or why it is not stored."""

    source: Source
    collected: Collected
    slot: datetime
    points: list[guard.Point] = field(default_factory=list)
    error: str = ""
    reasons: list[str] = field(default_factory=list)


def store_batch(
    items: list[tuple[Source, Collected, datetime]], *, token: str, worker: str = ""
) -> list[FetchResult]:
    """Store a worker's batch of fetches in one transaction, the rows in one ingestion.

    Each fetch is checked on its own (rows, data guard) exactly as `store` does; the rows
    of those that pass then go through `ingest_measurements` together (one per source
    label), so the KPIs are re-evaluated once per batch instead of once per source. Rows
    that passed the checks are not refused by the ingestion, short of a race (a KPI
    deleted meanwhile); should it happen the whole batch rolls back and each fetch is
    stored on its own instead, so one source never takes another down with it.
    """
    now = timezone.now()
    try:
        with transaction.atomic():
            return _store_batch(items, token, worker, now)
    except IngestError:
        logger.warning("A batch of %s fetches was stored one by one", len(items))
        return [
            store(source, collected, slot=slot, token=token, worker=worker, now=now)
            for source, collected, slot in items
        ]


def _store_batch(
    items: list[tuple[Source, Collected, datetime]], token: str, worker: str, now: datetime
) -> list[FetchResult]:
    ids = [source.pk for source, _c, _s in items]
    locked = {
        s.pk: s
        for s in Source.objects.select_for_update(of=("self",))
        .select_related("kpi", "connection")
        .filter(pk__in=ids)
    }
    kpi_ids = [s.kpi_id for s in locked.values()]
    history: dict[int, list[guard.Point]] = defaultdict(list)
    for kpi_id, at, value in (
        Measurement.objects.filter(kpi_id__in=kpi_ids).order_by("kpi_id", "at")
        .values_list("kpi_id", "at", "value")
    ):  # fmt: skip
        history[kpi_id].append(guard.Point(at=at, value=value))
    counts: dict[int, list[int]] = defaultdict(list)
    for source_id, count in (
        SourceFetch.objects.filter(source_id__in=ids, outcome=FetchOutcome.STORED, manual=False)
        .order_by("source_id", "-started_at")
        .values_list("source_id", "rows")
    ):
        if len(counts[source_id]) < GUARD_FETCHES:
            counts[source_id].append(count)
    judged: list[_Judged | None] = []
    for source, collected, slot in items:
        mine = locked.get(source.pk)
        if mine is None or mine.claimed_by != token:
            judged.append(None)
            continue
        check = _Judged(mine, collected, slot, error=collected.error)
        if not check.error:
            check.points, check.error = check_rows(collected.rows, now)
        if not check.error:
            check.reasons = guard.judge(history[mine.kpi_id], check.points, counts[mine.pk])
        judged.append(check)
    passing = [j for j in judged if j is not None and not j.error and not j.reasons]
    by_label: dict[str, list[_Judged]] = defaultdict(list)
    for one in passing:
        by_label[_label(one.source)].append(one)
    for label, group in by_label.items():
        rows = [
            MeasurementRow(kpi=row.kpi, at=row.at, value=row.value, note=row.note, line=n)
            for n, row in enumerate((r for j in group for r in j.collected.rows), start=1)
        ]
        ingest_measurements(rows=rows, by=None, source=label, now=now)
    results: list[FetchResult] = []
    for entry in judged:
        if entry is None:
            results.append(FetchResult("lost"))
            continue
        one = entry
        source = one.source
        if one.error:
            result = _failed(source, one.error, now, False)
        elif one.reasons:
            result = _hold(source, one.collected, one.points, one.reasons, now)
        else:
            stored = {p.at: p.value for p in history[source.kpi_id]}
            created = sum(1 for p in one.points if p.at not in stored)
            replaced = sum(1 for p in one.points if p.at in stored and stored[p.at] != p.value)
            ingested = IngestResult(created=created, replaced=replaced,
                                    unchanged=len(one.points) - created - replaced)  # fmt: skip
            result = _stored(source, ingested, len(one.points), now, False)
        _finish(source, result, one.collected, one.slot, worker, False, now)
        results.append(result)
    return results


def _label(source: Source) -> str:
    name = f":{source.connection.name}" if source.connection_id and source.connection else ""
    return f"source {source.kind}{name}"[:100]


def _stored(
    source: Source, ingested: IngestResult, rows: int, now: datetime, manual: bool
) -> FetchResult:
    was_failing = source.failing_since
    source.state = SourceState.OK if source.state != SourceState.HELD else SourceState.HELD
    if not DataIncident.objects.filter(source=source, status=IncidentStatus.OPEN).exists():
        source.state = SourceState.OK
    source.last_success_at = now
    source.last_error = ""
    source.attempts = 0
    source.failing_since = None
    if was_failing is not None:
        notices.recovered(source, was_failing, now)
    return FetchResult(
        "stored",
        rows=rows,
        created=ingested.created,
        replaced=ingested.replaced,
        unchanged=ingested.unchanged,
    )


def _failed(source: Source, error: str, now: datetime, manual: bool) -> FetchResult:
    """A failed fetch: the English text in `last_error`, its wording in `last_error_said`
    (the notification reads it there) and in the result, to be said in each reader's
    language."""
    error = fitted(error)
    source.state = SourceState.FAILING
    source.last_error = str(error)
    source.last_error_said = pack(error)
    source.attempts += 1
    new_spell = source.failing_since is None
    if new_spell:
        source.failing_since = now
    notices.failing(source, now)
    return FetchResult("failed", error=error)


def _hold(
    source: Source,
    collected: Collected,
    points: list[guard.Point],
    reasons: list[str],
    now: datetime,
) -> FetchResult:
    rows = [[p.at.isoformat(), p.value] for p in points]
    incident = DataIncident.objects.filter(source=source, status=IncidentStatus.OPEN).first()
    if incident is None:
        incident = DataIncident.objects.create(
            source=source,
            kpi=source.kpi,
            reasons=reasons,
            rows=rows,
            opened_at=now,
            last_seen_at=now,
        )
        notices.incident(source, incident, now)
    else:
        incident.reasons, incident.rows, incident.last_seen_at = reasons, rows, now
        incident.seen += 1
        incident.save(update_fields=["reasons", "rows", "last_seen_at", "seen"])
    source.state = SourceState.HELD
    # The fetch itself worked: a failure spell ends here.
    source.attempts, source.last_error, source.failing_since = 0, "", None
    return FetchResult("held", rows=len(points), reasons=reasons)


def _finish(
    source: Source,
    result: FetchResult,
    collected: Collected,
    slot: datetime,
    worker: str,
    manual: bool,
    now: datetime,
) -> None:
    """Record the attempt and move the schedule on (or back off), releasing the claim."""
    source.last_attempt_at = now
    kpi = source.kpi
    if not manual:
        upcoming = timing.next_slot(source.schedule, kpi.cadence, max(now, slot))
        if result.outcome == "failed":
            retry = now + timing.retry_delay(source.attempts)
            if retry < upcoming:
                source.next_attempt_at = retry
            else:
                source.due_slot = source.next_attempt_at = upcoming
        else:
            source.due_slot = source.next_attempt_at = upcoming
    elif (
        result.outcome != "failed" and source.due_slot and source.next_attempt_at != source.due_slot
    ):
        # A manual success ends a back-off: back to the schedule.
        source.next_attempt_at = max(source.due_slot, now)
    if not manual or not source.claimed_by:
        source.claimed_by, source.lease_until, source.claimed_slot = "", None, None
    source.save(
        update_fields=[
            "state", "last_error", "last_error_said", "last_attempt_at", "last_success_at",
            "failing_since",
            "attempts", "due_slot", "next_attempt_at", "claimed_by", "lease_until",
            "claimed_slot", "updated_at",
        ]
    )  # fmt: skip
    SourceFetch.objects.create(
        source=source,
        slot=slot,
        started_at=collected.started_at,
        finished_at=now,
        outcome=FetchOutcome.HELD if result.outcome == "held" else result.outcome,
        rows=result.rows,
        created=result.created,
        replaced=result.replaced,
        error=str(result.error),
        worker=worker[:100],
        manual=manual,
    )


def fetch_now(source: Source, *, worker: str = "", manual: bool = True) -> FetchResult:
    """Fetch a source once, now, outside its schedule (CLI, API, the "Run now" button)."""
    source = Source.objects.select_related("kpi", "connection").get(pk=source.pk)
    slot = timezone.now().replace(microsecond=0)
    collected = collect(
        source.kind, source.config, source.connection, kpi_key=source.kpi.key, slot=slot
    )
    return store(source, collected, slot=slot, worker=worker, manual=manual)


def run_source(*, by: Person | None, kpi: Kpi) -> FetchResult:
    """The "Run now" action: the KPI's owner, the leads of its team (or the system)."""
    if by is not None:
        refuse(why_not_set_source(Access.for_person(by), kpi, "run"))
    source = Source.objects.filter(kpi=kpi).first()
    if source is None:
        raise ValidationError(
            {"source": gettext("%(kpi)s has no data source.") % {"kpi": kpi.name}}
        )
    return fetch_now(source)


# --------------------------------------------------------------------------- preview


@dataclass
class PreviewRow:
    at: datetime
    value: float
    effect: str  # new | replaces <old> | unchanged


@dataclass
class Preview:
    rows: list[PreviewRow] = field(default_factory=list)
    error: str = ""
    reasons: list[str] = field(default_factory=list)
    created: int = 0
    replaced: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": not self.error,
            "error": self.error,
            "held": bool(self.reasons),
            "reasons": self.reasons,
            "created": self.created,
            "replaced": self.replaced,
            "unchanged": self.unchanged,
            "rows": [
                {"at": r.at.isoformat(), "value": r.value, "effect": r.effect} for r in self.rows
            ],
        }


def preview_source(*, by: Person | None, kpi: Kpi, spec: SourceSpec) -> Preview:
    """Run a source (saved or not) once and say what it would store; writes nothing.

    The same checks as a fetch (numbers, moments, the data guard), the same rights as
    setting the source. Configuration errors raise ValidationError like `set_source`.
    """
    if by is not None:
        refuse(why_not_set_source(Access.for_person(by), kpi, "try"))
    config, connection = check_spec(spec)
    now = timezone.now()
    slot = now.replace(microsecond=0)
    collected = collect(spec.kind, config, connection, kpi_key=kpi.key, slot=slot)
    if collected.error:
        return Preview(error=collected.error)
    points, error = check_rows(collected.rows, now)
    if error:
        return Preview(error=error)
    existing = dict(
        Measurement.objects.filter(kpi=kpi, at__in=[p.at for p in points]).values_list(
            "at", "value"
        )
    )
    preview = Preview()
    seen: set[datetime] = set()
    for point in sorted(points, key=lambda p: p.at):
        if point.at in seen:
            return Preview(error=_("two rows for the moment %(at)s", at=point.at.isoformat()))
        seen.add(point.at)
        old = existing.get(point.at)
        if old is None:
            effect = "new"
            preview.created += 1
        elif old == point.value:
            effect = "unchanged"
            preview.unchanged += 1
        else:
            effect = f"replaces {old:g}"
            preview.replaced += 1
        preview.rows.append(PreviewRow(point.at, point.value, effect))
    source = Source.objects.filter(kpi=kpi).first()
    preview.reasons = guard.judge(_history(kpi), points, _past_counts(source) if source else [])
    return preview


# --------------------------------------------------------------------------- incidents


@transaction.atomic
def accept_incident(*, by: Person, incident: DataIncident) -> IngestResult:
    """The numbers are right after all: store the held rows (owner, leads)."""
    incident = (
        DataIncident.objects.select_for_update().select_related("kpi", "source").get(pk=incident.pk)
    )
    refuse(why_not_decide_incident(Access.for_person(by), incident.kpi))
    if incident.status != IncidentStatus.OPEN:
        raise ValidationError(
            {
                "incident": gettext("This data incident is %(status)s already.")
                % {"status": incident.status}
            }
        )
    rows = [
        MeasurementRow(kpi=incident.kpi.key, at=at, value=value, line=i)
        for i, (at, value) in enumerate(incident.rows, start=1)
    ]
    result = ingest_measurements(rows=rows, by=by, source=_label(incident.source))
    _close(incident, IncidentStatus.ACCEPTED, by)
    return result


@transaction.atomic
def dismiss_incident(*, by: Person, incident: DataIncident) -> None:
    """The held rows are wrong: drop them (owner, leads). The last good value stays."""
    incident = (
        DataIncident.objects.select_for_update().select_related("kpi", "source").get(pk=incident.pk)
    )
    refuse(why_not_decide_incident(Access.for_person(by), incident.kpi))
    if incident.status != IncidentStatus.OPEN:
        raise ValidationError(
            {
                "incident": gettext("This data incident is %(status)s already.")
                % {"status": incident.status}
            }
        )
    _close(incident, IncidentStatus.DISMISSED, by)


def _close(incident: DataIncident, status: str, by: Person) -> None:
    incident.status, incident.resolved_at, incident.resolved_by = status, timezone.now(), by
    incident.save(update_fields=["status", "resolved_at", "resolved_by"])
    Source.objects.filter(pk=incident.source_id, state=SourceState.HELD).update(
        state=SourceState.OK, updated_at=timezone.now()
    )
