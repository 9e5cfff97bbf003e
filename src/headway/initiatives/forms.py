"""The form of the Trackers settings page (admins): a tracker and its token."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy

from headway.initiatives.trackers import TRACKERS
from headway.web.forms import NoColon


class TrackerForm(NoColon, forms.Form):
    """A new tracker; the token is never filled in again (it is stored encrypted)."""

    name = forms.SlugField(
        max_length=100, help_text=gettext_lazy("What pages call it, e.g. github or jira.")
    )
    kind = forms.ChoiceField(
        choices=[(k, t.label) for k, t in TRACKERS.items()],
        widget=forms.Select(attrs={"data-kind-select": ""}),
    )
    url = forms.CharField(
        max_length=500,
        label=gettext_lazy("Address"),
        help_text=gettext_lazy(
            "The site its issue links are under: https://github.com, your GitLab, "
            "https://acme.atlassian.net."
        ),
    )
    api_url = forms.CharField(
        required=False,
        max_length=500,
        label=gettext_lazy("API address"),
        help_text=gettext_lazy(
            "GitHub only, when not the usual one (https://api.github.com, or "
            "<address>/api/v3 for GitHub Enterprise Server)."
        ),
    )
    email = forms.CharField(
        required=False,
        max_length=254,
        label=gettext_lazy("Account e-mail"),
        help_text=gettext_lazy(
            "Jira Cloud: the e-mail of the API token's account (basic auth). Empty: the "
            "token is sent as a Bearer token (Jira Data Center personal access token)."
        ),
    )
    token = forms.CharField(
        required=False,
        max_length=2000,
        label=gettext_lazy("API token"),
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=gettext_lazy(
            "Read access to issues is enough. Stored encrypted and never shown again."
        ),
    )

    KINDS_OF = {"api_url": "github", "email": "jira"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, kinds in self.KINDS_OF.items():
            self.fields[name].widget.attrs["data-kinds"] = kinds

    def values(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) or "" for name in self.fields}
