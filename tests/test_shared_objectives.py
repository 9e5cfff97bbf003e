"""Shared objectives (issue 18): contributing teams besides the owning one. The objective shows
in their trees and home pages, their people check in on the key results they own, it counts
once in the roll-ups, and the web app, the API and the YAML format carry the teams."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from headway.api.tokens import create_token
from headway.document import DocumentError
from headway.document.exporter import export_text
from headway.document.importer import import_document, load_texts_for_import
from headway.okrs.actions import (
    create_objective,
    record_checkin,
    update_objective,
    why_not_check_in,
    why_not_edit_objective,
)
from headway.okrs.models import CheckIn, KeyResult, Objective, ObjectiveContributor
from headway.okrs.stored import stored_tree
from headway.okrs.tree import load_cycle_tree
from headway.teams.access import Access
from headway.teams.models import Membership, Person, Team

NOW = datetime(2027, 3, 20, 12, tzinfo=UTC)
pytestmark = [pytest.mark.django_db, pytest.mark.frozen(NOW)]


@pytest.fixture
def world(org: Any) -> Any:
    """Depot North owns an objective; Sales contributes. Sam (sales) owns one of its key
    results, Mo (depot) the other; Oz is a member of Sales and owns nothing."""
    org.sam = Person.objects.create_user("sam@acme.test", "a-long-test-password", name="Sam")
    Membership.objects.create(person=org.sam, team=org.sales, role="member")
    org.shared = create_objective(
        by=org.member, cycle=org.cycle, team=org.depot, title="Faster deliveries",
        owner=org.member, contributors=[org.sales],
    )  # fmt: skip
    org.kr_sales = KeyResult.objects.create(
        objective=org.shared, key="quotes", title="Quotes from 3 to 9 days", start=9, target=3,
        kind="decrease", owner=org.sam,
    )  # fmt: skip
    org.kr_depot = KeyResult.objects.create(
        objective=org.shared, key="trucks", title="Trucks out from 5 to 20", start=5, target=20,
        owner=org.member, position=1,
    )  # fmt: skip
    return org


def contributors(objective: Objective) -> list[str]:
    return sorted(
        ObjectiveContributor.objects.filter(objective=objective).values_list("team__key", flat=True)
    )


def kr_with_objective(kr: KeyResult) -> KeyResult:
    return KeyResult.objects.select_related("objective").get(pk=kr.pk)


# ---- the action ------------------------------------------------------------------------------


def test_an_objective_names_contributing_teams_and_the_history_keeps_each_change(
    world: Any,
) -> None:
    assert contributors(world.shared) == ["sales"]
    updated = update_objective(by=world.lead, objective=world.shared, contributors=["ops"])
    assert updated.version == world.shared.version + 1
    assert contributors(world.shared) == ["ops"]
    kinds = sorted(
        (h.team_id, h.history_type, h.history_user_id)
        for h in ObjectiveContributor.history.filter(objective_id=world.shared.pk)
    )
    assert kinds == sorted(
        [
            (world.sales.pk, "+", world.member.pk),
            (world.sales.pk, "-", world.lead.pk),
            (world.ops.pk, "+", world.lead.pk),
        ]
    )
    latest = world.shared.history.first()
    assert latest is not None
    assert latest.history_change_reason == "Contributing teams: ops"


def test_giving_the_same_contributing_teams_changes_nothing(world: Any) -> None:
    same = update_objective(by=world.lead, objective=world.shared, contributors=[world.sales])
    assert same.version == world.shared.version
    assert ObjectiveContributor.history.filter(objective_id=world.shared.pk).count() == 1


def test_the_owning_team_cannot_contribute_to_its_own_objective(world: Any) -> None:
    before = Objective.objects.count()
    with pytest.raises(ValidationError) as refused:
        create_objective(
            by=world.member, cycle=world.cycle, team=world.depot, title="Own team twice",
            contributors=[world.sales, world.depot],
        )  # fmt: skip
    assert refused.value.message_dict == {
        "contributors": ["Depot North owns this objective: name other teams as contributing teams."]
    }
    assert Objective.objects.count() == before
    assert ObjectiveContributor.objects.count() == 1


def test_an_unknown_contributing_team_is_refused_and_nothing_changes(world: Any) -> None:
    version = world.shared.version
    with pytest.raises(ValidationError) as refused:
        update_objective(
            by=world.lead, objective=world.shared, title="Renamed", contributors=["nowhere"]
        )
    assert refused.value.message_dict == {"contributors": ["No team 'nowhere'."]}
    world.shared.refresh_from_db()
    assert (world.shared.title, world.shared.version) == ("Faster deliveries", version)
    assert contributors(world.shared) == ["sales"]


def test_contributing_teams_do_not_edit_the_objective(world: Any) -> None:
    """The permission matrix: editing stays with the owning team's leads and the owner."""
    assert why_not_edit_objective(Access.for_person(world.outsider), world.shared) is not None
    with pytest.raises(PermissionDenied):
        update_objective(by=world.outsider, objective=world.shared, contributors=[])
    assert contributors(world.shared) == ["sales"]


