"""The API's alignment tree: read from stored rows, the same answer as scoring it afresh."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from pydantic import BaseModel

from headway.api.schemas import ScoresOut, TreeOut
from headway.api.testing import ApiClient, token_for
from headway.api.tree import nest
from headway.kpis.actions import MeasurementRow, ingest_measurements
from headway.kpis.models import Kpi
from headway.okrs.actions import create_key_result, create_objective, record_checkin
from headway.okrs.models import KeyResult, Objective
from headway.teams.models import Person

NOW = datetime(2027, 2, 15, 12, tzinfo=UTC)
pytestmark = [pytest.mark.django_db, pytest.mark.frozen(NOW)]


@pytest.fixture
def okr(org: Any) -> Any:
    """Three levels of alignment, a private objective, a KPI-fed key result, check-ins."""
    top = create_objective(by=org.admin, cycle=org.cycle, team=org.company, title="Delight",
                           type="committed", owner=org.admin)  # fmt: skip
    mid = create_objective(by=org.lead, cycle=org.cycle, team=org.ops, parent=top,
                           title="Reliable deliveries", owner=org.lead)  # fmt: skip
    leaf = create_objective(by=org.lead, cycle=org.cycle, team=org.depot, parent=mid,
                            title="Calm depot")  # fmt: skip
    create_objective(by=org.member, cycle=org.cycle, team=org.depot, title="Secret",
                     visibility="private")  # fmt: skip
    kpi = Kpi.objects.create(key="otd", name="On-time", team=org.depot, direction="up")
    otd = create_key_result(by=org.lead, objective=mid, title="On time 88 to 96", start=88,
                            target=96, unit="%", owner=org.member)  # fmt: skip
    create_key_result(by=org.lead, objective=mid, title="Audit", kind="milestone")
    create_key_result(by=org.lead, objective=leaf, title="Fed by the KPI", start=80, target=90,
                      kpi=kpi)  # fmt: skip
    create_key_result(by=org.admin, objective=top, title="Untouched", start=0, target=10)
    for day, value in ((1, 90.0), (8, 91.5)):
        record_checkin(key_result=otd, by=org.member, value=value, confidence=7,
                       at=datetime(2027, 2, day, 9, tzinfo=UTC))  # fmt: skip
    ingest_measurements(
        rows=[MeasurementRow(kpi="otd", at=f"2027-02-{d:02}", value=80 + d) for d in (3, 10)],
        by=None,
    )
    return org


def tree(person: Person, what: str = "tree", **params: str) -> Any:
    response = ApiClient(token_for(person, "read")).get(f"/cycles/2027-Q1/{what}", params)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json; charset=utf-8"
    return response.json()


def schema_keys(body: Any, model: Any) -> None:
    """Every object of `body` has exactly the fields of its schema, recursively."""
    if isinstance(model, type) and issubclass(model, BaseModel):
        assert set(body) == set(model.model_fields), (model.__name__, set(body))
        for name, field in model.model_fields.items():
            schema_keys(body[name], field.annotation)
    elif getattr(model, "__origin__", None) is list:
        for item in body:
            schema_keys(item, model.__args__[0])
    elif getattr(model, "__origin__", None) is dict:
        for item in body.values():
            schema_keys(item, model.__args__[1])


@pytest.mark.parametrize("who", ["viewer", "member", "admin"])
def test_the_stored_tree_equals_the_tree_scored_afresh(okr: Any, who: str) -> None:
    person = getattr(okr, who)
    stored = tree(person)
    fresh = tree(person, at=NOW.isoformat())
    assert stored == fresh
    assert json.dumps(stored).count('"key":') >= 8  # the cycle, 3 objectives, 4 key results


@pytest.mark.parametrize("who", ["viewer", "admin"])
def test_the_stored_scores_equal_the_scores_computed_afresh(okr: Any, who: str) -> None:
    person = getattr(okr, who)
    stored = tree(person, "scores")
    assert stored == tree(person, "scores", at=NOW.isoformat())
    assert stored["key_results"]["reliable-deliveries/on-time-88-to-96"]["current"] == 91.5


@pytest.mark.parametrize(("what", "schema"), [("tree", TreeOut), ("scores", ScoresOut)])
def test_the_answer_has_exactly_the_fields_of_its_schema(
    okr: Any, what: str, schema: type[BaseModel]
) -> None:
    for body in (tree(okr.admin, what), tree(okr.admin, what, at=NOW.isoformat())):
        schema.model_validate(body)
        schema_keys(body, schema)


def test_the_tree_nests_three_levels_and_carries_stored_scores(okr: Any) -> None:
    body = tree(okr.viewer)
    [top] = body["objectives"]
    [mid] = top["children"]
    [leaf] = mid["children"]
    assert (top["key"], mid["key"], leaf["key"]) == ("delight", "reliable-deliveries", "calm-depot")
    otd = mid["key_results"][0]
    assert otd["current"] == 91.5
    assert otd["confidence"] == 7
    assert otd["score"] == pytest.approx((91.5 - 88) / 8)
    assert leaf["key_results"][0]["kpi"] == "otd"
    assert leaf["key_results"][0]["current"] == 90.0
    assert "secret" not in json.dumps(body)
    assert body["teams"]["depot"] == pytest.approx(
        sum(o.score for o in Objective.objects.filter(team=okr.depot)) / 2
    )


def test_a_team_filter_puts_objectives_aligned_outside_it_at_the_top(okr: Any) -> None:
    body = tree(okr.member, team="ops")
    assert [o["key"] for o in body["objectives"]] == ["secret", "reliable-deliveries"]
    assert body["objectives"][1]["children"][0]["key"] == "calm-depot"
    assert set(body["teams"]) == {"ops", "depot"}


def test_statuses_are_judged_at_the_moment_of_reading(okr: Any) -> None:
    before = tree(okr.admin)["objectives"][0]["key_results"][0]
    with time_machine.travel(NOW + timedelta(days=30), tick=False):
        after = tree(okr.admin)["objectives"][0]["key_results"][0]
    assert before["score"] == after["score"] == 0.0
    assert (before["status"], after["status"]) == ("no_data", "no_data")
    assert KeyResult.objects.get(key="untouched").has_data is False


def test_the_tree_takes_a_constant_number_of_queries(
    okr: Any, django_assert_max_num_queries: Any
) -> None:
    client = ApiClient(token_for(okr.admin, "read"))
    with django_assert_max_num_queries(12):
        assert client.get("/cycles/2027-Q1/tree").status_code == 200
    for n in range(30):
        parent = Objective.objects.get(key="reliable-deliveries")
        extra = create_objective(by=okr.admin, cycle=okr.cycle, team=okr.depot, parent=parent,
                                 title=f"More {n}")  # fmt: skip
        create_key_result(by=okr.admin, objective=extra, title="Ship", start=0, target=1)
    with django_assert_max_num_queries(12):
        assert client.get("/cycles/2027-Q1/tree").status_code == 200


def test_nest_leaves_out_a_loop_and_lifts_orphans_to_the_top() -> None:
    def node(key: str) -> dict[str, Any]:
        return {"key": key, "children": []}

    top = nest([(1, None, node("a")), (2, 1, node("b")), (3, 99, node("orphan")),
                (4, 5, node("loop-1")), (5, 4, node("loop-2"))])  # fmt: skip
    assert [n["key"] for n in top] == ["a", "orphan"]
    assert [n["key"] for n in top[0]["children"]] == ["b"]
