"""Every page renders, hides what it must, refuses what it must, and keeps to the CSP."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import pytest

from headway.kpis.models import Kpi
from headway.okrs.models import Cycle, Objective
from headway.teams.models import Membership, Person, Team
from headway.web.testing import build_depot, client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(org: Any) -> SimpleNamespace:
    kpis, objectives = build_depot(org, objectives=3)
    private = next(o for o in objectives if o.visibility == "private")
    public = next(o for o in objectives if o.visibility == "public" and o.parent_id)
    return SimpleNamespace(
        org=org, kpis=kpis, objectives=objectives, private=private, public=public
    )


def pages(data: SimpleNamespace) -> list[str]:
    o, k, c = data.public.key, data.kpis[0].key, data.org.cycle.key
    return [
        "/",
        f"/cycles/{c}/",
        f"/cycles/{c}/review/",
        f"/cycles/{c}/edit/",
        "/cycles/new/",
        f"/objectives/{o}/",
        f"/objectives/{o}/edit/",
        f"/objectives/{o}/key-results/new/",
        f"/objectives/{o}/key-results/grow/edit/",
        "/objectives/new/",
        "/kpis/",
        f"/kpis/{k}/",
        f"/kpis/{k}/edit/",
        "/kpis/new/",
        "/teams/",
        "/teams/depot/",
        "/teams/depot/edit/",
        "/teams/depot/checkin/",
        "/teams/depot/kpis/",
        "/teams/new/",
        "/people/new/",
    ]


def test_every_page_renders_for_an_admin(data: SimpleNamespace) -> None:
    client = client_for(data.org.admin)
    for url in pages(data):
        response = client.get(url)
        assert response.status_code == 200, url


def test_scores_show_as_a_status_chip_and_a_drawn_bar(data: SimpleNamespace) -> None:
    """Chips and bars are made in Python (web.common.Signal.html, Bar.html): the pages
    carry the markup itself, never the objects' text."""
    client = client_for(data.org.admin)
    c, o = data.org.cycle.key, data.public.key
    for url in ("/", f"/cycles/{c}/?open=all", f"/objectives/{o}/", f"/cycles/{c}/review/"):
        page = client.get(url).content.decode()
        assert re.search(r'<span class="chip (status|grade|state)-[a-z_]+">[^<]+</span>', page), url
        assert '<svg class="bar" viewBox="0 0 100 10"' in page, url
        assert "Signal(" not in page, url
        assert "Bar(" not in page, url


def test_cycles_index_redirects_to_the_active_cycle(data: SimpleNamespace) -> None:
    client = client_for(data.org.viewer)
    response = client.get("/cycles/")
    assert response.status_code == 302
    assert response["Location"] == f"/cycles/{data.org.cycle.key}/"
    assert client.get("/cycles/?cycle=2027-Q1")["Location"] == "/cycles/2027-Q1/"
    assert client.get("/cycles/?cycle=nope").status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/cycles/nope/",
        "/cycles/nope/review/",
        "/cycles/nope/edit/",
        "/cycles/2027-Q1/nodes/nope/",
        "/objectives/nope/",
        "/objectives/nope/edit/",
        "/objectives/nope/key-results/new/",
        "/objectives/o-0/key-results/nope/edit/",
        "/kpis/nope/",
        "/kpis/nope/edit/",
        "/teams/nope/",
        "/teams/nope/checkin/",
        "/teams/nope/kpis/",
        "/teams/nope/edit/",
    ],
)
def test_unknown_keys_are_not_found(data: SimpleNamespace, url: str) -> None:
    response = client_for(data.org.admin).get(url, headers={"HX-Request": "true"})
    assert response.status_code == 404


def test_private_objective_is_hidden_from_people_outside_its_team(data: SimpleNamespace) -> None:
    private = data.private
    outsider = client_for(data.org.outsider)
    assert outsider.get(f"/objectives/{private.key}/").status_code == 404
    assert outsider.get(f"/objectives/{private.key}/edit/").status_code == 404
    assert outsider.get(f"/objectives/{private.key}/key-results/grow/edit/").status_code == 404
    for url in (f"/cycles/{data.org.cycle.key}/", f"/cycles/{data.org.cycle.key}/review/", "/"):
        assert private.title not in outsider.get(url).content.decode(), url
    # The team's member and the lead above it see it.
    for person in (data.org.member, data.org.lead):
        client = client_for(person)
        assert client.get(f"/objectives/{private.key}/").status_code == 200
        assert private.title in client.get(f"/cycles/{data.org.cycle.key}/").content.decode()


