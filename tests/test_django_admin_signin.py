"""The Django admin signs in through the app's sign-in (lockout, two factors), not its own form."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_the_django_admin_sends_sign_in_to_the_apps_page(org: Any) -> None:
    page = Client().get("/admin/", follow=True)
    assert page.redirect_chain[-1][0] == "/accounts/login/?next=%2Fadmin%2F"
    assert page.status_code == 200


def test_the_django_admin_form_cannot_be_used_to_guess_passwords(org: Any) -> None:
    from headway.teams.models import Person

    Person.objects.create_superuser("root@acme.test", "a-long-test-password", name="Root")
    client = Client()
    answer = client.post(
        "/admin/login/?next=/admin/",
        {"username": "root@acme.test", "password": "a-long-test-password"},
    )
    assert answer.status_code == 302
    assert answer["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session  # nothing signed in by Django's form
    assert client.get("/admin/").status_code == 302


def test_a_signed_in_person_without_admin_rights_gets_403_not_a_loop(org: Any) -> None:
    client = Client()
    client.force_login(org.member)
    assert client.get("/admin/login/?next=/admin/").status_code == 403
