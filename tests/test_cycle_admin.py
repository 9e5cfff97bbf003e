"""Safe cycle admin (issue 19): active cycles nest or stay apart, the pages open the cycle
running today, and closing asks first, naming what it freezes and warning when it is early."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from headway.okrs.actions import create_cycle, reopen_cycle, update_cycle
from headway.okrs.models import Cycle, KeyResult, Objective

NOW = datetime(2027, 2, 15, 12, tzinfo=UTC)
pytestmark = [pytest.mark.django_db, pytest.mark.frozen(NOW)]


def states() -> list[tuple[str, str, date, date]]:
    return list(Cycle.objects.order_by("key").values_list("key", "state", "start", "end"))


def signed_in(person: Any) -> Client:
    client = Client()
    client.force_login(person)
    return client


def test_an_active_cycle_overlapping_another_in_part_is_refused_and_nothing_changes(
    org: Any,
) -> None:
    before = states()
    with pytest.raises(ValidationError, match="overlaps these dates in part"):
        create_cycle(
            by=org.admin, key="odd", start=date(2027, 2, 1), end=date(2027, 4, 30),
            state="active",
        )  # fmt: skip
    with pytest.raises(ValidationError, match="covers the same days"):
        create_cycle(
            by=org.admin, key="twin", start=date(2027, 1, 1), end=date(2027, 3, 31),
            state="active",
        )  # fmt: skip
    assert states() == before
    # Planning may overlap (it is next quarter's draft); making it active is refused.
    draft = create_cycle(by=org.admin, key="odd", start=date(2027, 2, 1), end=date(2027, 4, 30))
    with_draft = states()
    with pytest.raises(ValidationError, match="active cycles nest"):
        update_cycle(by=org.admin, cycle=draft, state="active")
    assert states() == with_draft


def test_a_year_and_its_quarter_may_be_active_together_and_apart_cycles_too(org: Any) -> None:
    create_cycle(
        by=org.admin, key="2027", start=date(2027, 1, 1), end=date(2027, 12, 31), state="active"
    )
    create_cycle(
        by=org.admin, key="2027-Q2", start=date(2027, 4, 1), end=date(2027, 6, 30),
        state="active",
    )  # fmt: skip
    assert Cycle.objects.filter(state="active").count() == 3


def test_reopening_a_cycle_that_would_overlap_an_active_one_is_refused(org: Any) -> None:
    from headway.okrs.actions import close_cycle

    close_cycle(cycle=org.cycle, by=org.admin)
    create_cycle(
        by=org.admin, key="again", start=date(2027, 1, 1), end=date(2027, 3, 31), state="active"
    )
    before = states()
    with pytest.raises(ValidationError, match="covers the same days"):
        reopen_cycle(cycle=Cycle.objects.get(key="2027-Q1"), by=org.admin)
    assert states() == before


def test_the_pages_open_the_cycle_running_today_not_a_future_one_made_active(org: Any) -> None:
    create_cycle(
        by=org.admin, key="2027-Q2", start=date(2027, 4, 1), end=date(2027, 6, 30),
        state="active",
    )  # fmt: skip
    create_cycle(
        by=org.admin, key="2027", start=date(2027, 1, 1), end=date(2027, 12, 31), state="active"
    )

    def current(day: date) -> str | None:
        found = Cycle.objects.current(day)
        return found.key if found else None

    assert current(date(2027, 2, 15)) == "2027-Q1"  # the quarter, not its year
    assert current(date(2027, 5, 1)) == "2027-Q2"
    assert current(date(2026, 12, 1)) == "2027"  # none started yet: the next to start
    response = signed_in(org.member).get("/cycles/")
    assert response.status_code == 302
    assert response["Location"].endswith("/cycles/2027-Q1/")


def test_closing_asks_first_names_what_it_freezes_and_warns_that_it_is_early(org: Any) -> None:
    objective = Objective.objects.create(
        key="calm", cycle=org.cycle, team=org.depot, owner=org.member, title="Calm depot",
        type="aspirational",
    )  # fmt: skip
    KeyResult.objects.create(objective=objective, key="a", title="A", start=0, target=10)
    admin = signed_in(org.admin)
    url = f"/cycles/{org.cycle.key}/review/"
    asked = admin.post(url, {"action": "close"})
    page = asked.content.decode()
    assert asked.status_code == 200
    assert "freezes the scores of its 1 objective and 1 key result" in page
    assert "It is early:" in page
    assert "45 more days" in page  # 15 Feb to 31 Mar inclusive
    assert Cycle.objects.get(pk=org.cycle.pk).state == "active"
    done = admin.post(url, {"action": "close-confirmed"})
    assert done.status_code == 302
    assert Cycle.objects.get(pk=org.cycle.pk).is_closed


def test_a_lead_is_refused_the_close_confirmation_and_nothing_changes(org: Any) -> None:
    refused = signed_in(org.lead).post(f"/cycles/{org.cycle.key}/review/", {"action": "close"})
    assert refused.status_code == 403
    assert Cycle.objects.get(pk=org.cycle.pk).state == "active"


def test_new_cycle_is_offered_where_cycles_are_listed_and_settings_in_the_navigation(
    org: Any,
) -> None:
    admin_page = signed_in(org.admin).get(f"/cycles/{org.cycle.key}/").content.decode()
    assert 'href="/cycles/new/"' in admin_page
    member_page = signed_in(org.member).get(f"/cycles/{org.cycle.key}/").content.decode()
    assert 'href="/cycles/new/"' not in member_page
    nav = member_page[member_page.index('class="mainnav"') : member_page.index("</nav>")]
    assert ">Settings</a>" in nav
