"""Who is calling: a personal API token (`Authorization: Bearer`) or the browser session.

A token acts with its person's rights; a read-scope token may only use safe methods.
The session needs the CSRF token (`X-CSRFToken` header) on unsafe methods.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja.errors import AuthenticationError, AuthorizationError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from headway.api.models import Scope
from headway.api.tokens import find_token
from headway.teams.access import Access
from headway.teams.models import Person

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class TokenAuth(HttpBearer):
    """`Authorization: Bearer hw_…`: an unknown or revoked token is refused outright (401)."""

    def authenticate(self, request: HttpRequest, token: str) -> Person:
        found = find_token(token.strip())
        if found is None:
            raise AuthenticationError(401, "The API token is unknown or revoked.")
        if found.scope != Scope.WRITE and request.method not in SAFE_METHODS:
            raise AuthorizationError(403, "This token has the read scope: it cannot write.")
        request.user = found.person
        request.api_token = found  # type: ignore[attr-defined]
        return found.person


class SessionAuth(APIKeyCookie):
    """The signed-in browser session; unsafe methods need the CSRF token."""

    param_name: str = settings.SESSION_COOKIE_NAME

    def __call__(self, request: HttpRequest) -> Any:
        user = request.user
        if not user.is_authenticated or not user.is_active:
            return None  # no session: 401, not a CSRF complaint
        if request.method not in SAFE_METHODS and check_csrf(request) is not None:
            raise AuthorizationError(
                403, "CSRF check failed: send the CSRF token in the X-CSRFToken header."
            )
        return self.authenticate(request, None)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        return request.user


token_auth = TokenAuth()
session_auth = SessionAuth(csrf=True)
# Tokens first: a request carrying a bad token is refused even if a session cookie came along.
DEFAULT_AUTH = [token_auth, session_auth]


def caller(request: HttpRequest) -> Person:
    """The authenticated person of an API request."""
    person = request.auth  # type: ignore[attr-defined]
    assert isinstance(person, Person)
    return person


def access_of(request: HttpRequest) -> Access:
    """The caller's Access, computed once per request."""
    cached = getattr(request, "_headway_access", None)
    if cached is None:
        cached = Access.for_person(caller(request))
        request._headway_access = cached  # type: ignore[attr-defined]
    return cached
