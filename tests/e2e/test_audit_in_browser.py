"""The auditor in a real browser: the demo's finished batch as it stood before its exam.

ma_audit searches the finished batch, opens its record, finds the exam in the timeline and opens the
as-of view at the event before it: the diagram marks the exam task as the one waiting, the data has
no scores yet and the exam office's task is the ready one. Then they step forward and back with the
keyboard, compare two events, verify the case and look at the access log. Screenshots go to
``tests/e2e/artifacts/audit-*.png``.
"""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.e2e.conftest import screenshot, sign_in


def diagram_ready(page: Any) -> None:
    expect(page.locator("body")).to_have_attribute("data-diagram", "ready")


def marker(page: Any, element_id: str) -> Any:
    return page.locator(f'g.djs-element[data-element-id="{element_id}"]')


def test_the_finished_batch_as_it_stood_before_its_exam(page: Any) -> None:
    sign_in(page, "ma_audit")
    page.click("#nav-audit")
    expect(page.locator("h1")).to_have_text("Audit: find a case")
    page.fill("#f-batch", "first batch")
    page.click("#search-button")
    results = page.locator("#audit-results tbody tr")
    expect(results).to_have_count(1)
    screenshot(page, "audit-1-search")
    results.first.locator("a").first.click()

    expect(page.locator("#explanations tbody tr")).to_have_count(20)
    expect(page.locator('#explanations tr[data-candidate="d06"] [data-figure="votes"]')).to_have_text("12")
    exam_row = page.locator("#timeline tbody tr", has_text="completed record_exam_scores")
    expect(exam_row).to_have_count(1)
    exam = int(exam_row.get_attribute("data-seq"))
    screenshot(page, "audit-2-record")

    before = page.locator(f'#timeline tbody tr[data-seq="{exam - 1}"] a.as-of-link')
    before.scroll_into_view_if_needed()
    before.click()
    expect(page).to_have_url(re.compile(rf"/at/{exam - 1}$"))
    diagram_ready(page)
    expect(marker(page, "record_exam_scores")).to_have_class(re.compile(r"\bcf-active\b"))
    expect(marker(page, "democratic_recommendation")).to_have_class(re.compile(r"\bcf-done\b"))
    expect(marker(page, "inspect_candidate")).to_have_class(re.compile(r"\bcf-future\b"))
    expect(page.locator("#waiting-tasks tbody tr")).to_have_count(1)
    exam_task = page.locator('#waiting-tasks tr[data-element="record_exam_scores"]')
    expect(exam_task).to_contain_text("Exam office")
    expect(page.locator('#as-of-data tr[data-key="remaining"]')).to_have_count(1)
    expect(page.locator('#as-of-data tr[data-key="exam_scores"]')).to_have_count(0)
    expect(page.locator('#as-of-data tr[data-key="admitted"]')).to_have_count(0)
    expect(page.locator(".bjs-powered-by")).to_be_visible()  # the bpmn.io watermark stays
    screenshot(page, "audit-3-as-of-before-exam")

    page.keyboard.press("ArrowRight")  # the exam's own event: scores in, the task done
    expect(page).to_have_url(re.compile(rf"/at/{exam}$"))
    diagram_ready(page)
    expect(marker(page, "record_exam_scores")).to_have_class(re.compile(r"\bcf-done\b"))
    expect(page.locator('#event-changes tr[data-path="scores"]')).to_have_attribute("data-kind", "added")
    screenshot(page, "audit-4-as-of-exam")
    page.keyboard.press("ArrowLeft")
    expect(page).to_have_url(re.compile(rf"/at/{exam - 1}$"))
    diagram_ready(page)
    expect(marker(page, "record_exam_scores")).to_have_class(re.compile(r"\bcf-active\b"))

    page.fill("#diff-from", str(exam - 1))
    page.fill("#diff-to", str(exam + 3))
    page.click("#diff-button")
    expect(page.locator('#diff-changes tr[data-path="exam_scores"]')).to_have_attribute("data-kind", "added")
    screenshot(page, "audit-5-diff")

    page.click("#link-record")
    page.click("#verify-button")
    expect(page.locator("#verify-result")).to_have_attribute("data-ok", "true")
    screenshot(page, "audit-6-verified")

    page.click("#link-log")
    rows = page.locator("#access-log tbody tr")
    for action in ("view", "as_of", "diff", "verify"):
        expect(rows.filter(has=page.locator(f'xpath=self::*[@data-action="{action}"]')).first).to_be_visible()
    screenshot(page, "audit-7-access-log")
