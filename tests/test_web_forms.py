"""Writes through the pages: field errors instead of crashes, all-or-nothing, via the actions."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from headway.kpis.models import Kpi, Measurement
from headway.okrs.models import CheckIn, Cycle, KeyResult, Objective
from headway.teams.models import Membership, Person, Team
from headway.web.testing import build_kpis, build_okrs, client_for, current_cycle

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(org: Any) -> SimpleNamespace:
    current_cycle(org.cycle)
    kpis = build_kpis(team=org.depot, owner=org.member, count=2)
    objectives = build_okrs(
        cycle=org.cycle,
        company=org.company,
        team=org.depot,
        owner=org.member,
        objectives=2,
        kpi=kpis[0],
    )
    return SimpleNamespace(org=org, kpis=kpis, objective=objectives[1], root=objectives[0])


# Objectives and key results -------------------------------------------------------------


def test_create_objective_with_generated_key(data: SimpleNamespace) -> None:
    client = client_for(data.org.member)
    response = client.post(
        "/objectives/new/",
        {
            "title": "Make the depot calm at peak",
            "team": data.org.depot.pk,
            "cycle": data.org.cycle.pk,
            "owner": data.org.member.pk,
            "type": "aspirational",
            "visibility": "public",
        },
    )
    objective = Objective.objects.get(title="Make the depot calm at peak")
    assert objective.key == "make-the-depot-calm-at-peak"
    assert response["Location"] == f"/objectives/{objective.key}/key-results/new/"
    assert objective.history.first().history_user == data.org.member


def test_member_may_not_align_but_lead_may(data: SimpleNamespace) -> None:
    form = {
        "title": "Aligned depot objective",
        "team": data.org.depot.pk,
        "cycle": data.org.cycle.pk,
        "type": "aspirational",
        "visibility": "public",
        "parent": data.root.pk,
    }
    refused = client_for(data.org.member).post("/objectives/new/", form)
    assert refused.status_code == 200
    assert "Only leads and admins" in refused.content.decode()
    assert not Objective.objects.filter(title="Aligned depot objective").exists()
    assert 'value="Aligned depot objective"' in refused.content.decode()  # kept
    client_for(data.org.lead).post("/objectives/new/", form)
    assert Objective.objects.get(title="Aligned depot objective").parent_id == data.root.pk


def test_objective_form_errors_are_per_field(data: SimpleNamespace) -> None:
    response = client_for(data.org.member).post(
        "/objectives/new/",
        {"title": "", "team": data.org.sales.pk, "cycle": 999999, "key": "Not a slug!"},
    )
    errors = response.context["form"].errors
    assert {"title", "team", "cycle", "key"} <= set(errors)


def test_objective_in_a_closed_cycle_cannot_be_created(data: SimpleNamespace) -> None:
    closed = Cycle.objects.create(
        key="old", start=data.org.cycle.start, end=data.org.cycle.end, state="closed"
    )
    response = client_for(data.org.admin).post(
        "/objectives/new/", {"title": "Late", "team": data.org.depot.pk, "cycle": closed.pk}
    )
    assert "cycle" in response.context["form"].errors


def test_key_result_fields_depend_on_kind(data: SimpleNamespace) -> None:
    client = client_for(data.org.member)
    url = f"/objectives/{data.objective.key}/key-results/new/"
    missing = client.post(url, {"title": "Raise it", "kind": "increase", "weight": "1"})
    assert {"start", "target"} <= set(missing.context["form"].errors)
    backwards = client.post(
        url, {"title": "Raise it", "kind": "increase", "start": "5", "target": "2", "weight": "1"}
    )
    assert "target" in backwards.context["form"].errors
    nan = client.post(
        url, {"title": "Raise it", "kind": "increase", "start": "nan", "target": "2", "weight": "1"}
    )
    assert "start" in nan.context["form"].errors
    client.post(
        url,
        {"title": "Carrier standard signed", "kind": "milestone", "start": "3", "weight": "1"},
    )
    milestone = KeyResult.objects.get(title="Carrier standard signed")
    assert milestone.start is None
    assert milestone.target is None
    client.post(
        url,
        {"title": "Cut damage from 4 to 2", "kind": "decrease", "start": "4", "target": "2",
         "weight": "1", "unit": "per 1000"},
    )  # fmt: skip
    assert KeyResult.objects.get(title="Cut damage from 4 to 2").key == "cut-damage-from-4-to-2"


def test_key_result_linked_to_a_kpi_takes_its_value(data: SimpleNamespace) -> None:
    client_for(data.org.member).post(
        f"/objectives/{data.objective.key}/key-results/new/",
        {"title": "Keep it healthy", "kind": "above", "target": "95", "weight": "1",
         "kpi": data.kpis[1].pk},
    )  # fmt: skip
    kr = KeyResult.objects.get(title="Keep it healthy")
    assert kr.kpi_id == data.kpis[1].pk
    assert kr.current == Kpi.objects.get(pk=data.kpis[1].pk).latest_value


def edit_form(kr: KeyResult, **changes: Any) -> dict[str, Any]:
    form = {
        "title": kr.title,
        "kind": kr.kind,
        "owner": kr.owner_id or "",
        "unit": kr.unit,
        "start": kr.start,
        "target": kr.target,
        "weight": kr.weight,
        "due": "",
        "kpi": "",
    }
    form.update(changes)
    return form


def test_recalibration_needs_a_reason_and_keeps_history(data: SimpleNamespace) -> None:
    kr = KeyResult.objects.get(objective=data.objective, key="grow")
    kr.save()  # bulk-made rows have no history yet: record the state before
    url = f"/objectives/{data.objective.key}/key-results/grow/edit/"
    lead = client_for(data.org.lead)
    no_reason = lead.post(url, edit_form(kr, target=80))
    assert "reason" in no_reason.context["form"].errors
    kr.refresh_from_db()
    assert kr.target == 50
    lead.post(url, edit_form(kr, target=80, reason="New routing doubled capacity"))
    kr.refresh_from_db()
    assert kr.target == 80
    record = kr.history.first()
    assert record.history_change_reason == "Recalibrated: New routing doubled capacity"
    assert record.history_user == data.org.lead
    page = lead.get(f"/objectives/{data.objective.key}/").content.decode()
    assert "Recalibrated: New routing doubled capacity" in page
    assert "<del>50</del> → <ins>80</ins>" in page


def test_owner_may_edit_but_not_recalibrate(data: SimpleNamespace) -> None:
    kr = KeyResult.objects.get(objective=data.objective, key="grow")
    url = f"/objectives/{data.objective.key}/key-results/grow/edit/"
    member = client_for(data.org.member)  # owns the key result, not a lead
    response = member.post(url, edit_form(kr, target=90, unit="pct", reason="Because"))
    assert "Only leads and admins" in response.content.decode()
    kr.refresh_from_db()
    assert (kr.target, kr.unit) == (50, "%")  # nothing half-saved
    member.post(url, edit_form(kr, unit="pct"))
    kr.refresh_from_db()
    assert kr.unit == "pct"


# Check-in -----------------------------------------------------------------------------------


def checkin_rows(data: SimpleNamespace) -> tuple[KeyResult, KeyResult]:
    grow = KeyResult.objects.get(objective=data.objective, key="grow")
    ship = KeyResult.objects.get(objective=data.objective, key="ship")
    return grow, ship


def test_checkin_form_lists_rows_and_explains_read_only_ones(data: SimpleNamespace) -> None:
    body = client_for(data.org.member).get("/teams/depot/checkin/").content.decode()
    assert 'name="kr-' in body
    assert "takes its value from the KPI" in body  # the KPI-fed key results
    assert body.count("<h2>") >= 2  # grouped by objective


def test_checkin_all_at_once(data: SimpleNamespace) -> None:
    grow, ship = checkin_rows(data)
    before = CheckIn.objects.count()
    response = client_for(data.org.member).post(
        "/teams/depot/checkin/",
        {
            f"kr-{grow.pk}-value": "42",
            f"kr-{grow.pk}-confidence": "7",
            f"kr-{grow.pk}-comment": "Second shift live",
            f"kr-{ship.pk}-done": "yes",
        },
    )
    assert response.status_code == 302
    assert CheckIn.objects.count() == before + 2
    grow.refresh_from_db()
    ship.refresh_from_db()
    assert grow.current == 42
    assert ship.done
    latest = grow.checkins.order_by("-at").first()
    assert latest is not None
    assert latest.comment == "Second shift live"
    assert latest.author == data.org.member


def test_checkin_errors_are_inline_and_nothing_is_saved(data: SimpleNamespace) -> None:
    grow, ship = checkin_rows(data)
    before = CheckIn.objects.count()
    response = client_for(data.org.member).post(
        "/teams/depot/checkin/",
        {
            f"kr-{grow.pk}-value": "forty",
            f"kr-{grow.pk}-comment": "Typed with care",
            f"kr-{ship.pk}-done": "yes",
            f"kr-{ship.pk}-confidence": "11",
        },
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert CheckIn.objects.count() == before
    assert "Nothing was saved" in body
    assert "Enter a number." in body
    assert "less than or equal to 10" in body
    assert "Typed with care" in body
    assert 'value="forty"' in body


def test_checkin_comment_without_value_is_an_error(data: SimpleNamespace) -> None:
    grow, _ship = checkin_rows(data)
    before = CheckIn.objects.count()
    response = client_for(data.org.member).post(
        "/teams/depot/checkin/", {f"kr-{grow.pk}-comment": "No number"}
    )
    assert "Enter the current value." in response.content.decode()  # record_checkin's words
    assert CheckIn.objects.count() == before


def test_checkin_is_all_or_nothing_when_an_action_refuses(
    data: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from headway.okrs import actions
    from headway.web.views import checkin as view

    grow, ship = checkin_rows(data)
    real = actions.record_checkin

    def flaky(**kwargs: Any) -> Any:
        if kwargs["key_result"].pk == ship.pk:
            raise ValidationError({"done": "The milestone refuses today."})
        return real(**kwargs)

    monkeypatch.setattr(view, "record_checkin", flaky)
    before = CheckIn.objects.count()
    response = client_for(data.org.member).post(
        "/teams/depot/checkin/",
        {f"kr-{grow.pk}-value": "44", f"kr-{ship.pk}-done": "yes"},
    )
    assert "The milestone refuses today." in response.content.decode()
    assert CheckIn.objects.count() == before
    grow.refresh_from_db()
    assert grow.current != 44


def test_checkin_after_the_cycle_ended_is_kept_as_a_late_update(data: SimpleNamespace) -> None:
    cycle = data.org.cycle
    cycle.end = timezone.now().date() - timedelta(days=1)
    cycle.save()
    grow, _ship = checkin_rows(data)
    response = client_for(data.org.member).post(
        "/teams/depot/checkin/", {f"kr-{grow.pk}-value": "44"}, follow=True
    )
    assert "kept as a late update" in response.content.decode()
    grow.refresh_from_db()
    assert grow.current == 44


def test_empty_checkin_saves_nothing(data: SimpleNamespace) -> None:
    before = CheckIn.objects.count()
    response = client_for(data.org.member).post("/teams/depot/checkin/", {}, follow=True)
    assert "Nothing to check in" in response.content.decode()
    assert CheckIn.objects.count() == before


# KPIs ----------------------------------------------------------------------------------------


def test_kpi_create_checks_thresholds(data: SimpleNamespace) -> None:
    client = client_for(data.org.member)
    base = {"name": "Damage rate", "team": data.org.depot.pk, "direction": "down",
            "tier": "key", "cadence": "weekly"}  # fmt: skip
    bad = client.post("/kpis/new/", {**base, "target": "2", "warning": "1", "critical": "5"})
    assert "warning" in bad.context["form"].errors
    client.post("/kpis/new/", {**base, "target": "2", "warning": "3", "critical": "5"})
    assert Kpi.objects.get(name="Damage rate").key == "damage-rate"


def test_push_measurement_errors_and_success(data: SimpleNamespace) -> None:
    kpi = data.kpis[1]
    client = client_for(data.org.member)
    url = f"/kpis/{kpi.key}/"
    future = (timezone.now() + timedelta(days=3)).date().isoformat()
    response = client.post(url, {"action": "measure", "at": future, "value": "80"})
    assert "This day is in the future." in response.content.decode()
    response = client.post(url, {"action": "measure", "at": "yesterday", "value": "inf"})
    assert {"at", "value"} <= set(response.context["measure_form"].errors)
    today = timezone.now().date().isoformat()
    client.post(url, {"action": "measure", "at": today, "value": "80", "note": "Storm"})
    kpi.refresh_from_db()
    assert kpi.health == "critical"
    assert kpi.latest_value == 80
    assert Measurement.objects.filter(kpi=kpi, note="Storm").exists()


def test_critical_kpi_is_suggested_and_promoted(data: SimpleNamespace) -> None:
    kpi = data.kpis[1]
    client_for(data.org.member).post(
        f"/kpis/{kpi.key}/",
        {"action": "measure", "at": timezone.now().date().isoformat(), "value": "80"},
    )
    lead = client_for(data.org.lead)
    home = lead.get("/").content.decode()
    assert "Suggested key results" in home
    assert kpi.name in home
    page = lead.get(f"/kpis/{kpi.key}/").content.decode()
    assert "Suggested key result." in page
    assert 'id="promote"' in page
    before = list(KeyResult.objects.values_list("pk", "version").order_by("pk"))
    asked = lead.post(
        f"/kpis/{kpi.key}/", {"action": "promote", "objective": data.objective.pk, "target": ""}
    )
    # First the objective's score before and after; nothing is promoted yet.
    preview = asked.context["promotion"]
    assert preview.key_result_score == 0.0
    assert preview.score_after <= preview.score_before
    assert "Yes, promote" in asked.content.decode()
    assert list(KeyResult.objects.values_list("pk", "version").order_by("pk")) == before
    response = lead.post(
        f"/kpis/{kpi.key}/",
        {"action": "promote-confirmed", "objective": data.objective.pk, "target": ""},
    )
    assert response["Location"] == f"/objectives/{data.objective.key}/"
    kr = KeyResult.objects.get(objective=data.objective, kpi=kpi)
    assert (kr.start, kr.target, kr.kind) == (80, 95, "increase")
    again = lead.post(f"/kpis/{kpi.key}/", {"action": "promote", "objective": data.objective.pk})
    assert "already has a key result linked" in again.content.decode()
    assert kpi.name not in lead.get("/").content.decode().split("Suggested key results")[-1]


def test_members_cannot_promote(data: SimpleNamespace) -> None:
    before = list(KeyResult.objects.values_list("pk", "kpi_id", "version").order_by("pk"))
    response = client_for(data.org.member).post(
        f"/kpis/{data.kpis[1].key}/", {"action": "promote", "objective": data.objective.pk}
    )
    assert response.status_code == 403
    assert list(KeyResult.objects.values_list("pk", "kpi_id", "version").order_by("pk")) == before


def test_kpi_edit_refreshes_health(data: SimpleNamespace) -> None:
    kpi = data.kpis[0]
    form = {"name": kpi.name, "team": kpi.team_id, "owner": kpi.owner_id, "direction": "up",
            "target": "99", "warning": "98", "critical": "97.5", "tier": "key",
            "cadence": "weekly", "unit": "%"}  # fmt: skip
    client_for(data.org.lead).post(f"/kpis/{kpi.key}/edit/", form)
    kpi.refresh_from_db()
    assert kpi.health == "critical"
    assert kpi.warning == 98


# Review ------------------------------------------------------------------------------------


def test_reflections_are_saved_until_the_cycle_closes(data: SimpleNamespace) -> None:
    url = f"/cycles/{data.org.cycle.key}/review/"
    member = client_for(data.org.member)
    member.post(url, {"action": "save", f"reflection-{data.objective.key}": "Routing helped."})
    data.objective.refresh_from_db()
    assert data.objective.reflection == "Routing helped."
    outsider = client_for(data.org.outsider)
    refused = outsider.post(url, {"action": "save", f"reflection-{data.objective.key}": "x"})
    assert refused.status_code == 403


def test_close_cycle_lists_missing_reflections_and_keeps_typed_text(data: SimpleNamespace) -> None:
    url = f"/cycles/{data.org.cycle.key}/review/"
    admin = client_for(data.org.admin)
    committed = Objective.objects.filter(cycle=data.org.cycle, type="committed").order_by("key")
    assert committed
    assert data.objective not in committed
    key = data.objective.key
    response = admin.post(url, {"action": "close", f"reflection-{key}": "Kept this text"})
    body = response.content.decode()
    assert "need a reflection" in body
    assert committed[0].title in body
    assert "Kept this text" in body
    assert not Cycle.objects.get(pk=data.org.cycle.pk).is_closed
    form = {"action": "close", **{f"reflection-{o.key}": f"Notes on {o.key}" for o in committed}}
    asked = admin.post(url, form).content.decode()
    assert "Yes, close" in asked  # first the confirmation, naming what closing freezes
    assert "Notes on" in asked  # the typed reflections wait in their boxes
    assert not Cycle.objects.get(pk=data.org.cycle.pk).is_closed
    done = admin.post(url, {**form, "action": "close-confirmed"})
    assert done.status_code == 302
    cycle = Cycle.objects.get(pk=data.org.cycle.pk)
    assert cycle.is_closed
    assert Objective.objects.filter(cycle=cycle, grade__isnull=True).count() == 0
    page = admin.get(url).content.decode()
    assert "Reopen cycle" in page
    assert "<textarea" not in page
    admin.post(url, {"action": "reopen"})
    assert not Cycle.objects.get(pk=cycle.pk).is_closed


# People, teams, cycles ---------------------------------------------------------------------


def test_invite_person_with_link_or_password(data: SimpleNamespace) -> None:
    admin = client_for(data.org.admin)
    response = admin.post(
        "/people/new/",
        {"name": "Nia New", "email": "Nia@Acme.test", "team": data.org.depot.pk, "role": "lead"},
    )
    body = response.content.decode()
    assert "/accounts/password/reset/key/" in body
    nia = Person.objects.get(email="nia@acme.test")
    assert not nia.has_usable_password()
    assert Membership.objects.get(person=nia).role == "lead"
    duplicate = admin.post("/people/new/", {"name": "Again", "email": "nia@acme.test"})
    assert "email" in duplicate.context["form"].errors
    weak = admin.post("/people/new/", {"name": "Weak", "email": "w@acme.test", "password": "123"})
    assert "password" in weak.context["form"].errors
    admin.post(
        "/people/new/",
        {"name": "Pat Pass", "email": "pat@acme.test", "password": "a-long-test-password-9"},
    )
    assert Client().login(email="pat@acme.test", password="a-long-test-password-9")


def test_password_link_lets_the_person_set_a_password(data: SimpleNamespace) -> None:
    response = client_for(data.org.admin).post(
        "/people/new/", {"name": "Lin Link", "email": "lin@acme.test"}
    )
    link = response.context["link"]
    path = link.split("://", 1)[1].split("/", 1)[1]
    stranger = Client()
    step = stranger.get("/" + path, follow=True)
    assert step.status_code == 200
    final_url = step.redirect_chain[-1][0] if step.redirect_chain else "/" + path
    stranger.post(
        final_url,
        {"password1": "another-long-password-7", "password2": "another-long-password-7"},
    )
    assert Client().login(email="lin@acme.test", password="another-long-password-7")


def test_teams_and_memberships(data: SimpleNamespace) -> None:
    admin = client_for(data.org.admin)
    orphan = admin.post("/teams/new/", {"name": "Night", "key": "night", "kind": "team",
                                        "checkin_cadence_days": "7"})  # fmt: skip
    assert "parent" in orphan.context["form"].errors
    admin.post("/teams/new/", {"name": "Night", "key": "night", "kind": "team",
                               "parent": data.org.ops.pk, "checkin_cadence_days": "7"})  # fmt: skip
    night = Team.objects.get(key="night")
    admin.post("/teams/night/", {"person": data.org.viewer.pk, "role": "member"})
    membership = Membership.objects.get(team=night, person=data.org.viewer)
    assert membership.role == "member"
    page = admin.get("/teams/").content.decode()
    assert "Night" in page
    assert "Vi Viewer" in page
    admin.post("/teams/night/", {"remove": str(membership.pk)})
    assert not Membership.objects.filter(team=night).exists()


def test_cycles_are_created_and_activated(data: SimpleNamespace) -> None:
    admin = client_for(data.org.admin)
    bad = admin.post("/cycles/new/", {"key": "2027-Q2", "start": "2027-06-30", "end": "2027-04-01"})
    assert "end" in bad.context["form"].errors
    admin.post(
        "/cycles/new/",
        {"key": "2027-Q2", "name": "Q2", "start": "2027-04-01", "end": "2027-06-30",
         "state": "planning"},
    )  # fmt: skip
    admin.post(
        "/cycles/2027-Q2/edit/",
        {"name": "Q2", "start": "2027-04-01", "end": "2027-06-30", "state": "active"},
    )
    assert Cycle.objects.get(key="2027-Q2").state == "active"


def test_quick_selects_render_what_django_selects_render(data: SimpleNamespace) -> None:
    import re

    from django import forms as django_forms

    from headway.kpis.models import Kpi
    from headway.web.forms import QuickSelect, QuickSelectMultiple

    Kpi.objects.filter(pk=data.kpis[0].pk).update(name="Rate <b>&amp; more</b>")

    def options(html: str) -> list[tuple[str, bool, str]]:
        found = re.findall(r'<option value="([^"]*)"([^>]*)>([^<]*(?:<[^/][^<]*)*)</option>', html)
        return [(value, "selected" in rest, label) for value, rest, label in found]

    for django_widget, quick_widget, value in (
        (django_forms.Select, QuickSelect, data.kpis[0].pk),
        (django_forms.SelectMultiple, QuickSelectMultiple, [data.kpis[0].pk, data.kpis[1].pk]),
        (django_forms.Select, QuickSelect, None),
    ):
        field_class = (
            django_forms.ModelMultipleChoiceField
            if django_widget is django_forms.SelectMultiple
            else django_forms.ModelChoiceField
        )
        plain = field_class(queryset=Kpi.objects.order_by("name"), widget=django_widget)
        quick = field_class(queryset=Kpi.objects.order_by("name"), widget=quick_widget)
        expected = plain.widget.render("kpi", value, {"id": "id_kpi"})
        got = quick.widget.render("kpi", value, {"id": "id_kpi"})
        assert len(options(expected)) >= 2  # the pattern reads real options
        assert options(got) == options(expected)
        assert "&lt;b&gt;" in got  # labels are escaped
        assert ("multiple" in got) == (django_widget is django_forms.SelectMultiple)
        assert 'id="id_kpi"' in got
