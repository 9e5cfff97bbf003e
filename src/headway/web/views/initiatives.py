"""Initiatives: plan the work behind a key result, move its status, drop it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop
from django.views.decorators.http import require_http_methods, require_POST

from headway.initiatives import actions
from headway.initiatives.models import Initiative
from headway.okrs.models import KeyResult
from headway.teams.access import refuse
from headway.versions import StaleVersion
from headway.web.common import access, add_errors, form_changes, person, require_visible
from headway.web.forms import NoColon, PersonChoiceField, carry_version, scale_person_field
from headway.web.history import show_stale


class InitiativeForm(NoColon, forms.ModelForm[Initiative]):
    owner = PersonChoiceField(queryset=None, required=False)

    class Meta:
        model = Initiative
        fields = ("title", "owner", "status", "due", "link")
        labels = {"link": gettext_lazy("Tracker issue")}
        widgets = {"due": forms.DateInput(attrs={"type": "date"})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        scale_person_field(self, "owner")


FIELDS = ("title", "owner", "status", "due", "link")


def _key_result(key: str, kr: str) -> KeyResult:
    return get_object_or_404(
        KeyResult.objects.select_related("objective__cycle", "objective__team"),
        objective__key=key,
        key=kr,
    )


def _back(key_result: KeyResult) -> str:
    return reverse("objective", args=[key_result.objective.key]) + f"#kr-{key_result.key}"


@require_http_methods(["GET", "POST"])
def initiative_create(request: HttpRequest, key: str, kr: str) -> HttpResponse:
    key_result = _key_result(key, kr)
    require_visible(request, key_result.objective)
    me = person(request)
    refuse(actions.why_not_plan_work(access(request), key_result))
    form = InitiativeForm(request.POST or None, initial={"owner": me.pk})
    if request.method == "POST" and form.is_valid():
        try:
            actions.create_initiative(
                by=me, key_result=key_result, **{n: form.cleaned_data[n] for n in FIELDS}
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("Initiative added."))
            return redirect(_back(key_result))
    return render(
        request,
        "web/form.html",
        {
            "form": form,
            "title": _("New initiative"),
            "intro": _("Work planned to move “%(title)s”. It never counts in its score.")
            % {"title": key_result.title},
            "back": _back(key_result),
        },
        status=422 if form.errors else 200,
    )


def _initiative(request: HttpRequest, pk: int) -> Initiative:
    initiative = get_object_or_404(
        Initiative.objects.select_related(
            "key_result__objective__cycle", "key_result__objective__team", "owner"
        ),
        pk=pk,
    )
    require_visible(request, initiative.key_result.objective)
    return initiative


@require_http_methods(["GET", "POST"])
def initiative_edit(request: HttpRequest, pk: int) -> HttpResponse:
    initiative = _initiative(request, pk)
    refuse(actions.why_not_edit_initiative(access(request), initiative))
    form = InitiativeForm(request.POST or None, instance=initiative)
    carry_version(form, initiative.version)
    if request.method == "POST" and form.is_valid():
        try:
            actions.update_initiative(
                by=person(request),
                initiative=initiative,
                version=form.cleaned_data.get("version"),
                **{n: v for n, v in form_changes(form).items() if n in FIELDS},
            )
        except StaleVersion as exc:
            show_stale(form, initiative, exc, gettext_noop("initiative"))
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect(_back(initiative.key_result))
    return render(
        request,
        "web/form.html",
        {
            "form": form,
            "title": _("Edit initiative"),
            "intro": _("Work planned to move “%(title)s”.")
            % {"title": initiative.key_result.title},
            "back": _back(initiative.key_result),
        },
        status=422 if form.errors else 200,
    )


@require_POST
def initiative_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The quick status change on the objective page (one select, no other field)."""
    initiative = _initiative(request, pk)
    version = request.POST.get("version", "")
    try:
        actions.update_initiative(
            by=person(request),
            initiative=initiative,
            version=int(version) if version.isdigit() else None,
            status=request.POST.get("status", ""),
        )
    except (StaleVersion, ValidationError) as exc:
        text = exc.message if isinstance(exc, StaleVersion) else " ".join(exc.messages)
        messages.error(request, text)
    return redirect(_back(initiative.key_result))


@require_POST
def initiative_delete(request: HttpRequest, pk: int) -> HttpResponse:
    initiative = _initiative(request, pk)
    back = _back(initiative.key_result)
    actions.delete_initiative(by=person(request), initiative=initiative)
    messages.success(request, _("Initiative removed; its history keeps it."))
    return redirect(back)


@require_POST
def initiative_tracker(request: HttpRequest, pk: int) -> HttpResponse:
    """Follow the tracker issue the initiative links to, or stop (as for editing it)."""
    initiative = _initiative(request, pk)
    try:
        if request.POST.get("action") == "unfollow":
            actions.unfollow_tracker(by=person(request), initiative=initiative)
            messages.success(request, _("It no longer takes its status from the tracker."))
        else:
            tracked = actions.follow_tracker(by=person(request), initiative=initiative)
            messages.success(
                request,
                _("It takes its status from %(tracker)s within minutes.")
                % {"tracker": tracked.tracker.label},
            )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(_back(initiative.key_result))
