"""Carry-over and duplicate: from an objective and in bulk from the review; the copies start
from the last values (or afresh as templates), link back, and the review shows them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from headway.api.tokens import create_token
from headway.okrs.actions import carry_objectives, copy_objective_to_cycle, record_checkin
from headway.okrs.models import Cycle, KeyResult, Objective

NOW = datetime(2027, 3, 20, 12, tzinfo=UTC)
pytestmark = [pytest.mark.django_db, pytest.mark.frozen(NOW)]


@pytest.fixture
def world(org: Any) -> Any:
    org.q2 = Cycle.objects.create(key="2027-Q2", name="2027 Q2", start=date(2027, 4, 1),
                                  end=date(2027, 6, 30))  # fmt: skip
    org.objectives = []
    for i in range(3):
        o = Objective.objects.create(key=f"o{i}", cycle=org.cycle, team=org.depot,
                                     owner=org.member, title=f"Objective {i}")  # fmt: skip
        a = KeyResult.objects.create(objective=o, key="a", title="Grow a", start=10, target=50,
                                     kind="increase", position=0)  # fmt: skip
        KeyResult.objects.create(objective=o, key="b", title="Ship b", kind="milestone",
                                 position=1)  # fmt: skip
        record_checkin(key_result=a, by=org.member, value=30, at=datetime(2027, 3, 1, tzinfo=UTC))
        org.objectives.append(o)
    return org


def krs(objective: Objective) -> list[tuple[str, float | None, float | None]]:
    return [(k.key, k.start, k.target) for k in objective.key_results.order_by("position")]


def test_carrying_starts_from_the_last_value_and_links_back(world: Any) -> None:
    o = world.objectives[0]
    copy = copy_objective_to_cycle(
        objective=o, cycle=world.q2, key_results=list(o.key_results.all()), by=world.member
    )
    assert (copy.cycle, copy.copied_from, copy.copy_kind) == (world.q2, o, "carried")
    assert krs(copy) == [("a", 30, 50), ("b", None, None)]
    with pytest.raises(ValidationError, match="already carried"):
        copy_objective_to_cycle(
            objective=o, cycle=world.q2, key_results=list(o.key_results.all()), by=world.member
        )
    assert Objective.objects.filter(copied_from=o).count() == 1


def test_a_template_starts_afresh_and_may_stay_in_its_cycle(world: Any) -> None:
    o = world.objectives[0]
    copy = copy_objective_to_cycle(
        objective=o, cycle=world.cycle, key_results=[o.key_results.get(key="a")],
        by=world.member, as_template=True,
    )  # fmt: skip
    assert (copy.key, copy.copy_kind, copy.copied_from) == ("o0-copy", "template", o)
    assert krs(copy) == [("a", 10, 50)]


def test_carrying_is_refused_to_outsiders_into_closed_cycles_and_without_key_results(
    world: Any,
) -> None:
    o = world.objectives[0]
    picked = list(o.key_results.all())
    with pytest.raises(PermissionDenied):
        copy_objective_to_cycle(objective=o, cycle=world.q2, key_results=picked, by=world.outsider)
    with pytest.raises(ValidationError):
        copy_objective_to_cycle(objective=o, cycle=world.q2, key_results=[], by=world.member)
    world.q2.state = "closed"
    world.q2.save()
    with pytest.raises(ValidationError):
        copy_objective_to_cycle(objective=o, cycle=world.q2, key_results=picked, by=world.member)
    assert not Objective.objects.filter(cycle=world.q2).exists()


def test_bulk_carry_is_all_or_nothing(world: Any) -> None:
    first, second, _third = world.objectives
    copy_objective_to_cycle(
        objective=second, cycle=world.q2, key_results=list(second.key_results.all()),
        by=world.member,
    )  # fmt: skip
    with pytest.raises(ValidationError, match=r"Objective 1: .*already carried"):
        carry_objectives(
            cycle=world.q2,
            picks=[(first, list(first.key_results.all())), (second, [])],
            by=world.member,
        )
    assert not Objective.objects.filter(copied_from=first).exists()


def signed_in(who: Any) -> Client:
    client = Client()
    client.force_login(who)
    return client


def test_the_review_carries_in_bulk_and_shows_what_was_carried(world: Any) -> None:
    client = signed_in(world.member)
    page = client.get(f"/cycles/{world.cycle.key}/carry/")
    assert page.status_code == 200
    assert b'value="2027-Q2" selected' in page.content
    response = client.post(
        f"/cycles/{world.cycle.key}/carry/",
        {"cycle": "2027-Q2", "objective": ["o0", "o2"], "kr-o0": ["a"], "kr-o2": ["a", "b"],
         "kr-o1": ["a"]},
    )  # fmt: skip
    assert response.status_code == 302
    carried = {
        o.copied_from.key if o.copied_from else "": krs(o)
        for o in Objective.objects.filter(cycle=world.q2)
    }
    assert carried == {"o0": [("a", 30, 50)], "o2": [("a", 30, 50), ("b", None, None)]}
    review = client.get(f"/cycles/{world.cycle.key}/review/").content.decode()
    assert "2 objectives of 2027 Q1 carried into other cycles" in review
    assert review.count('class="carried"') == 2
    copy = Objective.objects.get(copied_from__key="o0")
    assert "Carried over from" in client.get(f"/objectives/{copy.key}/").content.decode()
    assert "Carried or copied into" in client.get("/objectives/o0/").content.decode()


def test_the_objective_page_carries_or_duplicates(world: Any) -> None:
    client = signed_in(world.member)
    assert client.get("/objectives/o1/carry/").status_code == 200
    response = client.post(
        "/objectives/o1/carry/", {"mode": "template", "cycle": "2027-Q2", "kr": ["b"]}
    )
    copy = Objective.objects.get(copied_from__key="o1")
    assert response["Location"] == f"/objectives/{copy.key}/"
    assert (copy.copy_kind, krs(copy)) == ("template", [("b", None, None)])
    assert signed_in(world.outsider).get("/objectives/o1/carry/").status_code == 403
    refused = client.post("/objectives/o1/carry/", {"mode": "carry", "cycle": "nope"})
    assert refused.status_code == 422
    assert Objective.objects.filter(copied_from__key="o1").count() == 1


def test_the_api_carries_one_or_many(world: Any) -> None:
    token = create_token(person=world.member, name="t", scope="write")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token.secret}")
    one = api.post(
        "/api/v1/objectives/o0/carry", {"cycle": "2027-Q2", "key_results": ["a"]},
        content_type="application/json",
    )  # fmt: skip
    assert one.status_code == 201, one.content
    assert one.json()["copied_from"] == "o0"
    many = api.post(
        f"/api/v1/cycles/{world.cycle.key}/carry",
        {"cycle": "2027-Q2", "objectives": {"o1": ["a", "b"], "o2": ["b"]}},
        content_type="application/json",
    )
    assert many.status_code == 201, many.content
    assert [c["copied_from"] for c in many.json()["carried"]] == ["o1", "o2"]
    again = api.post(
        "/api/v1/objectives/o0/carry", {"cycle": "2027-Q2", "key_results": ["zz"]},
        content_type="application/json",
    )  # fmt: skip
    assert again.status_code == 400
    assert Objective.objects.filter(cycle=world.q2).count() == 3


def count_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("url", ["/cycles/2027-Q1/carry/", "/cycles/2027-Q1/review/",
                                 "/objectives/o0/", "/objectives/o0/carry/"])  # fmt: skip
def test_carry_pages_run_a_constant_number_of_queries(world: Any, url: str) -> None:
    client = signed_in(world.member)
    client.get("/")

    def grow(start: int, n: int) -> None:
        for i in range(start, start + n):
            o = Objective.objects.create(key=f"g{i}", cycle=world.cycle, team=world.depot,
                                         title=f"Grown {i}")  # fmt: skip
            KeyResult.objects.create(objective=o, key="a", title="A", start=0, target=1)
            copy_objective_to_cycle(
                objective=o, cycle=world.q2, key_results=list(o.key_results.all()),
                by=world.member,
            )  # fmt: skip
            copy_objective_to_cycle(
                objective=world.objectives[0], cycle=world.cycle, as_template=True,
                key_results=list(world.objectives[0].key_results.all()), by=world.member,
            )  # fmt: skip

    grow(0, 2)
    small = count_queries(client, url)
    grow(2, 10)
    assert count_queries(client, url) == small


def test_copies_round_trip_through_the_yaml_format(org: Any) -> None:
    from django.db import transaction

    from headway.document.exporter import export_text
    from headway.document.importer import import_document, load_texts_for_import

    def build() -> Objective:
        q2 = Cycle.objects.create(key="2027-Q2", start=date(2027, 4, 1), end=date(2027, 6, 30))
        o = Objective.objects.create(key="o", cycle=org.cycle, team=org.depot, title="Carry me")
        a = KeyResult.objects.create(objective=o, key="a", title="A up", start=1, target=9)
        record_checkin(key_result=a, by=org.member, value=4, at=datetime(2027, 3, 1, tzinfo=UTC))
        a.refresh_from_db()
        copy_objective_to_cycle(objective=o, cycle=q2, key_results=[a], by=org.member)
        return copy_objective_to_cycle(
            objective=o, cycle=org.cycle, key_results=[a], by=org.member, as_template=True
        )

    with transaction.atomic():
        build()
        first = export_text()
        of_q2 = export_text(cycle="2027-Q2")
        transaction.set_rollback(True)
    assert "copied_from: o" in first
    assert "copy_kind: carried" in first
    assert "copy_kind: template" in first
    assert "key: o\n" in of_q2  # the file stands alone: what it was carried from is in it
    assert not Objective.objects.exists()
    import_document(load_texts_for_import([("okrs.yaml", first)]))
    assert export_text() == first
    carried = Objective.objects.get(copy_kind="carried")
    assert (carried.copied_from.key if carried.copied_from else None, carried.cycle.key) == (
        "o", "2027-Q2"
    )  # fmt: skip
