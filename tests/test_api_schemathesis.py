"""Property-based run of every API operation against the live application (schemathesis).

The schema is loaded from the running app's /api/openapi.json; each operation is called
through Django's WSGI handler with an admin's write token, and must answer without a
server error, with a declared status code, content type and body shape.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from typing import Any

import pytest
import schemathesis
import time_machine
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from headway.api.main import api as ninja_api
from headway.api.models import ApiToken
from headway.api.testing import token_for
from headway.kpis.models import Kpi, Measurement
from headway.okrs.models import CheckIn, Cycle, KeyResult, Objective
from headway.teams.models import Team

pytestmark = pytest.mark.django_db
NOW = datetime(2027, 2, 15, 12, tzinfo=UTC)
EXAMPLES = int(os.environ.get("HEADWAY_SCHEMATHESIS_EXAMPLES", "12"))
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]

# Path parameters that name things that exist, so writes get past the 404s.
KNOWN: dict[str, dict[str, list[Any]]] = {
    "/api/v1/teams/": {"key": ["depot", "empty", "ops"]},
    "/api/v1/people/": {"email": ["member@acme.test", "lead@acme.test"]},
    "/api/v1/cycles/": {"key": ["2027-Q1", "2026-Q4", "2027-Q2"]},
    "/api/v1/objectives/": {"key": ["reliable", "depot-secret", "delight"], "kr_key": ["otd", "m"]},
    "/api/v1/kpis/": {"key": ["otd-rate", "nps"]},
    "/api/v1/tokens/": {"token_id": [1, 2]},
}


@pytest.fixture
def world(org: Any) -> Any:
    with time_machine.travel(NOW, tick=False):
        Team.objects.create(key="empty", name="Empty", parent=org.ops)
        Cycle.objects.create(
            key="2026-Q4", start=date(2026, 10, 1), end=date(2026, 12, 31), state="closed"
        )
        Cycle.objects.create(key="2027-Q2", start=date(2027, 4, 1), end=date(2027, 6, 30))
        top = Objective.objects.create(
            key="delight", cycle=org.cycle, team=org.company, owner=org.admin, title="Delight"
        )
        objective = Objective.objects.create(
            key="reliable", cycle=org.cycle, team=org.ops, owner=org.lead, title="Reliable",
            parent=top,
        )  # fmt: skip
        kr = KeyResult.objects.create(
            objective=objective, key="otd", title="On time", start=88, target=96
        )
        KeyResult.objects.create(objective=objective, key="m", title="Audit", kind="milestone")
        CheckIn.objects.create(key_result=kr, at=datetime(2027, 2, 1, tzinfo=UTC), value=90)
        Objective.objects.create(
            key="depot-secret", cycle=org.cycle, team=org.depot, visibility="private",
            title="Award",
        )  # fmt: skip
        kpi = Kpi.objects.create(
            key="otd-rate", name="On-time", team=org.ops, owner=org.lead, target=95,
            warning=90, critical=85, cadence="weekly",
        )  # fmt: skip
        Kpi.objects.create(key="nps", name="NPS", team=org.depot)
        Measurement.objects.create(kpi=kpi, at=datetime(2027, 2, 8, tzinfo=UTC), value=84)
    return org


@pytest.fixture
def keep_connection() -> Any:
    """Keep the test's database connection across requests, as Django's test client does.

    The WSGI handler closes connections when a request finishes; inside the test's
    transaction that would close it on PostgreSQL.
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def token(world: Any, keep_connection: Any) -> str:
    secret = token_for(world.admin, "write", name="schemathesis")
    token_for(world.admin, "read", name="second")
    assert ApiToken.objects.count() == 2
    return secret


def _load() -> Any:
    """The app's own OpenAPI document, called through the app's WSGI handler."""
    loaded = schemathesis.openapi.from_dict(ninja_api.get_openapi_schema(path_prefix="/api/"))
    loaded.app = get_wsgi_application()

    @loaded.hook  # type: ignore[untyped-decorator,unused-ignore]
    def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> Any:
        if not path_parameters:
            return st.just(path_parameters)
        path = context.operation.path
        known = next((v for prefix, v in KNOWN.items() if path.startswith(prefix)), {})
        choices = {
            name: st.sampled_from([value, *known.get(name, [])])
            for name, value in path_parameters.items()
        }
        return st.fixed_dictionaries(choices)

    return loaded


schema = _load()


def test_the_served_document_is_the_one_tested(token: str) -> None:
    from django.test import Client

    served = Client().get("/api/openapi.json", headers={"Authorization": f"Bearer {token}"})
    assert served.status_code == 200
    assert served.json() == schemathesis_raw()


def schemathesis_raw() -> Any:
    import json

    return json.loads(json.dumps(ninja_api.get_openapi_schema(path_prefix="/api/")))


@schema.parametrize()  # type: ignore[untyped-decorator,unused-ignore]
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not os.environ.get("HEADWAY_SCHEMATHESIS_RANDOM"),
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case: Any, token: str) -> None:
    with time_machine.travel(NOW, tick=True):
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
