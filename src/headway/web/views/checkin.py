"""The weekly check-in: every key result of a team's active cycle in one form, all or nothing."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from headway.okrs import insight_db, timing
from headway.okrs.actions import (
    record_checkin,
    why_computed,
    why_not_check_in,
    why_not_check_in_for_team,
)
from headway.okrs.models import CheckIn, CycleState, KeyResult
from headway.teams.access import refuse
from headway.teams.models import Team
from headway.web.common import access, add_errors, person
from headway.web.forms import CheckInRowForm


@dataclass
class Row:
    key_result: KeyResult
    form: CheckInRowForm | None
    why_read_only: str = ""
    # How the person's earlier confidences landed (okrs.insight_db.calibration_line).
    calibration: str = ""

    @property
    def last_confidence(self) -> int | None:
        return getattr(self.key_result, "last_confidence", None)

    @property
    def last_at(self) -> object:
        return getattr(self.key_result, "last_at", None)


def _key_results(team: Team) -> list[KeyResult]:
    """The team's key results, and those of objectives it contributes to (shared) that
    people on the team own."""
    latest = CheckIn.objects.filter(key_result=OuterRef("pk")).order_by("-at", "-ordinal")
    # The two kinds by their own indexed lookups, then the rows by id: one OR of the team's
    # key results with a subquery made PostgreSQL scan every key result (30 ms).
    active = KeyResult.objects.filter(objective__cycle__state=CycleState.ACTIVE)
    ids = set(active.filter(objective__team=team).values_list("pk", flat=True))
    ids.update(
        active.filter(
            objective__contributions__team=team, owner__memberships__team=team
        ).values_list("pk", flat=True)
    )
    return list(
        KeyResult.objects.filter(pk__in=sorted(ids))
        .select_related("objective__cycle", "objective__owner", "owner", "kpi")
        .annotate(
            last_confidence=Subquery(latest.values("confidence")[:1]),
            last_at=Subquery(latest.values("at")[:1]),
        )
        .order_by("objective__cycle__start", "objective__key", "position", "id")
    )


@require_http_methods(["GET", "POST"])
def checkin(request: HttpRequest, key: str) -> HttpResponse:
    """Check in on all the team's key results at once; one transaction, errors per row."""
    team = get_object_or_404(Team, key=key)
    acc = access(request)
    me = person(request)
    key_results = [kr for kr in _key_results(team) if acc.can_see_objective(kr.objective)]
    refuse(why_not_check_in_for_team(acc, team, key_results))
    data = request.POST if request.method == "POST" else None
    # One query: the person's confidences of closed cycles against what landed.
    calibrated = insight_db.calibration(person=me)
    rows = []
    for kr in key_results:
        # The action's own reasons: computed values first, then rights.
        why = why_computed(kr) or why_not_check_in(acc, kr) or ""
        form = None
        if not why:
            form = CheckInRowForm(
                data,
                prefix=f"kr-{kr.pk}",
                key_result=kr,
                initial={"confidence": kr.last_confidence},  # type: ignore[attr-defined]
            )
        line = ""
        if form is not None:
            line = insight_db.calibration_line(calibrated, kr.last_confidence, "your")  # type: ignore[attr-defined]
        rows.append(Row(key_result=kr, form=form, why_read_only=why, calibration=line))
    forms = [row.form for row in rows if row.form is not None]
    if data is not None:
        valid = all([form.is_valid() for form in forms])
        filled = [form for form in forms if valid and form.filled]
        if valid and not filled:
            messages.info(request, _("Nothing to check in: fill in at least one key result."))
        elif valid:
            failed = False
            now = timezone.now()
            with transaction.atomic():
                for form in filled:
                    try:
                        record_checkin(
                            key_result=form.key_result,
                            by=me,
                            value=form.cleaned_data.get("value"),
                            done=form.cleaned_data.get("done"),
                            confidence=form.cleaned_data.get("confidence"),
                            comment=form.cleaned_data.get("comment") or "",
                            at=now,
                        )
                    except ValidationError as exc:
                        add_errors(form, exc)
                        failed = True
                    except PermissionDenied as exc:
                        form.add_error(None, str(exc))
                        failed = True
                if failed:
                    # All or nothing: the rows that went through are undone too.
                    transaction.set_rollback(True)
            if not failed:
                messages.success(
                    request,
                    ngettext(
                        "Checked in %(n)s key result.", "Checked in %(n)s key results.", len(filled)
                    )
                    % {"n": len(filled)},
                )
                # A cycle past its end still takes updates (okrs.timing): say so.
                for cycle in sorted({f.key_result.objective.cycle for f in filled}, key=str):
                    note = timing.describe(now, cycle.start, cycle.end)
                    if note:
                        messages.info(
                            request, _("%(cycle)s: %(note)s") % {"cycle": cycle, "note": note}
                        )
                return redirect("checkin", key=team.key)
    has_errors = any(form.errors for form in forms)
    cycles = sorted({kr.objective.cycle for kr in key_results}, key=lambda c: (c.start, c.key))
    return render(
        request,
        "web/checkin.html",
        {
            "team": team,
            "rows": rows,
            "cycles": cycles,
            "has_errors": has_errors,
            "editable": bool(forms),
        },
    )
