"""Forms of the web pages; writes that have an action go through it (see the views)."""

from __future__ import annotations

import math
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.utils import flatatt, pretty_name
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext, gettext_lazy, gettext_noop

from headway.coach.rules import RULES
from headway.kpis import schedule
from headway.kpis.models import Kpi
from headway.okrs.models import Cycle, CycleState, KeyResult, KeyResultKind, Objective
from headway.teams.models import Person, Role, Team

NUMERIC_KINDS = {KeyResultKind.INCREASE, KeyResultKind.DECREASE, KeyResultKind.ABOVE, "below"}
RANGE_KINDS = {KeyResultKind.INCREASE, KeyResultKind.DECREASE}
# Which key-result fields apply to which kinds (the page hides the others with JS).
KIND_FIELDS = {
    "unit": "increase decrease above below",
    "start": "increase decrease",
    "target": "increase decrease above below",
    "kpi": "increase decrease above below",
    "counter_kpis": "increase decrease above below",
}


class QuickSelect(forms.Select):
    """A select rendered in Python: Django renders each option through a template, which
    costs about 0.1 ms an option (100 ms for a thousand teams)."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        final = self.build_attrs(self.attrs, attrs)
        if self.allow_multiple_selected:
            final["multiple"] = True
        chosen = {str(v) for v in self.format_value(value)}

        def options(choices: Any) -> SafeString:
            parts = []
            for option_value, label in choices:
                if isinstance(label, list | tuple):  # an optgroup
                    parts.append(
                        format_html(
                            '<optgroup label="{}">{}</optgroup>', option_value, options(label)
                        )
                    )
                    continue
                key = "" if option_value is None else str(option_value)
                parts.append(
                    format_html(
                        '<option value="{}"{}>{}</option>',
                        key,
                        " selected" if key in chosen else "",
                        label,
                    )
                )
            return SafeString("".join(parts))

        return format_html(
            '<select name="{}"{}>{}</select>', name, flatatt(final), options(self.choices)
        )


class QuickSelectMultiple(QuickSelect, forms.SelectMultiple):
    pass


QUICK_WIDGETS: dict[type[forms.Widget], type[forms.Widget]] = {
    forms.Select: QuickSelect,
    forms.SelectMultiple: QuickSelectMultiple,
}


# The labels Django makes from field and model-field names, for the catalogue: NoColon words
# them in the reader's language (tests/test_i18n.py checks the list is complete).
AUTOMATIC_LABELS = (
    gettext_noop("Benchmark"),
    gettext_noop("Check-in cadence (days)"),
    gettext_noop("Comment"),
    gettext_noop("Critical"),
    gettext_noop("Cycle"),
    gettext_noop("Decision"),
    gettext_noop("Definition"),
    gettext_noop("Description"),
    gettext_noop("Direction"),
    gettext_noop("Done"),
    gettext_noop("Due"),
    gettext_noop("Email"),
    gettext_noop("End"),
    gettext_noop("Fed by KPI"),
    gettext_noop("Guard-rail KPIs"),
    gettext_noop("How"),
    gettext_noop("Key"),
    gettext_noop("Kind"),
    gettext_noop("Name"),
    gettext_noop("Note"),
    gettext_noop("Owner"),
    gettext_noop("Part of"),
    gettext_noop("Password"),
    gettext_noop("Person"),
    gettext_noop("Reason"),
    gettext_noop("Replacement"),
    gettext_noop("Review cadence"),
    gettext_noop("Role"),
    gettext_noop("Start"),
    gettext_noop("State"),
    gettext_noop("Target"),
    gettext_noop("Team"),
    gettext_noop("Tier"),
    gettext_noop("Title"),
    gettext_noop("Type"),
    gettext_noop("Unit"),
    gettext_noop("Value"),
    gettext_noop("Visibility"),
    gettext_noop("Warning"),
    gettext_noop("Weight"),
    gettext_noop("Why"),
)


class NoColon:
    """Labels without Django's trailing colon (the CSS sets labels apart); quick selects;
    labels Django made from a field's name, in the reader's language."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():  # type: ignore[attr-defined]
            if field.label is None or type(field.label) is str:
                field.label = gettext(field.label or pretty_name(name))
            quick = QUICK_WIDGETS.get(type(field.widget))
            if quick is not None:
                field.widget.__class__ = quick


