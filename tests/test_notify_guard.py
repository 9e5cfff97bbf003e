"""A notification hook's failure never breaks its action, unless it took the connection with it."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import Error, connection, transaction

from headway.notify import events
from headway.teams.models import Team


@pytest.fixture(autouse=True)
def _hooks_swallow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events, "RAISE_ERRORS", False)  # as in production


@pytest.mark.django_db
def test_a_failing_hook_is_logged_and_the_change_is_kept(caplog: Any) -> None:
    with transaction.atomic():
        Team.objects.create(key="kept", name="Kept", kind="company")
        with events.guard("a broken hook"):
            Team.objects.create(key="hook-row", name="Rolled back with its savepoint")
            raise ValueError("a bug in the hook")
    assert Team.objects.filter(key="kept").exists()
    assert not Team.objects.filter(key="hook-row").exists()
    assert "notify: a broken hook failed; the change itself was kept" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_a_hook_that_loses_the_connection_fails_the_action_instead_of_losing_it_silently() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("terminating the session is PostgreSQL's (pg_terminate_backend)")

    def action() -> None:
        with transaction.atomic():
            Team.objects.create(key="lost", name="Lost", kind="company")
            with events.guard("a hook whose connection dies"), connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")

    with pytest.raises(Error):
        action()
    # Before, the action went on as if the row were kept and the request answered 201;
    # Django ended the dead transaction without committing it and without a word.
    connection.close()
    assert not Team.objects.filter(key="lost").exists()
