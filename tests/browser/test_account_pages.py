"""allauth's pages (password, two-factor, sessions) in Headway's layout, without console errors."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-password"


def test_account_pages_wear_headways_look(
    page: Any, live_server: Any, org: Any, console: list[str], shoot: Any
) -> None:
    page.goto(f"{live_server.url}/accounts/password/reset/")
    assert page.locator("link[href*='headway.css']").count() == 1
    expect(page.locator("main.auth.card h1")).to_be_visible()
    shoot("account-password-reset")
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_login", org.member.email)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")
    page.get_by_role("link", name="Security").click()
    expect(page.locator("main.manage.card")).to_be_visible()
    expect(page.get_by_role("link", name="Headway")).to_be_visible()  # Headway's own top bar
    shoot("account-two-factor")
    for path, name in (
        ("/accounts/2fa/totp/activate/", "account-two-factor-activate"),
        ("/accounts/password/change/", "account-password-change"),
        ("/accounts/sessions/", "account-sessions"),
    ):
        page.goto(f"{live_server.url}{path}")
        assert page.locator("main.card h1").count() == 1, path
        assert page.locator(".button").count() >= 1, path
        shoot(name)
    page.goto(f"{live_server.url}/accounts/2fa/totp/activate/")
    expect(page.locator("img[src^='data:image/svg+xml']")).to_be_visible()  # the QR code