class FiniteFloatField(forms.FloatField):
    """A float that must be finite (FloatField already refuses NaN and infinity)."""

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value is not None and not math.isfinite(value):
            raise ValidationError(gettext("Enter a finite number."), code="invalid")


class PersonChoiceField(forms.ModelChoiceField[Person]):
    def label_from_instance(self, obj: Person) -> str:
        return f"{obj.name} <{obj.email}>" if obj.name else obj.email


class ObjectiveChoiceField(forms.ModelChoiceField[Objective]):
    def label_from_instance(self, obj: Objective) -> str:
        return f"{obj.title} ({obj.team.name}, {obj.cycle.key})"


def people() -> Any:
    return Person.objects.filter(is_active=True).order_by("name", "email")


# Up to this many choices a field is a list to pick from; above, one types the e-mail (or
# the objective's key) and the list shrinks to suggestions, so a form of a 10,000-person
# organisation stays small and quick.
LISTED_CHOICES = 300


class SuggestInput(forms.TextInput):
    """A text input with a <datalist> of suggestions (value, label)."""

    def __init__(self, suggestions: list[tuple[str, str]], attrs: dict[str, Any]) -> None:
        super().__init__(attrs)
        self.suggestions = suggestions

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        list_id = f"{name}-suggestions"
        html = super().render(name, value, {**(attrs or {}), "list": list_id}, renderer)
        options = format_html_join(
            "", '<option value="{}">{}</option>', ((v, label) for v, label in self.suggestions)
        )
        return format_html('{}<datalist id="{}">{}</datalist>', html, list_id, options)


class EmailChoiceField(PersonChoiceField):
    """A person picked by typing their e-mail address (case does not matter)."""

    def to_python(self, value: Any) -> Person | None:
        return super().to_python(value.strip().lower() if isinstance(value, str) else value)


def scale_person_field(form: forms.BaseForm, name: str) -> None:
    """Offer every active person as a list, or, above LISTED_CHOICES, an e-mail input."""
    field = form.fields[name]
    everyone = people()
    if everyone.count() <= LISTED_CHOICES:
        field.queryset = everyone  # type: ignore[attr-defined]
        return
    typed = EmailChoiceField(
        queryset=everyone,
        to_field_name="email",
        required=field.required,
        label=field.label,
        help_text=gettext_lazy("Their e-mail address."),
        widget=forms.EmailInput(attrs={"placeholder": "name@example.com"}),
    )
    typed.error_messages["invalid_choice"] = gettext("No active person has this e-mail address.")
    form.fields[name] = typed
    chosen = form.initial.get(name)
    if isinstance(chosen, int):
        form.initial[name] = (
            Person.objects.filter(pk=chosen).values_list("email", flat=True).first()
        )
    elif isinstance(chosen, Person):
        form.initial[name] = chosen.email


class TeamKeysField(forms.CharField):
    """Team keys typed apart by commas or spaces, as a list (the action checks they exist)."""

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        text = super().to_python(value) or ""
        return [key for key in text.replace(",", " ").split() if key]


def scale_teams_field(form: forms.BaseForm, name: str) -> None:
    """Offer every team as a multi-select, or, above LISTED_CHOICES, an input of team keys."""
    field = form.fields[name]
    if Team.objects.count() <= LISTED_CHOICES:
        return
    form.fields[name] = TeamKeysField(
        required=False,
        label=field.label,
        help_text=gettext("%(help)s Type their keys, apart by commas.") % {"help": field.help_text},
        widget=forms.TextInput(attrs={"placeholder": "team-key, other-team"}),
    )
    chosen = form.initial.get(name)
    if chosen:
        keys = Team.objects.filter(pk__in=chosen).order_by("name").values_list("key", flat=True)
        form.initial[name] = ", ".join(keys)


