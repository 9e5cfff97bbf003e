"""The outbox: invitations and password resets are e-mails the worker sends; admins read them."""

from __future__ import annotations

import re
import socket
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from headway.notify.models import DeliveryStatus, MailKind, OutboxMail
from headway.notify.outbox import invitation_states, send_due
from headway.teams.models import Person

pytestmark = pytest.mark.django_db


def signed_in(person: Any) -> Client:
    client = Client()
    client.force_login(person)
    return client


def link_in(body: str) -> str:
    found = re.search(r"https?://\S+/password/reset/key/\S+", body)
    assert found, body
    return found.group(0)


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def set_password(client: Client, link: str, password: str) -> Any:
    step = client.get(path_of(link), follow=True)
    assert step.status_code == 200
    final = step.redirect_chain[-1][0] if step.redirect_chain else path_of(link)
    return client.post(final, {"password1": password, "password2": password}, follow=True)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # closed again: connecting is refused


def test_inviting_sends_an_email_with_a_single_use_link_that_signs_in(org: Any) -> None:
    page = signed_in(org.admin).post("/people/new/", {"name": "Nia New", "email": "nia@acme.test"})
    assert page.status_code == 200
    nia = Person.objects.get(email="nia@acme.test")
    [queued] = OutboxMail.objects.all()
    assert (queued.kind, queued.status, queued.to) == ("invitation", "pending", "nia@acme.test")
    assert mail.outbox == []  # the page sent nothing itself
    assert invitation_states([nia])[nia.pk].state == "queued"

    assert send_due(worker_id="test").sent == 1
    [message] = mail.outbox
    assert message.to == ["nia@acme.test"]
    assert "Ada Admin invited you" in message.subject
    link = link_in(str(message.body))
    queued.refresh_from_db()
    assert queued.status == "sent"
    assert invitation_states([nia])[nia.pk].state == "sent"

    stranger = Client()
    done = set_password(stranger, link, "a-brand-new-password-4")
    assert done.status_code == 200
    assert stranger.get("/").wsgi_request.user == nia  # signed in by setting the password
    nia.refresh_from_db()
    assert nia.check_password("a-brand-new-password-4")
    assert invitation_states([nia])[nia.pk].state == "accepted"
    # Single use: the same link no longer sets a password.
    again = set_password(Client(), link, "yet-another-password-5")
    nia.refresh_from_db()
    assert nia.check_password("a-brand-new-password-4")
    assert "yet-another" not in again.content.decode()


def test_unreachable_smtp_never_turns_the_password_reset_into_a_500(
    org: Any, settings: Any
) -> None:
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": closed_port(), "timeout": 2},
        }
    }
    answer = Client().post("/accounts/password/reset/", {"email": org.member.email})
    assert answer.status_code == 302
    [queued] = OutboxMail.objects.all()
    assert (queued.kind, queued.person, queued.status) == ("password_reset", org.member, "pending")
    stats = send_due(worker_id="test")
    assert (stats.sent, stats.retrying) == (0, 1)
    queued.refresh_from_db()
    assert (queued.status, queued.attempts) == ("pending", 1)
    assert "Connection" in queued.last_error or "refused" in queued.last_error.lower()
    assert queued.next_attempt_at > queued.created_at  # waits for the back-off


def test_failed_invitation_is_shown_and_resent_with_a_fresh_link(org: Any, settings: Any) -> None:
    settings.HEADWAY_NOTIFY_MAX_ATTEMPTS = 1
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": closed_port(), "timeout": 2},
        }
    }
    admin = signed_in(org.admin)
    admin.post("/people/new/", {"name": "Fay Fail", "email": "fay@acme.test"})
    assert send_due(worker_id="test").failed == 1
    page = admin.get("/admin-tools/invitations").content.decode()
    assert "fay@acme.test" in page
    assert "failed" in page
    fay = Person.objects.get(email="fay@acme.test")
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    resent = admin.post("/admin-tools/invitations", {"person": fay.pk}, follow=True)
    assert "on its way" in resent.content.decode()
    assert send_due(worker_id="test").sent == 1
    assert invitation_states([fay])[fay.pk].state == "sent"
    assert OutboxMail.objects.filter(person=fay, kind="invitation").count() == 2


def test_resending_to_someone_who_accepted_is_refused_and_changes_nothing(org: Any) -> None:
    signed_in(org.admin).post("/people/new/", {"name": "Ace", "email": "ace@acme.test"})
    ace = Person.objects.get(email="ace@acme.test")
    ace.set_password("a-long-test-password-2")
    ace.save()
    before = list(OutboxMail.objects.values_list("pk", "status"))
    answer = signed_in(org.admin).post("/admin-tools/invitations", {"person": ace.pk}, follow=True)
    assert "set a password already" in answer.content.decode()
    assert list(OutboxMail.objects.values_list("pk", "status")) == before


def test_outbox_and_invitations_are_for_admins_only(org: Any) -> None:
    member = signed_in(org.member)
    assert member.get("/admin-tools/outbox").status_code == 403
    assert member.get("/admin-tools/invitations").status_code == 403
    before = OutboxMail.objects.count()
    assert member.post("/admin-tools/invitations", {"person": org.viewer.pk}).status_code == 403
    assert OutboxMail.objects.count() == before


def test_outbox_shows_each_mail_as_sent(org: Any) -> None:
    signed_in(org.admin).post("/people/new/", {"name": "Oli", "email": "oli@acme.test"})
    send_due(worker_id="test")
    page = signed_in(org.admin).get("/admin-tools/outbox").content.decode()
    assert "invited you to Headway" in page
    assert "oli@acme.test" in page
    assert "/accounts/password/reset/key/" in page


def test_a_sending_row_left_by_a_dead_worker_is_failed_not_sent_again(org: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    row = OutboxMail.objects.create(
        kind=MailKind.INVITATION,
        to="x@acme.test",
        subject="s",
        body="b",
        status=DeliveryStatus.SENDING,
        lease_until=timezone.now() - timedelta(seconds=1),
    )
    assert send_due(worker_id="test").sent == 0
    row.refresh_from_db()
    assert row.status == "failed"
    assert "may have been sent" in row.last_error
    assert mail.outbox == []


@pytest.mark.parametrize("count", [3, 30])
def test_outbox_pages_need_a_constant_number_of_queries(
    org: Any, count: int, django_assert_max_num_queries: Any
) -> None:
    for i in range(count):
        someone = Person.objects.create_user(f"p{i}@acme.test", None, name=f"P {i}")
        OutboxMail.objects.create(
            kind=MailKind.INVITATION, to=someone.email, subject="s", body="b", person=someone
        )
    admin = signed_in(org.admin)
    with django_assert_max_num_queries(12):
        assert admin.get("/admin-tools/outbox").status_code == 200
    with django_assert_max_num_queries(12):
        assert admin.get("/admin-tools/invitations").status_code == 200