# ---- who may check in -------------------------------------------------------------------------


def test_people_on_a_contributing_team_check_in_on_the_key_results_their_team_owns(
    world: Any,
) -> None:
    kr = kr_with_objective(world.kr_sales)
    assert why_not_check_in(Access.for_person(world.outsider), kr) is None
    checkin = record_checkin(key_result=kr, by=world.outsider, value=7)
    assert checkin.author == world.outsider


def test_a_contributing_team_does_not_check_in_on_the_owning_teams_key_results(
    world: Any,
) -> None:
    kr = kr_with_objective(world.kr_depot)
    assert "contributing team" in (why_not_check_in(Access.for_person(world.outsider), kr) or "")
    with pytest.raises(PermissionDenied):
        record_checkin(key_result=kr, by=world.outsider, value=7)
    assert not CheckIn.objects.filter(key_result=kr).exists()


def test_without_the_contribution_the_team_may_not_check_in(world: Any) -> None:
    update_objective(by=world.lead, objective=world.shared, contributors=[])
    kr = kr_with_objective(world.kr_sales)
    with pytest.raises(PermissionDenied):
        record_checkin(key_result=kr, by=world.outsider, value=7)
    assert not CheckIn.objects.filter(key_result=kr).exists()


def test_a_viewer_of_a_contributing_team_may_not_check_in(world: Any) -> None:
    viewer = Person.objects.create_user("vic@acme.test", "a-long-test-password", name="Vic")
    Membership.objects.create(person=viewer, team=world.sales, role="viewer")
    kr = kr_with_objective(world.kr_sales)
    assert why_not_check_in(Access.for_person(viewer), kr) is not None


# ---- visibility -------------------------------------------------------------------------------


def test_a_private_shared_objective_is_seen_by_its_contributing_teams(world: Any) -> None:
    update_objective(by=world.lead, objective=world.shared, visibility="private")
    world.shared.refresh_from_db()
    stranger = Person.objects.create_user("st@acme.test", "a-long-test-password", name="St")
    Membership.objects.create(person=stranger, team=world.ops, role="viewer")
    for who, sees in ((world.outsider, True), (stranger, False), (world.member, True)):
        access = Access.for_person(who)
        assert access.can_see_objective(world.shared) is sees, who
        visible = Objective.objects.filter(access.objective_condition(), pk=world.shared.pk)
        assert visible.exists() is sees, who
        client = Client()
        client.force_login(who)
        assert client.get(f"/objectives/{world.shared.key}/").status_code == (200 if sees else 404)
        found = client.get("/search/?q=deliveries").content.decode()
        assert (f'href="/objectives/{world.shared.key}/"' in found) is sees, who


# ---- roll-ups count it once -------------------------------------------------------------------


