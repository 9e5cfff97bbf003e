"""Pages: the inbox, notification settings, team webhooks and the admins' delivery list."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Max, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from headway.notify import actions
from headway.notify.forms import LanguageForm, PreferencesForm, TeamWebhookForm
from headway.notify.kinds import KINDS, label
from headway.notify.models import (
    Delivery,
    DeliveryStatus,
    Notification,
    PersonalWebhook,
    Preference,
    SlackApp,
    TeamWebhook,
)
from headway.notify.retries import max_attempts
from headway.teams.access import Access, refuse
from headway.teams.models import Team
from headway.web.common import add_errors

if TYPE_CHECKING:
    from headway.teams.models import Person

PAGE_SIZE = 25


def _person(request: HttpRequest) -> Person:
    return request.user  # type: ignore[return-value]


def _visible(request: HttpRequest, notes: QuerySet[Notification]) -> QuerySet[Notification]:
    """Hide news about private objectives the person may no longer see (left the team)."""
    me = _person(request)
    if me.is_superuser:
        return notes
    teams = list(Access.for_person(me).visible_private_team_ids())
    return notes.filter(
        Q(event__private=False) | Q(event__team_id__in=teams) | Q(event__objective__owner=me)
    )


def _back(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    """The person's notifications, newest first, 25 a page (constant number of queries)."""
    me = _person(request)
    unread_only = request.GET.get("show") == "unread"
    notes = _visible(
        request, Notification.objects.filter(person=me).select_related("event")
    ).order_by("-id")
    if unread_only:
        notes = notes.filter(read_at__isnull=True)
    page = Paginator(notes, PAGE_SIZE).get_page(request.GET.get("page"))
    items = [
        {
            "note": note,
            "event": note.event,
            "kind": label(note.event.kind),
            # Worded when the event happened and said here in the reader's language.
            "title": note.event.said_title,
            "summary": note.event.said_summary,
            "facts": note.event.said_facts[:4],
        }
        for note in page.object_list
    ]
    unread = Notification.objects.filter(person=me, read_at__isnull=True).count()
    template = "notify/inbox.html#list" if getattr(request, "htmx", False) else "notify/inbox.html"
    return render(
        request,
        template,
        {
            "page": page,
            "items": items,
            "unread": unread,
            "unread_only": unread_only,
            "query": "show=unread&" if unread_only else "",
        },
    )


@require_POST
def mark_read(request: HttpRequest, pk: int) -> HttpResponse:
    note = get_object_or_404(Notification, pk=pk, person=_person(request))
    if note.read_at is None:
        Notification.objects.filter(pk=note.pk, read_at__isnull=True).update(read_at=timezone.now())
    if getattr(request, "htmx", False):
        return HttpResponse(status=204, headers={"HX-Refresh": "true"})
    return redirect(_back(request, reverse("notify:inbox")))


@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    count = Notification.objects.filter(person=_person(request), read_at__isnull=True).update(
        read_at=timezone.now()
    )
    messages.success(
        request,
        ngettext(
            "Marked %(count)s notification as read.",
            "Marked %(count)s notifications as read.",
            count,
        )
        % {"count": count},
    )
    return redirect(_back(request, reverse("notify:inbox")))


