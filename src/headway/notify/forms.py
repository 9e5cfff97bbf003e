"""Forms of the notification pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from headway.notify.kinds import KINDS, TEAM_KINDS, WebhookFormat, label

# The forms only parse: what a valid webhook URL, name or kind is lives in notify/actions.py.


class PreferencesForm(forms.Form):
    """Per kind of event: e-mail and webhook on or off; plus the person's webhook URL."""

    webhook_url = forms.CharField(
        required=False,
        label=gettext_lazy("Your webhook URL"),
        help_text=gettext_lazy(
            "An incoming-webhook URL (Slack, Microsoft Teams, Mattermost, …) that "
            "posts to you; leave empty for none."
        ),
    )

    def __init__(self, *args: Any, slack: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for kind, info in KINDS.items():
            if slack and info.inbox:
                self.fields[f"slack_{kind}"] = forms.BooleanField(
                    required=False, label=_("%(kind)s as a Slack message") % {"kind": label(kind)}
                )
            self.fields[f"email_{kind}"] = forms.BooleanField(
                required=False, label=_("%(kind)s by e-mail") % {"kind": label(kind)}
            )
            if info.webhook or info.team:
                self.fields[f"webhook_{kind}"] = forms.BooleanField(
                    required=False, label=_("%(kind)s by webhook") % {"kind": label(kind)}
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


def _language_choices() -> list[tuple[str, str]]:
    return [("", _("The organisation's default")), *settings.LANGUAGES]


class LanguageForm(forms.Form):
    """The person's interface language; blank follows the organisation's default."""

    language = forms.ChoiceField(
        required=False, choices=_language_choices, label=gettext_lazy("Language")
    )


class _OneOf(forms.ChoiceField):
    """Lists the choices but leaves refusing an unknown one to the action (one message)."""

    def valid_value(self, value: Any) -> bool:
        return True


class _AnyOf(forms.MultipleChoiceField):
    """Lists the choices but leaves refusing an unknown one to the action (one message)."""

    def valid_value(self, value: Any) -> bool:
        return True


class TeamWebhookForm(forms.Form):
    name = forms.CharField(required=False, label=gettext_lazy("Name"))
    url = forms.CharField(
        required=False,
        label=gettext_lazy("Incoming-webhook URL"),
        help_text=gettext_lazy(
            "From Slack (Incoming Webhooks), Microsoft Teams (a Workflows webhook: "
            "“Post to a channel when a webhook request is received”) or any service that "
            "accepts a JSON POST."
        ),
    )
    format = _OneOf(
        choices=[("", "Guess from the URL"), *WebhookFormat.choices],
        required=False,
        label=gettext_lazy("Message format"),
        help_text=gettext_lazy(
            "Slack URLs get Block Kit, Teams Workflows URLs an Adaptive Card, "
            "others the generic JSON."
        ),
    )
    kinds = _AnyOf(
        choices=[(kind, label(kind)) for kind in TEAM_KINDS],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=gettext_lazy("Events to post"),
        help_text=gettext_lazy("None ticked means all of them."),
    )