def test_the_organisation_score_is_unchanged_by_contributing_teams(world: Any) -> None:
    record_checkin(key_result=kr_with_objective(world.kr_depot), by=world.member, value=11)
    other = Objective.objects.create(key="sales-own", cycle=world.cycle, team=world.sales,
                                     title="Sell more")  # fmt: skip
    KeyResult.objects.create(objective=other, key="deals", title="Deals 0 to 10", start=0,
                             target=10)  # fmt: skip

    def scores() -> tuple[Any, ...]:
        fresh = load_cycle_tree(world.cycle, at=NOW)
        kept = stored_tree(world.cycle)
        client = Client()
        client.force_login(world.admin)
        page = client.get(f"/cycles/{world.cycle.key}/").context["mean"]
        sales_page = client.get(f"/cycles/{world.cycle.key}/?team=sales").context["mean"]
        return dict(fresh.evaluation.teams), dict(kept.evaluation.teams), page, sales_page

    update_objective(by=world.lead, objective=world.shared, contributors=[])
    alone = scores()
    update_objective(by=world.lead, objective=world.shared, contributors=["sales", "ops"])
    assert scores() == alone
    assert "sales" in alone[0]
    assert alone[0]["sales"] == 0.0


# ---- web --------------------------------------------------------------------------------------


def signed_in(person: Person) -> Client:
    client = Client()
    client.force_login(person)
    return client


def test_a_contributing_teams_tree_lists_the_objective_marked_contributing(world: Any) -> None:
    page = signed_in(world.outsider).get(f"/cycles/{world.cycle.key}/?team=sales&open=all")
    text = page.content.decode()
    assert "Faster deliveries" in text
    assert "contributing" in text
    assert "shared with Sales" in text
    own = signed_in(world.outsider).get(f"/cycles/{world.cycle.key}/?team=depot").content
    assert b"Faster deliveries" in own


def test_home_pages_of_a_contributing_team_list_the_objective(world: Any) -> None:
    text = signed_in(world.outsider).get("/").content.decode()
    assert "Faster deliveries" in text
    assert "shared with Sales" in text
    update_objective(by=world.lead, objective=world.shared, contributors=[])
    assert b"Faster deliveries" not in signed_in(world.outsider).get("/").content


def test_the_objective_and_team_pages_name_the_contributing_teams(world: Any) -> None:
    text = signed_in(world.outsider).get(f"/objectives/{world.shared.key}/").content.decode()
    assert "Shared with" in text
    assert 'href="/teams/sales/"' in text
    team_page = signed_in(world.outsider).get("/teams/sales/").content.decode()
    assert "Shared with Sales" in team_page
    assert "Faster deliveries" in team_page


def test_the_edit_form_picks_contributing_teams(world: Any) -> None:
    client = signed_in(world.lead)
    url = f"/objectives/{world.shared.key}/edit/"
    form = client.get(url).content.decode()
    assert 'name="contributors"' in form
    assert "multiple" in form
    response = client.post(
        url,
        {
            "title": "Faster deliveries",
            "owner": world.member.pk,
            "type": "aspirational",
            "visibility": "public",
            "contributors": [world.sales.pk, world.ops.pk],
            "version": world.shared.version,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert contributors(world.shared) == ["ops", "sales"]
    refused = client.post(
        url,
        {
            "title": "Faster deliveries",
            "owner": world.member.pk,
            "type": "aspirational",
            "visibility": "public",
            "contributors": [world.depot.pk],
            "version": world.shared.version + 1,
        },
    )
    assert refused.status_code == 200
    assert "Depot North owns this objective" in refused.content.decode()
    assert contributors(world.shared) == ["ops", "sales"]


def count(client: Client, url: str) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/cycles/2027-Q1/?team=sales&open=all",
        "/cycles/2027-Q1/?open=all",
        "/teams/sales/",
        "/objectives/o0/",
    ],
)
def test_pages_with_shared_objectives_run_a_constant_number_of_queries(
    world: Any, url: str
) -> None:
    client = signed_in(world.outsider)

    def grow(start: int, end: int) -> None:
        for i in range(start, end):
            team = Team.objects.create(key=f"t{i}", name=f"Team {i}", parent=world.sales)
            o = create_objective(
                by=world.member, cycle=world.cycle, team=world.depot, key=f"o{i}",
                title=f"Objective {i}", contributors=[world.sales, team],
            )  # fmt: skip
            KeyResult.objects.create(objective=o, key="k", title="K up", start=0, target=5,
                                     owner=world.outsider)  # fmt: skip

    grow(0, 2)
    small = count(client, url)
    grow(2, 12)
    assert count(client, url) == small


