"""allauth's two-factor sign-in, Headway's way: secrets encrypted at rest, policy respected."""

from __future__ import annotations

from typing import Any

from allauth.mfa.adapter import DefaultMFAAdapter

from headway import secrets


class HeadwayMFAAdapter(DefaultMFAAdapter):  # type: ignore[misc]
    def encrypt(self, text: str) -> str:
        """TOTP secrets and recovery-code seeds are stored encrypted (headway.secrets)."""
        return secrets.encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        if not encrypted_text.startswith(secrets.PREFIX):
            return encrypted_text  # stored before encryption was switched on
        return secrets.decrypt(encrypted_text)

    def can_delete_authenticator(self, authenticator: Any) -> bool:
        """While admins require two-factor sign-in, the authenticator app cannot be removed."""
        from headway.directory.middleware import two_factor_required

        if authenticator.type == authenticator.Type.TOTP and two_factor_required():
            return False
        return bool(super().can_delete_authenticator(authenticator))

    def get_totp_issuer(self) -> str:
        return "Headway"
