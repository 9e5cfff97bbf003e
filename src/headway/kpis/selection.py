"""Is this still the right KPI? The rules of a KPI's selection review (docs/kpis.md).

A KPI is chosen because it stands for an outcome; platform changes and strategy shifts
break that link without any threshold noticing. So each KPI's selection is reviewed on a
schedule (its owner confirms it, retargets it, retires it or replaces it by another, with a
reason), and sooner when the evidence says the link is gone: the KPI's changes no longer
move with the outcome of the key result it is linked to. No Django here.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from headway.okrs import insight, scoring

__all__ = [
    "DECISIONS",
    "REVIEW_EVERY_DAYS",
    "LinkCheck",
    "link_check",
    "outcome_points",
    "review_due",
    "sample",
]

#: What a review may decide: keep the KPI as it is, change its target or thresholds,
#: stop tracking it, or stop tracking it in favour of another KPI.
DECISIONS: Final = ("confirm", "retarget", "retire", "replace")
#: Days between selection reviews, by the KPI's cadence: its own cadence, at least once a
#: quarter, and never more often than monthly (a weekly KPI's *choice* is not questioned
#: every week; its values are, by health and trend).
REVIEW_EVERY_DAYS: Final = {"weekly": 30, "monthly": 30, "quarterly": 91}
#: The link is compared over periods of this many days (a week: the check-in cadence).
LINK_PERIOD_DAYS: Final = 7


def review_due(since: datetime, cadence: str) -> datetime:
    """When the selection review falls due: ``since`` (the last review, or the KPI's
    creation) plus the interval of its cadence (monthly when it has none)."""
    return since + timedelta(days=REVIEW_EVERY_DAYS.get(cadence, REVIEW_EVERY_DAYS["monthly"]))


def sample(
    points: Sequence[tuple[datetime, float]], moments: Sequence[datetime]
) -> list[float | None]:
    """The latest value at or before each moment (None before the first point).

    ``points`` are (moment, value) in time order; the value in force at a moment is the
    last one measured or checked in by then.
    """
    times = [at for at, _value in points]
    out: list[float | None] = []
    for moment in moments:
        i = bisect_right(times, moment)
        out.append(points[i - 1][1] if i else None)
    return out


@dataclass(frozen=True, slots=True)
class LinkCheck:
    """Whether a KPI still moves with the outcome of one key result it is linked to.

    ``decayed`` is True when the Spearman correlation of their weekly changes over the last
    ``insight.CO_MOVEMENT_WINDOW`` weeks is not significantly positive (one-sided, 5%),
    False when it is, and None when there is too little to judge (``reason`` says why).
    """

    pairs: int
    rho: float | None
    p_value: float | None
    decayed: bool | None
    reason: str = ""


def link_check(
    kpi_points: Sequence[tuple[datetime, float]],
    outcome_points: Sequence[tuple[datetime, float]],
    *,
    upwards: bool,
    starts_at: datetime,
    at: datetime,
) -> LinkCheck:
    """Compare the KPI's weekly changes with the outcome's from ``starts_at`` to ``at``.

    ``outcome_points`` is the outcome the key result stands for, higher is better (the
    score of its objective's *other* key results over time: the KPI feeds the key result
    itself, so comparing with that would be comparing the KPI with itself). ``upwards`` is
    the KPI's direction; a lower-is-better KPI is compared with its sign turned. Weeks
    where either series has no value yet are left out, and a series that did not change
    at all in the window gives no verdict (no movement is no evidence either way).
    """
    moments: list[datetime] = []
    moment = starts_at + timedelta(days=LINK_PERIOD_DAYS)
    while moment <= at:
        moments.append(moment)
        moment += timedelta(days=LINK_PERIOD_DAYS)
    pairs = [
        (k if upwards else -k, o)
        for k, o in zip(sample(kpi_points, moments), sample(outcome_points, moments), strict=True)
        if k is not None and o is not None
    ]
    needed = insight.MIN_CO_MOVEMENT + 1
    if len(pairs) < needed:
        return LinkCheck(
            max(len(pairs) - 1, 0),
            None,
            None,
            None,
            f"{len(pairs)} weeks with both values; the check needs {needed}.",
        )
    kpi_values = [k for k, _o in pairs][-(insight.CO_MOVEMENT_WINDOW + 1) :]
    outcome_values = [o for _k, o in pairs][-(insight.CO_MOVEMENT_WINDOW + 1) :]
    for name, values in (("The KPI", kpi_values), ("The outcome", outcome_values)):
        if all(v == values[0] for v in values):
            return LinkCheck(
                len(values) - 1, None, None, None, f"{name} did not change in the window."
            )
    result = insight.co_movement(outcome_values, kpi_values)
    return LinkCheck(result.pairs, result.rho, result.p_value, result.decayed)


def outcome_points(others: Sequence[scoring.KeyResult]) -> list[tuple[datetime, float]]:
    """The outcome over time: the weighted mean score of ``others`` after each check-in.

    ``others`` are the linked key result's siblings (the rest of its objective); the mean
    changes only when one of them is checked in, so it is evaluated at those moments.
    """
    moments = sorted({c.at for kr in others for c in kr.checkins})
    weights = [kr.weight for kr in others]
    total = sum(weights)
    if not moments or total <= 0:
        return []
    return [
        (
            at,
            sum(w * scoring.kr_score(kr, at) for w, kr in zip(weights, others, strict=True))
            / total,
        )
        for at in moments
    ]
