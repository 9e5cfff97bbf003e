"""Initiatives: the work planned to move a key result, shown beside its score, never in it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from headway.api.testing import ApiClient, token_for
from headway.document.exporter import export_text
from headway.document.importer import import_document, load_texts_for_import
from headway.initiatives.actions import create_initiative, delete_initiative, update_initiative
from headway.initiatives.models import Initiative
from headway.initiatives.progress import progress
from headway.okrs.actions import record_checkin
from headway.okrs.models import KeyResult, Objective
from headway.teams.models import Person
from headway.versions import StaleVersion

NOW = datetime(2027, 2, 15, 12, tzinfo=UTC)
pytestmark = [pytest.mark.django_db, pytest.mark.frozen(NOW)]


def test_progress_counts_done_of_the_work_not_dropped() -> None:
    work = progress(["done", "done", "planned", "in_progress", "done", "dropped"])
    assert (work.done, work.total, str(work)) == (3, 5, "3 of 5 initiatives done")
    assert not work.all_done
    assert progress(["done", "dropped"]).all_done
    assert str(progress(["done"])) == "1 of 1 initiative done"
    assert not progress([]).all_done
    assert not progress(["dropped"]).all_done


@pytest.fixture
def world(org: Any) -> Any:
    org.objective = Objective.objects.create(
        key="reliable", cycle=org.cycle, team=org.depot, owner=org.member, title="Reliable"
    )
    org.kr = KeyResult.objects.create(
        objective=org.objective, key="otd", title="On time", start=80, target=90, owner=org.member
    )
    org.secret = Objective.objects.create(
        key="secret", cycle=org.cycle, team=org.depot, visibility="private", title="Secret"
    )
    org.secret_kr = KeyResult.objects.create(
        objective=org.secret, key="award", title="Win it", kind="milestone"
    )
    return org


def test_members_plan_work_others_may_not(world: Any) -> None:
    i = create_initiative(
        by=world.member, key_result=world.kr, title="New routes", due="2027-03-01"
    )
    assert (i.status, i.position, i.due, i.version) == ("planned", 0, date(2027, 3, 1), 1)
    second = create_initiative(by=world.member, key_result=world.kr, title="Train drivers")
    assert second.position == 1
    for who in (world.outsider, world.viewer):
        with pytest.raises(PermissionDenied, match="may plan its initiatives"):
            create_initiative(by=who, key_result=world.kr, title="Nope")
    with pytest.raises(ValidationError) as info:
        create_initiative(by=world.member, key_result=world.kr, title="x", due="soon")
    assert "due" in info.value.message_dict
    with pytest.raises(ValidationError) as info:
        create_initiative(by=world.member, key_result=world.kr, title="x", link="not a url")
    assert "link" in info.value.message_dict
    with pytest.raises(ValidationError):
        create_initiative(by=world.member, key_result=world.kr, title="x", status="finished")
    assert Initiative.objects.count() == 2


def test_its_owner_moves_its_status_with_a_version_check_and_history(world: Any) -> None:
    i = create_initiative(
        by=world.member, key_result=world.kr, title="New routes", owner=world.outsider
    )
    update_initiative(by=world.outsider, initiative=i, status="in_progress", version=1)
    i.refresh_from_db()
    assert (i.status, i.version) == ("in_progress", 2)
    with pytest.raises(StaleVersion):
        update_initiative(by=world.member, initiative=i, status="done", version=1)
    with pytest.raises(PermissionDenied, match="owner may change it"):
        update_initiative(by=world.viewer, initiative=i, status="done")
    same = update_initiative(by=world.member, initiative=i, status="in_progress", version=2)
    assert same.version == 2  # no real change, no new version
    assert [h.status for h in i.history.order_by("history_id")] == ["planned", "in_progress"]
    assert i.history.order_by("history_id").last().history_user == world.outsider
    delete_initiative(by=world.member, initiative=i, version=2)
    assert not Initiative.objects.exists()
    assert Initiative.history.filter(history_type="-").count() == 1


def test_a_closed_cycle_freezes_its_initiatives(world: Any) -> None:
    i = create_initiative(by=world.member, key_result=world.kr, title="New routes")
    world.cycle.state = "closed"
    world.cycle.save()
    with pytest.raises(ValidationError, match="closed"):
        update_initiative(by=world.member, initiative=i, status="done")
    with pytest.raises(ValidationError, match="closed"):
        create_initiative(by=world.member, key_result=world.kr, title="More")


def test_work_never_moves_the_score(world: Any) -> None:
    record_checkin(key_result=world.kr, by=world.member, value=85, at=NOW)
    before = (
        KeyResult.objects.get(pk=world.kr.pk).score,
        Objective.objects.get(key="reliable").score,
    )
    i = create_initiative(by=world.member, key_result=world.kr, title="New routes")
    update_initiative(by=world.member, initiative=i, status="done")
    after = KeyResult.objects.get(pk=world.kr.pk).score, Objective.objects.get(key="reliable").score
    assert before == after
    assert before[0] == pytest.approx(0.5)


def client_for(person: Person) -> Client:
    client = Client()
    client.force_login(person)
    return client


def test_the_objective_page_shows_work_beside_the_score_and_takes_forms(world: Any) -> None:
    member = client_for(world.member)
    url = "/objectives/reliable/key-results/otd/initiatives/new/"
    assert member.get(url).status_code == 200
    response = member.post(url, {"title": "New routes", "owner": world.member.pk, "status": "done"})
    assert response.status_code == 302
    member.post(url, {"title": "Train drivers", "status": "planned", "link": "https://x.test/1"})
    page = member.get("/objectives/reliable/").content.decode()
    scoreline = page.split('id="kr-otd"')[1].split("</header>")[0]
    assert "1 of 2 initiatives done" in scoreline
    assert 'href="https://x.test/1"' in page
    second = Initiative.objects.get(title="Train drivers")
    member.post(f"/initiatives/{second.pk}/status/", {"status": "done", "version": "1"})
    assert "2 of 2 initiatives done" in member.get("/objectives/reliable/").content.decode()
    # A stale quick change is refused with the message, nothing written.
    member.post(f"/initiatives/{second.pk}/status/", {"status": "planned", "version": "1"})
    second.refresh_from_db()
    assert second.status == "done"
    edit = member.post(
        f"/initiatives/{second.pk}/edit/",
        {"title": "Train all drivers", "status": "done", "version": "2"},
    )
    assert edit.status_code == 302
    second.refresh_from_db()
    assert (second.title, second.version) == ("Train all drivers", 3)
    outsider = client_for(world.outsider)
    assert outsider.get(url).status_code == 403
    assert (
        outsider.post(f"/initiatives/{second.pk}/status/", {"status": "planned"}).status_code == 403
    )
    assert "Add an initiative" not in outsider.get("/objectives/reliable/").content.decode()
    member.post(f"/initiatives/{second.pk}/delete/")
    assert not Initiative.objects.filter(pk=second.pk).exists()


def test_the_owners_home_lists_their_open_work_and_never_a_hidden_objective(world: Any) -> None:
    create_initiative(by=world.member, key_result=world.kr, title="Open work", owner=world.outsider)
    create_initiative(by=world.member, key_result=world.kr, title="Done work", owner=world.outsider,
                      status="done")  # fmt: skip
    create_initiative(by=world.member, key_result=world.secret_kr, title="Hidden work",
                      owner=world.outsider)  # fmt: skip
    home = client_for(world.outsider).get("/").content.decode()
    assert "Your initiatives" in home
    assert "Open work" in home
    assert "Done work" not in home
    assert "Hidden work" not in home
    assert client_for(world.outsider).get("/objectives/secret/").status_code == 404


def _queries(client: Client, url: str) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_pages_with_initiatives_run_a_constant_number_of_queries(world: Any) -> None:
    pages = ["/", "/objectives/reliable/", "/api/v1/initiatives",
             "/api/v1/objectives/reliable/key-results/otd/initiatives"]  # fmt: skip
    member = client_for(world.member)

    def grow(n: int) -> None:
        for k in range(n):
            kr = KeyResult.objects.create(objective=world.objective, key=f"k{n}-{k}", title="K",
                                          target=1, position=k + 1, owner=world.member)  # fmt: skip
            for j in range(3):
                create_initiative(by=world.member, key_result=kr, title=f"W {j}",
                                  owner=world.member, due=date(2027, 3, j + 1))  # fmt: skip
            create_initiative(by=world.member, key_result=world.kr, title=f"W {k}",
                              owner=world.member)  # fmt: skip

    grow(1)
    small = {url: _queries(member, url) for url in pages}
    grow(8)
    large = {url: _queries(member, url) for url in pages}
    assert small == large


def test_api_plans_lists_changes_and_deletes(world: Any) -> None:
    api = ApiClient(token_for(world.member, "write"))
    base = "/objectives/reliable/key-results/otd/initiatives"
    link = "https://github.test/a/b/issues/1"
    made = api.send("POST", base, {"title": "New routes", "owner": "out@acme.test",
                                   "due": "2027-03-01", "link": link})  # fmt: skip
    assert made.status_code == 201, made.content
    body = made.json()
    assert (body["status"], body["owner"], body["version"]) == ("planned", "out@acme.test", 1)
    api.send("POST", base, {"title": "Train", "status": "done"})
    listed = api.send("GET", base).json()
    assert [i["title"] for i in listed["items"]] == ["New routes", "Train"]
    assert listed["work"] == {"done": 1, "total": 2, "summary": "1 of 2 initiatives done"}
    one = f"/initiatives/{body['id']}"
    stale = api.send("PATCH", one, {"status": "done"}, headers={"If-Match": '"7"'})
    assert stale.status_code == 412
    moved = api.send("PATCH", one, {"status": "in_progress"}, headers={"If-Match": '"1"'})
    assert (moved.status_code, moved.json()["version"]) == (200, 2)
    mine = ApiClient(token_for(world.outsider, "read")).send("GET", "/initiatives").json()
    assert [i["title"] for i in mine["items"]] == ["New routes"]
    assert api.send("DELETE", one).status_code == 204
    bad = api.send("POST", base, {"title": "X", "status": "finished"})
    assert bad.status_code == 400  # the schema refuses an unknown status


def test_yaml_round_trip_keeps_initiatives(world: Any) -> None:
    create_initiative(by=world.member, key_result=world.kr, title="New routes: phase 1",
                      owner=world.outsider, status="in_progress", due=date(2027, 3, 1),
                      link="https://gitlab.test/g/p/-/issues/3")  # fmt: skip
    create_initiative(by=world.member, key_result=world.kr, title="Dropped idea", status="dropped")
    create_initiative(by=world.member, key_result=world.secret_kr, title="Quiet")
    first = export_text()
    assert "initiatives:" in first
    with transaction.atomic():
        Initiative.objects.all().delete()
        import_document(load_texts_for_import([("export.yaml", first)]))
        assert export_text() == first
        assert list(
            Initiative.objects.filter(key_result=world.kr).values_list(
                "title", "status", "position"
            )
        ) == [("New routes: phase 1", "in_progress", 0), ("Dropped idea", "dropped", 1)]
        # Importing the same file again changes nothing, not even a version.
        import_document(load_texts_for_import([("export.yaml", first)]))
        assert set(Initiative.objects.values_list("version", flat=True)) == {1}
        # A shorter list replaces the stored one; a key result without the field keeps its own.
        shorter = first.replace("          - {title: Dropped idea, status: dropped}\n", "")
        assert shorter != first
        import_document(load_texts_for_import([("export.yaml", shorter)]))
        assert export_text() == shorter


def test_all_work_done_is_announced_once(world: Any) -> None:
    from headway.notify.models import Event, Notification

    world.kr.owner = world.lead
    world.kr.save()
    a = create_initiative(by=world.member, key_result=world.kr, title="A")
    b = create_initiative(by=world.member, key_result=world.kr, title="B")
    create_initiative(by=world.member, key_result=world.kr, title="C", status="dropped")
    update_initiative(by=world.member, initiative=a, status="done")
    assert not Event.objects.filter(kind="work_done").exists()
    update_initiative(by=world.member, initiative=b, status="done")
    event = Event.objects.get(kind="work_done")
    assert event.dedupe_key == f"work_done:{world.kr.pk}:2"
    assert "2 of 2 initiatives done" in event.summary
    told = set(Notification.objects.filter(event=event).values_list("person__email", flat=True))
    assert "lead@acme.test" in told
    assert "member@acme.test" not in told  # the actor is not told
    # Reopening and finishing the same work again is not news twice.
    update_initiative(by=world.member, initiative=b, status="in_progress")
    update_initiative(by=world.member, initiative=b, status="done")
    assert Event.objects.filter(kind="work_done").count() == 1


def test_work_without_outcome_is_a_pure_rule() -> None:
    from headway.coach.rules import (
        CycleFacts,
        KeyResultFacts,
        ObjectiveFacts,
        Organisation,
        run,
    )

    def org(*krs: KeyResultFacts, closed: bool = False) -> Organisation:
        objective = ObjectiveFacts(key="o", title="O", team="t", cycle="q", key_results=krs)
        cycle = CycleFacts(key="q", start=date(2027, 1, 1), end=date(2027, 3, 31), closed=closed)
        return Organisation(at=NOW, cycles=(cycle,), objectives=(objective,))

    recent = datetime(2027, 2, 10, tzinfo=UTC)
    done_flat = KeyResultFacts("a", "A", "increase", 1, 2, work_total=2, work_done=2,
                               last_checkin_at=recent)  # fmt: skip
    done_moved = KeyResultFacts("b", "B", "increase", 1, 2, work_total=2, work_done=2,
                                outcome_moved=True, last_checkin_at=recent)  # fmt: skip
    silent = KeyResultFacts("c", "C", "increase", 1, 2, work_total=3, work_done=1,
                            last_checkin_at=datetime(2027, 1, 20, tzinfo=UTC))  # fmt: skip
    no_work = KeyResultFacts("d", "D", "increase", 1, 2)
    found = run(org(done_flat, done_moved, silent, no_work), ["work-without-outcome"])
    assert [(f.path, f.message.split(" Key results are")[0]) for f in found] == [
        ("objectives/o/key_results/a", "All 2 initiatives are done but the outcome has not moved "
         "from its start."),
        ("objectives/o/key_results/c", "3 initiatives planned, but no check-in for 26 days (two "
         "cadences are 14 days)."),
    ]  # fmt: skip
    assert not run(org(done_flat, silent, closed=True), ["work-without-outcome"])


def test_work_without_outcome_from_the_database_and_the_yaml(world: Any) -> None:
    from headway.coach.db import findings_for_objective
    from headway.coach.files import organisation_from_document
    from headway.coach.rules import run
    from headway.document.load import load_texts

    a = create_initiative(by=world.member, key_result=world.kr, title="A")
    update_initiative(by=world.member, initiative=a, status="done")
    record_checkin(key_result=world.kr, by=world.member, value=80, at=NOW)
    found = [f for f in findings_for_objective(world.objective) if f.rule == "work-without-outcome"]
    assert [f.path for f in found] == ["objectives/reliable/key_results/otd"]
    doc = load_texts([("export.yaml", export_text())])
    yaml_found = run(organisation_from_document(doc, NOW), ["work-without-outcome"])
    assert [f.path for f in yaml_found] == ["objectives/reliable/key_results/otd"]
    record_checkin(key_result=world.kr, by=world.member, value=84, at=NOW)
    assert not [
        f for f in findings_for_objective(world.objective) if f.rule == "work-without-outcome"
    ]
