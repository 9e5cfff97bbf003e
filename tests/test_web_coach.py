"""The coach on the pages: beside the objective, key result, KPI, team and review row it
concerns; silencing from the objective form; live findings while a form is typed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from html.parser import HTMLParser
from types import SimpleNamespace
from typing import Any

import pytest
from django.test import Client

from headway.kpis.models import Kpi
from headway.okrs.models import Cycle, KeyResult, Objective
from headway.web.testing import client_for, current_cycle

pytestmark = pytest.mark.django_db


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}


@dataclass
class Node:
    """An element of a page, enough to find things by tag, id, class and attribute."""

    tag: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[Node | str] = field(default_factory=list)

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.walk()

    def find_all(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> list[Node]:
        return [
            n
            for n in self.walk()
            if (tag is None or n.tag == tag)
            and (cls is None or cls in n.attrs.get("class", "").split())
            and all(n.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]

    def find(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> Node:
        found = self.find_all(tag, cls, **attrs)
        assert found, (tag, cls, attrs)
        return found[0]

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack = [Node("document")]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                break

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def soup(response: Any) -> Node:
    assert response.status_code == 200, response.content[:500]
    builder = _Builder()
    builder.feed(response.content.decode())
    return builder.stack[0]


def rules(node: Node) -> set[str]:
    return {li.attrs["data-rule"] for li in node.find_all("li", "finding")}


@pytest.fixture
def world(org: Any) -> SimpleNamespace:
    current_cycle(org.cycle)
    vague = Objective.objects.create(
        key="vague",
        cycle=org.cycle,
        team=org.depot,
        owner=org.member,
        title="Improve our marketing",
    )
    KeyResult.objects.create(
        objective=vague, key="site", title="Launch the new website", kind="milestone"
    )
    KeyResult.objects.create(
        objective=vague,
        key="signups",
        title="Raise weekly sign-ups from 200 to 500",
        start=200,
        target=500,
    )
    secret = Objective.objects.create(
        key="secret", cycle=org.cycle, team=org.depot, title="Win the award", visibility="private"
    )
    Kpi.objects.create(key="otd", name="On-time", team=org.depot)
    return SimpleNamespace(org=org, vague=vague, secret=secret)


def test_objective_page_shows_findings_beside_the_objective_and_each_key_result(
    world: SimpleNamespace,
) -> None:
    page = soup(client_for(world.org.viewer).get("/objectives/vague/"))
    box = page.find(cls="coach-box")
    assert {"objective-vague", "orphan-objective"} <= rules(box)
    assert "kr-is-task" not in rules(box)
    site = page.find(id="kr-site")
    assert rules(site) == {"kr-is-task"}
    finding = site.find("li", data_rule="kr-is-task")
    assert finding.find("span", "severity-warning").text() == "warning"
    assert "not an activity or a to-do" in finding.text()  # the principle
    assert "Fix:" in finding.text()
    signups = page.find(id="kr-signups")
    assert rules(signups) == set()


def test_silencing_from_the_edit_form_needs_a_reason_and_shows_on_the_page(
    world: SimpleNamespace,
) -> None:
    client = client_for(world.org.lead)
    form = soup(client.get("/objectives/vague/edit/"))
    choices = {box.attrs["value"] for box in form.find_all("input", name="coach_ignore")}
    assert {"objective-vague", "kr-is-task", "orphan-objective"} <= choices
    assert "kpi-too-many" not in choices
    data = {
        "title": "Improve our marketing",
        "type": "aspirational",
        "visibility": "public",
        "owner": world.org.member.pk,
        "coach_ignore": ["objective-vague", "kr-is-task"],
    }
    refused = soup(client.post("/objectives/vague/edit/", data))
    assert "Say why the coach should stay quiet." in refused.text()
    assert Objective.objects.get(key="vague").coach_ignore == []
    saved = client.post("/objectives/vague/edit/", {**data, "coach_ignore_why": "Pilot wording"})
    assert saved.status_code == 302
    objective = Objective.objects.get(key="vague")
    assert objective.coach_ignore == ["objective-vague", "kr-is-task"]
    assert objective.coach_ignore_why == "Pilot wording"
    page = soup(client.get("/objectives/vague/"))
    silenced = page.find(cls="silenced")
    assert "objective-vague, kr-is-task — Pilot wording" in silenced.text()
    assert "objective-vague" not in rules(page)
    assert "kr-is-task" not in rules(page)
    # Unticking everything clears the reason too.
    data.pop("coach_ignore")
    assert client.post("/objectives/vague/edit/", data).status_code == 302
    objective.refresh_from_db()
    assert (objective.coach_ignore, objective.coach_ignore_why) == ([], "")


def test_only_editors_reach_the_silencing(world: SimpleNamespace) -> None:
    assert client_for(world.org.viewer).get("/objectives/vague/edit/").status_code == 403
    assert client_for(world.org.outsider).get("/objectives/vague/edit/").status_code == 403
    creating = soup(client_for(world.org.member).get("/objectives/new/"))
    assert creating.find_all("input", name="coach_ignore") == []


def test_kpi_team_and_review_pages_show_their_findings(world: SimpleNamespace) -> None:
    client = client_for(world.org.viewer)
    assert rules(soup(client.get("/kpis/otd/"))) == {"kpi-card-incomplete"}
    assert "objective-count" in rules(soup(client.get("/teams/sales/")))
    assert rules(soup(client.get("/teams/depot/"))) == set()
    closed = Cycle.objects.create(
        key="2026-Q4", start=date(2026, 10, 1), end=date(2026, 12, 31), state="closed"
    )
    missed = Objective.objects.create(
        key="missed",
        cycle=closed,
        team=world.org.ops,
        title="Make deliveries dull",
        type="committed",
        grade=0.6,
    )
    easy = Objective.objects.create(
        key="easy", cycle=closed, team=world.org.ops, title="Make returns painless", grade=1.0
    )
    for objective in (missed, easy):
        for key in ("a", "b"):
            KeyResult.objects.create(
                objective=objective,
                key=key,
                title="Cut returns from 4 to 2",
                kind="decrease",
                start=4,
                target=2,
                grade=objective.grade,
            )
    review = soup(client.get("/cycles/2026-Q4/review/"))
    assert rules(review.find(id="review-missed")) == {"committed-missed"}
    assert rules(review.find(id="review-easy")) == {"sandbagging"}


def test_live_coach_on_the_key_result_form(world: SimpleNamespace) -> None:
    client = client_for(world.org.member)
    form = soup(client.get("/objectives/vague/key-results/new/"))
    tag = form.find("form", cls="form")
    assert tag.attrs["hx-post"] == "/objectives/vague/key-results/new/coach/"
    assert "input changed delay:400ms" in tag.attrs["hx-trigger"]
    assert "X-CSRFToken" in tag.attrs["hx-headers"]
    assert form.find(id="coach-live").attrs["aria-live"] == "polite"
    url = "/objectives/vague/key-results/new/coach/"
    task = soup(client.post(url, {"title": "Launch the new website", "kind": "milestone"}))
    assert "kr-is-task" in rules(task)
    outcome = {"title": "Raise weekly sign-ups from 200 to 500", "start": "200", "target": "500"}
    fixed = soup(client.post(url, {**outcome, "kind": "increase"}))
    assert rules(fixed) == set()
    assert "nothing to add" in fixed.text()
    assert soup(client.post(url, {"title": ""})).text().strip() == ""
    late = soup(client.post(url, {**outcome, "due": "2030-01-01"}))
    assert rules(late) == {"kr-no-deadline"}
    junk = client.post(url, {"title": "Raise it", "start": "nan", "target": "x", "due": "soon"})
    assert junk.status_code == 200


def test_live_coach_on_the_objective_forms(world: SimpleNamespace) -> None:
    client = client_for(world.org.lead)
    new = soup(
        client.post(
            "/objectives/new/coach/",
            {
                "title": "Increase revenue by 20%",
                "team": world.org.depot.pk,
                "cycle": world.org.cycle.pk,
                "parent": world.secret.pk,
            },
        )
    )
    # The lead may see the private parent, so the draft is aligned.
    assert rules(new) == {"objective-is-metric"}
    outsider = soup(
        client_for(world.org.outsider).post(
            "/objectives/new/coach/",
            {
                "title": "Increase revenue by 20%",
                "team": world.org.depot.pk,
                "parent": world.secret.pk,
            },
        )
    )
    assert rules(outsider) == {"objective-is-metric", "orphan-objective"}
    edit = soup(client.get("/objectives/vague/edit/"))
    assert {"objective-vague", "orphan-objective"} <= rules(edit.find(id="coach-live"))
    quiet = soup(
        client.post(
            "/objectives/vague/edit/coach/",
            {
                "title": "Improve our marketing",
                "coach_ignore": ["objective-vague", "orphan-objective"],
            },
        )
    )
    assert rules(quiet) == set()


def test_live_coach_follows_the_forms_permissions(world: SimpleNamespace) -> None:
    viewer = client_for(world.org.viewer)
    body = {"title": "Launch it"}
    assert viewer.post("/objectives/new/coach/", body).status_code == 403
    assert viewer.post("/objectives/vague/edit/coach/", body).status_code == 403
    assert viewer.post("/objectives/vague/key-results/new/coach/", body).status_code == 403
    assert viewer.post("/objectives/vague/key-results/site/edit/coach/", body).status_code == 403
    outsider = client_for(world.org.outsider)
    assert outsider.post("/objectives/secret/key-results/new/coach/", body).status_code == 404
    member = client_for(world.org.member)
    assert member.get("/objectives/vague/key-results/new/coach/").status_code == 405
    assert member.post("/objectives/nope/edit/coach/", body).status_code == 404
    assert member.post("/objectives/vague/key-results/nope/edit/coach/", body).status_code == 404
    anonymous = Client().post("/objectives/new/coach/", body)
    assert anonymous.status_code == 302
    assert "/accounts/login/" in anonymous["Location"]


def test_the_live_coach_needs_the_csrf_token(world: SimpleNamespace) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.org.member)
    url = "/objectives/vague/key-results/new/coach/"
    assert client.post(url, {"title": "Launch it"}).status_code == 403
    client.get("/objectives/vague/key-results/new/")
    token = client.cookies["csrftoken"].value
    response = client.post(url, {"title": "Launch it"}, headers={"X-CSRFToken": token})
    assert response.status_code == 200
