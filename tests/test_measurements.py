"""Measurement ingestion: validated, all-or-nothing, idempotent, feeding linked key results."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext

from headway.kpis.actions import (
    IngestError,
    MeasurementRow,
    ingest_measurements,
    parse_moment,
    parse_value,
)
from headway.kpis.models import Kpi, Measurement, MeasurementRevision
from headway.okrs.models import KeyResult, Objective

NOW = datetime(2027, 2, 15, 12, tzinfo=UTC)
pytestmark = [pytest.mark.django_db, pytest.mark.frozen(NOW)]


@pytest.fixture
def kpi(org: Any) -> Kpi:
    return Kpi.objects.create(
        key="otd", name="On-time delivery", team=org.depot, owner=org.member, unit="%",
        direction="up", target=95, warning=90, critical=85, cadence="weekly",
    )  # fmt: skip


def rows(*values: tuple[str, Any, Any]) -> list[MeasurementRow]:
    return [MeasurementRow(kpi=k, at=a, value=v) for k, a, v in values]


def test_push_creates_and_updates_kpi_state(org: Any, kpi: Kpi) -> None:
    result = ingest_measurements(
        rows=rows(("otd", "2027-02-01", 92), ("otd", "2027-02-08", "84.5")), by=org.member
    )
    assert (result.created, result.replaced, result.unchanged) == (2, 0, 0)
    kpi.refresh_from_db()
    assert kpi.latest_value == 84.5
    assert kpi.health == "critical"
    assert kpi.latest_at == datetime(2027, 2, 8, tzinfo=UTC)


def test_pushing_the_same_batch_twice_changes_nothing(org: Any, kpi: Kpi) -> None:
    batch = rows(("otd", "2027-02-01", 92), ("otd", "2027-02-08", 93))
    ingest_measurements(rows=batch, by=org.member)
    before = list(Measurement.objects.values_list("id", "at", "value", "updated_at"))
    again = ingest_measurements(rows=batch, by=org.member)
    assert (again.created, again.replaced, again.unchanged) == (0, 0, 2)
    assert list(Measurement.objects.values_list("id", "at", "value", "updated_at")) == before
    assert not MeasurementRevision.objects.exists()


def test_replacing_a_value_keeps_the_old_one(org: Any, kpi: Kpi) -> None:
    ingest_measurements(rows=rows(("otd", "2027-02-01", 92)), by=org.member)
    result = ingest_measurements(rows=rows(("otd", "2027-02-01T00:00:00Z", 91)), by=org.lead)
    assert result.replaced == 1
    measurement = Measurement.objects.get()
    assert measurement.value == 91
    revision = measurement.revisions.get()
    assert (revision.old_value, revision.replaced_by) == (92, org.lead)


def test_replacing_many_values_stores_value_note_source_and_moment(org: Any, kpi: Kpi) -> None:
    first = [MeasurementRow(kpi="otd", at=f"2027-02-{d:02}", value=80 + d) for d in range(1, 21)]
    later = datetime(2027, 3, 1, 9, 30, tzinfo=UTC)
    ingest_measurements(rows=first, by=org.member, source="sheet", now=later - timedelta(days=1))
    again = [
        MeasurementRow(kpi="otd", at=f"2027-02-{d:02}", value=90 + d, note=f"fixed {d}")
        for d in range(1, 21)
    ]
    result = ingest_measurements(rows=again, by=org.lead, source="warehouse", now=later)
    assert result.replaced == 20
    stored = list(Measurement.objects.order_by("at"))
    assert [m.value for m in stored] == [90 + d for d in range(1, 21)]
    assert {m.source for m in stored} == {"warehouse"}
    assert stored[4].note == "fixed 5"
    assert {m.updated_at for m in stored} == {later}
    assert MeasurementRevision.objects.count() == 20


def test_one_bad_row_writes_nothing_and_every_bad_row_is_named(org: Any, kpi: Kpi) -> None:
    batch = [
        MeasurementRow(kpi="otd", at="2027-02-01", value=92, line=2),
        MeasurementRow(kpi="otd", at="2027-02-02", value="NaN", line=3),
        MeasurementRow(kpi="nope", at="2027-02-03", value=1, line=4),
        MeasurementRow(kpi="otd", at="yesterday", value=1, line=5),
        MeasurementRow(kpi="otd", at="2027-02-05", value=float("inf"), line=6),
        MeasurementRow(kpi="otd", at="2027-02-06", value="1e20", line=7),
        MeasurementRow(kpi="otd", at="2027-02-01", value=93, line=8),
        MeasurementRow(kpi="otd", at="2027-03-01", value=93, line=9),
    ]
    with pytest.raises(IngestError) as exc:
        ingest_measurements(rows=batch, by=org.member)
    lines = [line for line, _ in exc.value.rows]
    assert lines == [3, 4, 5, 6, 7, 8, 9]
    messages = dict(exc.value.rows)
    assert "not a finite number" in messages[3]
    assert "no KPI with key 'nope'" in messages[4]
    assert "ISO 8601" in messages[5]
    assert "out of range" in messages[7]
    assert "row 2" in messages[8]
    assert "future" in messages[9]
    assert not Measurement.objects.exists()
    kpi.refresh_from_db()
    assert kpi.health == "no_data"


def test_viewers_cannot_push(org: Any, kpi: Kpi) -> None:
    with pytest.raises(IngestError, match="may not push"):
        ingest_measurements(rows=rows(("otd", "2027-02-01", 92)), by=org.viewer)
    assert not Measurement.objects.exists()


def test_linked_key_result_takes_the_latest_value(org: Any, kpi: Kpi) -> None:
    objective = Objective.objects.create(key="o", cycle=org.cycle, team=org.depot, title="O")
    kr = KeyResult.objects.create(
        objective=objective, key="k", title="K", start=80, target=95, kpi=kpi
    )
    ingest_measurements(
        rows=rows(("otd", "2027-02-08", 88), ("otd", "2027-02-01", 86)), by=org.member
    )
    kr.refresh_from_db()
    assert kr.current == 88


def test_bulk_ingestion_is_set_based(org: Any, kpi: Kpi) -> None:
    start = NOW - timedelta(days=3000)
    batch = [
        MeasurementRow(kpi="otd", at=start + timedelta(hours=6 * i), value=90 + i % 7)
        for i in range(5000)
    ]
    with CaptureQueriesContext(connection) as ctx:
        result = ingest_measurements(rows=batch, by=None)
    assert result.created == 5000
    # A few bulk statements, not one per row.
    assert len(ctx.captured_queries) < 30


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2027-02-01", datetime(2027, 2, 1, tzinfo=UTC)),
        ("2027-02-01T10:30:00+02:00", datetime(2027, 2, 1, 8, 30, tzinfo=UTC)),
        ("2027-02-01 10:30", datetime(2027, 2, 1, 10, 30, tzinfo=UTC)),
        # Offsets PostgreSQL would refuse are stored as the same instant in UTC.
        ("2027-02-01T20:00:00+18:00", datetime(2027, 2, 1, 2, 0, tzinfo=UTC)),
    ],
)
def test_moments_parse_from_iso_8601(raw: str, expected: datetime) -> None:
    assert parse_moment(raw) == expected


@pytest.mark.parametrize("raw", ["1850-01-01", "3001-01-01", "0001-01-01T00:00:00+01:00"])
def test_moments_outside_the_supported_years_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match=r"year|out of range"):
        parse_moment(raw)


@pytest.mark.parametrize("raw", ["", "abc", "nan", "-inf", True, None, "1e16"])
def test_values_must_be_finite_numbers_in_range(raw: Any) -> None:
    with pytest.raises(ValueError):
        parse_value(raw)


def test_permission_error_type_is_not_raised_for_system_pushes(kpi: Kpi) -> None:
    try:
        ingest_measurements(rows=rows(("otd", "2027-02-01", 92)), by=None)
    except PermissionDenied:  # pragma: no cover - would be the defect this test catches
        pytest.fail("system pushes need no person")
    assert Measurement.objects.count() == 1
