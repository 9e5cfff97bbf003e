"""Pages stay readable in a big organisation: long lists come a page or a level at a time."""

from __future__ import annotations

from typing import Any

import pytest

from headway.api.testing import ApiClient, token_for
from headway.okrs.models import Objective
from headway.teams.models import Membership, Team
from headway.web.testing import build_okrs, client_for, current_cycle
from headway.web.views import cycles, teams

pytestmark = pytest.mark.django_db


@pytest.fixture
def many_roots(org: Any) -> Any:
    """Eight unaligned team objectives besides the company's: nine roots in the tree."""
    current_cycle(org.cycle)
    build_okrs(cycle=org.cycle, company=org.company, team=org.depot, owner=org.member, objectives=2)
    Objective.objects.bulk_create(
        Objective(key=f"loose-{i}", cycle=org.cycle, team=org.depot, title=f"Loose {i}")
        for i in range(8)
    )
    return org


def test_the_tree_lists_roots_a_page_at_a_time(
    many_roots: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cycles, "ROOTS_PAGE", 4)
    client = client_for(many_roots.admin)
    url = f"/cycles/{many_roots.cycle.key}/"
    first = client.get(url).content.decode()
    assert first.count('role="treeitem"') >= 4
    assert "Show 4 more" in first
    assert "roots=8" in first
    everything = client.get(url, {"roots": "12"}).content.decode()
    assert "Show" not in everything.split('id="tree"')[1].split("</section>")[0]
    assert "Loose 7" in everything
    # Nonsense counts fall back to the first page rather than failing.
    assert client.get(url, {"roots": "-3"}).status_code == 200
    assert client.get(url, {"roots": "9" * 40}).status_code == 200


