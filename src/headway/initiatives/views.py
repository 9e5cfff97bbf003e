"""The Trackers settings page (admins): add, test and remove issue trackers."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from headway.initiatives import actions
from headway.initiatives.forms import TrackerForm
from headway.initiatives.models import Tracker
from headway.initiatives.trackers import TRACKERS
from headway.teams.access import refuse
from headway.web.common import access, add_errors, person


def _admin(request: HttpRequest) -> None:
    refuse(actions.why_not_manage_trackers(access(request)))


@require_http_methods(["GET", "POST"])
def trackers(request: HttpRequest) -> HttpResponse:
    """Admins: the trackers, and a form to add one."""
    _admin(request)
    form = TrackerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            made = actions.create_tracker(by=person(request), **form.values())
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(
                request, _("Tracker %(name)s saved: test it below.") % {"name": made.name}
            )
            return redirect("trackers")
    rows = Tracker.objects.annotate(following=Count("issues")).order_by("name")
    return render(
        request,
        "initiatives/trackers.html",
        {
            "rows": rows,
            "form": form,
            "kinds": TRACKERS,
            "sync_minutes": f"{settings.HEADWAY_TRACKER_SYNC_MINUTES:g}",
        },
    )


@require_POST
def tracker_action(request: HttpRequest, name: str) -> HttpResponse:
    """Admins: test a tracker's token, or remove the tracker."""
    _admin(request)
    tracker = get_object_or_404(Tracker, name=name)
    if request.POST.get("action") == "delete":
        stopped = actions.delete_tracker(by=person(request), tracker=tracker)
        messages.success(
            request,
            ngettext(
                "Tracker %(name)s removed; %(n)s initiative no longer follows it.",
                "Tracker %(name)s removed; %(n)s initiatives no longer follow it.",
                stopped,
            )
            % {"name": name, "n": stopped},
        )
        return redirect("trackers")
    try:
        who = actions.try_tracker(by=person(request), tracker=tracker)
    except ValidationError as exc:
        messages.error(
            request, _("%(name)s: %(error)s") % {"name": name, "error": " ".join(exc.messages)}
        )
    else:
        messages.success(
            request, _("%(name)s works: signed in as %(who)s.") % {"name": name, "who": who}
        )
    return redirect("trackers")
