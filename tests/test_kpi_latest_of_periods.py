"""The database's latest-of-each-period reduction gives what the whole series gives.

`kpis.queries.latest_of_periods` keeps, in SQL, the latest measurement of each ISO week
(weekly KPIs) or calendar month (monthly and quarterly ones); taking review periods of
that must equal taking them of every measurement, at week, month and quarter boundaries,
with microseconds, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headway.kpis import health as core

# Monday 2026-03-30 00:00 UTC: a week, a month and a quarter begin within two days of it.
EDGE = datetime(2026, 3, 30, tzinfo=UTC)
BOUNDARIES = (EDGE, datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC))
moments = st.one_of(
    # Right around a boundary: a microsecond or a second either side.
    st.builds(
        lambda b, d: b + timedelta(microseconds=d),
        st.sampled_from(BOUNDARIES),
        st.sampled_from([-1_000_000, -1, 0, 1, 1_000_000]),
    ),
    # Anywhere in the year around them, to the microsecond.
    st.builds(
        lambda s: EDGE + timedelta(microseconds=s),
        st.integers(-200 * 86_400 * 10**6, 200 * 86_400 * 10**6),
    ),
)


@pytest.mark.django_db(transaction=False)
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    cadence=st.sampled_from(core.CADENCES),
    points=st.lists(st.tuples(moments, st.floats(-1e6, 1e6)), max_size=80),
    since_days=st.integers(-210, 10),
    until_days=st.integers(-30, 210),
)
def test_latest_of_periods_gives_the_review_periods_of_the_whole_series(
    org: Any, cadence: str, points: list[tuple[datetime, float]], since_days: int, until_days: int
) -> None:
    from django.db import transaction

    from headway.kpis.models import Kpi, Measurement
    from headway.kpis.queries import latest_of_periods

    since = EDGE + timedelta(days=since_days)
    until = EDGE + timedelta(days=until_days)
    unique = dict(points)  # one measurement per moment, as the database holds
    with transaction.atomic():
        kpi = Kpi.objects.create(key="otd", name="On-time", team=org.depot, cadence=cadence)
        other = Kpi.objects.create(key="nps", name="NPS", team=org.depot, cadence="weekly")
        Measurement.objects.bulk_create(
            [Measurement(kpi=kpi, at=at, value=v) for at, v in unique.items()]
            + [Measurement(kpi=other, at=at, value=-v) for at, v in unique.items()]
        )
        reduced = latest_of_periods({kpi.pk: (cadence, since)}, until)
        transaction.set_rollback(True)
    whole = [core.Point(at, v) for at, v in sorted(unique.items()) if since <= at < until]
    got = reduced.get(kpi.pk, [])
    # Nothing of the other KPI, nothing outside the window, and the same review periods.
    assert set(reduced) <= {kpi.pk}
    assert all(since <= p.at < until for p in got)
    assert core.review_periods(got, cadence, until) == core.review_periods(whole, cadence, until)


def test_latest_of_periods_sends_one_row_a_period(org: Any) -> None:
    """Three years of daily values of a quarterly KPI come back as 36 months, not 1,096."""
    from headway.kpis.models import Kpi, Measurement
    from headway.kpis.queries import latest_of_periods

    kpi = Kpi.objects.create(key="otd", name="On-time", team=org.depot, cadence="quarterly")
    start = datetime(2024, 1, 1, 12, tzinfo=UTC)
    Measurement.objects.bulk_create(
        Measurement(kpi=kpi, at=start + timedelta(days=d), value=d) for d in range(1096)
    )
    got = latest_of_periods({kpi.pk: ("quarterly", start)}, start + timedelta(days=1096))[kpi.pk]
    assert len(got) == 36
    assert got[0].at == datetime(2024, 1, 31, 12, tzinfo=UTC)
    assert got[0].value == 30
    assert got[-1].value == 1095
    weekly = latest_of_periods({kpi.pk: ("weekly", start)}, start + timedelta(days=28))[kpi.pk]
    # 2024-01-01 is a Monday: four whole ISO weeks, each ending on its Sunday.
    assert [p.at.weekday() for p in weekly] == [6, 6, 6, 6]
    assert len(weekly) == 4


def test_latest_of_periods_reads_each_kpi_from_its_own_start_a_query_per_start(org: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from headway.kpis.models import Kpi, Measurement
    from headway.kpis.queries import latest_of_periods

    start = datetime(2024, 1, 1, 12, tzinfo=UTC)
    kpis = {
        cadence: Kpi.objects.create(key=cadence, name=cadence, team=org.depot, cadence=cadence)
        for cadence in ("weekly", "monthly", "quarterly")
    }
    Measurement.objects.bulk_create(
        Measurement(kpi=kpi, at=start + timedelta(days=d), value=d)
        for kpi in kpis.values()
        for d in range(400)
    )
    since = {  # three cadences, each from a different start
        kpis["weekly"].pk: ("weekly", start + timedelta(days=300)),
        kpis["monthly"].pk: ("monthly", start + timedelta(days=100)),
        kpis["quarterly"].pk: ("quarterly", start + timedelta(days=200)),
    }
    until = start + timedelta(days=400)
    with CaptureQueriesContext(connection) as queries:
        got = latest_of_periods(since, until)
    assert len(queries.captured_queries) == 3  # one per period kind and start
    for kpi_id, (cadence, first) in since.items():
        whole = [p for p in _daily(start, 400) if first <= p.at < until]
        assert got[kpi_id][0].at >= first
        assert core.review_periods(got[kpi_id], cadence, until) == core.review_periods(
            whole, cadence, until
        )


def _daily(start: datetime, days: int) -> list[core.Point]:
    return [core.Point(start + timedelta(days=d), float(d)) for d in range(days)]


@pytest.mark.django_db(transaction=False)
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    cadence=st.sampled_from(core.CADENCES),
    points=st.lists(st.tuples(moments, st.floats(0, 200)), min_size=1, max_size=60),
    at_days=st.integers(-100, 210),
)
def test_a_kpis_evaluation_from_the_latest_of_its_periods_is_that_of_every_measurement(
    org: Any, cadence: str, points: list[tuple[datetime, float]], at_days: int
) -> None:
    """`kpis.queries.evaluation` reads one row a period; health, trend, streaks and
    anomalies are those of the whole series (`Kpi.evaluate`)."""
    from django.db import transaction

    from headway.kpis.models import Kpi, Measurement
    from headway.kpis.queries import evaluation

    at = EDGE + timedelta(days=at_days)
    unique = dict(points)
    with transaction.atomic():
        kpi = Kpi.objects.create(key="otd", name="On-time", team=org.depot, cadence=cadence,
                                 target=100, warning=80, critical=60)  # fmt: skip
        Measurement.objects.bulk_create(
            Measurement(kpi=kpi, at=t, value=v) for t, v in unique.items()
        )
        got = evaluation(kpi, at)
        whole = kpi.evaluate(at)
        transaction.set_rollback(True)
    assert got == whole
