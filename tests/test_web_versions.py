"""Edit forms carry the version read: a stale save is refused, shown, and loses nothing."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from headway.api.testing import ApiClient, token_for
from headway.kpis.models import Kpi
from headway.okrs.models import Objective
from headway.web.testing import build_okrs, client_for, current_cycle

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(org: Any) -> SimpleNamespace:
    current_cycle(org.cycle)
    objectives = build_okrs(
        cycle=org.cycle, company=org.company, team=org.depot, owner=org.member, objectives=1
    )
    return SimpleNamespace(org=org, objective=objectives[-1])


def _form(objective: Objective, version: int, **changes: Any) -> dict[str, Any]:
    return {
        "title": objective.title,
        "description": objective.description,
        "owner": objective.owner_id or "",
        "type": objective.type,
        "visibility": objective.visibility,
        "parent": objective.parent_id or "",
        "version": version,
    } | changes


def test_a_stale_objective_save_is_refused_with_the_other_change_shown(
    data: SimpleNamespace,
) -> None:
    objective = data.objective
    url = f"/objectives/{objective.key}/edit/"
    seen = objective.version
    assert f'name="version" value="{seen}"' in client_for(data.org.lead).get(url).content.decode()
    first = client_for(data.org.lead).post(url, _form(objective, seen, title="First wording"))
    assert first.status_code == 302
    second = client_for(data.org.member).post(url, _form(objective, seen, title="Second wording"))
    assert second.status_code == 200
    page = second.content.decode()
    assert f"{data.org.lead} changed this objective" in page
    assert "Title: theirs “First wording”, yours “Second wording”" in page
    assert 'value="Second wording"' in page  # the input, kept
    assert f'name="version" value="{seen + 1}"' in page  # saving again is deliberate
    objective.refresh_from_db()
    assert (objective.title, objective.version) == ("First wording", seen + 1)


def test_saving_again_after_a_refusal_replaces_the_other_change(data: SimpleNamespace) -> None:
    objective = data.objective
    url = f"/objectives/{objective.key}/edit/"
    seen = objective.version
    client_for(data.org.lead).post(url, _form(objective, seen, title="First wording"))
    again = client_for(data.org.member).post(url, _form(objective, seen + 1, title="Mine"))
    assert again.status_code == 302
    objective.refresh_from_db()
    assert objective.title == "Mine"


def test_a_viewer_hears_forbidden_before_any_version_check(data: SimpleNamespace) -> None:
    """Rights come first: a viewer with a wrong If-Match gets 403, not 412 (nor the version)."""
    objective = data.objective
    before = (objective.title, objective.version)
    viewer = ApiClient(token_for(data.org.viewer, "write"))
    answer = viewer.patch(
        f"/objectives/{objective.key}", {"title": "Viewer's"}, headers={"If-Match": '"999"'}
    )
    assert answer.status_code == 403
    assert "999" not in answer.content.decode()
    assert "version" not in answer.json()["error"]["message"]
    objective.refresh_from_db()
    assert (objective.title, objective.version) == before
    lead = ApiClient(token_for(data.org.lead, "write"))
    stale = lead.patch(
        f"/objectives/{objective.key}", {"title": "Lead's"}, headers={"If-Match": '"999"'}
    )
    assert stale.status_code == 412
    objective.refresh_from_db()
    assert (objective.title, objective.version) == before


def test_a_stale_key_result_save_is_refused_and_changes_nothing(data: SimpleNamespace) -> None:
    kr = data.objective.key_results.order_by("position").first()
    url = f"/objectives/{data.objective.key}/key-results/{kr.key}/edit/"
    form = {"title": kr.title, "kind": kr.kind, "owner": kr.owner_id or "", "unit": "pct",
            "start": kr.start, "target": kr.target, "weight": 2, "due": "", "kpi": ""}  # fmt: skip
    seen = kr.version
    assert client_for(data.org.lead).post(url, form | {"version": seen}).status_code == 302
    refused = client_for(data.org.member).post(url, form | {"version": seen, "weight": 3})
    assert refused.status_code == 200
    page = refused.content.decode()
    assert "changed this key result" in page
    assert "theirs “2”, yours “3”" in page
    kr.refresh_from_db()
    assert (kr.weight, kr.version) == (2, seen + 1)


def test_a_stale_kpi_save_is_refused_and_changes_nothing(data: SimpleNamespace) -> None:
    kpi = Kpi.objects.create(
        key="on-time", name="On-time rate", team=data.org.depot, owner=data.org.member,
        target=95, warning=90, critical=85, cadence="weekly",
    )  # fmt: skip
    url = f"/kpis/{kpi.key}/edit/"
    form = {"name": kpi.name, "team": kpi.team_id, "owner": kpi.owner_id, "direction": "up",
            "target": "95", "warning": "90", "critical": "85", "tier": "key",
            "cadence": "weekly", "unit": "%", "version": kpi.version}  # fmt: skip
    assert client_for(data.org.lead).post(url, form | {"unit": "pct"}).status_code == 302
    refused = client_for(data.org.member).post(url, form | {"target": "97"})
    assert refused.status_code == 200
    assert "changed this KPI" in refused.content.decode()
    kpi.refresh_from_db()
    assert (kpi.unit, kpi.target, kpi.version) == ("pct", 95, 2)
