"""A data source's fetch errors are Headway's sentences (`Says`): the English text is stored
in `Source.last_error` as before, and the pages and notifications say it in the reader's
language, with what the server said quoted as it is."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import translation

from headway.kpis.models import Kpi
from headway.notify import events
from headway.notify.models import Event
from headway.sources import actions
from headway.sources.actions import SourceSpec
from headway.sources.kinds import FetchError, Limits
from headway.sources.kinds.http_json import KIND as HTTP_JSON
from headway.sources.models import Source
from headway.words import Says, pack, unpack
from tests.source_servers import Route

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def loud(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events, "RAISE_ERRORS", True)


@pytest.fixture
def failing(org: Any, http_server: Any) -> Any:
    org.member.language = "de"
    org.member.save(update_fields=["language"])
    http_server.routes["/languages/down"] = Route(503, "down", "text/plain")
    org.kpi = Kpi.objects.create(key="sales", name="Sales", team=org.depot, owner=org.member,
                                 cadence="weekly")  # fmt: skip
    org.url = http_server.base + "/languages/down"
    spec = SourceSpec(kind="http_json", config={"url": org.url, "expression": "v"})
    org.source = actions.set_source(by=org.member, kpi=org.kpi, spec=spec)
    return org


def test_a_fetch_error_keeps_what_the_server_said_as_a_parameter(http_server: Any) -> None:
    http_server.routes["/languages/teapot"] = Route(418, "no", "text/plain")
    config = {"url": http_server.base + "/languages/teapot", "expression": "v"}
    with pytest.raises(FetchError) as raised:
        HTTP_JSON.fetch(config, None, Limits())
    said = raised.value.said
    assert isinstance(said, Says)
    assert said.template == "%(where)s answered HTTP %(status)s %(reason)s"
    assert said.params["reason"] == "I'm a Teapot"  # the server's words, not a message id
    again = unpack(json.loads(json.dumps(pack(said))))
    assert (
        again
        == str(raised.value)
        == f"{http_server.base}/languages/teapot answered HTTP 418 I'm a Teapot"
    )


def test_a_failing_source_reads_in_german_and_stays_english_in_last_error(failing: Any) -> None:
    client = Client()
    client.force_login(failing.member)
    ran = client.post("/kpis/sales/source/", {"action": "run"}, follow=True)
    page = ran.content.decode()
    assert f"{failing.url} antwortete mit HTTP 503 Service Unavailable" in page, page
    source = Source.objects.get()
    assert source.state == "failing"
    assert source.last_error == f"{failing.url} answered HTTP 503 Service Unavailable"
    # The notification to the owner: stored in English, read in German.
    event = Event.objects.get(kind="source_failing")
    assert source.last_error in event.summary
    assert ["Error", source.last_error] in event.data["facts"]
    inbox = client.get("/inbox/").content.decode()
    assert f"{failing.url} antwortete mit HTTP 503 Service Unavailable" in inbox, inbox
    assert "ist fehlgeschlagen" in inbox
    # The KPI page's source card says it again from the spell's notification.
    kpi_page = client.get("/kpis/sales/").content.decode()
    assert f"{failing.url} antwortete mit HTTP 503 Service Unavailable" in kpi_page, kpi_page


def test_a_retry_that_fails_otherwise_is_said_as_worded(failing: Any, http_server: Any) -> None:
    client = Client()
    client.force_login(failing.member)
    client.post("/kpis/sales/source/", {"action": "run"})
    http_server.routes["/languages/down"] = Route(500, "broken", "text/plain")
    client.post("/kpis/sales/source/", {"action": "run"})
    source = Source.objects.get()
    assert source.last_error == f"{failing.url} answered HTTP 500 Internal Server Error"
    # The source keeps each error's wording (one notification per spell, its first error).
    kpi_page = client.get("/kpis/sales/").content.decode()
    assert f"{failing.url} antwortete mit HTTP 500 Internal Server Error" in kpi_page
    assert Event.objects.filter(kind="source_failing").count() == 1
    # A stored wording that no longer reads as the English text is not trusted.
    source.last_error = "edited by hand"
    assert source.error_said == "edited by hand"


def test_trying_a_source_says_its_error_in_german(failing: Any) -> None:
    client = Client()
    client.force_login(failing.member)
    tried = client.post(
        "/kpis/sales/source/",
        {"kind": "http_json", "connection": "", "schedule": "", "enabled": "on",
         "action": "preview", "http_json__url": failing.url, "http_json__expression": "v"},
    )  # fmt: skip
    assert tried.status_code == 200
    assert f"{failing.url} antwortete mit HTTP 503 Service Unavailable" in tried.content.decode()


def test_a_config_error_is_said_in_the_readers_language(failing: Any) -> None:
    spec = SourceSpec(kind="http_json", config={"url": failing.url, "expression": ""})
    with translation.override("de"), pytest.raises(ValidationError) as raised:
        actions.check_spec(spec)
    assert raised.value.message_dict["expression"] == ["ist erforderlich"]
    with pytest.raises(ValidationError) as raised:
        actions.check_spec(spec)
    assert raised.value.message_dict["expression"] == ["is required"]
