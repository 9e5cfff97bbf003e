"""Forms of the notification pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import URLValidator

from headway.notify.formats import guess_format
from headway.notify.kinds import KINDS, TEAM_KINDS, WebhookFormat, label
from headway.notify.models import TeamWebhook

WEB_SCHEMES = URLValidator(schemes=["http", "https"])


class PreferencesForm(forms.Form):
    """Per kind of event: e-mail and webhook on or off; plus the person's webhook URL."""

    webhook_url = forms.URLField(
        required=False,
        max_length=500,
        assume_scheme="https",
        validators=[WEB_SCHEMES],
        label="Your webhook URL",
        help_text="An incoming-webhook URL (Slack, Microsoft Teams, Mattermost, …) that "
        "posts to you; leave empty for none.",
    )

    def __init__(self, *args: Any, slack: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for kind, info in KINDS.items():
            if slack and info.inbox:
                self.fields[f"slack_{kind}"] = forms.BooleanField(
                    required=False, label=f"{label(kind)} as a Slack message"
                )
            self.fields[f"email_{kind}"] = forms.BooleanField(
                required=False, label=f"{label(kind)} by e-mail"
            )
            if info.webhook or info.team:
                self.fields[f"webhook_{kind}"] = forms.BooleanField(
                    required=False, label=f"{label(kind)} by webhook"
                )

    def rows(self) -> list[dict[str, Any]]:
        """One row per kind for the table: label, help, inbox, and the two checkboxes."""
        return [
            {
                "kind": kind,
                "label": label(kind),
                "help": info.help,
                "inbox": info.inbox,
                "email": self[f"email_{kind}"],
                "webhook": self[f"webhook_{kind}"] if f"webhook_{kind}" in self.fields else None,
                "slack": self[f"slack_{kind}"] if f"slack_{kind}" in self.fields else None,
            }
            for kind, info in KINDS.items()
        ]


class TeamWebhookForm(forms.ModelForm[TeamWebhook]):
    url = forms.URLField(
        max_length=500,
        assume_scheme="https",
        validators=[WEB_SCHEMES],
        label="Incoming-webhook URL",
        help_text="From Slack (Incoming Webhooks), Microsoft Teams (a Workflows webhook: "
        "“Post to a channel when a webhook request is received”) or any service that "
        "accepts a JSON POST.",
    )
    format = forms.ChoiceField(
        choices=[("", "Guess from the URL"), *WebhookFormat.choices],
        required=False,
        label="Message format",
        help_text="Slack URLs get Block Kit, Teams Workflows URLs an Adaptive Card, "
        "others the generic JSON.",
    )
    kinds = forms.MultipleChoiceField(
        choices=[(kind, label(kind)) for kind in TEAM_KINDS],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Events to post",
        help_text="None ticked means all of them.",
    )

    class Meta:
        model = TeamWebhook
        fields = ("name", "url", "format", "kinds")

    def clean_format(self) -> str:
        return str(self.cleaned_data.get("format") or "")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("format") and data.get("url"):
            data["format"] = guess_format(str(data["url"]))
            self.instance.format = data["format"]
        return data
