"""Forms of the sign-in settings page (parsing only: the actions validate and decide)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy

from headway.directory.models import SignInProvider
from headway.teams.models import Role, Team

OIDC_FIELDS = ["name", "key", "enabled", "issuer", "client_id", "client_secret", "scopes"]
SAML_FIELDS = [
    "name",
    "key",
    "enabled",
    "idp_metadata_url",
    "idp_entity_id",
    "idp_sso_url",
    "idp_certificate",
    "email_attribute",
    "name_attribute",
]
COMMON_FIELDS = ["groups_claim", "allowed_domains", "trust_email"]


class ProviderForm(forms.ModelForm):  # type: ignore[type-arg]
    client_secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=gettext_lazy(
            "Stored encrypted and never shown again; leave empty to keep the stored one."
        ),
    )

    class Meta:
        model = SignInProvider
        fields = [
            "name",
            "key",
            "enabled",
            "issuer",
            "client_id",
            "scopes",
            "idp_metadata_url",
            "idp_entity_id",
            "idp_sso_url",
            "idp_certificate",
            "email_attribute",
            "name_attribute",
            "groups_claim",
            "allowed_domains",
            "trust_email",
        ]
        widgets = {
            "allowed_domains": forms.Textarea(attrs={"rows": 2}),
            "idp_certificate": forms.Textarea(attrs={"rows": 6}),
        }

    def __init__(self, *args: object, kind: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        keep = (OIDC_FIELDS if kind == "oidc" else SAML_FIELDS) + COMMON_FIELDS
        for name in list(self.fields):
            if name not in keep:
                del self.fields[name]
        self.order_fields(keep)
        for name in ("issuer", "client_id", "idp_entity_id", "idp_sso_url", "idp_certificate"):
            if name in self.fields:
                self.fields[name].required = False
        if self.instance.pk:
            self.fields["key"].disabled = True

    def _post_clean(self) -> None:
        # The action validates the model (and says which field is missing for the kind).
        pass


class GroupMappingForm(forms.Form):
    group = forms.CharField(max_length=255)
    team = forms.ModelChoiceField(queryset=Team.objects.order_by("name"), to_field_name="key")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)


class ScimTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        help_text=gettext_lazy("The identity provider that will use it, e.g. Entra ID."),
    )
