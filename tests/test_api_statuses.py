"""The API's statuses: JSON bodies need a JSON content type (415 otherwise), and every status
an operation may answer is declared in the OpenAPI document, in the one error shape."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import OperationalError

from headway.api.main import api as ninja_api
from headway.api.testing import ApiClient, token_for
from headway.kpis.models import Kpi, Measurement
from headway.teams.models import Team

pytestmark = pytest.mark.django_db

ERROR_REF = "#/components/schemas/ErrorOut"


def _error_shape(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields", "rows"}
    assert body["error"]["code"] == code
    return dict(body)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "text/csv", ""]
)
def test_a_json_body_with_another_content_type_is_refused_with_415(
    org: Any, content_type: str
) -> None:
    client = ApiClient(token_for(org.admin))
    body = json.dumps({"name": "Renamed"})
    response = client.patch("/teams/depot", body, content_type=content_type)
    _error_shape(response, 415, "unsupported_media_type")
    assert Team.objects.get(key="depot").name == "Depot North"
    created = client.post(
        "/teams",
        json.dumps({"key": "new", "name": "New", "kind": "team", "parent": "ops"}),
        content_type=content_type,
    )
    _error_shape(created, 415, "unsupported_media_type")
    assert not Team.objects.filter(key="new").exists()
    # The same bodies as JSON are taken.
    assert client.patch("/teams/depot", body).status_code == 200
    assert (
        client.patch("/teams/depot", body, content_type="application/merge-patch+json").status_code
        == 200
    )


def test_the_content_type_is_checked_after_the_credential(org: Any) -> None:
    response = ApiClient("hw_not-a-token").patch("/teams/depot", "{}", content_type="text/plain")
    _error_shape(response, 401, "unauthenticated")


def test_a_push_without_a_content_type_is_refused_and_stores_nothing(org: Any) -> None:
    Kpi.objects.create(key="otd", name="On-time", team=org.depot, owner=org.member)
    client = ApiClient(token_for(org.member))
    rows = json.dumps([{"at": "2027-02-01", "value": 92}])
    for path in ("/kpis/otd/measurements", "/measurements"):
        _error_shape(client.post(path, rows, content_type=""), 415, "unsupported_media_type")
    assert not Measurement.objects.exists()


def test_an_unreachable_database_answers_503_in_the_error_shape(
    org: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = ApiClient(token_for(org.admin))

    def down(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("connection refused")

    monkeypatch.setattr("headway.api.routes.teams.ser.team", down)
    response = client.get("/teams/depot")
    _error_shape(response, 503, "unavailable")
    assert response["Retry-After"]


def _document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        json.dumps(ninja_api.get_openapi_schema(path_prefix="/api/"))
    )
    return document


def test_every_operation_declares_every_status_it_may_answer() -> None:
    document = _document()
    checked = 0
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            name = f"{method.upper()} {path}"
            declared = {int(code) for code in operation["responses"]}
            # 400/414/431: a malformed request, or one over gunicorn's limits (any path).
            expected = {400, 401, 414, 431, 503}
            if "requestBody" in operation:
                expected |= {413, 415, 422}
            if method in {"post", "patch", "put", "delete"}:
                expected |= {401, 403}
            if "{" in path:
                expected |= {404}
            headers = {
                p["name"].lower() for p in operation.get("parameters", []) if p["in"] == "header"
            }
            if "if-match" in headers:
                expected |= {412}
            missing = expected - declared
            assert not missing, f"{name} does not declare {sorted(missing)}"
            for code, answer in operation["responses"].items():
                if int(code) >= 400:
                    schema = answer["content"]["application/json"]["schema"]
                    assert schema == {"$ref": ERROR_REF}, f"{name} {code} is not the error shape"
            checked += 1
    assert checked > 60
