"""The weekly digest: per person, their key results, their KPIs in trouble, the week's news.

One e-mail per person and ISO week (event key `weekly_digest:<person>:<YYYY-Www>`),
built by the first periodic run of the week. People who switched it off, and people with
nothing to report, get none. Everything is read set-based: a fixed number of queries
plus 8 per active cycle (its tree now and a week ago), whatever the number of people.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.utils.translation import gettext_noop

from headway.kpis.models import Health, Kpi
from headway.notify import text
from headway.notify.events import Draft, record
from headway.notify.kinds import Channel, EventKind, said_label
from headway.notify.models import Event, Notification, Preference
from headway.notify.recipients import OrgIndex
from headway.okrs.models import Cycle, CycleState
from headway.okrs.tree import load_cycle_tree
from headway.teams.models import Person
from headway.words import Says, _, ngettext, pack

MAX_ROWS = 20
TROUBLE = (Health.CRITICAL, Health.WARNING, Health.STALE)


def _row(result: Any, objective: Any, cycle: Cycle) -> dict[str, object]:
    """The parameters of a key result's line in the digest."""
    return {
        "status": text.said(text.STATUS_SAID, result.status),
        "score": text.said_score(result.score),
        "objective": objective.title,
        "cycle": str(cycle),
    }


def week_label(now: datetime) -> str:
    year, week, _ = now.isocalendar()
    return f"{year}-W{week:02d}"


def weekly_digests(now: datetime) -> int:
    """Record this week's digest for everyone who has none yet; returns how many."""
    week = week_label(now)
    active = dict(Person.objects.filter(is_active=True).values_list("pk", "is_superuser"))
    opted_out = set(
        Preference.objects.filter(kind=EventKind.WEEKLY_DIGEST, email=False).values_list(
            "person_id", flat=True
        )
    )
    done = {
        int(key.split(":")[1])
        for key in Event.objects.filter(
            kind=EventKind.WEEKLY_DIGEST, dedupe_key__endswith=f":{week}"
        ).values_list("dedupe_key", flat=True)
    }
    todo = set(active) - opted_out - done
    if not todo:
        return 0
    since = now - timedelta(days=7)
    org = OrgIndex.load()
    org.load_roles(todo)

    key_results: dict[int, list[dict[str, Any]]] = defaultdict(list)
    statuses: dict[int, list[str]] = defaultdict(list)
    for cycle in Cycle.objects.filter(state=CycleState.ACTIVE).order_by("start"):
        tree = load_cycle_tree(cycle, at=now)
        before = load_cycle_tree(cycle, at=since)
        old = {kr.pk: before.key_result_result(kr).score for kr in before.key_results()}
        for objective in tree.objectives:
            for kr in tree.key_results_of(objective):
                owner = kr.owner_id
                if owner not in todo:
                    continue
                if objective.visibility == "private" and not org.can_see_private(
                    owner, objective.team_id, objective.owner_id, active[owner]
                ):
                    continue
                result = tree.key_result_result(kr)
                was = old.get(kr.pk)
                moved = was is not None and abs(was - result.score) > 1e-9
                detail = (
                    _(
                        "%(status)s · score %(score)s (was %(was)s a week ago) · %(objective)s "
                        "(%(cycle)s)",
                        was=text.said_score(was),
                        **_row(result, objective, cycle),
                    )
                    if moved
                    else _(
                        "%(status)s · score %(score)s · %(objective)s (%(cycle)s)",
                        **_row(result, objective, cycle),
                    )
                )
                statuses[owner].append(result.status)
                key_results[owner].append(
                    {
                        "text": kr.title,
                        "detail": pack(detail),
                        "url": text.absolute(text.link("objective", objective.key)),
                        "status": result.status,
                    }
                )

    kpis: dict[int, list[dict[str, Any]]] = defaultdict(list)
    in_use = Kpi.objects.in_use()
    for kpi in in_use.filter(owner_id__in=todo, health__in=TROUBLE).order_by("name"):
        assert kpi.owner_id is not None
        kpis[kpi.owner_id].append(
            {
                "text": kpi.name,
                "detail": pack(
                    _(
                        "%(health)s · %(value)s (target %(target)s) · trend %(trend)s",
                        health=text.said(text.HEALTH_SAID, kpi.health),
                        value=text.said_number(kpi.latest_value, kpi.unit),
                        target=text.said_number(kpi.thresholds_latest[0], kpi.unit),
                        trend=text.said(text.TREND_SAID, kpi.trend),
                    )
                ),
                "url": text.absolute(text.link("kpi", kpi.key)),
                "status": kpi.health,
            }
        )

    news: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for person_id, title, data, kind, link, occurred in (
        Notification.objects.filter(person_id__in=todo, created_at__gte=since)
        .order_by("-id")
        .values_list(
            "person_id",
            "event__title",
            "event__data",
            "event__kind",
            "event__link",
            "event__occurred_at",
        )
    ):
        said = (data or {}).get("said") or {}
        news[person_id].append(
            {
                "text": said.get("title") or title,
                "detail": pack(
                    Says(
                        "%(kind)s · %(day)s",
                        kind=said_label(kind),
                        day=f"{occurred:%Y-%m-%d}",
                    )
                ),
                "url": text.absolute(link),
                "status": kind,
            }
        )

    drafts = []
    for person_id in sorted(todo):
        mine, trouble, changed = key_results[person_id], kpis[person_id], news[person_id]
        if not (mine or trouble or changed):
            continue
        states = statuses[person_id]
        behind = states.count("off_track") + states.count("at_risk")
        sections = [
            {
                "title": pack(_("Your key results")),
                "rows": mine[:MAX_ROWS],
                "more": len(mine) - MAX_ROWS,
            },
            {
                "title": pack(_("Your KPIs in trouble")),
                "rows": trouble[:MAX_ROWS],
                "more": len(trouble) - MAX_ROWS,
            },
            {
                "title": pack(_("What happened this week")),
                "rows": changed[:MAX_ROWS],
                "more": len(changed) - MAX_ROWS,
            },
        ]
        drafts.append(
            Draft(
                kind=EventKind.WEEKLY_DIGEST,
                key=f"{EventKind.WEEKLY_DIGEST}:{person_id}:{week}",
                title=_("Your week in Headway (%(week)s)", week=week),
                summary=_(
                    "%(key_results)s (%(behind)s behind pace), %(kpis)s in trouble, "
                    "%(notifications)s this week.",
                    key_results=ngettext("%(n)s key result", "%(n)s key results", len(mine)),
                    behind=str(behind),
                    kpis=ngettext("%(n)s KPI", "%(n)s KPIs", len(trouble)),
                    notifications=ngettext(
                        "%(n)s notification", "%(n)s notifications", len(changed)
                    ),
                ),
                facts=[
                    (gettext_noop("Key results"), str(len(mine))),
                    (gettext_noop("Achieved"), str(states.count("achieved"))),
                    (gettext_noop("On track"), str(states.count("on_track"))),
                    (gettext_noop("At risk"), str(states.count("at_risk"))),
                    (gettext_noop("Off track"), str(states.count("off_track"))),
                    (gettext_noop("KPIs in trouble"), str(len(trouble))),
                    (gettext_noop("Notifications this week"), str(len(changed))),
                ],
                numbers={
                    "week": week,
                    "key_results": len(mine),
                    "behind": behind,
                    "kpis_in_trouble": len(trouble),
                    "notifications": len(changed),
                },
                sections=[s for s in sections if s["rows"]],
                occurred_at=now,
                link=text.link("notify:inbox"),
                people=[person_id],
                channels=(Channel.EMAIL,),
            )
        )
    return len(record(drafts))