def test_many_roots_start_closed_and_few_start_open(
    many_roots: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = client_for(many_roots.admin)
    url = f"/cycles/{many_roots.cycle.key}/"
    monkeypatch.setattr(cycles, "OPEN_ROOTS", 3)
    assert 'aria-expanded="true"' not in client.get(url).content.decode()
    monkeypatch.setattr(cycles, "OPEN_ROOTS", 20)
    opened = client.get(url).content.decode()
    assert 'aria-expanded="true"' in opened
    assert "o-0" in opened or "Objective 0" in opened


def test_the_owner_filter_narrows_to_the_chosen_team_when_owners_are_many(
    many_roots: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    Objective.objects.filter(key="loose-0").update(owner=many_roots.outsider)
    client = client_for(many_roots.admin)
    url = f"/cycles/{many_roots.cycle.key}/"
    assert "Oz Outsider" in client.get(url).content.decode()
    monkeypatch.setattr(cycles, "OWNER_CHOICES", 1)
    narrowed = client.get(url, {"team": "sales"}).content.decode()
    assert "Oz Outsider" not in narrowed
    # The owner already chosen stays selectable.
    chosen = client.get(url, {"owner": str(many_roots.outsider.pk)}).content.decode()
    assert "Oz Outsider" in chosen


def test_the_review_pages_filters_and_finds_missing_reflections(
    many_roots: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cycles, "REVIEW_PAGE", 3)
    Objective.objects.filter(key="loose-1").update(type="committed")
    client = client_for(many_roots.admin)
    url = f"/cycles/{many_roots.cycle.key}/review/"
    response = client.get(url)
    first = response.content.decode()
    assert first.count('class="card review-row') == 3
    assert "Page 1 of 4" in first
    assert "11 objectives" in first
    # The distribution and team grades still cover every objective.
    assert response.context["graded"] == 11
    assert sum(row.objectives for row in response.context["teams"]) == 11
    last = client.get(url, {"page": "99"}).content.decode()
    assert "Page 4 of 4" in last
    response = client.get(url, {"missing": "1"})
    missing = response.content.decode()
    assert missing.count('class="card review-row missing"') == response.context["missing"] >= 1
    assert "Loose 1" in missing
    sales = client.get(url, {"team": "sales"}).content.decode()
    assert "No objective matches." in sales
    # Saving a reflection on a page comes back to that page.
    saved = client.post(
        url + "?missing=1", {"action": "save", "reflection-loose-1": "Too ambitious."}
    )
    assert saved.status_code == 302
    assert saved["Location"].endswith("?missing=1")
    assert Objective.objects.get(key="loose-1").reflection == "Too ambitious."


def test_the_team_tree_is_drawn_a_few_levels_deep_in_a_big_organisation(
    org: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(5):
        Team.objects.create(key=f"crew-{i}", name=f"Crew {i}", kind="team", parent=org.depot)
    client = client_for(org.viewer)
    whole = client.get("/teams/").content.decode()
    assert "Crew 4" in whole
    assert "Mo Member" in whole  # few people: every member is listed
    monkeypatch.setattr(teams, "DRAWN_TEAMS", 5)
    monkeypatch.setattr(teams, "INLINE_MEMBERS", 2)
    pruned = client.get("/teams/").content.decode()
    assert "Crew 4" not in pruned
    assert "5 sub-teams" in pruned
    assert 'href="/teams/depot/"' in pruned
    assert "Lou Lead" in pruned  # leads stay listed
    assert "Mo Member" not in pruned  # members are on the team's page
    assert "Mo Member" in client.get("/teams/depot/").content.decode()
    assert Membership.objects.count() > 2


def test_the_api_tree_can_be_read_one_team_at_a_time(many_roots: Any) -> None:
    api = ApiClient(token_for(many_roots.viewer, "read"))
    cycle = many_roots.cycle.key
    whole = api.get(f"/cycles/{cycle}/tree").json()
    depot = api.get(f"/cycles/{cycle}/tree", {"team": "depot"}).json()
    assert {o["team"] for o in depot["objectives"]} == {"depot"}
    assert set(depot["teams"]) == {"depot"}
    assert len(str(depot)) < len(str(whole))
    assert depot["teams"]["depot"] == pytest.approx(whole["teams"]["depot"])
    unknown = api.get(f"/cycles/{cycle}/tree", {"team": "nope"})
    assert unknown.status_code == 400
    assert "team" in unknown.json()["error"]["fields"]


def test_the_review_keeps_its_team_table_short_in_a_big_organisation(
    many_roots: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = client_for(many_roots.admin)
    url = f"/cycles/{many_roots.cycle.key}/review/"
    assert [r.team.key for r in client.get(url).context["team_rows"]] == ["acme", "depot"]
    monkeypatch.setattr(cycles, "TEAM_ROWS", 1)
    short = client.get(url)
    assert [r.team.key for r in short.context["team_rows"]] == ["acme"]
    assert "1 of 2 teams (the company and its departments)" in short.content.decode()
    chosen = client.get(url, {"team": "depot"})
    assert [r.team.key for r in chosen.context["team_rows"]] == ["depot"]
    # Every team stays selectable in the filter.
    assert 'value="depot"' in short.content.decode()


def test_forms_of_a_big_organisation_take_an_e_mail_and_an_objective_key(
    org: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from headway.web import forms

    current_cycle(org.cycle)
    [root, child] = build_okrs(
        cycle=org.cycle, company=org.company, team=org.depot, owner=org.member, objectives=1
    )
    monkeypatch.setattr(forms, "LISTED_CHOICES", 1)
    lead = client_for(org.lead)
    page = lead.get("/objectives/new/").content.decode()
    assert 'type="email" name="owner"' in page
    assert 'value="lead@acme.test"' in page  # the viewer, as the default owner
    assert 'list="parent-suggestions"' in page
    assert f'<option value="{root.key}">' in page  # the company's objective is suggested
    form = {
        "title": "Quieter peaks", "team": org.depot.pk, "cycle": org.cycle.pk,
        "type": "aspirational", "visibility": "public",
    }  # fmt: skip
    wrong = lead.post("/objectives/new/", {**form, "owner": "nobody@acme.test", "parent": "zz"})
    assert wrong.status_code == 200
    assert "No active person has this e-mail address." in wrong.content.decode()
    assert "No objective you may align to has this key." in wrong.content.decode()
    made = lead.post(
        "/objectives/new/", {**form, "owner": " MEMBER@acme.test ", "parent": root.key}
    )
    assert made.status_code == 302
    objective = Objective.objects.get(title="Quieter peaks")
    assert objective.owner == org.member
    assert objective.parent == root
    # Editing shows the stored owner and parent as an e-mail and a key.
    edit = lead.get(f"/objectives/{objective.key}/edit/").content.decode()
    assert 'value="member@acme.test"' in edit
    assert f'value="{root.key}"' in edit
    assert child.parent == root
