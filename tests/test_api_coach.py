"""The coach over the API: its findings (filtered, paginated, private ones hidden) and rules."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from headway.api.testing import ApiClient, token_for
from headway.coach.db import findings
from headway.coach.rules import RULES
from headway.kpis.models import Kpi
from headway.okrs.models import KeyResult, Objective

NOW = datetime(2027, 2, 15, 12, tzinfo=UTC)
pytestmark = [pytest.mark.django_db, pytest.mark.frozen(NOW)]


@pytest.fixture
def world(org: Any) -> Any:
    vague = Objective.objects.create(
        key="vague", cycle=org.cycle, team=org.ops, owner=org.lead, title="Improve our marketing"
    )
    KeyResult.objects.create(
        objective=vague, key="site", title="Launch the new website", kind="milestone"
    )
    KeyResult.objects.create(objective=vague, key="more", title="Raise sign-ups", kind="increase")
    secret = Objective.objects.create(
        key="depot-secret",
        cycle=org.cycle,
        team=org.depot,
        visibility="private",
        title="Increase revenue by 20%",
    )
    KeyResult.objects.create(
        objective=secret, key="award", title="Attend the awards night", kind="milestone"
    )
    Kpi.objects.create(key="otd", name="On-time", team=org.depot)
    return org


def listed(person: Any, **params: Any) -> dict[str, Any]:
    response = ApiClient(token_for(person, "read")).get("/coach/findings", params)
    assert response.status_code == 200, response.content
    body: dict[str, Any] = response.json()
    return body


def test_findings_are_the_coachs_on_the_database(world: Any) -> None:
    body = listed(world.admin, limit=200)
    everything = [f.as_dict() for f in findings()]
    assert body["items"] == everything
    assert body["count"] == len(everything)
    paths = {(f["rule"], f["path"]) for f in body["items"]}
    assert ("kr-is-task", "objectives/vague/key_results/site") in paths
    assert ("kpi-card-incomplete", "kpis/otd") in paths
    assert ("objective-count", "teams/sales") in paths
    second = listed(world.admin, limit=2, offset=2)
    assert second["items"] == everything[2:4]
    assert (second["count"], second["limit"], second["offset"]) == (len(everything), 2, 2)
    assert listed(world.admin, offset=10_000)["items"] == []


def test_findings_filter_by_path_rule_severity_and_team(world: Any) -> None:
    items = listed(world.admin, path="objectives/vague", limit=200)["items"]
    assert items
    assert all(f["path"].startswith("objectives/vague") for f in items)
    assert {f["rule"] for f in listed(world.admin, rule="kr-is-task")["items"]} == {"kr-is-task"}
    errors = listed(world.admin, severity="error")["items"]
    assert errors
    assert all(f["severity"] == "error" for f in errors)
    depot = {f["path"] for f in listed(world.admin, team="depot", limit=200)["items"]}
    assert "kpis/otd" in depot
    assert "objectives/depot-secret" in depot
    assert "objectives/vague" not in depot
    assert all(p.split("/")[1] in {"otd", "depot-secret", "depot"} for p in depot)
    sales = {f["path"] for f in listed(world.admin, team="sales")["items"]}
    assert sales == {"teams/sales"}


def test_unknown_filters_are_field_errors(world: Any) -> None:
    client = ApiClient(token_for(world.admin, "read"))
    response = client.get("/coach/findings", {"team": "nope", "rule": "be-nice"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert set(error["fields"]) == {"team", "rule"}
    bad = client.get("/coach/findings", {"severity": "fatal", "limit": 0})
    assert bad.status_code == 400
    assert set(bad.json()["error"]["fields"]) == {"severity", "limit"}


@pytest.mark.parametrize("who", ["viewer", "outsider"])
def test_findings_on_a_private_objective_are_left_out_for_non_members(world: Any, who: str) -> None:
    body = listed(getattr(world, who), limit=200)
    assert not [f for f in body["items"] if "depot-secret" in f["path"]]
    assert listed(getattr(world, who), path="objectives/depot-secret")["count"] == 0
    member = listed(world.member, path="objectives/depot-secret", limit=200)
    assert {f["path"] for f in member["items"]} == {
        "objectives/depot-secret",
        "objectives/depot-secret/key_results/award",
    }
    assert listed(world.admin)["count"] == body["count"] + member["count"]


def test_silenced_findings_are_not_listed(world: Any) -> None:
    Objective.objects.filter(key="vague").update(
        coach_ignore=["kr-is-task"], coach_ignore_why="Pilot"
    )
    rules = {f["rule"] for f in listed(world.admin, path="objectives/vague", limit=200)["items"]}
    assert "kr-is-task" not in rules
    assert "objective-vague" in rules


def test_rules_lists_every_rule(world: Any) -> None:
    response = ApiClient(token_for(world.viewer, "read")).get("/coach/rules")
    assert response.status_code == 200
    rules = response.json()
    assert [r["id"] for r in rules] == list(RULES)
    task = next(r for r in rules if r["id"] == "kr-is-task")
    assert task == {
        "id": "kr-is-task",
        "severity": "warning",
        "principle": RULES["kr-is-task"].principle,
        "fix": RULES["kr-is-task"].fix,
    }


def test_the_coach_needs_credentials(world: Any) -> None:
    for path in ("/coach/findings", "/coach/rules"):
        response = ApiClient().get(path)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthenticated"
