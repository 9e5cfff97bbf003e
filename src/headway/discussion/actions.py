"""The changes of a discussion: write, edit and delete a comment (the only ways in).

Whoever may see a thing may discuss it (PRODUCT.md section 6: a private objective, its
key results and their check-ins only for its team and owner). Only the author edits a
comment, and only from the version they saw; the author or an admin deletes one. Every
version stays in the comment's history. Mentions are announced (`mentioned`) in the same
transaction, delivered after it commits, to the people mentioned who may see the thing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from headway.discussion.mentions import handles, resolve
from headway.discussion.models import Comment
from headway.discussion.targets import Target, of_comment
from headway.teams.access import Access, refuse
from headway.writes import save_checked

if TYPE_CHECKING:
    from headway.teams.models import Person

MAX_BODY = 10_000


def _clean_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": _("Write something first.")})
    if len(body) > MAX_BODY:
        raise ValidationError(
            {"body": _("At most %(max_body)s characters.") % {"max_body": format(MAX_BODY, ",")}}
        )
    return body


def mentioned_people(body: str) -> list[int]:
    """The active people a text mentions (see discussion/mentions.py), one query."""
    from headway.teams.models import Person

    wanted = handles(body)
    if not wanted:
        return []
    emails = [h for h in wanted if "@" in h]
    locals_ = [h for h in wanted if "@" not in h]
    condition = Q(email__in=emails)
    for local in locals_:
        condition |= Q(email__istartswith=f"{local}@")
    people = Person.objects.filter(condition, is_active=True).values_list("pk", "email")
    matched = resolve(wanted, people)
    return list(dict.fromkeys(matched[h] for h in wanted if h in matched))


def why_not_discuss(access: Access, target: Target) -> str | None:
    """Everyone who may see a thing may discuss it (PRODUCT.md: permissions as for seeing)."""
    if target.visible_to(access):
        return None
    return _("You cannot see this, so not discuss it.")


@transaction.atomic
def add_comment(*, by: Person, target: Target, body: str) -> Comment:
    """Write a comment on `target` (anyone who may see it); announces its mentions."""
    refuse(why_not_discuss(Access.for_person(by), target))
    comment = Comment(
        author=by, body=_clean_body(body), created_at=timezone.now(), **target.filter()
    )
    save_checked(comment, by=by)
    mentions = mentioned_people(comment.body)
    comment.mentions.set(mentions)
    _announce(comment, target, mentions, by=by)
    return comment


def why_not_edit_comment(by: Person, comment: Comment) -> str | None:
    if by.pk is not None and comment.author_id == by.pk:
        return None
    return _("Only its author may edit a comment.")


@transaction.atomic
def edit_comment(*, by: Person, comment: Comment, body: str, seen_version: int | None) -> Comment:
    """Change a comment's text (its author only), from the version they saw.

    The earlier text stays in the history; people newly mentioned are told.
    """
    comment = Comment.objects.select_for_update(of=("self",)).get(pk=comment.pk)
    refuse(why_not_edit_comment(by, comment))
    if seen_version is not None and seen_version != comment.version:
        raise ValidationError(
            _("Someone changed this comment since you opened it; reload to see the new text.")
        )
    body = _clean_body(body)
    if body == comment.body:
        return comment
    before = set(comment.mentions.values_list("pk", flat=True))
    comment.body = body
    comment.edited_at = timezone.now()
    comment.version += 1
    save_checked(comment, by=by)
    mentions = mentioned_people(body)
    comment.mentions.set(mentions)
    target = of_comment(_with_target(comment.pk))
    _announce(comment, target, [p for p in mentions if p not in before], by=by)
    return comment


def why_not_delete_comment(
    by: Person, comment: Comment, access: Access | None = None
) -> str | None:
    """Its author, or an admin moderating; `access` saves a lookup when a page asks per row."""
    if by.pk is not None and comment.author_id == by.pk:
        return None
    if (access if access is not None else Access.for_person(by)).is_admin:
        return None
    return _("Only its author or an admin may delete a comment.")


@transaction.atomic
def delete_comment(*, by: Person, comment: Comment) -> None:
    """Delete a comment (its author, or an admin); the history keeps what it said."""
    refuse(why_not_delete_comment(by, comment))
    comment._history_user = by  # type: ignore[attr-defined]
    comment.delete()


def _with_target(pk: int) -> Comment:
    return Comment.objects.select_related(
        "objective__team",
        "key_result__objective__team",
        "kpi__team",
        "checkin__key_result__objective__team",
        "author",
    ).get(pk=pk)


def comment_link(comment: Comment) -> str:
    return reverse("comment", args=[comment.pk])


def _announce(comment: Comment, target: Target, people: list[int], *, by: Person) -> None:
    """A `mentioned` event per person newly mentioned (the author is never told)."""
    from headway.notify.events import Draft, guard, record
    from headway.notify.kinds import EventKind
    from headway.words import Says

    people = [p for p in people if p != by.pk]
    if not people:
        return
    objective = target.governing_objective
    excerpt = comment.body if len(comment.body) <= 280 else comment.body[:279] + "…"
    drafts = [
        Draft(
            kind=EventKind.MENTIONED,
            key=f"mentioned:{comment.pk}:{person_id}",
            title=Says(
                gettext_noop("%(person)s mentioned you on the %(kind)s “%(title)s”"),
                person=str(by),
                kind=Says(target.label),
                title=target.title,
            ),
            occurred_at=comment.edited_at or comment.created_at,
            summary=excerpt,
            facts=[
                (
                    gettext_noop("On"),
                    Says("%(kind)s %(title)s", kind=Says(target.label), title=target.title),
                ),
                (gettext_noop("By"), str(by)),
            ],
            link=comment_link(comment),
            team_id=target.team_id,
            cycle_id=objective.cycle_id if objective is not None else None,
            objective_id=objective.pk if objective is not None else None,
            key_result_id=target.key_result.pk if target.key_result is not None else None,
            kpi_id=target.kpi.pk if target.kpi is not None else None,
            private=objective is not None and objective.visibility == "private",
            objective_owner_id=objective.owner_id if objective is not None else None,
            actor_id=by.pk,
            people=[person_id],
        )
        for person_id in people
    ]
    with guard("mentions"):
        record(drafts)