# ---- API --------------------------------------------------------------------------------------


def api(person: Person) -> Client:
    token = create_token(person=person, name="t", scope="write")
    return Client(HTTP_AUTHORIZATION=f"Bearer {token.secret}")


def test_the_api_reads_creates_and_patches_contributing_teams(world: Any) -> None:
    client = api(world.lead)
    detail = client.get(f"/api/v1/objectives/{world.shared.key}").json()
    assert detail["contributors"] == ["sales"]
    created = client.post(
        "/api/v1/objectives",
        {"key": "shared-2", "cycle": "2027-Q1", "team": "ops", "title": "Shared again",
         "contributors": ["sales", "depot"]},
        content_type="application/json",
    )  # fmt: skip
    assert created.status_code == 201, created.content
    assert created.json()["contributors"] == ["depot", "sales"]  # by team name
    patched = client.patch(
        "/api/v1/objectives/shared-2", {"contributors": ["sales"]}, content_type="application/json"
    )
    assert patched.status_code == 200
    assert patched.json()["contributors"] == ["sales"]
    untouched = client.patch(
        "/api/v1/objectives/shared-2", {"title": "Shared still"}, content_type="application/json"
    )
    assert untouched.json()["contributors"] == ["sales"]


def test_the_api_refuses_bad_contributing_teams_with_422_and_changes_nothing(world: Any) -> None:
    client = api(world.lead)
    for body in ({"contributors": ["nowhere"]}, {"contributors": ["depot"]}):
        response = client.patch(
            f"/api/v1/objectives/{world.shared.key}", body, content_type="application/json"
        )
        assert response.status_code == 422, response.content
        assert "contributors" in json.dumps(response.json())
    assert contributors(world.shared) == ["sales"]
    forbidden = api(world.outsider).patch(
        f"/api/v1/objectives/{world.shared.key}", {"contributors": []},
        content_type="application/json",
    )  # fmt: skip
    assert forbidden.status_code == 403
    assert contributors(world.shared) == ["sales"]


def test_the_openapi_schema_describes_contributors(world: Any) -> None:
    schema = api(world.lead).get("/api/openapi.json").json()["components"]["schemas"]
    for name in ("ObjectiveDetail", "ObjectiveIn", "ObjectivePatch"):
        assert "contributors" in schema[name]["properties"], name
    assert "contributors" in schema["ObjectiveDetail"]["required"]


# ---- YAML -------------------------------------------------------------------------------------


def test_contributing_teams_round_trip_through_the_yaml_format(world: Any) -> None:
    with transaction.atomic():
        update_objective(by=world.lead, objective=world.shared, contributors=["sales", "ops"])
        first = export_text()
        of_cycle = export_text(cycle="2027-Q1")
        transaction.set_rollback(True)
    assert "contributors: [ops, sales]" in first
    assert "contributors: [ops, sales]" in of_cycle
    Objective.objects.all().delete()
    import_document(load_texts_for_import([("okrs.yaml", first)]))
    assert export_text() == first
    imported = Objective.objects.get(key=world.shared.key)
    assert contributors(imported) == ["ops", "sales"]
    assert ObjectiveContributor.history.filter(objective_id=imported.pk).count() == 2
    # Importing the file without them takes them away again.
    without = first.replace("    contributors: [ops, sales]\n", "")
    assert without != first
    import_document(load_texts_for_import([("okrs.yaml", without)]))
    assert contributors(imported) == []


