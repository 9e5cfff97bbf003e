"""Cascade from the parent: "Write an objective aligned to this one" for those who may,
prefilled; the parent picker grouped by cycle and team, only cycles spanning the child's."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client

from headway.okrs.models import Cycle, Objective

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org: Any) -> Any:
    org.year = Cycle.objects.create(key="2027", name="2027", start=date(2027, 1, 1),
                                    end=date(2027, 12, 31), state="active")  # fmt: skip
    org.q2 = Cycle.objects.create(key="2027-Q2", name="2027 Q2", start=date(2027, 4, 1),
                                  end=date(2027, 6, 30))  # fmt: skip
    org.company_goal = Objective.objects.create(key="goal", cycle=org.cycle, team=org.company,
                                                title="Company goal for Q1")  # fmt: skip
    org.year_goal = Objective.objects.create(key="year-goal", cycle=org.year, team=org.company,
                                             title="The year's goal")  # fmt: skip
    org.q2_goal = Objective.objects.create(key="q2-goal", cycle=org.q2, team=org.ops,
                                           title="A goal of Q2")  # fmt: skip
    return org


def signed_in(who: Any) -> Client:
    client = Client()
    client.force_login(who)
    return client


def test_leads_are_offered_an_aligned_objective_prefilled(world: Any) -> None:
    page = signed_in(world.lead).get("/objectives/goal/").content.decode()
    assert "Write an objective aligned to this one" in page
    href = page.split("Write an objective aligned to this one")[0].rsplit('href="', 1)[1]
    query = parse_qs(urlparse(href.split('"')[0].replace("&amp;", "&")).query)
    # Ops is the team the lead leads, right below the company.
    assert query == {"cycle": ["2027-Q1"], "parent": ["goal"], "team": ["ops"]}
    form = signed_in(world.lead).get(href.split('"')[0].replace("&amp;", "&")).content.decode()
    assert f'<option value="{world.company_goal.pk}" selected>' in form
    # A member may not align (leads do): no such offer.
    member_page = signed_in(world.member).get("/objectives/goal/").content.decode()
    assert "Write an objective aligned to this one" not in member_page


def test_the_parent_picker_offers_only_cycles_spanning_the_childs_grouped(world: Any) -> None:
    form = signed_in(world.lead).get("/objectives/new/?cycle=2027-Q1").content.decode()
    picker = form.split('name="parent"', 1)[1].split("</select>", 1)[0]
    assert "Company goal for Q1" in picker
    assert "The year&#x27;s goal" in picker  # the year spans the quarter
    assert "A goal of Q2" not in picker  # another quarter: never offered
    assert '<optgroup label="2027 · Acme">' in picker
    assert '<optgroup label="2027 Q1 · Acme">' in picker
    child = Objective.objects.create(key="child", cycle=world.q2, team=world.ops, title="Kid")
    edit = signed_in(world.lead).get(f"/objectives/{child.key}/edit/").content.decode()
    picker = edit.split('name="parent"', 1)[1].split("</select>", 1)[0]
    assert "A goal of Q2" in picker
    assert "The year&#x27;s goal" in picker
    assert "Company goal for Q1" not in picker


def test_a_parent_of_a_cycle_not_spanning_the_childs_is_refused(world: Any) -> None:
    client = signed_in(world.lead)
    response = client.post(
        "/objectives/new/?cycle=2027-Q1",
        {"title": "Sneaky", "team": world.ops.pk, "cycle": world.cycle.pk, "type": "aspirational",
         "visibility": "public", "parent": world.q2_goal.pk},
    )  # fmt: skip
    assert response.status_code in (200, 422)
    assert not Objective.objects.filter(title="Sneaky").exists()
