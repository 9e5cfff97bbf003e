"""Edit forms carry the version read: a stale save is refused, shown, and loses nothing."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from headway.api.testing import ApiClient, token_for
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
