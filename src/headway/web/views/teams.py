"""People and teams: the team tree with members and roles, and the admin forms."""

from __future__ import annotations

from dataclasses import dataclass, field

from allauth.account.forms import default_token_generator
from allauth.account.utils import user_pk_to_url_str
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods

from headway.coach.db import findings_for_team
from headway.notify.actions import why_not_manage_team_webhooks
from headway.okrs import insight_db
from headway.okrs.models import Cycle, Objective
from headway.teams.access import refuse
from headway.teams.actions import (
    create_team,
    invite_person,
    remove_membership,
    set_membership,
    update_team,
    why_not_manage,
)
from headway.teams.models import Membership, Person, Role, Team
from headway.web.common import UrlFor, access, add_errors, form_changes, person
from headway.web.forms import MembershipForm, PersonForm, TeamForm


@dataclass
class TeamNode:
    team: Team
    members: list[Membership] = field(default_factory=list)
    member_count: int = 0
    children: list[TeamNode] = field(default_factory=list)
    # Sub-teams not drawn here (a big organisation): the team's page lists them.
    hidden_children: int = 0
    # Made once per node in Python: {% url %} and {% blocktranslate count %} for each of
    # 150 nodes were a third of the page's rendering.
    url: str = ""
    members_label: str = ""
    hidden_label: str = ""


# Up to this many memberships the overview lists every member; above, it lists each team's
# leads and admins and the team page lists the rest.
INLINE_MEMBERS = 300
# The tree is drawn as many levels deep as keeps it within this many teams.
DRAWN_TEAMS = 150


def _drawn(
    children: dict[int | None, list[int]], roots: list[int], budget: int
) -> tuple[set[int], set[int]]:
    """The teams drawn, as deep as stays within `budget` teams (at least two levels), and
    those whose sub-teams are cut (their team pages list them)."""
    level, drawn, depth = roots, set(roots), 0
    while level:
        below = [child for node in level for child in children.get(node, ())]
        if depth >= 1 and len(drawn) + len(below) > budget:
            return drawn, {node for node in level if children.get(node)}
        drawn.update(below)
        level, depth = below, depth + 1
    return drawn, set()


@require_GET
def teams(request: HttpRequest) -> HttpResponse:
    """The organisation as a tree: every team with its members (or leads) and their roles.

    The tree's shape comes from plain (id, parent) rows; team rows and memberships are read
    only for the teams drawn (150 of the large organisation's 1,000, whose 3,000 leads and
    team objects were most of the page's time).
    """
    shape = list(
        Team.objects.annotate(member_count=Count("memberships"))
        .order_by("name")
        .values_list("pk", "parent_id", "member_count")
    )
    counts = {pk: count for pk, _parent, count in shape}
    children: dict[int | None, list[int]] = {}
    roots = []
    for pk, parent_id, _count in shape:
        if parent_id in counts:
            children.setdefault(parent_id, []).append(pk)
        else:
            roots.append(pk)
    drawn, cut = _drawn(children, roots, DRAWN_TEAMS)
    everyone = sum(counts.values()) <= INLINE_MEMBERS
    nodes = {
        t.pk: TeamNode(team=t, member_count=counts[t.pk])
        for t in Team.objects.filter(pk__in=sorted(drawn))
    }
    memberships = (
        Membership.objects.filter(team_id__in=sorted(drawn))
        .select_related("person")
        .order_by("person__name", "person__email")
    )
    if not everyone:
        memberships = memberships.filter(role__in=("lead", "admin"))
    for membership in memberships:
        nodes[membership.team_id].members.append(membership)
    url = UrlFor.of("team")
    for pk in drawn:
        node, kids = nodes[pk], children.get(pk, [])
        if pk in cut:
            node.hidden_children = len(kids)
            node.hidden_label = ngettext(
                "%(hidden_children)s sub-team →", "%(hidden_children)s sub-teams →", len(kids)
            ) % {"hidden_children": len(kids)}
        else:
            node.children = [nodes[kid] for kid in kids]
        node.url = url(node.team.key)
        node.members_label = ngettext(
            "%(member_count)s member", "%(member_count)s members", node.member_count
        ) % {"member_count": node.member_count}
    people_count = Person.objects.filter(is_active=True).count()
    return render(
        request,
        "web/teams.html",
        {
            "roots": [nodes[pk] for pk in roots],
            "can_manage": why_not_manage(access(request), "people and teams") is None,
            "people": people_count,
            "everyone": everyone,
        },
    )


