"""Forms of the data-source pages: a KPI's source (kind-dependent fields) and connections."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy

from headway.sources.actions import SourceSpec
from headway.sources.kinds import KINDS
from headway.sources.models import Connection, Engine, Source
from headway.web.forms import NoColon


def field_name(kind: str, name: str) -> str:
    return f"{kind}__{name}"


class SourceForm(NoColon, forms.Form):
    """One set of fields per kind; only the chosen kind's are read (forms.js hides the rest)."""

    kind = forms.ChoiceField(
        choices=[(k, f"{v.label} ({k})") for k, v in KINDS.items()],
        widget=forms.Select(attrs={"data-kind-select": ""}),
    )
    connection = forms.ChoiceField(
        required=False,
        help_text=gettext_lazy(
            "Where it reads from (an admin defines connections); sql and prometheus "
            "need one, JSON and CSV may use one for a base URL and secret headers."
        ),
    )
    schedule = forms.CharField(
        required=False,
        max_length=100,
        help_text=gettext_lazy(
            "Cron expression (minute hour day month weekday), e.g. 0 6 * * *; "
            "empty: the KPI's review cadence."
        ),
    )
    enabled = forms.BooleanField(
        required=False, initial=True, help_text=gettext_lazy("Fetch on schedule.")
    )

    def __init__(self, *args: Any, source: Source | None = None, **kwargs: Any) -> None:
        initial = kwargs.setdefault("initial", {})
        if source is not None:
            initial.update(
                kind=source.kind,
                connection=source.connection.name if source.connection else "",
                schedule=source.schedule,
                enabled=source.enabled,
            )
            for name, value in source.config.items():
                if isinstance(value, dict):
                    value = "\n".join(f"{k}: {v}" for k, v in value.items())
                initial[field_name(source.kind, name)] = value
        super().__init__(*args, **kwargs)
        connections = list(Connection.objects.order_by("name").values_list("name", "engine"))
        labels = dict(Engine.choices)
        self.fields["connection"].choices = [("", "None")] + [  # type: ignore[attr-defined]
            (name, f"{name} ({labels.get(engine, engine)})") for name, engine in connections
        ]
        self.fields["connection"].widget.attrs["data-kinds"] = " ".join(KINDS)
        for kind_id, kind in KINDS.items():
            for spec in kind.fields:
                widget: forms.Widget
                if spec.choices:
                    field: forms.Field = forms.ChoiceField(
                        choices=[(c, c) for c in spec.choices], initial=spec.default
                    )
                    widget = field.widget
                else:
                    widget = (
                        forms.Textarea(attrs={"rows": 4, "spellcheck": "false"})
                        if spec.multiline
                        else forms.TextInput(attrs={"spellcheck": "false"})
                    )
                    field = forms.CharField(widget=widget, max_length=20_000)
                field.required = False
                field.label = spec.label
                field.help_text = spec.help
                field.widget.attrs["data-kinds"] = kind_id
                self.fields[field_name(kind_id, spec.name)] = field

    def spec(self) -> SourceSpec:
        """The source as typed, for set_source and preview_source (call after is_valid)."""
        data = self.cleaned_data
        kind = data["kind"]
        config = {
            spec.name: data.get(field_name(kind, spec.name))
            for spec in KINDS[kind].fields
            if data.get(field_name(kind, spec.name)) not in (None, "")
        }
        return SourceSpec(
            kind=kind,
            config=config,
            connection=data.get("connection") or "",
            schedule=data.get("schedule") or "",
            enabled=bool(data.get("enabled")),
        )

    def add_action_errors(self, error: Any) -> None:
        """Put set_source's field errors beside the fields of the chosen kind."""
        kind = self.cleaned_data.get("kind", "")
        if not hasattr(error, "error_dict"):
            for message in error.messages:
                self.add_error(None, message)
            return
        for name, messages in error.message_dict.items():
            target = name if name in self.fields else field_name(kind, name)
            for message in messages:
                self.add_error(target if target in self.fields else None, message)


class ConnectionForm(NoColon, forms.Form):
    """A connection; the secret fields are never filled in (they only ever replace)."""

    name = forms.SlugField(
        max_length=100, help_text=gettext_lazy("What sources call it, e.g. warehouse.")
    )
    engine = forms.ChoiceField(
        choices=Engine.choices, widget=forms.Select(attrs={"data-kind-select": ""})
    )
    description = forms.CharField(required=False, max_length=300)
    host = forms.CharField(required=False, max_length=255)
    port = forms.IntegerField(required=False, min_value=1, max_value=65535)
    database = forms.CharField(
        required=False,
        max_length=500,
        help_text=gettext_lazy("The database name; for SQLite, the file's path."),
    )
    user = forms.CharField(
        required=False, max_length=150, help_text=gettext_lazy("Give this user read rights only.")
    )
    base_url = forms.CharField(
        required=False,
        max_length=500,
        label=gettext_lazy("Base URL"),
        help_text=gettext_lazy("https://… every URL is under."),
    )
    password = forms.CharField(
        required=False,
        max_length=1000,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=gettext_lazy("Stored encrypted and never shown again."),
    )
    headers = forms.CharField(
        required=False,
        max_length=10_000,
        label=gettext_lazy("Secret headers"),
        widget=forms.Textarea(attrs={"rows": 2, "autocomplete": "off", "spellcheck": "false"}),
        help_text=gettext_lazy(
            "'Name: value' lines, e.g. Authorization: Bearer …; stored encrypted, never "
            "shown again."
        ),
    )
    clear_secret = forms.BooleanField(
        required=False, label=gettext_lazy("Remove the stored secret")
    )

    KINDS_OF = {
        "host": "postgresql mysql",
        "port": "postgresql mysql",
        "database": "postgresql mysql sqlite",
        "user": "postgresql mysql",
        "password": "postgresql mysql",
        "base_url": "http",
        "headers": "http",
        "clear_secret": "postgresql mysql http",
    }

    def __init__(self, *args: Any, connection: Connection | None = None, **kwargs: Any) -> None:
        if connection is not None:
            kwargs.setdefault("initial", {}).update(
                {name: getattr(connection, name) for name in
                 ("name", "engine", "description", "host", "port", "database", "user", "base_url")}
            )  # fmt: skip
        super().__init__(*args, **kwargs)
        for name, kinds in self.KINDS_OF.items():
            self.fields[name].widget.attrs["data-kinds"] = kinds
        if connection is not None:
            self.fields["name"].disabled = True
            if connection.has_secret:
                keep = " Leave empty to keep the stored one."
                self.fields["password"].help_text += keep
                self.fields["headers"].help_text += keep
                names = connection.secret_header_names
                if names:
                    self.fields["headers"].help_text += f" Stored: {', '.join(names)}."
            else:
                del self.fields["clear_secret"]
        else:
            del self.fields["clear_secret"]

    def values(self) -> dict[str, Any]:
        data = self.cleaned_data
        names = ("engine", "description", "host", "port", "database", "user", "base_url")
        return {name: data.get(name) for name in names}

    def secret(self) -> dict[str, Any]:
        """password/headers for the action: None keeps the stored secret."""
        data = self.cleaned_data
        if data.get("clear_secret"):
            return {"password": "", "headers": ""}
        return {
            "password": data.get("password") or None,
            "headers": data.get("headers") or None,
        }
