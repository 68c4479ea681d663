"""Following the demo's cadre in the browser: the pool, their file, their case's diagram over the
years, ending as appointed (used)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from engine.demo import FOLLOWED
from tests.e2e.conftest import screenshot, sign_in


def test_a_cadre_from_admission_through_assessment_to_appointment(page: Any) -> None:
    sign_in(page, "li_org")
    page.goto("/pool")
    screenshot(page, "cadre-01-pool")
    page.locator(f"a[href='/pool/{FOLLOWED}']").first.click()
    expect(page.locator("#cadre-status")).to_have_attribute("data-status", "used")
    screenshot(page, "cadre-02-file")
    page.locator("#case-link").click()
    page.wait_for_selector("body[data-diagram=ready]")
    expect(page.locator("#case-status")).to_have_attribute("data-status", "finished")
    assert page.locator("tr[data-type='cycle.started']").count() == 1  # a second year began
    assert page.locator("tr[data-type='message.received']").count() >= 1  # the appointment arrived
    assert page.locator(".cf-done").count() > 5
    expect(page.locator(".bjs-powered-by")).to_be_visible()
    screenshot(page, "cadre-03-case-appointed")