@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest) -> HttpResponse:
    """Which channels each kind of event uses for the signed-in person."""
    me = _person(request)
    saved = {
        kind: (email, webhook, slack)
        for kind, email, webhook, slack in Preference.objects.filter(person=me).values_list(
            "kind", "email", "webhook", "slack"
        )
    }
    # The Slack column appears once an admin has set up the Slack app (docs/slack.md).
    slack_app = SlackApp.objects.exclude(bot_token="").exists()
    hook = PersonalWebhook.objects.filter(person=me).first()
    initial: dict[str, object] = {"webhook_url": hook.url if hook else ""}
    for kind, info in KINDS.items():
        email, webhook, slack = saved.get(kind, (info.email, info.webhook, None))
        initial[f"email_{kind}"] = email
        initial[f"webhook_{kind}"] = webhook
        initial[f"slack_{kind}"] = info.slack if slack is None else slack
    form = PreferencesForm(request.POST or None, initial=initial, slack=slack_app)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        choices = {
            kind: actions.ChannelChoice(
                email=bool(data.get(f"email_{kind}")),
                webhook=bool(data.get(f"webhook_{kind}")),
                slack=bool(data.get(f"slack_{kind}")) if f"slack_{kind}" in form.fields else None,
            )
            for kind in KINDS
        }
        try:
            actions.save_preferences(
                by=me, choices=choices, webhook_url=data.get("webhook_url") or ""
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("Notification settings saved."))
            return redirect("notify:settings")
    return render(
        request,
        "notify/settings.html",
        {
            "form": form,
            "rows": form.rows(),
            "email": me.email,
            "slack": slack_app,
            "language_form": LanguageForm(initial={"language": me.language}),
        },
    )


@require_POST
def language_page(request: HttpRequest) -> HttpResponse:
    """The signed-in person's interface language (from the form on the settings page)."""
    from headway.teams.actions import set_language

    form = LanguageForm(request.POST)
    chosen = str(form.data.get("language", ""))
    try:
        person = set_language(by=_person(request), language=chosen)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        translation.activate(person.language or settings.LANGUAGE_CODE)
        messages.success(request, _("Language saved."))
    return redirect("notify:settings")


def _steerable_team(request: HttpRequest, key: str) -> Team:
    team = get_object_or_404(Team, key=key)
    refuse(actions.why_not_manage_team_webhooks(Access.for_person(_person(request)), team))
    return team


def _masked(url: str) -> str:
    """Webhook URLs are secrets: show the host and the last characters only."""
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0]
    return f"{scheme}://{host}/…{url[-4:]}" if len(rest) > len(host) else url


@require_http_methods(["GET", "POST"])
def team_webhooks(request: HttpRequest, key: str) -> HttpResponse:
    """A team's webhooks: leads and admins of the team add and remove them."""
    team = _steerable_team(request, key)
    form = TeamWebhookForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            hook = actions.add_team_webhook(
                by=_person(request),
                team=team,
                name=data["name"],
                url=data["url"],
                format=data["format"],
                kinds=data["kinds"],
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("Webhook “%(name)s” added.") % {"name": hook.name})
            return redirect("notify:team_webhooks", key=team.key)
    hooks = list(
        TeamWebhook.objects.filter(team=team).annotate(
            sent=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.SENT)),
            failed=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED)),
            uncertain=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.UNCERTAIN)),
            last_sent=Max("deliveries__sent_at"),
        )
    )
    rows = [
        {
            "hook": hook,
            "url": _masked(hook.url),
            "kinds": [label(k) for k in hook.kinds] or ["every team event"],
        }
        for hook in hooks
    ]
    return render(request, "notify/team_webhooks.html", {"team": team, "form": form, "rows": rows})


@require_POST
def team_webhook_delete(request: HttpRequest, key: str, pk: int) -> HttpResponse:
    team = get_object_or_404(Team, key=key)
    hook = actions.remove_team_webhook(by=_person(request), team=team, webhook_id=pk)
    if hook is None:
        raise Http404("No such webhook on this team.")
    messages.success(request, _("Webhook “%(name)s” removed.") % {"name": hook.name})
    return redirect("notify:team_webhooks", key=team.key)


STATUS_FILTERS = {
    # Uncertain ones (a worker stopped mid-send) need an admin as much as failed ones.
    "failed": Q(status__in=[DeliveryStatus.FAILED, DeliveryStatus.UNCERTAIN]),
    "uncertain": Q(status=DeliveryStatus.UNCERTAIN),
    "retrying": Q(status=DeliveryStatus.PENDING, attempts__gt=0),
    "pending": Q(status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING]),
    "sent": Q(status=DeliveryStatus.SENT),
    "all": Q(),
}


