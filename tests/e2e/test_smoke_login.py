"""Sign-in and language switching in a real browser."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import screenshot, sign_in


def test_sign_in_and_switch_language(page: Any) -> None:
    page.goto("/login")
    assert page.locator("h1").inner_text() == "Sign in"
    screenshot(page, "login-en")
    sign_in(page, "li_org")
    assert page.locator("#signed-in-as").inner_text() == "li_org"
    page.click("#switch-language")
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    screenshot(page, "after-switch-zh")


def test_wrong_password_is_refused(page: Any) -> None:
    page.goto("/login")
    page.fill("input[name=user_id]", "li_org")
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit].primary")
    assert page.locator("[role=alert]").count() == 1
    assert page.locator("#signed-in-as").count() == 0