def test_viewer_may_look_but_not_change(data: SimpleNamespace) -> None:
    viewer = client_for(data.org.viewer)
    o = data.public.key
    assert viewer.get(f"/objectives/{o}/").status_code == 200
    assert viewer.get("/teams/depot/checkin/").status_code == 403
    assert viewer.post("/teams/depot/checkin/", {}).status_code == 403
    assert viewer.get(f"/objectives/{o}/edit/").status_code == 403
    assert viewer.get(f"/objectives/{o}/key-results/grow/edit/").status_code == 403
    assert viewer.get(f"/objectives/{o}/key-results/new/").status_code == 403
    assert viewer.get("/objectives/new/").status_code == 403
    assert viewer.get(f"/kpis/{data.kpis[0].key}/edit/").status_code == 403
    kpi_page = viewer.post(
        f"/kpis/{data.kpis[0].key}/", {"action": "measure", "at": "2020-01-01", "value": "1"}
    )
    assert kpi_page.status_code == 403
    assert "Push a measurement" not in viewer.get(f"/kpis/{data.kpis[0].key}/").content.decode()


@pytest.mark.parametrize(
    "url", ["/people/new/", "/teams/new/", "/cycles/new/", "/cycles/2027-Q1/edit/"]
)
def test_admin_pages_are_for_admins_only(data: SimpleNamespace, url: str) -> None:
    before = _organisation(data)
    assert client_for(data.org.lead).get(url).status_code == 403
    assert client_for(data.org.lead).post(url, {}).status_code == 403
    assert _organisation(data) == before  # nothing changed


def _organisation(data: SimpleNamespace) -> tuple[object, ...]:
    """What a refused admin page could have written: people, teams, cycles."""
    return (
        list(Person.objects.values_list("email", "name", "is_active").order_by("email")),
        list(Team.objects.values_list("key", "name", "parent_id").order_by("key")),
        list(Cycle.objects.values_list("key", "name", "start", "end", "state").order_by("key")),
    )


def test_team_membership_changes_are_for_admins_only(data: SimpleNamespace) -> None:
    lead = client_for(data.org.lead)
    before = sorted(Membership.objects.values_list("person_id", "team_id", "role"))
    response = lead.post("/teams/depot/", {"person": data.org.viewer.pk, "role": "admin"})
    assert response.status_code == 403
    assert sorted(Membership.objects.values_list("person_id", "team_id", "role")) == before


def test_lead_may_not_close_a_cycle(data: SimpleNamespace) -> None:
    response = client_for(data.org.lead).post(
        f"/cycles/{data.org.cycle.key}/review/", {"action": "close"}
    )
    assert response.status_code == 403
    cycle = Cycle.objects.get(pk=data.org.cycle.pk)
    assert (cycle.state, cycle.closed_at) == (data.org.cycle.state, None)
    assert not Objective.objects.filter(cycle=cycle, grade__isnull=False).exists()


def test_tree_filters_by_team_and_owner(data: SimpleNamespace) -> None:
    client = client_for(data.org.admin)
    url = f"/cycles/{data.org.cycle.key}/"
    everything = client.get(url).content.decode()
    assert "Company objective o" in everything
    assert data.public.title in everything
    depot = client.get(url, {"team": "depot"}).content.decode()
    assert "Company objective o" not in depot
    assert data.public.title in depot
    ops = client.get(url, {"team": "ops"}).content.decode()  # ops includes depot below it
    assert data.public.title in ops
    sales = client.get(url, {"team": "sales"}).content.decode()
    assert "No objective matches these filters." in sales
    by_owner = client.get(url, {"owner": str(data.org.member.pk)}).content.decode()
    assert data.public.title in by_owner
    nobody = client.get(url, {"owner": str(data.org.admin.pk)}).content.decode()
    assert "No objective matches" in nobody
    assert client.get(url, {"owner": "x; drop", "team": "?"}).status_code == 200


def test_tree_partials_for_htmx(data: SimpleNamespace) -> None:
    client = client_for(data.org.admin)
    cycle = data.org.cycle.key
    partial = client.get(f"/cycles/{cycle}/", {"team": "depot"}, headers={"HX-Request": "true"})
    body = partial.content.decode()
    assert partial.status_code == 200
    assert body.lstrip().startswith('<section id="tree"')
    assert "<html" not in body
    node = client.get(
        f"/cycles/{cycle}/nodes/o-root/", {"open": "0"}, headers={"HX-Request": "true"}
    )
    html = node.content.decode()
    assert html.lstrip().startswith('<li id="node-')
    assert 'aria-expanded="false"' in html
    assert data.public.title not in html  # collapsed: children not rendered
    opened = client.get(
        f"/cycles/{cycle}/nodes/o-root/", {"open": "1"}, headers={"HX-Request": "true"}
    ).content.decode()
    assert data.public.title in opened
    assert 'aria-expanded="true"' in opened
    # Without htmx the node URL falls back to the fully expanded tree.
    assert client.get(f"/cycles/{cycle}/nodes/o-root/")["Location"].endswith("?open=all")
    # A private objective's node is not found for outsiders.
    outsider = client_for(data.org.outsider)
    hidden = outsider.get(
        f"/cycles/{cycle}/nodes/{data.private.key}/", headers={"HX-Request": "true"}
    )
    assert hidden.status_code == 404