def grouped_objectives(choices: Any) -> list[tuple[Any, Any]]:
    """Objectives as options grouped by cycle (longest first within a start) and team."""
    groups: dict[str, list[tuple[int, str]]] = {}
    for o in choices.select_related("team", "cycle").order_by(
        "cycle__start", "-cycle__end", "cycle__key", "team__name", "title"
    ):
        groups.setdefault(f"{o.cycle} · {o.team.name}", []).append((o.pk, o.title))
    return [("", "---------"), *groups.items()]


def scale_objective_field(form: forms.BaseForm, name: str, choices: Any, suggested: Any) -> None:
    """Offer `choices` (a queryset) as a list, or, above LISTED_CHOICES, a key input that
    suggests the objectives of `suggested` (at most LISTED_CHOICES)."""
    field = form.fields[name]
    if choices.count() <= LISTED_CHOICES:
        field.queryset = choices  # type: ignore[attr-defined]
        field.widget.choices = grouped_objectives(choices)
        return
    hints = [
        (o.key, f"{o.title} ({o.team.name}, {o.cycle.key})")
        for o in suggested.select_related("team", "cycle").only(
            "key", "title", "team__name", "cycle__key"
        )[:LISTED_CHOICES]
    ]
    typed = ObjectiveChoiceField(
        queryset=choices,
        to_field_name="key",
        required=field.required,
        label=field.label,
        help_text=gettext("%(help)s Type its key; suggestions come from the teams above.")
        % {"help": field.help_text},
        widget=SuggestInput(hints, attrs={"placeholder": "objective-key"}),
    )
    typed.error_messages["invalid_choice"] = gettext("No objective you may align to has this key.")
    form.fields[name] = typed
    chosen = form.initial.get(name)
    if isinstance(chosen, int):
        form.initial[name] = (
            Objective.objects.filter(pk=chosen).values_list("key", flat=True).first()
        )


# Rules whose findings land on an objective or its key results: the ones it can silence.
NOT_ON_OBJECTIVES = {
    "objective-count",
    "kpi-too-many",
    "kpi-card-incomplete",
    "kpi-not-reviewed",
    "kpi-as-kr-everywhere",
}
SILENCEABLE = [rule for rule in RULES if rule not in NOT_ON_OBJECTIVES]


