"""The KPI page at scale: the promote form's objectives, monitoring notices, odd input."""

from __future__ import annotations

import re
from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from headway.kpis.actions import refresh_kpis
from headway.kpis.models import Kpi, Measurement
from headway.kpis.queries import achieved_while_healthy, key_results_back_to_monitoring
from headway.okrs.models import Cycle, KeyResult, Objective
from headway.web.testing import build_depot, build_okrs, client_for
from headway.web.views import kpis as kpi_views

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(org: Any) -> SimpleNamespace:
    kpis, objectives = build_depot(org, objectives=3)
    # The key results fed by k0 take its latest value (healthy 30 weeks: achieved).
    refresh_kpis(kpi_ids=[kpis[0].pk])
    return SimpleNamespace(org=org, kpis=kpis, objectives=objectives)


def options(body: str) -> list[str]:
    """The labels of the promote form's objective choices."""
    select = re.search(r'<select name="objective".*?</select>', body, re.DOTALL)
    assert select is not None
    return re.findall(r'<option value="\d+"[^>]*>([^<]*)</option>', select.group(0))


def test_back_to_monitoring_agrees_with_the_action(data: SimpleNamespace) -> None:
    _, k1, k2 = data.kpis
    team_objective = data.objectives[1]
    planning = Cycle.objects.create(
        key="2099-Q1", name="Later", start=date(2099, 1, 1), end=date(2099, 3, 31)
    )
    later = Objective.objects.create(key="later", cycle=planning, team=k1.team, title="Later")
    kinds: list[dict[str, Any]] = [
        {"kind": "increase", "start": 90, "target": 95},  # achieved at 96
        {"kind": "increase", "start": None, "target": 95},  # not measurable
        {"kind": "decrease", "start": 100, "target": 90},  # not there yet
        {"kind": "below", "target": 97},  # achieved
        {"kind": "above", "target": None},  # not measurable
        {"kind": "milestone"},  # not a value
    ]
    for i, fields in enumerate(kinds):
        KeyResult.objects.create(
            objective=team_objective, key=f"k1-{i}", title=f"K1 {i}", kpi=k1, **fields
        )
    KeyResult.objects.create(objective=later, key="later", title="Later", kpi=k1, target=90)
    KeyResult.objects.create(objective=team_objective, key="k2", title="K2", kpi=k2, target=90)
    Measurement.objects.create(kpi=k2, at=timezone.now() - timedelta(hours=1), value=80)
    refresh_kpis(kpi_ids=[k1.pk, k2.pk])
    everywhere = key_results_back_to_monitoring()
    assert everywhere  # the rule fires somewhere, or the comparison proves nothing
    now = timezone.now()
    for kpi in Kpi.objects.all():
        fed = list(kpi.key_results.select_related("objective__cycle"))
        mine = achieved_while_healthy(fed, now=now)
        assert {kr.pk for kr in mine} == {kr.pk for kr in everywhere if kr.kpi_id == kpi.pk}
    k1_keys = {kr.key for kr in everywhere if kr.kpi_id == k1.pk}
    assert k1_keys == {"k1-0", "k1-3"}


def test_monitoring_notice_names_only_visible_key_results(data: SimpleNamespace) -> None:
    url = f"/kpis/{data.kpis[0].key}/"
    notice = "can go back to monitoring only"
    fed = KeyResult.objects.filter(kpi=data.kpis[0])
    private = fed.filter(objective__visibility="private").count()
    assert private
    assert fed.count() > private
    lead_page = client_for(data.org.lead).get(url).content.decode()
    assert lead_page.count(notice) == fed.count()
    outsider_page = client_for(data.org.outsider).get(url).content.decode()
    assert outsider_page.count(notice) == fed.count() - private


def test_lead_may_promote_only_to_objectives_they_steer(data: SimpleNamespace) -> None:
    body = client_for(data.org.lead).get(f"/kpis/{data.kpis[1].key}/").content.decode()
    labels = options(body)
    assert len(labels) == 3  # the depot's team objectives, not the company's
    assert all("Depot North" in label for label in labels)
    assert 'name="find"' not in body  # all fit: no search needed