def test_board_filters_and_pages(data: SimpleNamespace) -> None:
    client = client_for(data.org.viewer)
    board = client.get("/kpis/").content.decode()
    assert all(k.name in board for k in data.kpis)
    Kpi.objects.filter(pk=data.kpis[1].pk).update(health="critical")
    critical = client.get("/kpis/", {"health": "critical"}).content.decode()
    assert data.kpis[1].name in critical
    assert data.kpis[0].name not in critical
    diagnostic = client.get("/kpis/", {"tier": "diagnostic"}).content.decode()
    assert data.kpis[1].name in diagnostic
    assert data.kpis[0].name not in diagnostic
    partial = client.get("/kpis/", {"health": "healthy"}, headers={"HX-Request": "true"})
    assert partial.content.decode().lstrip().startswith('<section id="board"')
    for page in ("999", "x", "-1"):
        assert client.get("/kpis/", {"page": page, "health": "bogus"}).status_code == 200
    assert data.kpis[0].name in client.get("/teams/ops/kpis/").content.decode()
    assert "No KPIs yet." in client.get("/teams/sales/kpis/").content.decode()


def test_board_tiles_have_sparklines_and_trend(data: SimpleNamespace) -> None:
    body = client_for(data.org.viewer).get("/kpis/").content.decode()
    assert body.count('<polyline class="spark-line"') == 3
    assert 'class="tile health-healthy"' in body
    assert "target 95" in body


def test_objective_page_shows_scores_chart_data_and_history(data: SimpleNamespace) -> None:
    body = client_for(data.org.viewer).get(f"/objectives/{data.public.key}/").content.decode()
    assert 'id="kr-chart-' in body
    assert 'type="application/json"' in body
    assert "Expected by now" in body
    assert "Forecast" in body
    assert "week 1" in body  # check-in comments in the no-JS table
    assert "No changes recorded." in body  # bulk-made rows have no history


def test_kpi_page_shows_the_five_questions(data: SimpleNamespace) -> None:
    body = client_for(data.org.viewer).get(f"/kpis/{data.kpis[0].key}/").content.decode()
    for question in ("What", "Why", "How", "Who", "When"):
        assert f"<dt>{question}</dt>" in body
    assert "Customers leave when it drops" in body
    assert 'id="kpi-chart"' in body
    assert "Promote to key result" not in body  # viewers cannot promote


def test_home_lists_my_objectives_and_what_needs_me(data: SimpleNamespace) -> None:
    body = client_for(data.org.member).get("/").content.decode()
    assert data.public.title in body
    assert "Check-ins overdue" in body  # milestones never checked in, cycle 45 days old
    assert "Check in: Depot North" in body
    other = client_for(data.org.outsider).get("/").content.decode()
    assert "Nothing needs you right now" in other


INLINE_STYLE = re.compile(r"<[^>]+\sstyle=", re.IGNORECASE)
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)


def test_pages_keep_to_the_content_security_policy(data: SimpleNamespace) -> None:
    client = client_for(data.org.admin)
    for url in pages(data):
        response = client.get(url)
        body = response.content.decode()
        policy = response["Content-Security-Policy"]
        assert "style-src 'self'" in policy, url
        assert "unsafe-inline" not in policy, url
        assert not INLINE_STYLE.search(body), url
        for attrs in SCRIPT_TAG.findall(body):
            # External files of our own, or JSON data islands; never inline code.
            assert "src=" in attrs or 'type="application/json"' in attrs, (url, attrs)
        assert "/static/django_htmx/htmx-2.min.js" in body or "htmx" in body, url


def test_objective_list_never_errors_on_odd_input(data: SimpleNamespace) -> None:
    client = client_for(data.org.admin)
    assert (
        client.get("/objectives/new/", {"team": "nope", "cycle": "nope", "parent": "x"}).status_code
        == 200
    )
    assert Objective.objects.filter(key="nope").count() == 0


def test_error_pages_explain(data: SimpleNamespace, settings: Any) -> None:
    settings.DEBUG = False
    viewer = client_for(data.org.viewer)
    refused = viewer.get("/teams/depot/checkin/")
    assert refused.status_code == 403
    assert "Only members of the team" in refused.content.decode()
    missing = viewer.get("/objectives/nope/")
    assert missing.status_code == 404
    assert "private to a team" in missing.content.decode()


def test_leads_find_team_webhooks_and_admins_failed_deliveries(data: SimpleNamespace) -> None:
    org = data.org
    lead_page = client_for(org.lead).get("/teams/depot/").content.decode()
    assert "/teams/depot/webhooks" in lead_page
    member_page = client_for(org.member).get("/teams/depot/").content.decode()
    assert "/teams/depot/webhooks" not in member_page
    assert "/admin-tools/deliveries" in client_for(org.admin).get("/teams/").content.decode()
    assert "/admin-tools/deliveries" not in client_for(org.lead).get("/teams/").content.decode()


def test_home_shows_the_company_direction_to_someone_who_owns_nothing(org: Any) -> None:
    from headway.demo import load_demo

    load_demo()
    admin = Person.objects.get(email="demo@headway.local")
    page = client_for(admin).get("/").content.decode()
    company = Objective.objects.filter(
        cycle__state="active", parent__isnull=True, team__kind="company"
    )
    assert company.exists()
    for objective in company:
        assert objective.title in page
    assert "Booking line answer time" in page  # the demo's critical key KPI