class ObjectiveForm(NoColon, forms.ModelForm[Objective]):
    """Create or edit an objective; the parent is set through align_objective by the view."""

    key = forms.SlugField(
        required=False,
        max_length=150,
        help_text=gettext_lazy("Used in links and files; made from the title when left empty."),
    )
    owner = PersonChoiceField(queryset=Person.objects.none(), required=False)
    parent = ObjectiveChoiceField(
        queryset=Objective.objects.none(),
        required=False,
        label=gettext_lazy("Aligns to"),
        help_text=gettext_lazy(
            "The objective one level up that this one helps reach (leads and admins)."
        ),
    )
    contributors = forms.ModelMultipleChoiceField(
        queryset=Team.objects.order_by("name"),
        required=False,
        label=gettext_lazy("Contributing teams"),
        help_text=gettext_lazy(
            "Other teams that share this objective: it shows in their trees and home "
            "pages, and they check in on the key results their people own. Only its own team's "
            "leads and its owner edit it."
        ),
    )

    coach_ignore = forms.MultipleChoiceField(
        choices=[(rule, rule) for rule in SILENCEABLE],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=gettext_lazy("Silence coach rules"),
        help_text=gettext_lazy(
            "The coach stays quiet about these rules for this objective and its key "
            "results. Say why below."
        ),
    )
    coach_ignore_why = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label=gettext_lazy("Why silence them?"),
    )

    class Meta:
        model = Objective
        fields = (
            "title",
            "key",
            "description",
            "team",
            "cycle",
            "owner",
            "type",
            "visibility",
            "coach_ignore",
            "coach_ignore_why",
        )
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        help_texts = {
            "title": gettext_lazy("A qualitative change worth making, not a number."),
            "visibility": gettext_lazy("Private objectives are seen by their team only."),
        }

    def __init__(
        self,
        *args: Any,
        teams: list[Team],
        parents: Any,
        suggested_parents: Any = None,
        editing: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.filter(pk__in=[t.pk for t in teams])  # type: ignore[attr-defined]
        self.fields["cycle"].queryset = Cycle.objects.exclude(state=CycleState.CLOSED)  # type: ignore[attr-defined]
        scale_person_field(self, "owner")
        if editing:
            self.initial["parent"] = self.instance.parent_id
            self.initial["contributors"] = list(
                self.instance.contributions.values_list("team_id", flat=True)
            )
        scale_teams_field(self, "contributors")
        scale_objective_field(
            self,
            "parent",
            parents.select_related("team", "cycle"),
            suggested_parents if suggested_parents is not None else parents,
        )
        if editing:
            for name in ("key", "team", "cycle"):
                del self.fields[name]
            # Keep ids silenced elsewhere (a YAML import) that this list does not offer.
            known = {rule for rule, _label in self.fields["coach_ignore"].choices}  # type: ignore[attr-defined]
            extra = [r for r in self.instance.coach_ignore or () if r not in known]
            self.fields["coach_ignore"].choices += [(r, r) for r in extra]  # type: ignore[attr-defined]
        else:
            del self.fields["coach_ignore"], self.fields["coach_ignore_why"]
        self.order_fields(
            ["title", "key", "description", "team", "cycle", "owner", "type", "visibility",
             "parent", "contributors"]
        )  # fmt: skip

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "coach_ignore" in self.fields:
            why = (data.get("coach_ignore_why") or "").strip()
            if data.get("coach_ignore") and not why:
                self.add_error("coach_ignore_why", gettext("Say why the coach should stay quiet."))
            data["coach_ignore_why"] = why if data.get("coach_ignore") else ""
        return data

    def clean_key(self) -> str:
        key: str = self.cleaned_data.get("key") or ""
        if key and Objective.objects.filter(key=key).exclude(pk=self.instance.pk).exists():
            raise ValidationError(gettext("This key is taken; pick another or leave it empty."))
        return key


class KeyResultForm(NoColon, forms.ModelForm[KeyResult]):
    """Create or edit a key result; the fields that apply depend on its kind."""

    key = forms.SlugField(
        required=False,
        max_length=150,
        help_text=gettext_lazy("Made from the title when left empty."),
    )
    owner = PersonChoiceField(queryset=Person.objects.none(), required=False)
    start = FiniteFloatField(
        required=False, help_text=gettext_lazy("Where the number stands today.")
    )
    target = FiniteFloatField(required=False)
    weight = FiniteFloatField(min_value=0, initial=1.0)
    reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label=gettext_lazy("Why recalibrate?"),
        help_text=gettext_lazy(
            "Changing the title, start or target of an active cycle is a recalibration: "
            "the reason is kept in the history."
        ),
    )

    class Meta:
        model = KeyResult
        fields = (
            "title",
            "key",
            "kind",
            "owner",
            "unit",
            "start",
            "target",
            "weight",
            "due",
            "kpi",
            "counter_kpis",
        )
        widgets = {
            "due": forms.DateInput(attrs={"type": "date"}),
            "kind": forms.Select(attrs={"data-kind-select": ""}),
            "counter_kpis": forms.SelectMultiple(attrs={"size": 4}),
        }
        labels = {
            "kpi": gettext_lazy("Fed by KPI"),
            "counter_kpis": gettext_lazy("Guard-rail KPIs"),
        }
        help_texts = {
            "title": gettext_lazy(
                "An outcome, not a task: a number that only moves if the objective is met."
            ),
            "kind": gettext_lazy(
                "increase/decrease: from start to target; above/below: keep on the right "
                "side of the target; milestone: done or not; objectives: rolled up from the "
                "objectives aligned to this one."
            ),
            "kpi": gettext_lazy("Each measurement of the KPI becomes this key result's value."),
        }

    def __init__(
        self, *args: Any, objective: Objective, recalibrating: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.objective = objective
        self.recalibrating = recalibrating
        scale_person_field(self, "owner")
        # Only what the options show: a thousand KPIs, twice (fed by, guard rails).
        kpis = Kpi.objects.only("id", "key", "name").order_by("name")
        self.fields["kpi"].queryset = kpis  # type: ignore[attr-defined]
        self.fields["counter_kpis"].queryset = kpis  # type: ignore[attr-defined]
        for name, kinds in KIND_FIELDS.items():
            self.fields[name].widget.attrs["data-kinds"] = kinds
        if self.instance.pk:
            del self.fields["key"]
        if recalibrating:
            self.fields["kind"].disabled = True
            self.fields["kind"].help_text = gettext_lazy(
                "The kind is fixed once the cycle is active."
            )
        else:
            del self.fields["reason"]

    def clean_key(self) -> str:
        key: str = self.cleaned_data.get("key") or ""
        if key and KeyResult.objects.filter(objective=self.objective, key=key).exists():
            raise ValidationError(gettext("This objective already has a key result with this key."))
        return key

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind") or self.instance.kind
        start, target = data.get("start"), data.get("target")
        if kind in RANGE_KINDS:
            if start is None:
                self.add_error(
                    "start", gettext("An increase or decrease key result needs a start.")
                )
            if target is None:
                self.add_error("target", gettext("Say which number counts as done."))
            if start is not None and target is not None:
                if kind == KeyResultKind.INCREASE and target <= start:
                    self.add_error(
                        "target", gettext("To increase, the target must be above the start.")
                    )
                if kind == KeyResultKind.DECREASE and target >= start:
                    self.add_error(
                        "target", gettext("To decrease, the target must be below the start.")
                    )
        elif kind in NUMERIC_KINDS:
            if target is None:
                self.add_error(
                    "target", gettext("A guard-rail key result needs the value to stay on.")
                )
            data["start"] = None
        else:
            data["start"] = data["target"] = None
            data["kpi"] = None
            data["unit"] = ""
            if "counter_kpis" in data:
                data["counter_kpis"] = Kpi.objects.none()
        due = data.get("due")
        cycle = self.objective.cycle
        if due is not None and not cycle.start <= due <= cycle.end:
            self.add_error(
                "due",
                gettext("Pick a day within the cycle (%(start)s to %(end)s).")
                % {"start": cycle.start, "end": cycle.end},
            )
        return data

    def _post_clean(self) -> None:
        self.instance.objective = self.objective
        super()._post_clean()  # type: ignore[misc]


class KpiForm(NoColon, forms.ModelForm[Kpi]):
    """The KPI card: what, why, how, who, when, with direction and thresholds."""

    key = forms.SlugField(
        required=False,
        max_length=150,
        help_text=gettext_lazy("Made from the name when left empty."),
    )
    owner = PersonChoiceField(queryset=Person.objects.none(), required=False)
    target = FiniteFloatField(required=False)
    warning = FiniteFloatField(
        required=False, help_text=gettext_lazy("Past this the KPI is in warning.")
    )
    critical = FiniteFloatField(
        required=False, help_text=gettext_lazy("Past this the KPI is critical.")
    )
    benchmark = FiniteFloatField(
        required=False, help_text=gettext_lazy("For context, e.g. industry average.")
    )
    target_schedule = forms.CharField(
        required=False,
        label=gettext_lazy("Targets by period"),
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "2027-04-01 98 95 90"}),
        help_text=gettext_lazy(
            "Optional. One step per line: the day it starts, then target, warning and "
            "critical (- for none). Each is in force until the next; before the first, the "
            "three above."
        ),
    )

    class Meta:
        model = Kpi
        fields = (
            "name",
            "key",
            "unit",
            "definition",
            "why",
            "how",
            "team",
            "owner",
            "cadence",
            "direction",
            "target",
            "warning",
            "critical",
            "target_schedule",
            "benchmark",
            "tier",
        )
        widgets = {
            "definition": forms.Textarea(attrs={"rows": 2}),
            "why": forms.Textarea(attrs={"rows": 2}),
            "how": forms.Textarea(attrs={"rows": 2}),
        }
        labels = {"cadence": gettext_lazy("Review cadence")}

    def __init__(self, *args: Any, teams: list[Team], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.filter(pk__in=[t.pk for t in teams])  # type: ignore[attr-defined]
        scale_person_field(self, "owner")
        if self.instance.pk:
            del self.fields["key"]
            self.initial["target_schedule"] = schedule.as_lines(self.instance.target_schedule or [])

    def clean_target_schedule(self) -> list[dict[str, Any]]:
        try:
            return schedule.parse_lines(self.cleaned_data.get("target_schedule") or "")
        except ValueError as exc:
            raise ValidationError(gettext("Not a schedule: %(error)s.") % {"error": exc}) from exc

    def clean_key(self) -> str:
        key: str = self.cleaned_data.get("key") or ""
        if key and Kpi.objects.filter(key=key).exists():
            raise ValidationError(gettext("This key is taken; pick another or leave it empty."))
        return key


class CheckInRowForm(NoColon, forms.Form):
    """One key result's line of the team check-in; an empty line checks nothing in."""

    value = FiniteFloatField(required=False, widget=forms.NumberInput(attrs={"step": "any"}))
    done = forms.TypedChoiceField(
        required=False,
        choices=[("", "—"), ("yes", gettext_lazy("Done")), ("no", gettext_lazy("Not done"))],
        coerce=lambda v: v == "yes",
        empty_value=None,
    )
    confidence = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=10,
        label=gettext_lazy("Confidence (0 to 10)"),
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    comment = forms.CharField(
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "What happened, why, what next"}),
    )

    def __init__(self, *args: Any, key_result: KeyResult, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key_result = key_result
        if key_result.kind == KeyResultKind.MILESTONE:
            del self.fields["value"]
        else:
            del self.fields["done"]

    @property
    def is_milestone(self) -> bool:
        return "done" in self.fields

    @property
    def filled(self) -> bool:
        """Whether the row says anything: then record_checkin judges it (a comment without a
        value is its error to give, not the form's)."""
        data = self.cleaned_data
        main = "done" if self.is_milestone else "value"
        # Confidence comes pre-filled from the last check-in: only a new one counts.
        confidence = data.get("confidence")
        return bool(
            data.get(main) is not None
            or data.get("comment")
            or (confidence is not None and confidence != self.initial.get("confidence"))
        )


class MeasurementForm(NoColon, forms.Form):
    at = forms.DateField(
        label=gettext_lazy("Period end"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=gettext_lazy(
            "Pushing the same day again replaces the value (the old one is kept)."
        ),
    )
    value = FiniteFloatField(widget=forms.NumberInput(attrs={"step": "any"}))
    note = forms.CharField(required=False, max_length=2000)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["at"].initial = timezone.localdate()


class PromoteForm(NoColon, forms.Form):
    objective = ObjectiveChoiceField(
        label=gettext_lazy("Objective"),
        queryset=Objective.objects.none(),
        help_text=gettext_lazy("An objective of the active cycle."),
    )
    target = FiniteFloatField(
        required=False, help_text=gettext_lazy("Defaults to the KPI's target.")
    )
    title = forms.CharField(
        required=False, max_length=300, help_text=gettext_lazy("Written for you if empty.")
    )

    def __init__(self, *args: Any, objectives: list[Objective], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["objective"].queryset = Objective.objects.filter(  # type: ignore[attr-defined]
            pk__in=[o.pk for o in objectives]
        ).select_related("team", "cycle")


class CycleForm(NoColon, forms.ModelForm[Cycle]):
    state = forms.ChoiceField(
        choices=[(CycleState.PLANNING, "planning"), (CycleState.ACTIVE, "active")],
        help_text=gettext_lazy("Close a cycle from its review page."),
    )

    class Meta:
        model = Cycle
        fields = ("key", "name", "start", "end", "state")
        widgets = {
            "start": forms.DateInput(attrs={"type": "date"}),
            "end": forms.DateInput(attrs={"type": "date"}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["key"].disabled = True
            if self.instance.is_closed:
                self.fields["state"].choices = [(CycleState.CLOSED, "closed")]  # type: ignore[attr-defined]
                self.fields["state"].disabled = True


class TeamForm(NoColon, forms.ModelForm[Team]):
    class Meta:
        model = Team
        fields = ("name", "key", "kind", "parent", "checkin_cadence_days")
        labels = {
            "parent": gettext_lazy("Part of"),
            "checkin_cadence_days": gettext_lazy("Check-in cadence (days)"),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # Files, URLs and API clients refer to a team by its key.
            self.fields["key"].disabled = True


class PersonForm(NoColon, forms.Form):
    """Invite or create a person; without a password they are e-mailed a link to set one."""

    name = forms.CharField(max_length=200)
    email = forms.EmailField()
    team = forms.ModelChoiceField(queryset=Team.objects.order_by("name"), required=False)
    role = forms.ChoiceField(
        choices=Role.choices,
        initial=Role.MEMBER,
        required=False,
        help_text=gettext_lazy("On that team."),
    )
    password = forms.CharField(
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=gettext_lazy(
            "Leave empty to send an invitation e-mail with a link to set their own password."
        ),
    )

    def clean_role(self) -> str:
        return self.cleaned_data.get("role") or Role.MEMBER


class MembershipForm(NoColon, forms.Form):
    person = PersonChoiceField(queryset=Person.objects.none())
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        scale_person_field(self, "person")


def carry_version(form: forms.BaseForm, version: int) -> None:
    """Give an edit form the version the person is reading, sent back with the save.

    The action refuses the save when the row has moved on since (optimistic locking, as
    the API's `If-Match`), so two people editing at once never overwrite each other silently.
    """
    form.fields["version"] = forms.IntegerField(
        required=False, widget=forms.HiddenInput, initial=version
    )


class KpiReviewForm(NoColon, forms.Form):
    """Is this still the right KPI? One decision with its reason (kpis.actions.review_kpi)."""

    decision = forms.ChoiceField(
        choices=[
            ("confirm", gettext_lazy("Confirm: it is still the right KPI")),
            ("retarget", gettext_lazy("Retarget: change its target or thresholds")),
            ("retire", gettext_lazy("Retire: stop tracking it (its history is kept)")),
            ("replace", gettext_lazy("Replace: stop tracking it in favour of another KPI")),
        ],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Kept with the review: what changed, or why it still holds."),
    )
    target = FiniteFloatField(required=False, help_text=gettext_lazy("For a retarget."))
    warning = FiniteFloatField(required=False, help_text=gettext_lazy("For a retarget."))
    critical = FiniteFloatField(required=False, help_text=gettext_lazy("For a retarget."))
    replacement = forms.ModelChoiceField(
        queryset=Kpi.objects.none(), required=False, help_text=gettext_lazy("For a replacement.")
    )

    def __init__(self, *args: Any, kpi: Kpi, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial", {"target": kpi.target, "warning": kpi.warning, "critical": kpi.critical}
        )
        super().__init__(*args, **kwargs)
        self.fields["replacement"].queryset = (  # type: ignore[attr-defined]
            Kpi.objects.in_use().exclude(pk=kpi.pk).select_related("team").order_by("name")
        )
        self.fields["replacement"].label_from_instance = (  # type: ignore[attr-defined]
            lambda k: f"{k.name} ({k.team.name})"
        )
