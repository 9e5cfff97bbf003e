"""Bulk measurement pushes through the API: JSON arrays and CSV bodies, all-or-nothing,
idempotent, every bad row named with its line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from headway.api.testing import ApiClient, token_for
from headway.kpis.models import Kpi, Measurement

NOW = datetime(2027, 2, 15, 12, tzinfo=UTC)
pytestmark = [pytest.mark.django_db, pytest.mark.frozen(NOW)]


@pytest.fixture
def kpis(org: Any) -> Any:
    common = {"team": org.depot, "owner": org.member, "direction": "up", "cadence": "weekly"}
    org.otd = Kpi.objects.create(
        key="otd", name="On-time", target=95, warning=90, critical=85, **common
    )
    org.nps = Kpi.objects.create(key="nps", name="NPS", **common)
    return org


def test_json_push_to_one_kpi_is_idempotent(kpis: Any) -> None:
    client = ApiClient(token_for(kpis.member))
    rows = [{"at": "2027-02-01", "value": 92}, {"at": "2027-02-08", "value": 84.5, "note": "storm"}]
    first = client.post("/kpis/otd/measurements", rows)
    assert first.status_code == 200, first.content
    assert first.json() == {"created": 2, "replaced": 0, "unchanged": 0, "kpis": ["otd"]}
    again = client.post("/kpis/otd/measurements", rows)
    assert again.json() == {"created": 0, "replaced": 0, "unchanged": 2, "kpis": ["otd"]}
    replaced = client.post("/kpis/otd/measurements", [{"at": "2027-02-08", "value": 86}])
    assert replaced.json()["replaced"] == 1
    kpi = client.get("/kpis/otd").json()
    assert (kpi["latest_value"], kpi["health"]) == (86.0, "warning")
    assert Measurement.objects.get(at=datetime(2027, 2, 8, tzinfo=UTC)).source.startswith("api:")
    listed = client.get("/kpis/otd/measurements", {"limit": 1}).json()
    assert listed["count"] == 2
    assert listed["items"][0]["value"] == 92.0


def test_csv_push_to_many_kpis(kpis: Any) -> None:
    client = ApiClient(token_for(kpis.member))
    body = 'kpi,at,value,note\r\notd,2027-02-01,92,\r\nnps,2027-02-01T09:00:00Z,41,"a, b"\r\n'
    response = client.post("/measurements", body, content_type="text/csv")
    assert response.status_code == 200, response.content
    assert response.json() == {"created": 2, "replaced": 0, "unchanged": 0, "kpis": ["nps", "otd"]}
    assert Measurement.objects.get(kpi=kpis.nps).note == "a, b"


def test_csv_for_one_kpi_needs_no_kpi_column(kpis: Any) -> None:
    client = ApiClient(token_for(kpis.member))
    ok = client.post(
        "/kpis/otd/measurements", "\ufeffat,value\n2027-02-01,92\n", content_type="text/csv"
    )
    assert ok.status_code == 200, ok.content
    other = client.post(
        "/kpis/otd/measurements", "kpi,at,value\notd,2027-02-02,93\nnps,2027-02-02,40\n",
        content_type="text/csv",
    )  # fmt: skip
    assert other.status_code == 422
    assert [r["line"] for r in other.json()["error"]["rows"]] == [3]
    assert Measurement.objects.count() == 1


def test_every_bad_row_is_reported_and_nothing_is_stored(kpis: Any) -> None:
    client = ApiClient(token_for(kpis.member))
    body = (
        "kpi,at,value\n"
        "otd,2027-02-01,92\n"  # line 2: fine
        "otd,2027-02-02,NaN\n"  # 3
        "nope,2027-02-03,1\n"  # 4
        "otd,yesterday,1\n"  # 5
        "otd,2027-02-04\n"  # 6: a column short
        "\n"  # 7: blank lines are skipped
        "otd,2099-01-01,5\n"  # 8: future
    )
    response = client.post("/measurements", body, content_type="text/csv")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert [r["line"] for r in error["rows"]] == [3, 4, 5, 6, 8]
    assert "nothing was stored" in error["message"]
    assert not Measurement.objects.exists()


def test_json_rows_are_numbered_from_one(kpis: Any) -> None:
    client = ApiClient(token_for(kpis.member))
    rows = [
        {"kpi": "otd", "at": "2027-02-01", "value": 92},
        {"kpi": "otd", "at": "2027-02-01", "value": 93},
        "not an object",
        {"kpi": "otd", "at": "2027-02-03", "value": 1, "colour": "red"},
        {"kpi": "otd", "at": "2027-02-04", "value": 1, "note": "nul\u0000"},
    ]
    response = client.post("/measurements", rows)
    assert response.status_code == 422
    assert [r["line"] for r in response.json()["error"]["rows"]] == [2, 3, 4, 5]


def test_bad_bodies(kpis: Any) -> None:
    client = ApiClient(token_for(kpis.member))
    header = client.post("/measurements", "at,value\n2027-02-01,1\n", content_type="text/csv")
    assert header.status_code == 400
    assert "kpi" in header.json()["error"]["message"]
    assert (
        client.post(
            "/measurements", b"kpi,at,value\n\xff\xfe,1,2\n", content_type="text/csv"
        ).status_code
        == 400
    )
    assert client.post("/measurements", "{}", content_type="application/json").status_code == 400
    assert client.post("/measurements", "[", content_type="application/json").status_code == 400
    assert client.post("/measurements", "x", content_type="application/xml").status_code == 415
    empty = client.post("/measurements", [])
    assert empty.status_code == 422


def test_viewers_cannot_push(kpis: Any) -> None:
    client = ApiClient(token_for(kpis.viewer))
    one = client.post("/kpis/otd/measurements", [{"at": "2027-02-01", "value": 1}])
    assert one.status_code == 403
    many = client.post("/measurements", [{"kpi": "otd", "at": "2027-02-01", "value": 1}])
    assert many.status_code == 422
    assert "may not push" in many.json()["error"]["rows"][0]["message"]
    assert not Measurement.objects.exists()


def test_large_csv_body_beyond_the_global_upload_limit(kpis: Any, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024  # the site-wide limit stays in force elsewhere
    start = NOW - timedelta(days=400)
    lines = ["kpi,at,value"] + [
        f"otd,{(start + timedelta(minutes=5 * i)).isoformat()},{90 + i % 7}" for i in range(20000)
    ]
    body = "\n".join(lines) + "\n"
    assert len(body) > 100 * settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    response = ApiClient(token_for(kpis.member)).post(
        "/measurements", body, content_type="text/csv"
    )
    assert response.status_code == 200, response.content[:500]
    assert response.json()["created"] == 20000
    big_json = ApiClient(token_for(kpis.admin)).post(
        "/teams", {"key": "x", "name": "X" * 5000, "parent": "ops"}
    )
    assert big_json.status_code == 413


def test_body_over_the_ingest_limit_is_refused(kpis: Any, monkeypatch: Any) -> None:
    from headway.api import ingest

    monkeypatch.setattr(ingest, "MAX_BYTES", 100)
    body = "kpi,at,value\n" + "otd,2027-02-01,1\n" * 20
    response = ApiClient(token_for(kpis.member)).post(
        "/measurements", body, content_type="text/csv"
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_far_time_zone_offsets_are_stored_in_utc(kpis: Any) -> None:
    client = ApiClient(token_for(kpis.member))
    pushed = client.post(
        "/kpis/otd/measurements", [{"at": "2027-02-01T20:00:00+23:30", "value": 1}]
    )
    assert pushed.status_code == 200, pushed.content
    assert Measurement.objects.get().at == datetime(2027, 1, 31, 20, 30, tzinfo=UTC)
    listed = client.get("/kpis/otd/measurements", {"until": "2027-02-10T00:00:00+23:17"})
    assert listed.status_code == 200
    assert listed.json()["count"] == 1
    ancient = client.post(
        "/kpis/otd/measurements", [{"at": "0001-01-01T00:00:00+05:00", "value": 1}]
    )
    assert ancient.status_code == 422