def test_the_yaml_loader_refuses_unknown_and_own_contributing_teams(world: Any) -> None:
    text = export_text()
    bad = text.replace("contributors: [sales]", "contributors: [depot, nowhere, depot]")
    assert bad != text
    with pytest.raises(DocumentError) as refused:
        load_texts_for_import([("okrs.yaml", bad)])
    messages = str(refused.value)
    assert "team 'depot' owns this objective: name other teams as contributing teams" in messages
    assert "unknown team 'nowhere'" in messages


def test_the_api_tree_of_a_contributing_team_holds_the_objective_counted_once(
    world: Any,
) -> None:
    client = api(world.outsider)

    def keys(body: dict[str, Any]) -> set[str]:
        found: set[str] = set()
        stack = list(body["objectives"])
        while stack:
            node = stack.pop()
            found.add(node["key"])
            stack.extend(node.get("children", []))
        return found

    for at in ("", "&at=2027-03-19T12:00:00Z"):
        body = client.get(f"/api/v1/cycles/{world.cycle.key}/tree?team=sales{at}").json()
        assert world.shared.key in keys(body), at
        assert "depot" not in body["teams"], at  # its score counts for Depot North only


def test_a_contributing_teams_check_in_page_lists_the_key_results_its_people_own(
    world: Any,
) -> None:
    client = signed_in(world.outsider)
    page = client.get("/teams/sales/checkin/").content.decode()
    assert world.kr_sales.title in page
    assert world.kr_depot.title not in page
    response = client.post(
        "/teams/sales/checkin/",
        {f"kr-{world.kr_sales.pk}-value": "6", f"kr-{world.kr_sales.pk}-confidence": "7"},
    )
    assert response.status_code in {200, 302}
    assert CheckIn.objects.filter(key_result=world.kr_sales, author=world.outsider).exists()


def test_a_contributor_row_refuses_the_owning_team_when_validated(world: Any) -> None:
    row = ObjectiveContributor(objective=world.shared, team=world.depot)
    with pytest.raises(ValidationError) as refused:
        row.full_clean()
    assert refused.value.message_dict["team"] == [
        "Depot North owns this objective: name other teams as contributing teams."
    ]


def test_a_big_organisations_form_takes_contributing_teams_by_key(
    world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from headway.web import forms

    monkeypatch.setattr(forms, "LISTED_CHOICES", 1)
    client = signed_in(world.lead)
    url = f"/objectives/{world.shared.key}/edit/"
    form = client.get(url).content.decode()
    assert 'name="contributors"' in form
    assert 'value="sales"' in form
    body = {
        "title": "Faster deliveries", "owner": world.member.email, "type": "aspirational",
        "visibility": "public", "version": world.shared.version,
    }  # fmt: skip
    refused = client.post(url, {**body, "contributors": "sales, nowhere"})
    assert "No team &#x27;nowhere&#x27;." in refused.content.decode()
    assert contributors(world.shared) == ["sales"]
    saved = client.post(url, {**body, "contributors": "ops sales"})
    assert saved.status_code == 302
    assert contributors(world.shared) == ["ops", "sales"]


def test_a_spreadsheet_import_keeps_the_contributing_teams(world: Any, tmp_path: Any) -> None:
    """A sheet has no column for them: updating a shared objective from one keeps them."""
    import xlsxwriter

    from headway.document.sheet_import import import_sheet
    from headway.document.spreadsheet import guess_mapping, read_sheet

    header = ["Team", "Objective", "Key result", "Start", "Target", "Current", "Owner", "Due"]
    path = tmp_path / "okrs.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("OKRs")
    row: list[Any] = ["Depot North", "Faster deliveries", "Trucks out from 5 to 20", 5, 20, 9,
                      "member@acme.test", None]  # fmt: skip
    rows: list[list[Any]] = [header, row]
    for r, cells in enumerate(rows):
        for c, value in enumerate(cells):
            if value is not None:
                sheet.write(r, c, value)
    book.close()
    import_sheet(read_sheet(path), guess_mapping(header), cycle="2027-Q1", now=NOW)
    assert Objective.objects.filter(title="Faster deliveries").count() == 1
    assert contributors(world.shared) == ["sales"]
