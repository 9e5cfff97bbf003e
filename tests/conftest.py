"""Shared fixtures: people with roles, a small organisation, signed-in clients."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.conf import settings


def pytest_configure(config: pytest.Config) -> None:
    from django.core.exceptions import ImproperlyConfigured

    try:
        settings.STORAGES  # noqa: B018 - pure-core tests may run with `-p no:django`
    except ImproperlyConfigured:
        return
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


@pytest.fixture(autouse=True)
def _frozen_time(request: pytest.FixtureRequest) -> Iterator[None]:
    """Stop the clock at the moment of a `@pytest.mark.frozen(moment)` mark, if any."""
    mark = request.node.get_closest_marker("frozen")
    if mark is None:
        yield
        return
    with time_machine.travel(mark.args[0], tick=False):
        yield


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """Each test starts in the organisation's language: a request as a German reader leaves
    German active in its thread, as Django's LocaleMiddleware does (the next request of a
    served process activates its own)."""
    yield
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Each test starts with an empty cache (sign-in policy, rate limits, used TOTP codes)."""
    yield
    try:
        from django.core.cache import cache

        cache.clear()
    except Exception:
        pass


@pytest.fixture
def make_person(db: Any) -> Any:
    from headway.teams.models import Person

    def make(email: str = "pat@example.test", name: str = "Pat", **extra: Any) -> Person:
        return Person.objects.create_user(email, "a-long-test-password", name=name, **extra)

    return make


@pytest.fixture
def org(db: Any) -> Any:
    """A company, a department and a team; one person per role; an active 2027-Q1 cycle."""
    from datetime import date
    from types import SimpleNamespace

    from headway.okrs.models import Cycle
    from headway.teams.models import Membership, Person, Team

    company = Team.objects.create(key="acme", name="Acme", kind="company")
    ops = Team.objects.create(key="ops", name="Operations", kind="department", parent=company)
    depot = Team.objects.create(key="depot", name="Depot North", kind="team", parent=ops)
    sales = Team.objects.create(key="sales", name="Sales", kind="department", parent=company)

    def person(email: str, name: str, team: Team | None = None, role: str = "member") -> Person:
        p = Person.objects.create_user(email, "a-long-test-password", name=name)
        if team is not None:
            Membership.objects.create(person=p, team=team, role=role)
        return p

    cycle = Cycle.objects.create(
        key="2027-Q1", name="2027 Q1", start=date(2027, 1, 1), end=date(2027, 3, 31), state="active"
    )
    return SimpleNamespace(
        company=company,
        ops=ops,
        depot=depot,
        sales=sales,
        cycle=cycle,
        admin=person("admin@acme.test", "Ada Admin", company, "admin"),
        lead=person("lead@acme.test", "Lou Lead", ops, "lead"),
        member=person("member@acme.test", "Mo Member", depot, "member"),
        viewer=person("viewer@acme.test", "Vi Viewer", ops, "viewer"),
        outsider=person("out@acme.test", "Oz Outsider", sales, "member"),
    )


@pytest.fixture(scope="session")
def oidc_provider(live_server: Any) -> Iterator[Any]:
    """A real OpenID Connect provider (django-oidc-provider) on 127.0.0.1, for the whole run."""
    from tests.idp.servers import OidcProvider

    provider = OidcProvider(
        client_id="headway-test",
        client_secret="a-client-secret-for-the-tests",
        redirect_uris=[f"{live_server.url}/accounts/oidc/test-op/login/callback/"],
        people={},
    )
    yield provider
    provider.stop()


@pytest.fixture
def oidc_sign_in(oidc_provider: Any, db: Any) -> Any:
    """The provider set up on Headway's sign-in page; its people start empty each test."""
    from headway.directory.models import SignInProvider

    oidc_provider.set_people({})
    row = SignInProvider(
        key="test-op",
        name="Test OP",
        kind="oidc",
        issuer=oidc_provider.issuer,
        client_id=oidc_provider.client_id,
        scopes="groups",
        allowed_domains="acme.test",
    )
    row.set_secret(oidc_provider.client_secret)
    row.save()
    return row


# Real servers for the data-source tests (started only by the tests that use them).
from tests.source_servers import (  # noqa: E402, F401
    http_server,
    mariadb_source,
    pg_source,
    prometheus_server,
)

# Stand-ins for GitHub, GitLab and Jira (the tracker-sync tests).
from tests.tracker_servers import fake_trackers, tracker_servers  # noqa: E402, F401
