"""Notifications are worded once, when they happen, and read in each recipient's language."""

from __future__ import annotations

import ast
import json
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import translation

from headway.notify import events
from headway.notify.channels import webhook_body
from headway.notify.delivery import drain
from headway.notify.models import Event
from headway.okrs.actions import record_checkin
from headway.okrs.models import KeyResult, Objective
from headway.words import Number, Says, _, ngettext, pack, unpack
from tests.code_scan import bare_english, called, project_calls

NOW = datetime(2027, 2, 15, 12, tzinfo=UTC)


@pytest.fixture(autouse=True)
def loud(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events, "RAISE_ERRORS", True)


def _off_track(org: Any) -> KeyResult:
    objective = Objective.objects.create(
        key="calm", cycle=org.cycle, team=org.depot, owner=org.lead, title="Calm depot"
    )
    kr = KeyResult.objects.create(
        objective=objective, key="otd", title="On-time delivery", unit="%", start=80,
        target=96, owner=org.member,
    )  # fmt: skip
    with time_machine.travel(NOW, tick=False):
        record_checkin(key_result=kr, by=org.member, value=82.5, confidence=4)
    return kr


def test_a_packed_sentence_comes_back_whole() -> None:
    said = _(
        "%(kpi)s is %(value)s: health went from %(was)s to %(health)s.",
        kpi="On-time delivery",
        value=Says("%(number)s%(unit)s", number=Number(82.5, ".4g"), unit="%"),
        was=_("healthy"),
        health=ngettext("%(n)s day", "%(n)s days", 3),
    )
    again = unpack(json.loads(json.dumps(pack(said))))
    assert isinstance(again, Says)
    assert again == said == "On-time delivery is 82.5%: health went from healthy to 3 days."
    assert pack(again) == pack(said)
    assert unpack(pack("typed by someone")) == "typed by someone"


@pytest.mark.django_db
def test_a_german_recipient_reads_the_email_in_german_and_the_event_stays_english(
    org: Any,
) -> None:
    org.lead.language = "de"
    org.lead.save(update_fields=["language"])
    _off_track(org)
    with time_machine.travel(NOW, tick=False):
        assert drain(worker_id="test").sent == 1
    [message] = mail.outbox
    assert message.subject == "[Headway] Nicht im Plan: „On-time delivery“"
    assert "„On-time delivery“ steht bei 0,16, erwartet waren bis jetzt 0,51" in message.body, (
        message.body
    )
    for line in ("Score: 0,16", "Start → Zielwert: 80% → 96%", "Aktueller Wert: 82,5%"):
        assert line in message.body, message.body
    # Stored once, in English, for programs and for the record.
    event = Event.objects.get(kind="kr_off_track")
    assert event.title == "Off track: “On-time delivery”"
    assert event.summary.startswith("“On-time delivery” scores 0.16 where 0.51 was expected")
    assert ["Current value", "82.5%"] in event.data["facts"]


@pytest.mark.django_db
def test_the_inbox_says_each_notification_in_its_readers_language(org: Any) -> None:
    _off_track(org)
    client = Client()
    client.force_login(org.lead)
    for language, title, fact in (
        ("en", "Off track: “On-time delivery”", "82.5%"),
        ("de", "Nicht im Plan: „On-time delivery“", "82,5%"),
        ("fr", "Hors trajectoire : « On-time delivery »", "82,5%"),
    ):
        org.lead.language = language
        org.lead.save(update_fields=["language"])
        page = client.get("/inbox/").content.decode()
        assert title in page, language
        assert fact in page, language


@pytest.mark.django_db
def test_a_webhook_speaks_to_people_in_a_language_and_to_programs_in_english(org: Any) -> None:
    _off_track(org)
    event = Event.objects.get(kind="kr_off_track")
    with translation.override("fr"):
        body = webhook_body(event)
    assert body["title"] == "Hors trajectoire : « On-time delivery »"
    assert body["text"].startswith("Hors trajectoire")
    assert body["headway"]["title"] == "Off track: “On-time delivery”"
    assert ["Current value", "82.5%"] in body["headway"]["facts"]


@pytest.mark.django_db
def test_an_event_recorded_before_its_words_were_kept_reads_as_stored(org: Any) -> None:
    _off_track(org)
    event = Event.objects.get(kind="kr_off_track")
    del event.data["said"]
    with translation.override("de"):
        assert event.said_title == event.title
        assert event.said_summary == event.summary
        assert ("Aktueller Wert", "82.5%") in event.said_facts  # labels are message ids


@pytest.mark.django_db
def test_every_event_of_the_demo_keeps_how_its_title_was_worded() -> None:
    from headway.demo import load_demo

    load_demo()
    kinds = set()
    for event in Event.objects.all():
        said = event.data["said"]
        assert isinstance(said["title"], dict), (event.kind, event.title)
        # A mention's summary is the comment's own words; every other is worded by Headway.
        if event.summary and event.kind != "mentioned":
            assert isinstance(said["summary"], dict), (event.kind, event.summary)
        assert len(said["facts"]) == len(event.data["facts"])
        kinds.add(event.kind)
    assert {"kpi_health", "kpi_promotion"} <= kinds


#: Calls whose result keeps its words (headway.words), or a name bound to one.
WORDED = frozenset({"_", "ngettext", "Says", "said_label"})


def test_every_notification_sentence_keeps_its_words() -> None:
    """A Draft's title and summary are sentences said again per recipient, never bare text.

    (A title or summary given by name is checked where the name is built: the mention's
    summary is the comment's own words, the data sources' `_draft` gets `_()` calls.)"""
    found = []
    for path, call in project_calls():
        name = called(call)
        if name not in {"Draft", "_draft"} or not isinstance(call.func, ast.Name):
            continue
        words = [k.value for k in call.keywords if k.arg in {"title", "summary"}]
        if name == "_draft":  # (source, kind, key, title, summary, facts, at)
            words += call.args[3:5]
        found += [f"{path.name}:{w.lineno}" for w in words if bare_english(w, WORDED)]
    assert not found, f"notification text not kept as a sentence: {found}"
