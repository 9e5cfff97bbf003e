"""Server-side sparklines and the data the KPI and key-result charts draw."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from headway.kpis.health import CADENCE_DAYS, KpiEvaluation, Point, review_periods
from headway.kpis.models import Kpi
from headway.kpis.queries import latest_of_periods

SPARK_PERIODS = 26
CHART_PERIODS = 104


@dataclass(frozen=True)
class Sparkline:
    """An SVG polyline of recent review periods, with the last point and the target line."""

    points: str
    last_x: str
    last_y: str
    target_y: str | None
    width: int
    height: int
    count: int


def _fmt(value: float) -> str:
    return f"{value:.1f}"


def sparkline(
    values: Sequence[float], target: float | None = None, width: int = 120, height: int = 36
) -> Sparkline | None:
    """Scale `values` into a width x height box (3 px padding); None without values."""
    if not values:
        return None
    pad = 3.0
    low, high = min(values), max(values)
    spread = high - low
    if target is not None and low - max(spread, abs(low) * 0.1) <= target <= high + max(
        spread, abs(high) * 0.1
    ):
        low, high = min(low, target), max(high, target)
    if high == low:
        high, low = high + 1, low - 1
    step = (width - 2 * pad) / (len(values) - 1) if len(values) > 1 else 0.0

    def y(value: float) -> float:
        return pad + (high - value) / (high - low) * (height - 2 * pad)

    coords = [(pad + i * step, y(v)) for i, v in enumerate(values)]
    if len(coords) == 1:
        coords = [(pad, coords[0][1]), (width - pad, coords[0][1])]
    target_y = _fmt(y(target)) if target is not None and low <= target <= high else None
    return Sparkline(
        points=" ".join(f"{_fmt(px)},{_fmt(py)}" for px, py in coords),
        last_x=_fmt(coords[-1][0]),
        last_y=_fmt(coords[-1][1]),
        target_y=target_y,
        width=width,
        height=height,
        count=len(values),
    )


def recent_periods(
    kpis: Sequence[Kpi], at: datetime, count: int = SPARK_PERIODS
) -> dict[int, tuple[Point, ...]]:
    """The last `count` review periods of each KPI, in one query per cadence.

    The database keeps the latest measurement of each period (`latest_of_periods`): a
    board of daily KPIs read every measurement of the window before, about 11,500 rows
    for 24 tiles, and building them was most of the page's time.
    """
    since = {
        kpi.pk: (
            kpi.effective_cadence,
            at - timedelta(days=CADENCE_DAYS[kpi.effective_cadence] * (count + 2)),
        )
        for kpi in kpis
    }
    if not since:
        return {}
    # `until` is excluded there; a measurement stamped exactly `at` belongs on the board.
    points = latest_of_periods(since, at + timedelta(microseconds=1))
    return {
        kpi.pk: review_periods(points.get(kpi.pk, []), kpi.effective_cadence, at)[-count:]
        for kpi in kpis
    }


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def kpi_chart(kpi: Kpi, evaluation: KpiEvaluation) -> dict[str, Any] | None:
    """What the KPI page's chart draws: review periods, thresholds, benchmark, anomalies."""
    periods = evaluation.periods[-CHART_PERIODS:]
    if not periods:
        return None
    first = periods[0].at
    return {
        "type": "kpi",
        "unit": kpi.unit,
        "direction": kpi.direction,
        "values": [[_ms(p.at), p.value] for p in periods],
        "anomalies": [[_ms(a.at), a.value, a.rule] for a in evaluation.anomalies if a.at >= first],
        "target": kpi.target,
        "warning": kpi.warning,
        "critical": kpi.critical,
        "benchmark": kpi.benchmark,
        # Targets that change by period: [moment, target, warning, critical] from the first
        # period and at each step inside the window; the chart draws them as steps.
        "schedule": _schedule_segments(kpi, first, periods[-1].at),
    }


def _schedule_segments(kpi: Kpi, first: datetime, last: datetime) -> list[list[Any]]:
    if not kpi.target_schedule:
        return []
    card = kpi.core()
    moments = [first] + [s.starts_at for s in card.schedule if first < s.starts_at <= last]
    return [[_ms(m), (now := card.at(m)).target, now.warning, now.critical] for m in moments]
