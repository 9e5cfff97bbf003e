"""Sign-in providers, group mappings, SCIM records and tokens, and the two-factor policy."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy

from headway import secrets
from headway.teams.models import Role


class ProviderKind(models.TextChoices):
    OIDC = "oidc", gettext_lazy("OpenID Connect")
    SAML = "saml", gettext_lazy("SAML 2.0")


class SignInProvider(models.Model):
    """An identity provider people sign in with, set up by an admin on the sign-in page.

    Providers from the environment (HEADWAY_SSO_PROVIDERS) are not rows; both become the
    same `headway.directory.providers.ProviderConfig`.
    """

    key = models.SlugField(
        max_length=50,
        unique=True,
        help_text=gettext_lazy(
            "Part of the provider's addresses at Headway (redirect URI, ACS URL); "
            "changing it means changing them at the provider too."
        ),
    )
    name = models.CharField(
        max_length=100, help_text=gettext_lazy("Shown on the button: Sign in with …")
    )
    kind = models.CharField(max_length=10, choices=ProviderKind)
    enabled = models.BooleanField(default=True)
    # OpenID Connect
    issuer = models.URLField(
        blank=True, help_text=gettext_lazy("The issuer URL (its discovery document).")
    )
    client_id = models.CharField(max_length=255, blank=True)
    client_secret_encrypted = models.TextField(blank=True, editable=False)
    scopes = models.CharField(
        max_length=255,
        blank=True,
        help_text=gettext_lazy("Scopes beyond openid, profile and email (e.g. groups for Okta)."),
    )
    # SAML 2.0
    idp_entity_id = models.CharField(max_length=500, blank=True)
    idp_sso_url = models.URLField(max_length=500, blank=True)
    idp_certificate = models.TextField(
        blank=True, help_text=gettext_lazy("The IdP's signing certificate (PEM).")
    )
    idp_metadata_url = models.URLField(
        max_length=500, blank=True, help_text=gettext_lazy("Instead of the three fields above.")
    )
    email_attribute = models.CharField(
        max_length=255,
        blank=True,
        help_text=gettext_lazy("SAML attribute with the e-mail (blank: the usual)."),
    )
    name_attribute = models.CharField(
        max_length=255, blank=True, help_text=gettext_lazy("SAML attribute with the display name.")
    )
    # Both
    groups_claim = models.CharField(
        max_length=255,
        blank=True,
        default="groups",
        help_text=gettext_lazy(
            "Claim (OpenID Connect) or attribute (SAML) that lists the person's groups."
        ),
    )
    allowed_domains = models.TextField(
        blank=True,
        help_text=gettext_lazy(
            "E-mail domains that get an account on first sign-in (one per line or "
            "comma-separated); empty: only people already in Headway may sign in."
        ),
    )
    trust_email = models.BooleanField(
        default=False,
        help_text=gettext_lazy(
            "Count this provider's e-mail addresses as verified even without an "
            "email_verified flag (Entra ID and most SAML providers send none)."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("name",)
        constraints = (
            models.CheckConstraint(
                condition=Q(kind__in=ProviderKind.values), name="signin_provider_kind_valid"
            ),
        )

    def __str__(self) -> str:
        return self.name

    @property
    def has_secret(self) -> bool:
        return bool(self.client_secret_encrypted)

    def set_secret(self, plain: str) -> None:
        self.client_secret_encrypted = secrets.encrypt(plain) if plain else ""

    def secret(self) -> str:
        """The client secret in clear, for the token request only (never for display)."""
        return secrets.decrypt(self.client_secret_encrypted) if self.has_secret else ""


class GroupMapping(models.Model):
    """Members of a directory group get a role on a team (the best role wins)."""

    group = models.CharField(
        max_length=255,
        help_text=gettext_lazy(
            "The group as the provider sends it: a name (Okta, Keycloak, SAML) or an "
            "object id (Entra ID); SCIM groups match by display name or external id."
        ),
    )
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="group_mappings")
    role = models.CharField(max_length=20, choices=Role, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("group", "team__name")
        constraints = (
            models.UniqueConstraint(fields=("group", "team"), name="group_mapping_unique"),
            models.CheckConstraint(
                condition=Q(role__in=Role.values), name="group_mapping_role_valid"
            ),
            models.CheckConstraint(condition=~Q(group=""), name="group_mapping_group_not_blank"),
        )

    def __str__(self) -> str:
        return f"{self.group} → {self.role} of {self.team}"


class SignInGroups(models.Model):
    """The groups a person's provider listed at their last sign-in through it."""

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sign_in_groups"
    )
    provider = models.CharField(max_length=50)
    groups = models.JSONField(default=list)
    seen_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=("person", "provider"), name="sign_in_groups_unique"),
        )

    def __str__(self) -> str:
        return f"{self.person} via {self.provider}: {', '.join(self.groups)}"


class DirectoryUser(models.Model):
    """A person as SCIM knows them: the identity provider's name for them and its attributes."""

    person = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="directory_user"
    )
    scim_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user_name = models.CharField(max_length=255)
    # userName is unique regardless of case (RFC 7643 caseExact false).
    user_name_key = models.CharField(max_length=255, unique=True, editable=False)
    external_id = models.CharField(max_length=255, blank=True)
    display_name = models.CharField(max_length=255, blank=True)
    # Every attribute the provider sent (name, emails, …) as it sent them, for reading back.
    attributes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("user_name_key",)

    def __str__(self) -> str:
        return self.user_name

    def save(self, *args: object, **kwargs: object) -> None:
        self.user_name_key = self.user_name.casefold()
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class DirectoryGroup(models.Model):
    """A group the identity provider pushes by SCIM; group mappings place its members in teams."""

    scim_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    display_name = models.CharField(max_length=255)
    external_id = models.CharField(max_length=255, blank=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="directory_groups", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("display_name",)
        constraints = (
            models.UniqueConstraint(fields=("display_name",), name="directory_group_name_unique"),
        )

    def __str__(self) -> str:
        return self.display_name


class ScimToken(models.Model):
    """A bearer token an identity provider uses for SCIM; acts with its creator's admin rights."""

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="scim_tokens"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = (models.CheckConstraint(condition=~Q(name=""), name="scim_token_named"),)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class SignInPolicy(models.Model):
    """Organisation-wide sign-in rules (one row)."""

    require_two_factor = models.BooleanField(
        default=False,
        help_text=gettext_lazy(
            "Everyone who signs in with a password must set up two-factor sign-in."
        ),
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return "two-factor required" if self.require_two_factor else "two-factor optional"

    @classmethod
    def current(cls) -> SignInPolicy:
        policy, _ = cls.objects.get_or_create(pk=1)
        return policy
