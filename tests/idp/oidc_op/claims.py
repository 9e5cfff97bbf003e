"""Claims of the test provider's people, read from the JSON file the test writes."""

from __future__ import annotations

import json
import os
from typing import Any

from oidc_provider.lib.claims import ScopeClaims


def people() -> dict[str, dict[str, Any]]:
    """username -> {password, email, email_verified, name, groups}; re-read on every use."""
    with open(os.environ["TEST_OP_PEOPLE"]) as fh:
        found: dict[str, dict[str, Any]] = json.load(fh)
    return found


def userinfo(claims: dict[str, Any], user: Any) -> dict[str, Any]:
    who = people().get(user.username, {})
    claims["name"] = who.get("name", "")
    claims["email"] = who.get("email", "")
    claims["email_verified"] = bool(who.get("email_verified", False))
    claims["preferred_username"] = user.username
    return claims


class GroupsClaims(ScopeClaims):  # type: ignore[misc]
    info_groups = ("Groups", "The groups you belong to.")

    def scope_groups(self) -> dict[str, Any]:
        return {"groups": people().get(self.user.username, {}).get("groups", [])}
