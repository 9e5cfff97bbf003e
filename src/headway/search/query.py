"""Search: the best matches of each kind the person may see, ranked, with their context.

One ranking query per kind (SQLite FTS5's bm25, PostgreSQL's ts_rank), each with the
visibility rule of PRODUCT.md section 6 inside its WHERE (a private objective, its key
results and their check-ins are never read for someone who may not see them, so neither
their titles nor their snippets can surface), then one query per kind for what a result
shows (cycle, team, owner): a constant number of queries whatever the organisation's size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection
from django.urls import reverse
from django.utils.translation import gettext_lazy

from headway.search.highlight import START, STOP, has_match, plain, segments
from headway.search.index import INDEXED, fts5_query, tsquery, words
from headway.teams.access import Access

KINDS = tuple(INDEXED)
KIND_LABELS = {
    "objective": gettext_lazy("Objective"),
    "key_result": gettext_lazy("Key result"),
    "checkin": gettext_lazy("Check-in"),
    "kpi": gettext_lazy("KPI"),
    "team": gettext_lazy("Team"),
    "person": gettext_lazy("Person"),
}
# Ranks of different kinds come from different indexes; these lean the merged list towards
# the things people look for by name, and check-in chatter last.
KIND_WEIGHT = {
    "objective": 1.5,
    "kpi": 1.4,
    "team": 1.3,
    "person": 1.3,
    "key_result": 1.0,
    "checkin": 0.6,
}
# What was set in a closed cycle ranks below what is live.
CLOSED_WEIGHT = 0.7
DEFAULT_LIMIT = 30
MAX_LIMIT = 100

Pieces = list[tuple[str, bool]]


@dataclass
class Hit:
    """One result: what it is, where it lives, and the words that matched."""

    kind: str
    id: int
    rank: float
    title: Pieces
    snippet: Pieces = field(default_factory=list)
    key: str = ""
    url: str = ""
    cycle: str = ""
    cycle_key: str = ""
    cycle_closed: bool = False
    team: str = ""
    team_key: str = ""
    # Who and when (a check-in's author and moment, an objective's owner) and a status.
    by: str = ""
    at: datetime | None = None
    detail: str = ""

    @property
    def label(self) -> str:
        return str(KIND_LABELS[self.kind])

    @property
    def title_text(self) -> str:
        return plain(self.title)

    @property
    def snippet_text(self) -> str:
        return plain(self.snippet)


@dataclass(frozen=True)
class _Source:
    joins: str = ""
    # The alias of the objective row whose visibility decides (None: everyone signed in).
    objective: str | None = None
    where: str = ""
    # Take the newest matches rather than the most relevant: a common word is in tens of
    # thousands of check-in comments, and ranking them all would cost most of a page's
    # time, while the newest are also the ones worth reading. Their ranks still merge.
    newest_first: bool = False


SOURCES: dict[str, _Source] = {
    "objective": _Source(objective="t"),
    "key_result": _Source(joins="JOIN okrs_objective o ON o.id = t.objective_id", objective="o"),
    "checkin": _Source(
        joins="JOIN okrs_keyresult k ON k.id = t.key_result_id "
        "JOIN okrs_objective o ON o.id = k.objective_id",
        objective="o",
        newest_first=True,
    ),
    "kpi": _Source(),
    "team": _Source(),
    "person": _Source(where="t.is_active"),
}


def _visibility(access: Access, alias: str | None) -> tuple[str, list[Any]]:
    """The SQL of `Access.objective_condition` on the objective row `alias`."""
    if alias is None or access.is_superuser:
        return "", []
    if access.person_id is None:
        return "1 = 0", []
    teams = list(access.visible_private_team_ids())
    parts = [f"{alias}.visibility = 'public'", f"{alias}.owner_id = %s"]
    params: list[Any] = [access.person_id]
    if teams:
        marks = ", ".join(["%s"] * len(teams))
        parts.append(f"{alias}.team_id IN ({marks})")
        params.extend(teams)
    # A shared objective: its contributing teams see it as its own team does (ids, not a
    # subquery, as in Access.objective_condition).
    shared = sorted(access.seen_as_contributor)
    if shared:
        parts.append(f"{alias}.id IN ({', '.join(['%s'] * len(shared))})")
        params.extend(shared)
    return "(" + " OR ".join(parts) + ")", params


def _where(access: Access, kind: str) -> tuple[str, list[Any]]:
    source = SOURCES[kind]
    clauses, params = [], []
    visible, visible_params = _visibility(access, source.objective)
    if visible:
        clauses.append(visible)
        params.extend(visible_params)
    if source.where:
        clauses.append(source.where)
    return "".join(f" AND {c}" for c in clauses), params


def _sqlite_rows(access: Access, kind: str, terms: list[str], limit: int) -> list[Sequence[Any]]:
    spec, source = INDEXED[kind], SOURCES[kind]
    where, params = _where(access, kind)
    weights = ", ".join(str(w) for w in spec.weights)
    title = "''" if kind == "checkin" else f"highlight({spec.fts}, 0, '{START}', '{STOP}')"
    body = (
        f"snippet({spec.fts}, -1, '{START}', '{STOP}', '…', 16)"
        if len(spec.columns) > 1 or (kind == "checkin")
        else "''"
    )
    sql = (
        f"SELECT t.id, -bm25({spec.fts}, {weights}) AS r, {title}, {body} "
        f"FROM {spec.fts} JOIN {spec.table} t ON t.id = {spec.fts}.rowid {source.joins} "
        f"WHERE {spec.fts} MATCH %s{where} "
        + (f"ORDER BY {spec.fts}.rowid DESC" if source.newest_first else "ORDER BY r DESC, t.id")
        + " LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [fts5_query(terms), *params, limit])
        return list(cursor.fetchall())


HEADLINE_TITLE = f'HighlightAll=true, StartSel="{START}", StopSel="{STOP}"'
HEADLINE_BODY = (
    f'StartSel="{START}", StopSel="{STOP}", MaxWords=24, MinWords=8, '
    'MaxFragments=2, FragmentDelimiter=" … "'
)


def _postgresql_rows(
    access: Access, kind: str, terms: list[str], limit: int
) -> list[Sequence[Any]]:
    spec, source = INDEXED[kind], SOURCES[kind]
    where, params = _where(access, kind)
    columns = [f"t.{c}::text AS c{i}" for i, c in enumerate(spec.columns)]
    if kind == "checkin":
        title, body = "''", "ts_headline('simple', h.c0, q, %s)"
        headline_params = [HEADLINE_BODY]
    elif len(spec.columns) > 1:
        rest = ", ".join(f"h.c{i}" for i in range(1, len(spec.columns)))
        title = "ts_headline('simple', h.c0, q, %s)"
        body = f"ts_headline('simple', concat_ws(' ', {rest}), q, %s)"
        headline_params = [HEADLINE_TITLE, HEADLINE_BODY]
    else:
        title, body = "ts_headline('simple', h.c0, q, %s)", "''"
        headline_params = [HEADLINE_TITLE]
    # Headlines re-read the text, so only for the rows kept (the inner LIMIT).
    sql = (
        f"SELECT h.id, h.r, {title}, {body} FROM ("
        f"SELECT t.id, ts_rank(t.search_vector, q) AS r, {', '.join(columns)} "
        f"FROM {spec.table} t {source.joins}, to_tsquery('simple', %s) q "
        f"WHERE t.search_vector @@ q{where} "
        + ("ORDER BY t.id DESC" if source.newest_first else "ORDER BY r DESC, t.id")
        + " LIMIT %s"
        ") h, to_tsquery('simple', %s) q ORDER BY h.r DESC, h.id"
    )
    query = tsquery(terms)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*headline_params, query, *params, limit, query])
        return list(cursor.fetchall())


def search(
    access: Access, text: str, kind: str | None = None, limit: int = DEFAULT_LIMIT
) -> list[Hit]:
    """The best `limit` matches of `text` that `access` may see, best first."""
    terms = words(text)
    if not terms or (kind is not None and kind not in INDEXED):
        return []
    run = _postgresql_rows if connection.vendor == "postgresql" else _sqlite_rows
    hits: list[Hit] = []
    for each in [kind] if kind else KINDS:
        for row_id, rank, title, body in run(access, each, terms, limit):
            snippet = segments(body or "")
            hits.append(
                Hit(
                    kind=each,
                    id=row_id,
                    rank=float(rank),
                    title=segments(title or ""),
                    snippet=snippet if has_match(snippet) else [],
                )
            )
    _describe(hits)
    for hit in hits:
        hit.rank *= KIND_WEIGHT[hit.kind] * (CLOSED_WEIGHT if hit.cycle_closed else 1.0)
    hits.sort(key=lambda h: (-h.rank, KINDS.index(h.kind), h.id))
    hits = hits[:limit]
    for hit in hits:
        if hit.snippet and plain(hit.snippet) == plain(hit.title):
            hit.snippet = []
    return hits


def _describe(hits: list[Hit]) -> None:
    """Fill in each hit's key, link, cycle, team and owner: one query per kind present."""
    from headway.kpis.models import Kpi
    from headway.okrs.models import CheckIn, KeyResult, Objective
    from headway.teams.models import Membership, Person, Team

    by_kind: dict[str, dict[int, Hit]] = {}
    for hit in hits:
        by_kind.setdefault(hit.kind, {})[hit.id] = hit

    def place(hit: Hit, objective: Objective) -> None:
        hit.cycle, hit.cycle_key = str(objective.cycle), objective.cycle.key
        hit.cycle_closed = objective.cycle.is_closed
        hit.team, hit.team_key = objective.team.name, objective.team.key

    if found := by_kind.get("objective"):
        for o in Objective.objects.filter(id__in=found).select_related("cycle", "team", "owner"):
            hit = found[o.pk]
            hit.key, hit.url = o.key, reverse("objective", args=[o.key])
            hit.by = str(o.owner) if o.owner else ""
            place(hit, o)
    if found := by_kind.get("key_result"):
        for kr in KeyResult.objects.filter(id__in=found).select_related(
            "objective__cycle", "objective__team", "owner"
        ):
            hit = found[kr.pk]
            hit.key = kr.key
            hit.url = reverse("objective", args=[kr.objective.key]) + f"#kr-{kr.key}"
            hit.by = str(kr.owner) if kr.owner else ""
            hit.detail = kr.objective.title
            place(hit, kr.objective)
    if found := by_kind.get("checkin"):
        for c in CheckIn.objects.filter(id__in=found).select_related(
            "key_result__objective__cycle", "key_result__objective__team", "author"
        ):
            hit, kr = found[c.pk], c.key_result
            hit.key = kr.key
            hit.title = [(kr.title, False)]
            hit.url = reverse("objective", args=[kr.objective.key]) + f"#kr-{kr.key}"
            hit.by, hit.at = (str(c.author) if c.author else ""), c.at
            hit.detail = kr.objective.title
            place(hit, kr.objective)
    if found := by_kind.get("kpi"):
        for k in Kpi.objects.filter(id__in=found).select_related("team", "owner"):
            hit = found[k.pk]
            hit.key, hit.url = k.key, reverse("kpi", args=[k.key])
            hit.team, hit.team_key = k.team.name, k.team.key
            hit.by = str(k.owner) if k.owner else ""
            hit.detail = k.health
    if found := by_kind.get("team"):
        for t in Team.objects.filter(id__in=found).select_related("parent"):
            hit = found[t.pk]
            hit.key, hit.url = t.key, reverse("team", args=[t.key])
            if t.parent is not None:
                hit.team, hit.team_key = t.parent.name, t.parent.key
            hit.detail = t.kind
    if found := by_kind.get("person"):
        people = {p.pk: p for p in Person.objects.filter(id__in=found)}
        teams: dict[int, list[Team]] = {}
        for m in Membership.objects.filter(person_id__in=found).select_related("team"):
            teams.setdefault(m.person_id, []).append(m.team)
        for pk, hit in found.items():
            p = people[pk]
            hit.key, hit.detail = p.email, p.email
            mine = sorted(teams.get(pk, []), key=lambda t: t.name)
            if mine:
                hit.team, hit.team_key = ", ".join(t.name for t in mine), mine[0].key
                hit.url = reverse("team", args=[mine[0].key])
    # A row deleted between the two queries has no link: leave it out.
    hits[:] = [h for h in hits if h.url or h.kind == "person"]
