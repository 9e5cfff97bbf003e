"""Helpers for tests and benchmarks that call the API as a client would."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

from headway.api.models import Scope
from headway.api.tokens import create_token
from headway.teams.models import Person

BASE = "/api/v1"


def token_for(person: Person, scope: str = Scope.WRITE, name: str = "test") -> str:
    """A new token's secret for `person`."""
    return create_token(person=person, name=name, scope=scope).secret


class ApiClient:
    """Django's test client speaking JSON to /api/v1 with a Bearer token (or a session)."""

    def __init__(self, token: str | None = None, client: Client | None = None) -> None:
        self.client = client or Client()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        return {**self.headers, **(extra or {})}

    def get(self, path: str, params: dict[str, Any] | None = None, **headers: str) -> Any:
        return self.client.get(BASE + path, params or {}, headers=self._headers(headers))

    def send(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> Any:
        data = (
            body if isinstance(body, str | bytes) else json.dumps(body if body is not None else {})
        )
        return self.client.generic(
            method, BASE + path, data, content_type=content_type, headers=self._headers(headers)
        )

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.send("POST", path, body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.send("PATCH", path, body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.send("DELETE", path, None, **kwargs)
