"""Shared fixtures: people with roles, a small organisation, signed-in clients."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings


def pytest_configure(config: pytest.Config) -> None:
    # Tests render templates without running collectstatic, so no manifest is needed.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # Plain-HTTP test client: secure-only cookies and HTTPS redirects would hide every page.
    settings.SECURE_SSL_REDIRECT = False
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def make_person(db: Any) -> Any:
    from headway.teams.models import Person

    def make(email: str = "pat@example.test", name: str = "Pat", **extra: Any) -> Person:
        return Person.objects.create_user(email, "a-long-test-password", name=name, **extra)

    return make
