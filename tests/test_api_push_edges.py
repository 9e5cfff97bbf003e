"""Pushes at their edges: an unterminated CSV quote is refused with its line, nothing stored;
a moment without a zone is read as UTC (docs/api.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from headway.api.testing import ApiClient, token_for
from headway.kpis.models import Kpi, Measurement

pytestmark = pytest.mark.django_db


@pytest.fixture
def otd(org: Any) -> Kpi:
    return Kpi.objects.create(
        key="otd", name="On-time", team=org.depot, owner=org.member, direction="up",
        cadence="weekly", target=95, warning=90, critical=85,
    )  # fmt: skip


def test_an_unterminated_quote_is_refused_with_its_line_and_nothing_stored(
    org: Any, otd: Kpi
) -> None:
    client = ApiClient(token_for(org.member))
    body = 'at,value,note\n2026-01-05,92,\n2026-01-12,93,"never closed\n2026-01-19,94,\n'
    answer = client.post("/kpis/otd/measurements", body, content_type="text/csv")
    assert answer.status_code == 400, answer.content
    error = answer.json()["error"]
    assert error["rows"] == [{"line": 3, "message": "a quote opened on this line is never closed"}]
    assert "line 3" in error["message"]
    assert not Measurement.objects.exists()


def test_a_moment_without_a_zone_is_utc(org: Any, otd: Kpi) -> None:
    client = ApiClient(token_for(org.member))
    answer = client.post("/kpis/otd/measurements", [{"at": "2026-01-05T09:30:00", "value": 92}])
    assert answer.status_code == 200, answer.content
    assert Measurement.objects.get().at == datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    listed = client.get("/kpis/otd/measurements").json()["items"][0]["at"]
    assert listed.startswith("2026-01-05T09:30:00")
    assert listed.endswith(("Z", "+00:00"))