@require_http_methods(["GET", "POST"])
def team_detail(request: HttpRequest, key: str) -> HttpResponse:
    """A team: members and roles (admins change them), sub-teams, links to its OKRs and KPIs."""
    team = get_object_or_404(Team.objects.select_related("parent"), key=key)
    acc = access(request)
    can_manage = why_not_manage(acc, "people and teams") is None
    form = MembershipForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        refuse(why_not_manage(acc, "people and teams"))
        remove = request.POST.get("remove")
        if remove:
            membership = get_object_or_404(
                Membership, team=team, pk=remove if remove.isdigit() else 0
            )
            try:
                remove_membership(by=person(request), membership=membership)
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            else:
                messages.success(
                    request,
                    _("%(person)s is no longer on %(team)s.")
                    % {"person": membership.person, "team": team},
                )
            return redirect("team", key=team.key)
        if form.is_valid():
            try:
                set_membership(
                    by=person(request),
                    team=team,
                    person=form.cleaned_data["person"],
                    role=form.cleaned_data["role"],
                )
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            else:
                role = form.cleaned_data["role"]
                messages.success(
                    request,
                    _("%(person)s is now %(role)s.")
                    % {"person": form.cleaned_data["person"], "role": Role(role).label},
                )
            return redirect("team", key=team.key)
    members = list(team.memberships.select_related("person").order_by("person__name"))
    cycle = Cycle.objects.current()
    return render(
        request,
        "web/team.html",
        {
            "team": team,
            "members": members,
            "children": list(team.children.order_by("name")),
            "cycle": cycle,
            "form": form,
            "can_manage": can_manage,
            "can_manage_webhooks": why_not_manage_team_webhooks(acc, team) is None,
            "can_check_in": acc.at_least(team.pk, "member"),
            "findings": findings_for_team(team),
            # Shared objectives (issue 18) of the current cycle this team contributes to.
            "shared": list(
                Objective.objects.filter(
                    acc.objective_condition(), cycle=cycle, contributions__team=team
                )
                .select_related("team")
                .order_by("team__name", "key")
            )
            if cycle is not None
            else [],
            # Across closed cycles (okrs.insight_db): 2 queries and 1 for the calibration.
            "history": insight_db.team_history(team, acc.objective_condition()),
            "calibration": insight_db.calibration(team=team),
        },
    )


def _require_manager(request: HttpRequest) -> None:
    refuse(why_not_manage(access(request), "people and teams"))


@require_http_methods(["GET", "POST"])
def team_create(request: HttpRequest) -> HttpResponse:
    _require_manager(request)
    parent = Team.objects.filter(key=request.GET.get("parent", "")).first()
    form = TeamForm(request.POST or None, initial={"parent": parent.pk if parent else None})
    if request.method == "POST" and form.is_valid():
        try:
            team = create_team(by=person(request), **form.cleaned_data)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("Team %(team)s created.") % {"team": team})
            return redirect("team", key=team.key)
    return render(
        request,
        "web/form.html",
        {"form": form, "title": _("New team"), "back": reverse("teams"), "submit": "Create team"},
    )


@require_http_methods(["GET", "POST"])
def team_edit(request: HttpRequest, key: str) -> HttpResponse:
    team = get_object_or_404(Team, key=key)
    _require_manager(request)
    form = TeamForm(request.POST or None, instance=team)
    if request.method == "POST" and form.is_valid():
        try:
            update_team(by=person(request), team=team, **form_changes(form))
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("Team %(team)s saved.") % {"team": team})
            return redirect("team", key=team.key)
    return render(
        request,
        "web/form.html",
        {
            "form": form,
            "title": _("Edit %(team)s") % {"team": team},
            "back": reverse("team", args=[team.key]),
        },
    )


def password_link(someone: Person) -> str:
    """A link with which `someone` sets their own password (valid until they sign in)."""
    path = reverse(
        "account_reset_password_from_key",
        kwargs={
            "uidb36": user_pk_to_url_str(someone),
            "key": default_token_generator.make_token(someone),
        },
    )
    return f"{settings.SITE_URL}{path}"


@require_http_methods(["GET", "POST"])
def person_create(request: HttpRequest) -> HttpResponse:
    """Invite or create a person, optionally on a team with a role."""
    _require_manager(request)
    team = Team.objects.filter(key=request.GET.get("team", "")).first()
    form = PersonForm(request.POST or None, initial={"team": team.pk if team else None})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            someone = invite_person(
                by=person(request),
                email=data["email"],
                name=data["name"],
                password=data["password"] or None,
                memberships=[(data["team"], data["role"])] if data["team"] else [],
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            link = None if data["password"] else password_link(someone)
            return render(
                request,
                "web/person_created.html",
                {"someone": someone, "link": link, "by": person(request)},
            )
    return render(
        request,
        "web/form.html",
        {
            "form": form,
            "title": _("Invite a person"),
            "intro": _("They sign in with their e-mail address."),
            "back": reverse("teams"),
            "submit": _("Create"),
        },
    )
