"""Sign-in policy: people are invited or created by an admin, never self-registered."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest


class InviteOnlyAccountAdapter(DefaultAccountAdapter):  # type: ignore[misc]
    """Closes sign-up to strangers."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False