def test_many_objectives_list_the_kpis_team_first_and_search_the_rest(
    data: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kpi_views, "PROMOTE_CHOICES", 2)
    admin = client_for(data.org.admin)
    url = f"/kpis/{data.kpis[1].key}/"
    body = admin.get(url).content.decode()
    assert 'name="find"' in body
    labels = options(body)
    assert len(labels) == 2
    assert all("Depot North" in label for label in labels)
    assert "find the others by title or team" in body
    found = admin.get(url, {"find": "company"}).content.decode()
    assert [label.split(" (")[0] for label in options(found)] == ["Company objective o"]
    assert "Objectives matching “company”." in found
    nothing = admin.get(url, {"find": "no such objective"}).content.decode()
    assert "No objective you may promote to matches “no such objective”." in nothing
    assert 'name="objective"' not in nothing
    assert 'id="promote"' in nothing  # the search stays, to try again


def test_promote_accepts_an_objective_the_list_left_out(
    data: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kpi_views, "PROMOTE_CHOICES", 1)
    root = Objective.objects.get(key="o-root")
    kpi = data.kpis[1]
    assert "Company objective o" not in " ".join(
        options(client_for(data.org.admin).get(f"/kpis/{kpi.key}/").content.decode())
    )
    response = client_for(data.org.admin).post(
        f"/kpis/{kpi.key}/", {"action": "promote-confirmed", "objective": root.pk}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/objectives/{root.key}/"
    assert KeyResult.objects.filter(objective=root, kpi=kpi).exists()


def test_lead_cannot_promote_to_an_objective_they_do_not_steer(data: SimpleNamespace) -> None:
    root = Objective.objects.get(key="o-root")
    response = client_for(data.org.lead).post(
        f"/kpis/{data.kpis[1].key}/", {"action": "promote", "objective": root.pk}
    )
    assert response.status_code == 200
    assert "objective" in response.context["promote_form"].errors
    assert not KeyResult.objects.filter(objective=root, kpi=data.kpis[1]).exists()


@pytest.mark.parametrize(
    "query",
    [
        {"find": "\x00"},
        {"find": "x" * 5000},
        {"find": "%_\\'\""},
        {"find": "Ünïcødé ✓"},
        {"find": ["a", "b"]},
        {"page": "abc"},
        {"page": "-1"},
        {"page": "99999999999999999999"},
    ],
)
def test_odd_query_strings_give_a_page(data: SimpleNamespace, query: dict[str, Any]) -> None:
    response = client_for(data.org.admin).get(f"/kpis/{data.kpis[1].key}/", query)
    assert response.status_code == 200
    assert "Promote to key result" in response.content.decode()


@pytest.mark.parametrize("chosen", ["", "abc", "²", "-1", "0", "99999999999999999999999"])
def test_odd_objective_choices_are_field_errors(data: SimpleNamespace, chosen: str) -> None:
    response = client_for(data.org.admin).post(
        f"/kpis/{data.kpis[1].key}/", {"action": "promote", "objective": chosen}
    )
    assert response.status_code == 200
    assert "objective" in response.context["promote_form"].errors


def page_queries(client: Client, url: str) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


def test_queries_stay_constant_past_the_list_limit(
    data: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kpi_views, "PROMOTE_CHOICES", 5)
    kpi = data.kpis[0]
    urls = [f"/kpis/{kpi.key}/", f"/kpis/{kpi.key}/?find=team", f"/kpis/{kpi.key}/?page=2"]
    clients = {who: client_for(getattr(data.org, who)) for who in ("admin", "lead", "viewer")}

    def counts() -> dict[tuple[str, str], int]:
        return {(who, url): page_queries(c, url) for who, c in clients.items() for url in urls}

    small = counts()
    build_okrs(
        cycle=data.org.cycle,
        company=data.org.ops,
        team=data.org.depot,
        owner=data.org.member,
        objectives=20,
        kpi=kpi,
        prefix="more",
    )
    Measurement.objects.bulk_create(
        Measurement(kpi=kpi, at=timezone.now() - timedelta(days=300 + d), value=96 + d % 3)
        for d in range(800)
    )
    refresh_kpis(kpi_ids=[kpi.pk])
    assert counts() == small
