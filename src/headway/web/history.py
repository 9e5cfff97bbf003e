"""Readable change history from django-simple-history records: who, when, before/after, why."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Model
from django.forms import BaseForm
from django.http import QueryDict
from django.utils.translation import gettext, pgettext_lazy

from headway.kpis.models import Kpi
from headway.okrs.models import Objective
from headway.teams.models import Person, Team
from headway.versions import StaleVersion
from headway.web.common import DASH, fmt_number

# Bookkeeping columns that change with every save and say nothing to a reader.
# Bookkeeping only: silencing the coach (coach_ignore, coach_ignore_why) stays visible.
IGNORED = {"version", "updated_at", "created_at", "position"}
# What happened to a record, worded in the reader's language when the page is shown.
ACTIONS = {
    "+": pgettext_lazy("history", "created"),
    "~": pgettext_lazy("history", "changed"),
    "-": pgettext_lazy("history", "deleted"),
}
# Foreign keys shown by name: field name -> model.
REFERENCES: dict[str, type[Model]] = {
    "owner": Person,
    "parent": Objective,
    "kpi": Kpi,
    "team": Team,
    "closed_by": Person,
}


@dataclass
class FieldChange:
    label: str
    old: str
    new: str


@dataclass
class Entry:
    """One change of one object, as the history list shows it."""

    when: datetime
    who: str
    subject: str
    action: str
    reason: str
    changes: list[FieldChange] = field(default_factory=list)

    @property
    def is_recalibration(self) -> bool:
        return self.reason.startswith("Recalibrated")


def _show(value: Any, name: str, names: dict[str, dict[Any, str]]) -> str:
    if value is None or value == "":
        return DASH
    if name in names:
        return names[name].get(value, f"#{value}")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return fmt_number(value)
    return str(value)


def entries(groups: Iterable[tuple[str, Iterable[Any]]], limit: int = 100) -> list[Entry]:
    """History entries, newest first, from (label, records) pairs of one model each.

    `label` may contain "{title}", filled with the object's title (or name) at that time.
    Referenced people, objectives, KPIs and teams are named with one query per model.
    """
    pending: list[tuple[str, Any, Any]] = []
    wanted: dict[str, set[Any]] = defaultdict(set)
    for label, records in groups:
        by_object: dict[Any, list[Any]] = defaultdict(list)
        for record in records:
            by_object[record.id].append(record)
        for versions in by_object.values():
            versions.sort(key=lambda r: (r.history_date, r.history_id))
            previous = None
            for record in versions:
                pending.append((label, record, previous))
                if previous is not None and record.history_type == "~":
                    for change in record.diff_against(previous, excluded_fields=IGNORED).changes:
                        if change.field in REFERENCES:
                            wanted[change.field].update(v for v in (change.old, change.new) if v)
                previous = record
    names: dict[str, dict[Any, str]] = {}
    for name, ids in wanted.items():
        model = REFERENCES[name]
        names[name] = {obj.pk: str(obj) for obj in model._default_manager.filter(pk__in=ids)}

    result = []
    for label, record, previous in pending:
        title = getattr(record, "title", None) or getattr(record, "name", "")
        who = str(record.history_user) if record.history_user_id else gettext("system")
        entry = Entry(
            when=record.history_date,
            who=who,
            subject=gettext(label).format(title=title),
            action=str(ACTIONS[record.history_type]),
            reason=record.history_change_reason or "",
        )
        if previous is not None and record.history_type == "~":
            model = record.instance_type
            for change in record.diff_against(previous, excluded_fields=IGNORED).changes:
                try:
                    label_text = str(model._meta.get_field(change.field).verbose_name)
                except Exception:  # pragma: no cover - a field removed since
                    label_text = change.field
                entry.changes.append(
                    FieldChange(
                        label=label_text,
                        old=_show(change.old, change.field, names),
                        new=_show(change.new, change.field, names),
                    )
                )
            if not entry.changes and not entry.reason:
                continue
        result.append(entry)
    result.sort(key=lambda e: e.when, reverse=True)
    return result[:limit]


def show_stale(form: BaseForm, instance: Any, stale: StaleVersion, what: str) -> None:
    """Refuse a stale save on the form: the other person's change shown, the input kept.

    The form stays bound to what the person typed; each field where the saved value (the
    other person's) differs from the input is named with both. Its hidden version becomes
    the current one, so saving again is a deliberate choice to replace the other change.
    """
    instance.refresh_from_db()
    latest = instance.history.select_related("history_user").first()
    who = (
        str(latest.history_user)
        if latest is not None and latest.history_user
        else gettext("someone")
    )
    if latest is not None:
        changed = gettext("%(who)s changed this %(what)s at %(when)s UTC") % {
            "who": who,
            "what": gettext(what),
            "when": f"{latest.history_date:%Y-%m-%d %H:%M}",
        }
    else:
        changed = gettext("%(who)s changed this %(what)s") % {"who": who, "what": gettext(what)}
    form.add_error(
        None,
        gettext(
            "Not saved: %(changed)s while you were editing it. Their change is kept; your "
            "input is still in the form. Save again to replace their change with yours."
        )
        % {"changed": changed},
    )
    cleaned = getattr(form, "cleaned_data", {})
    for name, form_field in form.fields.items():
        if name == "version" or name not in cleaned or not hasattr(instance, name):
            continue
        theirs, yours = getattr(instance, name), cleaned[name]
        if _comparable(theirs) != _comparable(yours):
            label = form_field.label or name.replace("_", " ").capitalize()
            form.add_error(
                None,
                gettext("%(field)s: theirs “%(theirs)s”, yours “%(yours)s”.")
                % {"field": label, "theirs": _said(theirs), "yours": _said(yours)},
            )
    data = QueryDict(mutable=True)
    data.update(form.data)
    data["version"] = str(stale.current)
    form.data = data


def _comparable(value: Any) -> Any:
    if isinstance(value, Model):
        return value.pk
    if value in (None, ""):
        return None
    if isinstance(value, list | tuple):
        return sorted(value)
    return value


def _said(value: Any) -> str:
    if value in (None, "") or value == []:
        return DASH
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    if isinstance(value, float):
        return fmt_number(value)
    return str(value)
