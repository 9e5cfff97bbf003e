"""Read-only questions about KPIs and the key results they feed, asked by several apps.

The KPI page, the objective page and the notifier all ask them; they live beside the data
they read (not in `kpis.actions`, which announces through the notifier, nor in
`notify`), so no two apps have to import each other for them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.utils import timezone

from headway.kpis import health as core
from headway.kpis.models import Kpi, Measurement
from headway.okrs.models import CheckIn, CycleState, KeyResult


def key_results_back_to_monitoring() -> list[KeyResult]:
    """KPI-linked key results of active cycles that were achieved while the KPI stayed healthy.

    Achieved is the key result's score reaching 1.0 on its current value; healthy means 3
    review periods running (the KPI's stored streak). One query.
    """
    candidates = KeyResult.objects.filter(
        objective__cycle__state=CycleState.ACTIVE,
        kpi__health="healthy",
        kpi__healthy_streak__gte=core.MONITORING_STREAK,
        current__isnull=False,
    ).select_related("kpi", "objective__cycle")
    return achieved_while_healthy(list(candidates))


def achieved_while_healthy(
    key_results: Sequence[KeyResult], *, now: datetime | None = None
) -> list[KeyResult]:
    """Those of `key_results` (with `kpi` and `objective.cycle` loaded) that may go back to
    monitoring: active cycle, KPI healthy 3 periods running, score 1.0 on the current value.
    """
    from headway.okrs.scoring import CheckIn as CoreCheckIn
    from headway.okrs.scoring import KeyResult as CoreKeyResult
    from headway.okrs.scoring import kr_score

    now = now or timezone.now()
    result = []
    for kr in key_results:
        kpi = kr.kpi
        if kpi is None or not core.may_return_to_monitoring(True, kpi):
            continue  # cheap before the score: the KPI's side of the rule fails already
        if kr.objective.cycle.state != CycleState.ACTIVE or kr.current is None:
            continue
        if kr.kind not in {"increase", "decrease", "above", "below"} or kr.target is None:
            continue
        if kr.kind in {"increase", "decrease"} and kr.start is None:
            continue
        core_kr = CoreKeyResult(
            key=kr.key, kind=kr.kind, start=kr.start, target=kr.target,
            checkins=(CoreCheckIn(at=now, value=kr.current),),
        )  # fmt: skip
        if core.may_return_to_monitoring(kr_score(core_kr, now) >= 1.0, kpi):
            result.append(kr)
    return result


def gaming_alerts(
    key_results: Sequence[KeyResult], *, at: datetime | None = None
) -> list[KeyResult]:
    """Key results that improved over the last 3 periods while a counter-KPI deteriorated.

    Reads the counter-KPIs and all the series involved in three queries.
    """
    at = at or timezone.now()
    guarded = list(key_results)
    if not guarded:
        return []
    pairs = list(
        KeyResult.counter_kpis.through.objects.filter(
            keyresult_id__in=[k.pk for k in guarded]
        ).values_list("keyresult_id", "kpi_id")
    )
    if not pairs:
        return []
    counter_ids = {kpi_id for _kr, kpi_id in pairs}
    kpi_ids = counter_ids | {kr.kpi_id for kr in guarded if kr.kpi_id is not None}
    kpis = {k.pk: k for k in Kpi.objects.filter(pk__in=kpi_ids)}
    series: dict[int, list[core.Point]] = defaultdict(list)
    for kpi_id, when, value in Measurement.objects.filter(
        kpi_id__in=kpi_ids, at__lte=at, at__gte=at - timedelta(days=400)
    ).values_list("kpi_id", "at", "value"):
        series[kpi_id].append(core.Point(at=when, value=value))
    checkins: dict[int, list[core.Point]] = defaultdict(list)
    for kr_id, when, checked in CheckIn.objects.filter(
        key_result_id__in=[k.pk for k in guarded if k.kpi_id is None],
        value__isnull=False,
        at__lte=at,
    ).values_list("key_result_id", "at", "value"):
        if checked is not None:
            checkins[kr_id].append(core.Point(at=when, value=checked))
    counters: dict[int, list[int]] = defaultdict(list)
    for kr_id, kpi_id in pairs:
        counters[kr_id].append(kpi_id)
    alerts = []
    for kr in guarded:
        if kr.pk not in counters:
            continue
        own = series[kr.kpi_id] if kr.kpi_id is not None else checkins[kr.pk]
        better = "up" if kr.kind in {"increase", "above"} else "down"
        cadence = kpis[kr.kpi_id].effective_cadence if kr.kpi_id is not None else "weekly"
        counter = [(kpis[k].core(), series[k]) for k in counters[kr.pk]]
        if core.possible_gaming(own, better, counter, at, cadence):
            alerts.append(kr)
    return alerts


# The SQL period of a measurement, finer than or equal to its review period (`core._bucket`):
# an ISO week (Monday start) for weekly KPIs, a calendar month for monthly and quarterly
# ones (months refine quarters), all in UTC. Keeping the latest row of each such period in
# SQL and then taking review periods in Python gives exactly what the full series gives.
_SQL_PERIOD = {
    "sqlite": {
        # Whole weeks since 0001-01-01, a Monday (julian day 1721425.5), of the stored text's
        # date part: SQLite's date functions round to milliseconds, which would move
        # 23:59:59.9995 into the next day (and week). One julianday() is half the cost of
        # the date and strftime pair that gave the week's Monday.
        "weekly": "CAST((julianday(substr(at, 1, 10)) - 1721425.5) / 7 AS INTEGER)",
        "monthly": "substr(at, 1, 7)",
    },
    "postgresql": {
        "weekly": "date_trunc('week', at AT TIME ZONE 'UTC')",
        "monthly": "date_trunc('month', at AT TIME ZONE 'UTC')",
    },
}

# The latest row of each (KPI, period). A KPI has one measurement per moment (the
# measurement_one_per_moment constraint), so "the latest" is the one with the greatest
# moment and needs no tie-break. SQLite: a bare column beside max() comes from the row
# holding the maximum (documented SQLite behaviour), read along the (kpi, at) index,
# about 5 times faster than ROW_NUMBER() over the same rows. PostgreSQL: DISTINCT ON.
_SQL_LATEST = {
    "sqlite": (
        "SELECT kpi_id, max(at), value FROM {table} WHERE kpi_id IN ({marks}) "
        "AND at >= %s AND at < %s GROUP BY kpi_id, {period} ORDER BY kpi_id, 2"
    ),
    "postgresql": (
        "SELECT kpi_id, at, value FROM (SELECT DISTINCT ON (kpi_id, {period}) kpi_id, at, "
        "value FROM {table} WHERE kpi_id IN ({marks}) AND at >= %s AND at < %s "
        "ORDER BY kpi_id, {period}, at DESC) AS m ORDER BY kpi_id, at"
    ),
}


def latest_of_periods(
    since: Mapping[int, tuple[str, datetime]], until: datetime
) -> dict[int, list[core.Point]]:
    """KPI id → the latest measurement of each of its review periods, oldest first.

    `since` maps each KPI to its cadence and the first moment to read; measurements from
    then up to `until` (excluded) are reduced in the database to the latest of each period,
    so a quarterly KPI with three years of daily values sends 36 rows, not 1,100. Feeding
    the result to `core.review_periods` gives what the whole series would (a property test
    holds it to that on both databases). One query per period kind (week or month) and
    start: `kpi_moves` asks with a start per cadence, so at most three.
    """
    vendor = connection.vendor
    groups: dict[tuple[str, datetime], list[int]] = defaultdict(list)
    for kpi_id, (cadence, start) in since.items():
        sql_cadence = "weekly" if cadence == "weekly" else "monthly"
        groups[(sql_cadence, start)].append(kpi_id)
    result: dict[int, list[core.Point]] = defaultdict(list)
    table = connection.ops.quote_name(Measurement._meta.db_table)
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        for (sql_cadence, start), ids in sorted(groups.items()):
            period = _SQL_PERIOD[vendor][sql_cadence]
            marks = ", ".join(["%s"] * len(ids))
            cursor.execute(
                _SQL_LATEST[vendor].format(table=table, marks=marks, period=period),
                [*ids, adapt(start), adapt(until)],
            )
            for kpi_id, at, value in cursor.fetchall():
                result[kpi_id].append(core.Point(at=_moment(at), value=value))
    return result


def _moment(value: datetime | str) -> datetime:
    """A datetime column read by a raw cursor, as an aware UTC datetime (SQLite gives text
    or a naive datetime, depending on whether its declared type survived the subquery)."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def evaluation(kpi: Kpi, at: datetime) -> core.KpiEvaluation:
    """`Kpi.evaluate` at `at` from the latest measurement of each review period only.

    The evaluation reads nothing else (`core.evaluate` takes the review periods of the
    points it is given), so the database keeps just those: three years of a daily KPI
    send 36 to 160 rows instead of 1,100 (a property test holds it to `Kpi.evaluate`).
    """
    since = {kpi.pk: (kpi.effective_cadence, datetime(1, 1, 1, tzinfo=UTC))}
    points = latest_of_periods(since, at + timedelta(microseconds=1)).get(kpi.pk, [])
    return core.evaluate(kpi.core(), points, at)
