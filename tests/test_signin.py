"""Nothing is visible without signing in, except sign-in itself and the health check."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

# Sign-in pages (ours and the admin site's) and the health check.
PUBLIC_PREFIXES = ("accounts/", "admin/login/", "healthz")
SAMPLE = {
    "int": "1",
    "slug": "x",
    "str": "x",
    "path": "x",
    "uuid": "00000000-0000-0000-0000-000000000000",
}


def every_url(resolver: URLResolver | None = None, prefix: str = "") -> Iterator[str]:
    """Yield a concrete URL for every route, filling converters with sample values."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        pattern = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from every_url(entry, pattern)
        elif isinstance(entry, URLPattern):
            route = re.sub(
                r"<(?:(\w+):)?\w+>", lambda m: SAMPLE.get(m.group(1) or "str", "x"), pattern
            )
            # Regex routes (the admin's) become a plain sample path.
            route = (
                re.sub(r"\(\?P<\w+>[^)]*\)", "x", route).lstrip("^").rstrip("$").replace("\\", "")
            )
            yield "/" + route


def is_public(url: str) -> bool:
    return url.lstrip("/").startswith(PUBLIC_PREFIXES)


@pytest.mark.django_db
def test_every_page_requires_sign_in(client: Client) -> None:
    checked = 0
    for url in every_url():
        if is_public(url):
            continue
        response = client.get(url)
        assert response.status_code in {302, 401, 403, 404}, url
        if response.status_code == 302:
            assert "login" in response["Location"], (url, response["Location"])
        checked += 1
    assert checked > 10  # the walk really found the app's pages


@pytest.mark.django_db
def test_home_redirects_to_sign_in(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_health_check_is_open(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_sign_in_by_email_then_home(client: Client, make_person: Any) -> None:
    make_person("lee@example.test", "Lee")
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    assert b"Sign in to Headway" in page.content
    response = client.post(
        "/accounts/login/", {"login": "LEE@example.test", "password": "a-long-test-password"}
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200


@pytest.mark.django_db
def test_wrong_password_is_refused_with_a_message(client: Client, make_person: Any) -> None:
    make_person("lee@example.test", "Lee")
    response = client.post("/accounts/login/", {"login": "lee@example.test", "password": "nope"})
    assert response.status_code == 200
    assert b"not correct" in response.content or b"incorrect" in response.content.lower()
    assert client.get("/").status_code == 302


@pytest.mark.django_db
def test_strangers_cannot_sign_up(client: Client) -> None:
    response = client.post(
        "/accounts/signup/", {"email": "stranger@example.test", "password1": "x-long-pass-123"}
    )
    from headway.teams.models import Person

    assert not Person.objects.filter(email="stranger@example.test").exists()
    assert response.status_code in {200, 302, 403}