def _require_admin(request: HttpRequest) -> None:
    refuse(actions.why_not_see_deliveries(Access.for_person(_person(request))))


@require_GET
def deliveries(request: HttpRequest) -> HttpResponse:
    """E-mails and webhooks that failed, may have been sent (uncertain) or wait for a retry.

    Organisation admins only.
    """
    _require_admin(request)
    status = request.GET.get("status", "failed")
    if status not in STATUS_FILTERS:
        status = "failed"
    rows = (
        Delivery.objects.filter(STATUS_FILTERS[status])
        .exclude(channel="inbox")
        .select_related("event", "person", "team_webhook__team")
        .order_by("-updated_at", "-id")
    )
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    counts = dict(
        Delivery.objects.exclude(channel="inbox")
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    return render(
        request,
        "notify/deliveries.html",
        {
            "page": page,
            "status": status,
            "filters": list(STATUS_FILTERS),
            "counts": counts,
            "max_attempts": max_attempts(),
            "uncertain_label": DeliveryStatus.UNCERTAIN.label,
            "query": f"status={status}&",
        },
    )


@require_POST
def deliveries_retry(request: HttpRequest) -> HttpResponse:
    """Queue failed or uncertain deliveries again (the selected ones, or every failed one).

    "Every failed" leaves the uncertain ones alone: each may have reached its receiver,
    so an admin retries it by selecting it after checking.
    """
    retried = actions.retry_deliveries(
        by=_person(request),
        delivery_ids=[int(v) for v in request.POST.getlist("delivery") if v.isdigit()],
        every_failed=request.POST.get("all") == "1",
    )
    count = retried.queued
    messages.success(
        request,
        ngettext("%(count)s delivery queued again.", "%(count)s deliveries queued again.", count)
        % {"count": count},
    )
    return redirect(f"{reverse('notify:deliveries')}?status=failed")


@require_GET
def outbox(request: HttpRequest) -> HttpResponse:
    """Every e-mail Headway sent or will send, as sent: readable without a mail server.

    Organisation admins only (the mails carry set-password links).
    """
    from headway.notify.models import MailKind, OutboxMail

    _require_admin(request)
    kind = request.GET.get("kind", "")
    rows = OutboxMail.objects.select_related("person").order_by("-created_at", "-id")
    if kind in MailKind.values:
        rows = rows.filter(kind=kind)
    else:
        kind = ""
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "notify/outbox.html",
        {
            "page": page,
            "kind": kind,
            "kinds": MailKind.choices,
            "query": f"kind={kind}&" if kind else "",
        },
    )


@require_http_methods(["GET", "POST"])
def invitations(request: HttpRequest) -> HttpResponse:
    """People invited by e-mail: whether the invitation was sent, failed or accepted; resend."""

    from headway.notify.models import MailKind
    from headway.notify.outbox import invitation_states
    from headway.teams.actions import resend_invitation
    from headway.teams.models import Person

    _require_admin(request)
    if request.method == "POST":
        someone = get_object_or_404(Person, pk=request.POST.get("person", "0") or 0)
        try:
            resend_invitation(by=_person(request), person=someone)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                _("A new invitation to %(email)s is on its way.") % {"email": someone.email},
            )
        return redirect("notify:invitations")
    invited = (
        Person.objects.filter(outbox_mails__kind=MailKind.INVITATION)
        .annotate(invited_at=Max("outbox_mails__created_at"))
        .order_by("-invited_at", "-id")
    )
    page = Paginator(invited, PAGE_SIZE).get_page(request.GET.get("page"))
    people = list(page.object_list)
    states = invitation_states(people)
    rows = [(someone, states[someone.pk]) for someone in people]
    return render(request, "notify/invitations.html", {"page": page, "rows": rows, "query": ""})
