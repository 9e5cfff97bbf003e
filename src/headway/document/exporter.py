"""`headway export`: the database written back as a YAML document (format version 1).

The text is deterministic: the same database gives the same bytes. Fields come in the order
of the format's reference (Appendix A of the product brief), short items (teams, cycles,
people with one role, memberships, check-ins, measurements) in flow style on one line,
moments in UTC (a date alone when the time is 00:00 UTC), and floats written so that they
read back as the very same float. Rows come in a stable order:

- teams depth first from the company, siblings in the order they were created;
- people, cycles, objectives and KPIs in the order they were created (so a file imported
  into an empty database exports in its own order);
- key results by position; check-ins by moment (equal moments in their recorded order)
  and measurements by moment; memberships and
  counter-KPIs in the order they were added.

What the database holds that the format has no field for is derived again on import
(a key result's current value, a KPI's stored health) or is not part of the document
(passwords, tokens, notifications, history).
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from functools import lru_cache
from typing import Any, TextIO

import yaml

__all__ = [
    "ExportError",
    "ExportSummary",
    "export_text",
    "format_moment",
    "format_number",
    "format_scalar",
    "write_export",
]

Progress = Callable[[str, int, int], None]

INITIATIVE_FIELDS = ("key_result_id", "title", "owner_id", "status", "due", "link", "tracked__id")
CHECKIN_FIELDS = ("key_result_id", "at", "value", "done", "confidence", "comment", "author_id")
#: Rows read per query when streaming check-ins and measurements.
CHUNK = 20_000


class ExportError(ValueError):
    """The export cannot be made (an unknown ``--cycle``)."""


@dataclass
class ExportSummary:
    """How many items of each section were written."""

    counts: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        names = {"key_results": "key results", "checkins": "check-ins"}
        return ", ".join(f"{n:,} {names.get(k, k)}" for k, n in self.counts.items())


# --------------------------------------------------------------------------- scalars

_RESOLVER = yaml.resolver.Resolver()
_STR_TAG = "tag:yaml.org,2002:str"
_INDICATORS = set("-?:,[]{}#&*!|>'\"%@`")
# In flow style PyYAML also stops a plain scalar at a colon.
_FLOW_CHARS = set(",[]{}:")
# Characters YAML treats as line breaks or refuses in a stream: always escaped.
_BREAKS = {"\x85", "\u2028", "\u2029", "\ufeff"}


def _printable(ch: str) -> bool:
    """Whether YAML accepts ``ch`` as is in a stream (its printable set, minus the breaks)."""
    code = ord(ch)
    if ch in _BREAKS:
        return False
    return (
        0x20 <= code <= 0x7E
        or 0xA0 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    )


def _quoted(text: str) -> str:
    out = ['"']
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif _printable(ch):
            out.append(ch)
        elif ord(ch) <= 0xFF:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


@lru_cache(maxsize=65536)
def _plain_ok(text: str, flow: bool) -> bool:
    if not text or text != text.strip() or text[0] in _INDICATORS:
        return False
    if ": " in text or " #" in text or text.endswith(":"):
        return False
    if flow and any(ch in _FLOW_CHARS for ch in text):
        return False
    if not all(_printable(ch) for ch in text):
        return False
    tag = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    if tag != _STR_TAG:
        return False
    # The rules above are the usual ones; reading it back is the proof.
    probe = f"{{k: {text}}}" if flow else f"k: {text}"
    try:
        return bool(yaml.safe_load(probe) == {"k": text})
    except yaml.YAMLError:
        return False


def _literal_ok(text: str) -> bool:
    """Whether ``text`` can be written as a literal block scalar (``|`` / ``|-``) exactly."""
    if "\n" not in text or text[0] in " \n" or text.endswith("\n\n"):
        return False
    return all(ch == "\n" or (_printable(ch) and ch != "\t") for ch in text)


def format_scalar(text: str, *, flow: bool = False, indent: str = "") -> str:
    """A string as YAML that reads back as the same string.

    Plain when that is unambiguous, a literal block (``|-``) for multi-line text outside
    flow style (``indent`` is the indentation of its lines), double-quoted otherwise.
    """
    if _plain_ok(text, flow):
        return text
    if not flow and _literal_ok(text):
        body = text[:-1] if text.endswith("\n") else text
        head = "|" if text.endswith("\n") else "|-"
        lines = "\n".join(f"{indent}{line}" if line else "" for line in body.split("\n"))
        return f"{head}\n{lines}"
    return _quoted(text)


def format_number(value: float) -> str:
    """A float as YAML that reads back as the same float (``88``, ``4.35``, ``1.0e+16``)."""
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    text = repr(value)
    mantissa, e, exponent = text.partition("e")
    if e and "." not in mantissa:
        # YAML 1.1 (PyYAML) reads a float only with a dot: 1e+16 would be a string.
        text = f"{mantissa}.0e{exponent}"
    return text


def format_moment(moment: datetime) -> str:
    """A moment in UTC: ``2027-01-31`` at 00:00 UTC, else ``2027-01-31T17:00:00Z``."""
    moment = moment.astimezone(UTC)
    if moment.time() == time():
        return moment.date().isoformat()
    return moment.replace(tzinfo=None).isoformat() + "Z"


def _value(value: Any, *, flow: bool, indent: str = "") -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_number(value)
    if isinstance(value, datetime):
        return format_moment(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_value(v, flow=True) for v in value) + "]"
    if isinstance(value, dict):
        items = (
            f"{format_scalar(str(k), flow=True)}: {_value(v, flow=True)}" for k, v in value.items()
        )
        return "{" + ", ".join(items) + "}"
    if isinstance(value, str):
        return format_scalar(value, flow=flow, indent=indent)
    raise TypeError(f"cannot write {value!r}")


Pairs = list[tuple[str, Any]]


def _flow(pairs: Pairs) -> str:
    return "{" + ", ".join(f"{k}: {_value(v, flow=True)}" for k, v in pairs) + "}"


def _block(pairs: Pairs, indent: str, first: str) -> str:
    """A block mapping; the first line starts with ``first`` (e.g. ``- ``) instead of indent."""
    lines = []
    for n, (key, value) in enumerate(pairs):
        lead = first if n == 0 else indent
        lines.append(f"{lead}{key}: {_value(value, flow=False, indent=indent + '  ')}")
    return "\n".join(lines)


def _schedule(steps: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """A stored target schedule as the file writes it: days as dates, no null thresholds."""
    return [
        {"from": date.fromisoformat(s["from"])}
        | {n: s[n] for n in ("target", "warning", "critical") if s.get(n) is not None}
        for s in steps or []
    ]


def _pairs(*items: tuple[str, Any, bool]) -> Pairs:
    """(name, value, keep) triples → the pairs kept."""
    return [(name, value) for name, value, keep in items if keep]


# --------------------------------------------------------------------------- database rows


def _chunks[T](items: Sequence[T], size: int = 500) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _team_order(teams: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Depth first from the roots; siblings (and roots) in id order."""
    ids = {t["id"] for t in teams}
    children: dict[int | None, list[dict[str, Any]]] = defaultdict(list)
    for team in sorted(teams, key=lambda t: t["id"]):
        parent = team["parent_id"] if team["parent_id"] in ids else None
        children[parent].append(team)
    ordered: list[dict[str, Any]] = []
    stack = list(reversed(children[None]))
    seen: set[int] = set()
    while stack:
        team = stack.pop()
        if team["id"] in seen:
            continue
        seen.add(team["id"])
        ordered.append(team)
        stack.extend(reversed(children[team["id"]]))
    # A parent loop (the database refuses them, but be safe) would leave teams out.
    ordered.extend(t for t in sorted(teams, key=lambda t: t["id"]) if t["id"] not in seen)
    return ordered


