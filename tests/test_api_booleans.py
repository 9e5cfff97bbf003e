"""Numbers refuse JSON's true and false (they are not 1 and 0): 400 and nothing stored."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from headway.api.tokens import create_token
from headway.okrs.models import CheckIn, KeyResult, Objective

pytestmark = pytest.mark.django_db


def test_a_check_in_value_of_true_is_refused_and_nothing_changes(org: Any) -> None:
    objective = Objective.objects.create(
        key="calm", cycle=org.cycle, team=org.depot, owner=org.member, title="Calm depot"
    )
    kr = KeyResult.objects.create(
        objective=objective, key="a", title="KR a", start=0, target=10, owner=org.member
    )
    before = KeyResult.objects.filter(pk=kr.pk).values("current", "version", "score").get()
    token = create_token(person=org.member, name="t", scope="write").secret
    api = Client(headers={"Authorization": f"Bearer {token}"})
    for value in (True, False):
        answer = api.post(
            "/api/v1/objectives/calm/key-results/a/checkins",
            {"value": value},
            content_type="application/json",
        )
        assert answer.status_code == 400, answer.content
        assert "not true or false" in answer.json()["error"]["fields"]["value"][0]
    assert not CheckIn.objects.exists()
    assert KeyResult.objects.filter(pk=kr.pk).values("current", "version", "score").get() == before
