"""allauth's social sign-in, Headway's way: providers from Headway's list, matching by verified
e-mail only, accounts just in time for the allowed domains, everyone else refused with a reason.
"""

from __future__ import annotations

from typing import Any

from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.http import HttpRequest
from django.shortcuts import render

from headway.directory import providers
from headway.directory.providers import ProviderConfig
from headway.teams.models import Person


def config_of(sociallogin: Any) -> ProviderConfig | None:
    return providers.find_by_key(sociallogin.account.provider)


def verified_emails(sociallogin: Any, config: ProviderConfig | None) -> list[str]:
    """The addresses the provider vouches for, lowercased, in the provider's order."""
    trust = config is not None and config.trust_email
    found = [
        address.email.strip().lower()
        for address in sociallogin.email_addresses
        if address.email and (address.verified or trust)
    ]
    return list(dict.fromkeys(found))


def _refuse(request: HttpRequest, reason: str, email: str = "") -> None:
    response = render(
        request, "directory/sign_in_refused.html", {"reason": reason, "email": email}, status=403
    )
    raise ImmediateHttpResponse(response)


class DirectorySocialAccountAdapter(DefaultSocialAccountAdapter):  # type: ignore[misc]
    def list_apps(
        self, request: HttpRequest | None, provider: str | None = None, client_id: str | None = None
    ) -> list[Any]:
        apps = [providers.social_app(config) for config in providers.enabled_providers()]
        if provider:
            apps = [a for a in apps if provider in {a.provider, a.provider_id}]
        if client_id:
            apps = [a for a in apps if a.client_id == client_id]
        return apps

    def pre_social_login(self, request: HttpRequest, sociallogin: Any) -> None:
        """Connect a first sign-in to the person with the same verified e-mail, if there is one.

        An unverified address never matches: someone who could put any address in their
        profile at the provider must not become the Headway person with that address.
        """
        if sociallogin.is_existing:
            return
        config = config_of(sociallogin)
        for email in verified_emails(sociallogin, config):
            person = Person.objects.filter(email=email).first()
            if person is not None:
                sociallogin.connect(request, person)
                return

    def is_open_for_signup(self, request: HttpRequest, sociallogin: Any) -> bool:
        """A new account only for a verified address in one of the provider's allowed domains."""
        config = config_of(sociallogin)
        emails = verified_emails(sociallogin, config)
        claimed = [a.email for a in sociallogin.email_addresses if a.email]
        if not emails:
            if claimed:
                _refuse(request, "unverified", claimed[0])
            _refuse(request, "no_email")
        allowed = [e for e in emails if config is not None and config.allows_new_account(e)]
        if not allowed:
            _refuse(request, "domain", emails[0])
        return True

    def is_auto_signup_allowed(self, request: HttpRequest, sociallogin: Any) -> bool:
        return True

    def populate_user(self, request: HttpRequest, sociallogin: Any, data: dict[str, Any]) -> Any:
        person = sociallogin.user
        config = config_of(sociallogin)
        emails = verified_emails(sociallogin, config)
        allowed = [e for e in emails if config is not None and config.allows_new_account(e)]
        person.email = (allowed or emails or [""])[0]
        name = data.get("name") or " ".join(
            part for part in (data.get("first_name"), data.get("last_name")) if part
        )
        person.name = str(name or "").strip()[:200]
        return person
