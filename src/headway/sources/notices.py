"""The notifications of data sources: failing (once per failure spell), recovered, held.

Each goes to the KPI's owner (or, for a KPI without one, the leads of its team), in the
transaction of the fetch that caused it. The keys make them once per spell: a failure spell
is named by its first failed moment (`failing_since`), so retries record nothing new.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.utils.translation import gettext_noop

from headway.notify import text
from headway.notify.events import Draft, guard, record
from headway.notify.kinds import EventKind
from headway.words import Says, _

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
    """Announce a failure spell once (`source_failing:<source>:<failing since>`); its error
    as worded (`Source.error_said`), said in each recipient's language."""
    assert source.failing_since is not None
    kpi = source.kpi
    error = source.error_said
    with guard("source failing"):
        record(
            [
                _draft(
                    source,
                    EventKind.SOURCE_FAILING,
                    f"{EventKind.SOURCE_FAILING}:{source.pk}:{source.failing_since.isoformat()}",
                    _("Data source failing: %(kpi)s", kpi=kpi.name),
                    _(
                        "The %(source)s of %(kpi)s failed: %(error)s The last good value is "
                        "kept; Headway retries with a back-off.",
                        source=Says(source.label),
                        kpi=kpi.name,
                        error=error,
                    ),
                    [
                        (gettext_noop("Error"), error),
                        (gettext_noop("Failing since"), text.said_moment(source.failing_since)),
                        (gettext_noop("Last success"), text.said_moment(source.last_success_at)),
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
                    _("Data source works again: %(kpi)s", kpi=kpi.name),
                    _(
                        "The %(source)s of %(kpi)s fetched again after failing since %(since)s.",
                        source=Says(source.label),
                        kpi=kpi.name,
                        since=text.moment(since),
                    ),
                    [
                        (gettext_noop("Failing since"), text.moment(since)),
                        (gettext_noop("Recovered"), text.moment(at)),
                    ],
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
                    _("Data incident: %(kpi)s", kpi=kpi.name),
                    _(
                        "A fetch of %(kpi)s looks like a pipeline problem, not a business "
                        "change, so it was held back: %(reasons)s. Accept it on the KPI page if "
                        "the numbers are right.",
                        kpi=kpi.name,
                        reasons="; ".join(held.reasons),
                    ),
                    [
                        (gettext_noop("Why"), "; ".join(held.reasons)),
                        (gettext_noop("Rows held"), str(len(held.rows))),
                    ],
                    at,
                )
            ]
        )
