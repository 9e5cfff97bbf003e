"""Slack's request URLs (slash commands, interactivity) and the admins' Slack app page.

Slack signs its requests instead of sending a session or a CSRF token, so the two
endpoints are exempt from both; `slack.verify` refuses anything not signed with the
signing secret within five minutes (401, logged, nothing read or written).
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from headway.notify import actions, kpi_answer, slack, slack_checkins
from headway.notify.formats import CHECKIN_ACTION
from headway.notify.models import SlackApp
from headway.teams.access import Access, refuse

USAGE = "Try `/headway checkin` or `/headway kpi NAME`."


def _ephemeral(message: str, blocks: list[dict[str, Any]] | None = None) -> JsonResponse:
    body: dict[str, Any] = {"response_type": "ephemeral", "text": message}
    if blocks:
        body["blocks"] = blocks
    return JsonResponse(body)


def _verified(request: HttpRequest) -> slack.Installed:
    """The installed app if the request is Slack's; raise slack.Refused otherwise.

    Checked before the method, so that anything unsigned is 401 (Slack only POSTs).
    """
    if request.method != "POST":
        raise slack.Refused(f"{request.method} instead of POST")
    app = slack.installed()
    secret = app.signing_secret if app is not None else ""
    slack.verify(
        secret,
        request.headers.get("X-Slack-Request-Timestamp"),
        request.headers.get("X-Slack-Signature"),
        request.body,
    )
    assert app is not None
    return app


def _refused(request: HttpRequest, exc: slack.Refused) -> HttpResponse:
    slack.log.warning(
        "Refused a Slack request to %s from %s: %s",
        request.path,
        request.META.get("REMOTE_ADDR", "?"),
        exc,
    )
    return HttpResponse("Request not verified.", status=401, content_type="text/plain")


@csrf_exempt
@login_not_required
def commands(request: HttpRequest) -> HttpResponse:
    """`/headway checkin` opens the check-in modal; `/headway kpi NAME` answers about a KPI."""
    try:
        app = _verified(request)
    except slack.Refused as exc:
        return _refused(request, exc)
    words = request.POST.get("text", "").strip().split(None, 1)
    verb = words[0].lower() if words else ""
    if verb not in {"checkin", "check-in", "kpi"}:
        return _ephemeral(USAGE)
    try:
        person = slack.person_for(app, request.POST.get("user_id", ""))
    except slack.Unknown as exc:
        return _ephemeral(str(exc))
    from headway.teams.middleware import language_of

    if verb == "kpi":
        name = words[1] if len(words) > 1 else ""
        with translation.override(language_of(person)):
            message, blocks = kpi_answer.answer(person, name)
        return _ephemeral(message, blocks)
    key_results = slack.due_key_results(person)
    if not key_results:
        with translation.override(language_of(person)):
            return _ephemeral(
                _("Nothing is due for a check-in: all your key results are up to date.")
            )
    slack.open_checkin_modal(app, request.POST.get("trigger_id", ""), key_results)
    return HttpResponse(status=200)


@csrf_exempt
@login_not_required
def interactions(request: HttpRequest) -> HttpResponse:
    """A reminder's "Check in" button (block_actions) and the modal's submission."""
    try:
        app = _verified(request)
    except slack.Refused as exc:
        return _refused(request, exc)
    try:
        payload = json.loads(request.POST.get("payload", ""))
    except ValueError:
        return HttpResponse("Not a Slack payload.", status=400, content_type="text/plain")
    user_id = str((payload.get("user") or {}).get("id") or "")
    kind = payload.get("type")
    if kind == "block_actions":
        action = next(
            (a for a in payload.get("actions", []) if a.get("action_id") == CHECKIN_ACTION), None
        )
        if action is None:
            return HttpResponse(status=200)
        try:
            person = slack.person_for(app, user_id)
        except slack.Unknown as exc:
            return _ephemeral(str(exc))
        try:
            only = int(action.get("value") or "")
        except ValueError:
            only = None
        key_results = slack.due_key_results(person, only=only)
        if key_results:
            slack.open_checkin_modal(app, str(payload.get("trigger_id") or ""), key_results)
        return HttpResponse(status=200)
    if kind == "view_submission":
        view = payload.get("view") or {}
        if view.get("callback_id") != slack.CHECKIN_CALLBACK:
            return HttpResponse(status=200)
        try:
            person = slack.person_for(app, user_id)
        except slack.Unknown as exc:
            first = next(iter(slack.input_blocks(view)), "")
            return JsonResponse({"response_action": "errors", "errors": {first: str(exc)}})
        errors = slack_checkins.submit_checkins(person, view)
        if errors:
            return JsonResponse({"response_action": "errors", "errors": errors})
        return JsonResponse({"response_action": "clear"})
    return HttpResponse(status=200)


@login_not_required
@require_GET
def sparkline(request: HttpRequest) -> HttpResponse:
    """The PNG of a `/headway kpi` answer; Slack fetches it by a signed URL, unsigned in."""
    kpi = kpi_answer.kpi_for_token(request.GET.get("k", ""))
    if kpi is None:
        return HttpResponse("Not found.", status=404, content_type="text/plain")
    response = HttpResponse(kpi_answer.sparkline_png(kpi), content_type="image/png")
    response["Cache-Control"] = "max-age=300"
    return response


class SlackAppForm(forms.Form):
    bot_token = forms.CharField(
        max_length=300,
        widget=forms.PasswordInput(render_value=False),
        help_text=gettext_lazy(
            "The app's Bot User OAuth Token (xoxb-…), from OAuth & Permissions.",
        ),
    )
    signing_secret = forms.CharField(
        max_length=200,
        widget=forms.PasswordInput(render_value=False),
        help_text=gettext_lazy("From Basic Information, App Credentials."),
    )


@require_http_methods(["GET", "POST"])
def slack_app(request: HttpRequest) -> HttpResponse:
    """Organisation admins set the Slack app's bot token and signing secret."""
    me = request.user
    refuse(actions.why_not_configure_slack(Access.for_person(me)))  # type: ignore[arg-type]
    form = SlackAppForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        actions.configure_slack(
            by=me,  # type: ignore[arg-type]
            bot_token=form.cleaned_data["bot_token"],
            signing_secret=form.cleaned_data["signing_secret"],
        )
        messages.success(request, _("Slack app saved."))
        return redirect("notify:slack_app")
    app = SlackApp.current()
    base = request.build_absolute_uri("/").rstrip("/")
    return render(
        request,
        "notify/slack_app.html",
        {
            "form": form,
            "app": app,
            "commands_url": f"{base}/slack/commands",
            "interactions_url": f"{base}/slack/interactions",
        },
    )