class _Writer:
    def __init__(self, out: TextIO, progress: Progress | None) -> None:
        self.out = out
        self.progress = progress
        self.summary = ExportSummary()

    def tick(self, phase: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(phase, done, total)

    def section(self, name: str, count: int) -> None:
        self.summary.counts[name] = count
        self.out.write(f"\n{name}:{' []' if count == 0 else ''}\n")


def _stated_language(cycle: str | None) -> str:
    """The `language` to write: the one the exported objectives were imported with.

    The format has one language per document; objectives imported from files that named
    different languages are written with the most common of them (the coach still detects
    each title's language, the stated one only breaks ties). "" when none named one.
    """
    from django.db.models import Count

    from headway.okrs.models import Objective

    query = Objective.objects.exclude(language="")
    if cycle is not None:
        query = query.filter(cycle__key=cycle)
    counted = query.values("language").annotate(n=Count("id")).order_by("-n", "language")
    first = counted.first()
    return str(first["language"]) if first else ""


def write_export(
    out: TextIO, *, cycle: str | None = None, progress: Progress | None = None
) -> ExportSummary:
    """Write the database as one YAML document to ``out``.

    ``cycle`` limits the objectives to those of that cycle, plus the objectives of other
    cycles they align to (so the file stands alone); teams, people, cycles and KPIs with
    all their measurements are always written whole. Raises ExportError for an unknown cycle.
    """
    from headway.initiatives.models import Initiative
    from headway.kpis.models import Kpi, Measurement
    from headway.okrs.models import CheckIn, Cycle, KeyResult, Objective, ObjectiveContributor
    from headway.teams.models import Membership, Person, Team

    w = _Writer(out, progress)
    if cycle is not None and not Cycle.objects.filter(key=cycle).exists():
        known = ", ".join(Cycle.objects.order_by("start", "key").values_list("key", flat=True))
        raise ExportError(f"no cycle {cycle!r} in the database (cycles: {known or 'none'})")

    out.write("version: 1\n")
    language = _stated_language(cycle)
    if language:
        out.write(f"language: {language}\n")

    # ---- teams
    teams: list[dict[str, Any]] = [
        dict(t)
        for t in Team.objects.order_by("id").values(
            "id", "key", "name", "kind", "parent_id", "checkin_cadence_days"
        )
    ]
    team_key = {t["id"]: t["key"] for t in teams}
    w.section("teams", len(teams))
    for team in _team_order(teams):
        cadence = team["checkin_cadence_days"]
        pairs = _pairs(
            ("key", team["key"], True),
            ("name", team["name"], True),
            ("kind", team["kind"], True),
            ("parent", team_key.get(team["parent_id"]), team["parent_id"] is not None),
            ("checkin_cadence_days", cadence, cadence != 7),
        )
        out.write(f"  - {_flow(pairs)}\n")
    w.tick("teams", len(teams), len(teams))

    # ---- people
    people = list(Person.objects.order_by("id").values_list("id", "email", "name"))
    email_of = {pk: email for pk, email, _ in people}
    roles: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for person_id, team_id, role in Membership.objects.order_by("id").values_list(
        "person_id", "team_id", "role"
    ):
        roles[person_id].append((team_key[team_id], role))
    w.section("people", len(people))
    for pk, email, name in people:
        mine = roles.get(pk, [])
        same = len({role for _, role in mine}) == 1
        pairs = _pairs(
            ("email", email, True),
            ("name", name, bool(name)),
            ("teams", [team for team, _ in mine], same),
            ("role", mine[0][1] if mine else "", same),
        )
        if mine and not same:
            out.write(_block(pairs, "    ", "  - ") + "\n    memberships:\n")
            for team_name, role in mine:
                out.write(f"      - {_flow([('team', team_name), ('role', role)])}\n")
        else:
            out.write(f"  - {_flow(pairs)}\n")
    w.tick("people", len(people), len(people))

    # ---- cycles
    cycles = list(
        Cycle.objects.order_by("id").values(
            "id", "key", "name", "start", "end", "state", "closed_at", "closed_by_id"
        )
    )
    cycle_key = {c["id"]: c["key"] for c in cycles}
    w.section("cycles", len(cycles))
    for c in cycles:
        pairs = _pairs(
            ("key", c["key"], True),
            ("name", c["name"], bool(c["name"])),
            ("start", c["start"], True),
            ("end", c["end"], True),
            ("state", c["state"], True),
            ("closed_at", c["closed_at"], c["closed_at"] is not None),
            ("closed_by", email_of.get(c["closed_by_id"]), c["closed_by_id"] is not None),
        )
        out.write(f"  - {_flow(pairs)}\n")
    w.tick("cycles", len(cycles), len(cycles))

    # ---- objectives and key results
    objective_fields = (
        "id", "key", "cycle_id", "team_id", "owner_id", "type", "visibility", "parent_id",
        "copied_from_id", "copy_kind", "title", "description", "grade", "reflection",
        "coach_ignore", "coach_ignore_why",
    )  # fmt: skip
    query = Objective.objects.order_by("id")
    if cycle is not None:
        objectives = list(query.filter(cycle__key=cycle).values(*objective_fields))

        # Objectives of other cycles they align to or were carried from, up the chain:
        # the file stands alone.
        def referenced(rows: list[dict[str, Any]]) -> set[int]:
            return {o["parent_id"] for o in rows} | {o["copied_from_id"] for o in rows}

        parents = referenced(objectives) - {o["id"] for o in objectives} - {None}
        extra: dict[int, dict[str, Any]] = {}
        while parents:
            found = list(Objective.objects.filter(pk__in=parents).values(*objective_fields))
            extra.update({o["id"]: o for o in found})
            parents = referenced(found) - set(extra) - {None}
            parents -= {o["id"] for o in objectives}
        objectives = sorted([*objectives, *extra.values()], key=lambda o: o["id"])
    else:
        objectives = list(query.values(*objective_fields))
    objective_key = {o["id"]: o["key"] for o in objectives}
    kr_fields = (
        "id", "objective_id", "key", "title", "kind", "owner_id", "unit", "start", "target",
        "weight", "due", "kpi_id", "done", "grade",
    )  # fmt: skip
    key_results: dict[int, list[dict[str, Any]]] = defaultdict(list)
    objective_ids = [o["id"] for o in objectives]
    for chunk in _chunks(objective_ids):
        for kr in (
            KeyResult.objects.filter(objective_id__in=chunk)
            .order_by("objective_id", "position", "id")
            .values(*kr_fields)
        ):
            key_results[kr["objective_id"]].append(kr)
    # Shared objectives: contributing teams by team name, as the pages list them.
    contributors: dict[int, list[str]] = defaultdict(list)
    for chunk in _chunks(objective_ids):
        for objective_id, key in (
            ObjectiveContributor.objects.filter(objective_id__in=chunk)
            .order_by("objective_id", "team__name", "team__key")
            .values_list("objective_id", "team__key")
        ):
            contributors[objective_id].append(key)
    kr_ids = [kr["id"] for krs in key_results.values() for kr in krs]
    kpi_key = dict(Kpi.objects.values_list("id", "key"))
    counters: dict[int, list[str]] = defaultdict(list)
    checkins: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    initiatives: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    through = KeyResult.counter_kpis.through
    for chunk in _chunks(kr_ids):
        for kr_id, kpi_id in (
            through.objects.filter(keyresult_id__in=chunk)
            .order_by("id")
            .values_list("keyresult_id", "kpi_id")
        ):
            counters[kr_id].append(kpi_key[kpi_id])
        for row in (
            CheckIn.objects.filter(key_result_id__in=chunk)
            .order_by("key_result_id", "at", "ordinal")
            .values_list(*CHECKIN_FIELDS)
        ):
            checkins[row[0]].append(row[1:])
        for row in (
            Initiative.objects.filter(key_result_id__in=chunk)
            .order_by("key_result_id", "position", "id")
            .values_list(*INITIATIVE_FIELDS)
        ):
            initiatives[row[0]].append(row[1:])
    starts = {c["id"]: datetime.combine(c["start"], time(), tzinfo=UTC) for c in cycles}

    w.section("objectives", len(objectives))
    n_krs = n_checkins = 0
    for done_count, o in enumerate(objectives, start=1):
        coach: Pairs = _pairs(
            ("ignore", list(o["coach_ignore"] or []), bool(o["coach_ignore"])),
            ("why", o["coach_ignore_why"], bool(o["coach_ignore_why"])),
        )
        pairs = _pairs(
            ("key", o["key"], True),
            ("cycle", cycle_key[o["cycle_id"]], True),
            ("team", team_key[o["team_id"]], True),
            ("owner", email_of.get(o["owner_id"]), o["owner_id"] is not None),
            ("type", o["type"], True),
            ("visibility", o["visibility"], o["visibility"] != "public"),
            ("parent", objective_key.get(o["parent_id"]), o["parent_id"] is not None),
            ("contributors", contributors.get(o["id"], []), o["id"] in contributors),
            (
                "copied_from",
                objective_key.get(o["copied_from_id"]),
                o["copied_from_id"] is not None,
            ),
            ("copy_kind", o["copy_kind"], bool(o["copy_kind"])),
            ("title", o["title"], True),
            ("description", o["description"], bool(o["description"])),
            ("grade", o["grade"], o["grade"] is not None),
            ("reflection", o["reflection"], bool(o["reflection"])),
        )
        out.write(_block(pairs, "    ", "  - ") + "\n")
        if coach:
            out.write("    coach:\n" + _block(coach, "      ", "      ") + "\n")
        krs = key_results.get(o["id"], [])
        if krs:
            out.write("    key_results:\n")
        for kr in krs:
            n_krs += 1
            rows = checkins.get(kr["id"], [])
            done = bool(kr["done"])
            if kr["kind"] == "milestone":
                rows, folded = _fold_done(rows, starts[o["cycle_id"]])
                done = done or folded
            pairs = _pairs(
                ("key", kr["key"], True),
                ("title", kr["title"], True),
                ("kind", kr["kind"], True),
                ("owner", email_of.get(kr["owner_id"]), kr["owner_id"] is not None),
                ("start", kr["start"], kr["start"] is not None),
                ("target", kr["target"], kr["target"] is not None),
                ("unit", kr["unit"], bool(kr["unit"])),
                ("weight", kr["weight"], kr["weight"] != 1.0),
                ("due", kr["due"], kr["due"] is not None),
                ("kpi", kpi_key.get(kr["kpi_id"]), kr["kpi_id"] is not None),
                ("counter_kpis", counters.get(kr["id"], []), bool(counters.get(kr["id"]))),
                ("done", done, kr["kind"] == "milestone"),
                ("grade", kr["grade"], kr["grade"] is not None),
            )
            out.write(_block(pairs, "        ", "      - ") + "\n")
            if rows:
                out.write("        checkins:\n")
            for at, value, c_done, confidence, comment, author_id in rows:
                n_checkins += 1
                pairs = _pairs(
                    ("at", at, True),
                    ("value", value, value is not None),
                    ("done", c_done, c_done is not None),
                    ("confidence", confidence, confidence is not None),
                    ("note", comment, bool(comment)),
                    ("author", email_of.get(author_id), author_id is not None),
                )
                out.write(f"          - {_flow(pairs)}\n")
            work = initiatives.get(kr["id"], [])
            if work:
                out.write("        initiatives:\n")
            for title, owner_id, status, due, link, tracked in work:
                pairs = _pairs(
                    ("title", title, True),
                    ("owner", email_of.get(owner_id), owner_id is not None),
                    ("status", status, True),
                    ("due", due, due is not None),
                    ("link", link, bool(link)),
                    ("follow", True, tracked is not None),
                )
                out.write(f"          - {_flow(pairs)}\n")
        if done_count % 500 == 0 or done_count == len(objectives):
            w.tick("objectives", done_count, len(objectives))
    w.summary.counts["key_results"] = n_krs
    w.summary.counts["checkins"] = n_checkins

    # ---- connections the sources name (never their address or secret), then KPIs
    from headway.sources.models import Connection, Source

    connections = list(Connection.objects.order_by("name").values("name", "engine", "description"))
    if connections:
        w.section("connections", len(connections))
        for conn in connections:
            pairs = _pairs(
                ("name", conn["name"], True),
                ("engine", conn["engine"], True),
                ("description", conn["description"], bool(conn["description"])),
            )
            out.write(f"  - {_flow(pairs)}\n")
    sources = {s.kpi_id: s for s in Source.objects.select_related("connection")}

    # ---- KPIs and their measurements, streamed in KPI order
    kpis = list(
        Kpi.objects.order_by("id").values(
            "id", "key", "name", "team_id", "owner_id", "unit", "definition", "why", "how",
            "direction", "target", "warning", "critical", "benchmark", "cadence", "tier",
            "target_schedule",
        )
    )  # fmt: skip
    w.section("kpis", len(kpis))
    total = Measurement.objects.count()
    series = _measurements(Measurement, total, w)
    pending = next(series, None)
    written = 0
    for k in kpis:
        pairs = _pairs(
            ("key", k["key"], True),
            ("name", k["name"], True),
            ("team", team_key[k["team_id"]], True),
            ("owner", email_of.get(k["owner_id"]), k["owner_id"] is not None),
            ("unit", k["unit"], bool(k["unit"])),
            ("direction", k["direction"], True),
            ("target", k["target"], k["target"] is not None),
            ("warning", k["warning"], k["warning"] is not None),
            ("critical", k["critical"], k["critical"] is not None),
            ("target_schedule", _schedule(k["target_schedule"]), bool(k["target_schedule"])),
            ("benchmark", k["benchmark"], k["benchmark"] is not None),
            ("cadence", k["cadence"], bool(k["cadence"])),
            ("tier", k["tier"], True),
            ("definition", k["definition"], bool(k["definition"])),
            ("why", k["why"], bool(k["why"])),
            ("how", k["how"], bool(k["how"])),
        )
        out.write(_block(pairs, "    ", "  - ") + "\n")
        if (source := sources.get(k["id"])) is not None:
            out.write("    source:\n" + _block(_source_pairs(source), "      ", "      ") + "\n")
        while pending is not None and pending[0] < k["id"]:
            pending = next(series, None)  # a measurement of no listed KPI (cannot happen)
        lines: list[str] = []
        while pending is not None and pending[0] == k["id"]:
            _, at, value, source, note = pending
            pairs = _pairs(
                ("at", at, True),
                ("value", value, True),
                ("source", source, bool(source)),
                ("note", note, bool(note)),
            )
            lines.append(f"      - {_flow(pairs)}\n")
            pending = next(series, None)
        if lines:
            out.write("    measurements:\n")
            out.writelines(lines)
            written += len(lines)
    w.summary.counts["measurements"] = written
    w.tick("measurements", total, total)
    return w.summary


def _source_pairs(source: Any) -> Pairs:
    """A KPI's source as the format writes it: kind, connection, its fields, schedule."""
    config = source.config
    pairs: Pairs = [("kind", source.kind)]
    if source.connection is not None:
        pairs.append(("connection", source.connection.name))
    for name in ("query", "url", "expression", "headers", "value_column", "at_column", "mode",
                 "lookback", "step", "timeout"):  # fmt: skip
        if config.get(name) not in (None, "", {}):
            value = config[name]
            pairs.append((name, float(value) if name == "timeout" else value))
    if source.schedule:
        pairs.append(("schedule", source.schedule))
    if not source.enabled:
        pairs.append(("enabled", False))
    return pairs


def _fold_done(
    rows: list[tuple[Any, ...]], cycle_start: datetime
) -> tuple[list[tuple[Any, ...]], bool]:
    """Undo the import's convention for ``done: true``: (check-ins left, folded?).

    A bare done check-in (done, nothing else) exactly at the cycle's start, when no other
    check-in records ``done``, is what importing ``done: true`` creates: it is written back
    as ``done: true`` on the key result instead.
    """
    bare = [
        i
        for i, (at, value, done, confidence, comment, author) in enumerate(rows)
        if at == cycle_start
        and done is True
        and value is None
        and confidence is None
        and not comment
        and author is None
    ]
    if len(bare) != 1 or sum(1 for row in rows if row[2] is not None) != 1:
        return rows, False
    return [row for i, row in enumerate(rows) if i != bare[0]], True


def _measurements(model: Any, total: int, w: _Writer) -> Iterator[tuple[Any, ...]]:
    """Every measurement as (kpi_id, at, value, source, note), by KPI id then moment."""
    rows: Iterable[tuple[Any, ...]] = (
        model.objects.order_by("kpi_id", "at")
        .values_list("kpi_id", "at", "value", "source", "note")
        .iterator(chunk_size=CHUNK)
    )
    for n, row in enumerate(rows, start=1):
        if n % CHUNK == 0:
            w.tick("measurements", n, total)
        yield row


def export_text(*, cycle: str | None = None, progress: Progress | None = None) -> str:
    """The export as a string (see :func:`write_export`)."""
    buffer = io.StringIO()
    write_export(buffer, cycle=cycle, progress=progress)
    return buffer.getvalue()
