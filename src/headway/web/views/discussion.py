"""Threads: comments on an objective, a key result, a KPI or a check-in, with @mentions."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from headway.discussion import actions
from headway.discussion.actions import add_comment, delete_comment, edit_comment
from headway.discussion.models import Comment
from headway.discussion.reading import thread, with_history
from headway.discussion.targets import Target, of_comment, resolve
from headway.teams.access import refuse
from headway.web.common import access, person

PAGE = 50


def _target(request: HttpRequest, path: str) -> Target:
    try:
        target = resolve(path)
    except LookupError:
        raise Http404("Nothing to discuss here.") from None
    if not target.visible_to(access(request)):
        # Not "forbidden": a private objective is not found for those outside its team.
        raise Http404("Nothing to discuss here.")
    return target


def _comment(request: HttpRequest, pk: int) -> tuple[Comment, Target]:
    comment = get_object_or_404(
        Comment.objects.select_related(
            "author",
            "objective__team",
            "key_result__objective__team",
            "kpi__team",
            "checkin__key_result__objective__team",
        ),
        pk=pk,
    )
    target = of_comment(comment)
    if not target.visible_to(access(request)):
        raise Http404("No such comment.")
    return comment, target


@require_http_methods(["GET", "POST"])
def discussion(request: HttpRequest, target: str) -> HttpResponse:
    """The whole thread of one thing, oldest first, and the form to add to it."""
    found = _target(request, target)
    body = ""
    error = ""
    if request.method == "POST":
        body = request.POST.get("body", "")
        try:
            comment = add_comment(by=person(request), target=found, body=body)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            return redirect(f"{found.thread_url}#comment-{comment.pk}")
    comments = thread(found)
    paginator = Paginator(comments, PAGE)
    number = request.GET.get("page")
    page = paginator.get_page(number if number else paginator.num_pages)
    shown = with_history(list(page.object_list))
    me, acc = person(request), access(request)
    # The page asks the actions' own predicates which buttons each comment gets.
    editable = {s.comment.pk for s in shown if actions.why_not_edit_comment(me, s.comment) is None}
    deletable = {
        s.comment.pk for s in shown if actions.why_not_delete_comment(me, s.comment, acc) is None
    }
    return render(
        request,
        "web/discussion.html",
        {
            "target": found,
            "page": page,
            "shown": shown,
            "body": body,
            "error": error,
            "editable": editable,
            "deletable": deletable,
        },
        status=422 if error else 200,
    )


@require_GET
def comment_link(request: HttpRequest, pk: int) -> HttpResponse:
    """Where a mention links: the comment in its thread (on the page that holds it)."""
    comment, target = _comment(request, pk)
    earlier = thread(target).filter(created_at__lt=comment.created_at).count()
    page = earlier // PAGE + 1
    return redirect(f"{target.thread_url}?page={page}#comment-{comment.pk}")


@require_http_methods(["GET", "POST"])
def comment_edit(request: HttpRequest, pk: int) -> HttpResponse:
    comment, target = _comment(request, pk)
    refuse(actions.why_not_edit_comment(person(request), comment))
    body, error = comment.body, ""
    if request.method == "POST":
        body = request.POST.get("body", "")
        version = request.POST.get("version", "")
        try:
            edit_comment(
                by=person(request),
                comment=comment,
                body=body,
                seen_version=int(version) if version.isdigit() else None,
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            return redirect("comment", pk=comment.pk)
    return render(
        request,
        "web/comment_form.html",
        {"comment": comment, "target": target, "body": body, "error": error},
        status=422 if error else 200,
    )


@require_POST
def comment_delete(request: HttpRequest, pk: int) -> HttpResponse:
    comment, target = _comment(request, pk)
    delete_comment(by=person(request), comment=comment)
    messages.success(request, _("Comment deleted; its history keeps what it said."))
    return redirect(target.thread_url)
