"""SCIM lists and the sign-in page run a constant number of queries, whatever the data size."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from headway.directory.models import DirectoryGroup, DirectoryUser, GroupMapping, ScimToken
from headway.directory.scim.tokens import create_scim_token
from headway.teams.models import Person
from headway.web.testing import client_for

pytestmark = pytest.mark.django_db


def grow(org: Any, count: int, start: int) -> None:
    people = Person.objects.bulk_create(
        Person(email=f"p{i}@acme.test", name=f"P {i}") for i in range(start, start + count)
    )
    DirectoryUser.objects.bulk_create(
        DirectoryUser(
            person=p,
            user_name=p.email,
            user_name_key=p.email,
            attributes={"emails": [{"value": p.email, "primary": True}]},
        )
        for p in people
    )
    group = DirectoryGroup.objects.create(display_name=f"group {start}")
    group.members.add(*people)
    GroupMapping.objects.create(group=f"group {start}", team=org.depot, role="member")
    ScimToken.objects.create(
        name=f"t{start}", prefix="hwscim_x", token_hash=f"{start:064d}", created_by=org.admin
    )


def count(client: Client, path: str, **headers: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, headers=headers)
    assert response.status_code == 200, (path, response.content[:300])
    return len(queries)


def test_scim_lists_and_the_sign_in_page_stay_flat(org: Any) -> None:
    secret = create_scim_token(by=org.admin, name="Okta").secret
    auth = {"authorization": f"Bearer {secret}"}
    scim, admin = Client(), client_for(org.admin)
    paths = ["/scim/v2/Users?count=50", "/scim/v2/Groups", '/scim/v2/Users?filter=userName sw "p"']
    grow(org, 5, 0)
    for path in paths:  # the first use stamps the token; the first page makes the policy row
        scim.get(path, headers=auth)
    admin.get("/settings/sign-in/")
    small = [count(scim, p, **auth) for p in paths] + [count(admin, "/settings/sign-in/")]
    grow(org, 60, 100)
    large = [count(scim, p, **auth) for p in paths] + [count(admin, "/settings/sign-in/")]
    assert small == large, (small, large)
    listed = json.loads(scim.get("/scim/v2/Users?count=50", headers=auth).content)
    assert (listed["totalResults"], listed["itemsPerPage"]) == (65, 50)
