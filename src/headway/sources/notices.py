"""The notifications of data sources: failing (once per failure spell), recovered, held.

Each goes to the KPI's owner (or, for a KPI without one, the leads of its team), in the
transaction of the fetch that caused it. The keys make them once per spell: a failure spell
is named by its first failed moment (`failing_since`), so retries record nothing new.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from headway.notify import text
from headway.notify.events import Draft, guard, record
from headway.notify.kinds import EventKind

if TYPE_CHECKING:
    from headway.sources.models import DataIncident, Source


def _draft(source: Source, kind: str, key: str, title: str, summary: str,
           facts: list[tuple[str, str]], at: datetime) -> Draft:  # fmt: skip
    kpi = source.kpi
    return Draft(
        kind=kind,
        key=key,
        title=title,
        summary=summary,
        facts=facts,
        numbers={"kind": source.kind, "attempts": source.attempts},
        occurred_at=at,
        link=text.link("kpi", kpi.key),
        team_id=kpi.team_id,
        kpi_id=kpi.pk,
        people=[kpi.owner_id],
        lead_teams=[kpi.team_id],
        leads_only_if_nobody=True,
    )


def failing(source: Source, at: datetime) -> None:
    """Announce a failure spell once (`source_failing:<source>:<failing since>`)."""
    assert source.failing_since is not None
    kpi = source.kpi
    with guard("source failing"):
        record(
            [
                _draft(
                    source,
                    EventKind.SOURCE_FAILING,
                    f"{EventKind.SOURCE_FAILING}:{source.pk}:{source.failing_since.isoformat()}",
                    f"Data source failing: {kpi.name}",
                    f"The {source.label} of {kpi.name} failed: {source.last_error} "
                    "The last good value is kept; Headway retries with a back-off.",
                    [
                        ("Error", source.last_error),
                        ("Failing since", text.moment(source.failing_since)),
                        ("Last success", text.moment(source.last_success_at)),
                    ],
                    at,
                )
            ]
        )


def recovered(source: Source, since: datetime, at: datetime) -> None:
    """Announce the end of a failure spell (`source_recovered:<source>:<failing since>`)."""
    kpi = source.kpi
    with guard("source recovered"):
        record(
            [
                _draft(
                    source,
                    EventKind.SOURCE_RECOVERED,
                    f"{EventKind.SOURCE_RECOVERED}:{source.pk}:{since.isoformat()}",
                    f"Data source works again: {kpi.name}",
                    f"The {source.label} of {kpi.name} fetched again after failing since "
                    f"{text.moment(since)}.",
                    [("Failing since", text.moment(since)), ("Recovered", text.moment(at))],
                    at,
                )
            ]
        )


def incident(source: Source, held: DataIncident, at: datetime) -> None:
    """Announce a data incident once (`data_incident:<incident>`)."""
    kpi = source.kpi
    with guard("data incident"):
        record(
            [
                _draft(
                    source,
                    EventKind.DATA_INCIDENT,
                    f"{EventKind.DATA_INCIDENT}:{held.pk}",
                    f"Data incident: {kpi.name}",
                    f"A fetch of {kpi.name} looks like a pipeline problem, not a business "
                    f"change, so it was held back: {'; '.join(held.reasons)}. Accept it on "
                    "the KPI page if the numbers are right.",
                    [("Why", "; ".join(held.reasons)), ("Rows held", str(len(held.rows)))],
                    at,
                )
            ]
        )
