"""Run the coach on an OKRs-as-code document (no database)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, time

from headway.coach.language import default_language
from headway.coach.rules import (
    CycleFacts,
    Finding,
    KeyResultFacts,
    KpiFacts,
    ObjectiveFacts,
    Organisation,
    TeamFacts,
    run,
)
from headway.document.schema import Cycle, Document, KeyResult, measurement_points
from headway.okrs import insight
from headway.okrs.timing import checkin_timing


def _closed(cycle: Cycle, at: datetime) -> bool:
    """A cycle is closed when it says so, or, saying nothing, once it has ended."""
    if cycle.state is not None:
        return cycle.state == "closed"
    return cycle.end < at.date()


def _kpi_history(
    kr: KeyResult, cycle: Cycle | None, doc: Document
) -> tuple[tuple[datetime, float], ...]:
    """The linked KPI's review periods before the cycle (`target-business-as-usual`)."""
    kpi = next((k for k in doc.kpis if k.key == kr.kpi), None) if kr.kpi else None
    if kpi is None or cycle is None or kr.target is None:
        return ()
    before = datetime.combine(cycle.start, time(), tzinfo=UTC)
    return insight.kpi_history(measurement_points(kpi.measurements), kpi.cadence, before)


def _cadence(doc: Document, team: str) -> int:
    found = doc.teams_by_key.get(team)
    return found.checkin_cadence_days if found is not None else 7


def _moved(kr: KeyResult) -> bool:
    """Whether the latest check-in shows the outcome off its start (done, or another value)."""
    if not kr.checkins:
        return bool(kr.done)
    latest = max(kr.checkins, key=lambda c: c.at)
    if latest.done:
        return True
    return latest.value is not None and kr.start is not None and latest.value != kr.start


def _key_result_facts(
    kr: KeyResult, cycle: Cycle | None, doc: Document, cadence: int = 7
) -> KeyResultFacts:
    early = (
        []
        if cycle is None
        else sorted(
            c.at for c in kr.checkins if checkin_timing(c.at, cycle.start, cycle.end) == "early"
        )
    )
    return KeyResultFacts(
        kr.key,
        kr.title,
        kr.kind,
        kr.start,
        kr.target,
        kr.due,
        kr.kpi,
        kr.grade,
        first_early_checkin=early[0] if early else None,
        early_checkins=len(early),
        kpi_history=_kpi_history(kr, cycle, doc),
        work_total=sum(1 for i in kr.initiatives or () if i.status != "dropped"),
        work_done=sum(1 for i in kr.initiatives or () if i.status == "done"),
        outcome_moved=_moved(kr),
        last_checkin_at=max((c.at for c in kr.checkins), default=None),
        cadence_days=cadence,
    )


def organisation_from_document(doc: Document, at: datetime) -> Organisation:
    """The facts the coach needs, read from a document as of `at`.

    Titles are read in the document's `language`, else the organisation's
    (HEADWAY_LANGUAGE), the same default the database uses.
    """
    cycles = doc.cycles_by_key
    return Organisation(
        language=doc.language or default_language(os.environ),
        at=at,
        teams=tuple(TeamFacts(t.key, t.kind, t.parent) for t in doc.teams),
        cycles=tuple(CycleFacts(c.key, c.start, c.end, _closed(c, at)) for c in doc.cycles),
        objectives=tuple(
            ObjectiveFacts(
                key=o.key,
                title=o.title,
                team=o.team,
                cycle=o.cycle,
                type=o.type,
                parent=o.parent,
                key_results=tuple(
                    _key_result_facts(kr, cycles.get(o.cycle), doc, _cadence(doc, o.team))
                    for kr in o.key_results
                ),
                grade=o.grade,
                reflection=o.reflection,
                ignore=frozenset(o.coach.ignore) if o.coach else frozenset(),
            )
            for o in doc.objectives
        ),
        kpis=tuple(
            KpiFacts(
                key=k.key,
                name=k.name,
                team=k.team,
                tier=k.tier,
                owner=k.owner,
                cadence=k.cadence,
                target=k.target,
                why=k.why,
                latest_at=max(
                    (m for m, _ in measurement_points(k.measurements) if m <= at), default=None
                ),
            )
            for k in doc.kpis
        ),
    )


def lint_document(doc: Document, at: datetime) -> list[tuple[Finding, str | None, int | None]]:
    """Every finding with the file and line of the thing it concerns (when known)."""
    located = []
    for finding in run(organisation_from_document(doc, at)):
        where = doc.locate(finding.path)
        file, line = where if where is not None else (None, None)
        located.append((finding, file, line))
    return located
