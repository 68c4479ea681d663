"""A whole selection batch, role by role, through the web forms in a real browser.

Each person signs in, finds their task in the inbox, fills the form like a person would (add-row
buttons, selects, date inputs) and completes it; the test checks the confirmation, a refused form
(error next to the field, task still ready), the case page's diagram and candidates, the batch
overview's charts and the Chinese UI. The inputs are those of
``processes/reserve_selection/tests/happy_path.test.yaml``: quota 2, units dongcheng and xihe,
five nominees (a3 not qualified by the committee, b2 too old), a2 and b1 admitted.

The app runs with an ``engine.clock.ManualClock`` (``manual_clock_app`` in conftest.py) so that the
seven-day notice period can pass at once. Screenshots go to ``tests/e2e/artifacts/batch-*.png``.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from engine import cases
from engine.clock import ManualClock
from tests.e2e.conftest import LiveApp, screenshot, sign_in, sign_out

BATCH = "E2E batch"

DONGCHENG = [  # id, name, birth date, education, service years, political status, opinion, reason
    ("a1", "An Yi", "1990-05-01", "bachelor", "6", "party_member", "qualified", ""),
    ("a2", "An Er", "1992-03-15", "master", "4", "party_member", "qualified", ""),
    ("a3", "An San", "1991-07-09", "bachelor", "5", "party_member", "not_qualified", "under review"),
]
XIHE = [
    ("b1", "Bai Yi", "1988-11-30", "bachelor", "10", "party_member", "qualified", ""),
    ("b2", "Bai Er", "1980-01-01", "bachelor", "20", "party_member", "qualified", ""),  # over 40: dropped
]
PARTICIPANTS = {"dongcheng": 20, "xihe": 10}
VOTES = {"a1": 15, "a2": 12, "b1": 8}
SCORES = {"a1": "85", "a2": "78.5", "b1": "90"}
INSPECTIONS = {
    "a1": ("competent", "Solid record in rural work, respected by colleagues."),
    "a2": ("excellent", "Outstanding in the flood relief project, strong theory."),
    "b1": ("competent", "Reliable, good at mediation of village disputes."),
}
ADMITTED = ["a2", "b1"]
DROPPED = ["a1", "a3", "b2"]


@pytest.fixture(scope="module")
def live_server(manual_clock_app: LiveApp) -> str:
    """This module's ``page`` talks to the app with the manual clock (its own demo database)."""
    return manual_clock_app.url


# ---------------------------------------------------------------------------------------------------
# Helpers


def path(name: str) -> str:
    """The selector of the form control with the engine's field path ``name`` (``votes[0].votes``)."""
    return f'[data-path="{name}"]'


def sign_in_as(page: Any, user: str, shot: str) -> None:
    sign_out(page)
    sign_in(page, user)
    expect(page.locator("#signed-in-as")).to_have_text(user)
    expect(page.locator("h1")).to_have_text("Inbox")
    screenshot(page, shot)


def task_rows(page: Any, element: str, about: str | None = None) -> Any:
    """The inbox rows of ``element`` tasks of this test's batch (optionally about one candidate)."""
    rows = page.locator(f'#inbox-table tr[data-element="{element}"]').filter(
        has=page.locator("td.batch", has_text=BATCH)
    )
    if about is not None:
        rows = rows.filter(has=page.locator("td.about", has_text=f"({about})"))
    return rows


def open_batch(page: Any, name: str) -> None:
    """On the open_batch form: fill it for ``name`` (quota 2, dongcheng and xihe)."""
    expect(page.locator("article.task-page")).to_have_attribute("data-element", "open_batch")
    page.fill(path("batch_name"), name)
    page.fill(path("quota"), "2")
    for unit in ("dongcheng", "xihe"):
        page.check(f'input[name="units[]"][value="{unit}"]')
    page.fill(path("conditions.max_age"), "40")
    page.select_option(path("conditions.min_education"), "bachelor")
    page.fill(path("conditions.min_service_years"), "3")
    page.select_option(path("conditions.political_status"), "party_member")
    page.fill(path("reference_date"), "2027-01-01")
    expect(page.locator(path("notice_period"))).to_have_value("P7D")  # the default, left as is


def open_task(page: Any, element: str, about: str | None = None) -> str:
    """Open the one ready ``element`` task of the batch from the inbox; return its id."""
    row = task_rows(page, element, about)
    expect(row).to_have_count(1)
    task_id = row.get_attribute("data-task-id")
    assert task_id
    row.locator("td.task-name a").click()
    expect(page).to_have_url(re.compile(rf"/tasks/{task_id}$"))
    expect(page.locator("article.task-page")).to_have_attribute("data-element", element)
    expect(page.locator("#task-batch")).to_have_text(BATCH)
    return task_id


def complete(page: Any, shot: str, confirmation: str = BATCH) -> None:
    """Screenshot the filled form, complete it and land in the inbox with the confirmation."""
    screenshot(page, shot)
    page.locator("#complete").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator("p.flash[role=status]")).to_contain_text(confirmation)
    page.wait_for_load_state("load")


def table_rows(page: Any, table: str) -> Any:
    return page.locator(f"#f-{table} > tbody > tr[data-row]")


def fill_nominees(page: Any, nominees: list[tuple[str, ...]]) -> None:
    """Add one row per nominee with the table's "add row" button and fill it."""
    add = page.locator('button[data-form-add="f-nominees"]')
    for index, (cid, name, born, education, years, status, opinion, reason) in enumerate(nominees):
        add.click()
        expect(table_rows(page, "nominees")).to_have_count(index + 1)
        row = f"nominees[{index}]"
        page.fill(path(f"{row}.id"), cid)
        page.fill(path(f"{row}.name"), name)
        page.fill(path(f"{row}.birth_date"), born)
        page.select_option(path(f"{row}.education"), education)
        page.fill(path(f"{row}.service_years"), years)
        page.select_option(path(f"{row}.political_status"), status)
        page.select_option(path(f"{row}.committee_opinion"), opinion)
        if reason:
            page.fill(path(f"{row}.reason"), reason)


def fill_per_candidate(page: Any, table: str, value: str, values: dict[str, str]) -> None:
    """In a prefilled table with a ``candidate`` column, fill column ``value`` of each row by candidate."""
    rows = table_rows(page, table)
    expect(rows).to_have_count(len(values))
    seen = []
    for index in range(rows.count()):
        candidate = page.locator(path(f"{table}[{index}].candidate")).input_value()
        seen.append(candidate)
        page.fill(path(f"{table}[{index}].{value}"), values[candidate])
    assert sorted(seen) == sorted(values)


def nominate_with_one_refusal(page: Any) -> None:
    """uc_dongcheng: first without the reason for a3 (refused, error at the field), then fixed."""
    task_id = open_task(page, "nominate")
    expect(page.locator("#task-unit")).to_have_text("dongcheng")
    without_reason = [row[:7] + ("",) for row in DONGCHENG]
    fill_nominees(page, without_reason)
    screenshot(page, "batch-04-nominate-dongcheng-rows")

    with page.expect_response(
        lambda r: r.request.method == "POST" and r.url.endswith(f"/tasks/{task_id}")
    ) as posted:
        page.locator("#complete").click()
    assert posted.value.status == 422
    expect(page.locator("#problem-summary")).to_be_visible()
    reason = page.locator(path("nominees[2].reason"))
    error = page.locator('[data-error-for="nominees[2].reason"]')
    expect(error).to_be_visible()
    expect(error).not_to_be_empty()
    # Next to that field: in the same table cell, and the field points at it for screen readers.
    expect(page.locator("td", has=reason).locator(".field-error")).to_have_text(error.inner_text())
    error_id = error.get_attribute("id")
    assert error_id and error_id in (reason.get_attribute("aria-describedby") or "").split()
    # What was typed is still there, and no other field is blamed.
    expect(page.locator(path("nominees[0].name"))).to_have_value("An Yi")
    expect(page.locator(path("nominees[2].committee_opinion"))).to_have_value("not_qualified")
    expect(page.locator('.jsonform [data-error-for^="nominees["]:not(:empty)')).to_have_count(1)
    screenshot(page, "batch-05-nominate-dongcheng-refused")
    assert page.request.get(f"/tasks/{task_id}").status == 200  # still ready

    page.fill(path("nominees[2].reason"), DONGCHENG[2][7])
    complete(page, "batch-06-nominate-dongcheng-fixed")


# ---------------------------------------------------------------------------------------------------
# The batch


def test_a_whole_batch_role_by_role(page: Any, manual_clock_app: LiveApp) -> None:
    clock = manual_clock_app.clock
    assert isinstance(clock, ManualClock)

    # 1. The organization department opens the batch.
    sign_in_as(page, "li_org", "batch-01-li_org-inbox")
    page.locator("#start-reserve_selection").click()
    expect(page).to_have_url(re.compile(r"/tasks/[^/]+$"))
    case_href = page.locator("#task-batch a").get_attribute("href")
    assert case_href and re.fullmatch(r"/cases/[^/]+", case_href)
    open_batch(page, BATCH)
    complete(page, "batch-02-open_batch-form", confirmation=f"Completed: Open batch — {BATCH}")

    # 2.–3. The unit committees nominate (one refusal on the way), then hold the recommendation.
    sign_in_as(page, "uc_dongcheng", "batch-03-uc_dongcheng-inbox")
    nominate_with_one_refusal(page)
    expect(task_rows(page, "nominate")).to_have_count(0)
    expect(task_rows(page, "democratic_recommendation")).to_have_count(0)  # waits for every unit

    sign_in_as(page, "uc_xihe", "batch-07-uc_xihe-inbox")
    open_task(page, "nominate")
    expect(page.locator("#task-unit")).to_have_text("xihe")
    fill_nominees(page, XIHE)
    complete(page, "batch-08-nominate-xihe-form")

    open_task(page, "democratic_recommendation")
    page.fill(path("participants"), str(PARTICIPANTS["xihe"]))
    fill_per_candidate(page, "votes", "votes", {"b1": str(VOTES["b1"])})  # b2 was too old
    complete(page, "batch-09-democratic_recommendation-xihe-form")

    sign_in_as(page, "uc_dongcheng", "batch-10-uc_dongcheng-inbox")
    open_task(page, "democratic_recommendation")
    page.fill(path("participants"), str(PARTICIPANTS["dongcheng"]))
    fill_per_candidate(page, "votes", "votes", {c: str(VOTES[c]) for c in ("a1", "a2")})
    complete(page, "batch-11-democratic_recommendation-dongcheng-form")

    # 4. The exam office records the scores.
    sign_in_as(page, "wang_exam", "batch-12-wang_exam-inbox")
    open_task(page, "record_exam_scores")
    fill_per_candidate(page, "scores", "score", SCORES)
    complete(page, "batch-13-record_exam_scores-form")

    # 5. The inspection team inspects each candidate on the list.
    sign_in_as(page, "zhao_insp", "batch-14-zhao_insp-inbox")
    expect(task_rows(page, "inspect_candidate")).to_have_count(len(INSPECTIONS))
    for candidate, (rating, report) in INSPECTIONS.items():
        open_task(page, "inspect_candidate", about=candidate)
        page.select_option(path("rating"), rating)
        page.fill(path("report"), report)
        complete(page, f"batch-15-inspect_candidate-{candidate}-form")
    expect(task_rows(page, "inspect_candidate")).to_have_count(0)

    # 6. The organization department proposes the system's pre-selection as it is.
    sign_in_as(page, "li_org", "batch-16-li_org-inbox")
    open_task(page, "propose_candidates")
    proposed = page.locator('input[name="proposed[]"]')
    expect(proposed).to_have_count(3)
    for candidate in ("a1", "a2", "b1"):
        box = page.locator(f'input[name="proposed[]"][value="{candidate}"]')
        expect(box).to_be_checked(checked=candidate in ADMITTED)  # the pre-selection
    complete(page, "batch-17-propose_candidates-form")

    # 7. Discipline inspection and family planning: no objection (prefilled).
    for user, element, number in (
        ("sun_jw", "discipline_opinion", 18),
        ("zhou_jisheng", "family_planning_opinion", 20),
    ):
        sign_in_as(page, user, f"batch-{number}-{user}-inbox")
        open_task(page, element)
        expect(table_rows(page, "opinions")).to_have_count(len(ADMITTED))
        for index in range(len(ADMITTED)):
            expect(page.locator(path(f"opinions[{index}].opinion"))).to_have_value("no_objection")
        complete(page, f"batch-{number + 1}-{element}-form")

    # 8. The party committee decides — in Chinese.
    sign_in_as(page, "wu_changwei", "batch-22-wu_changwei-inbox")
    open_task(page, "committee_decision")
    page.locator("#switch-language").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page).to_have_url(re.compile(r"/tasks/[^/]+$"))
    expect(page.locator("#task-title")).to_have_text("常委会研究决定")
    expect(page.locator("#task-form h2")).to_have_text("市委常委会研究决定")
    page.fill(path("meeting_date"), "2027-02-20")
    page.fill(path("minute_ref"), "SC-2027-07")
    expect(table_rows(page, "decisions")).to_have_count(len(ADMITTED))
    for index in range(len(ADMITTED)):
        expect(page.locator(path(f"decisions[{index}].decision"))).to_have_value("approve")
    complete(page, "batch-23-committee_decision-form-zh")
    expect(page.locator("p.flash[role=status]")).to_contain_text("已提交")

    # 9. The batch waits for the notice period: the overview and the case page say so.
    sign_in_as(page, "li_org", "batch-24-li_org-inbox-after-decision")
    page.get_by_role("link", name="Batches", exact=True).click()
    expect(page).to_have_url(re.compile(r"/batches$"))
    expect(page.locator("body")).to_have_attribute("data-charts", "ready")
    batch = page.locator("article.batch", has=page.get_by_role("link", name=BATCH, exact=True))
    expect(batch.locator("[data-stage]")).to_have_attribute("data-stage", "publication")
    expect(batch.locator('tr[data-step="approved"] td')).to_have_text("2")
    screenshot(page, "batch-25-batches-waiting-for-notice")
    batch.get_by_role("link", name=BATCH, exact=True).click()
    expect(page).to_have_url(re.compile(rf"{re.escape(case_href)}$"))
    expect(page.locator("body")).to_have_attribute("data-diagram", "ready")
    expect(page.locator("#case-status")).to_have_attribute("data-status", "running")
    expect(page.locator('#diagram [data-element-id="publication"].cf-active')).to_have_count(1)
    screenshot(page, "batch-26-case-waiting-for-notice")

    # The worker (not built yet) fires due timers on the wall clock; here the test moves the app's
    # manual clock past the seven days and fires what fell due itself, as the worker will.
    clock.advance("P7D")
    assert cases.fire_due_timers(manual_clock_app.db, clock.now()) == 1

    page.reload()
    expect(page.locator("body")).to_have_attribute("data-diagram", "ready")
    expect(page.locator("#case-status")).to_have_attribute("data-status", "finished")
    for element in ("start", "open_batch", "nominate", "committee_decision", "publication", "end_admitted"):
        expect(page.locator(f'#diagram [data-element-id="{element}"].cf-done')).to_have_count(1)
    assert page.locator("#diagram .cf-done").count() >= 20
    expect(page.locator("#diagram .cf-active")).to_have_count(0)
    expect(page.locator(".bjs-powered-by")).to_be_visible()
    expect(page.locator("#ready-none")).to_be_visible()
    for candidate in ADMITTED:
        expect(page.locator(f'#candidates tr[data-candidate="{candidate}"]')).to_have_attribute(
            "data-outcome", "admitted"
        )
    for candidate in DROPPED:
        expect(page.locator(f'#candidates tr[data-candidate="{candidate}"]')).to_have_attribute(
            "data-outcome", "dropped"
        )
    screenshot(page, "batch-27-case-finished")

    # 10. The same case page and the overview in Chinese.
    page.locator("#switch-language").click()
    expect(page).to_have_url(re.compile(rf"{re.escape(case_href)}$"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("body")).to_have_attribute("data-diagram", "ready")
    expect(page.locator('#diagram [data-element-id="open_batch"]')).to_contain_text("开启批次")
    expect(page.locator('#diagram [data-element-id="committee_decision"]')).to_contain_text("常委会研究决定")
    expect(page.locator("#case-status")).to_have_text("已结束")
    screenshot(page, "batch-28-case-finished-zh")

    page.goto("/batches")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("body")).to_have_attribute("data-charts", "ready")
    finished = page.locator("article.batch", has=page.get_by_role("link", name=BATCH, exact=True))
    expect(finished.locator('tr[data-step="admitted"] td')).to_have_text("2")
    screenshot(page, "batch-29-batches-zh")


def test_open_batch_confirmation_names_the_batch(page: Any) -> None:
    sign_in_as(page, "li_org", "batch-90-li_org-inbox-second-batch")
    page.locator("#start-reserve_selection").click()
    open_batch(page, "Confirmation check")
    page.locator("#complete").click()
    expect(page).to_have_url(re.compile(r"/$"))
    flash = page.locator("p.flash[role=status]")
    expect(flash).to_contain_text("Completed: Open batch")
    assert flash.inner_text().strip() == "Completed: Open batch — Confirmation check"
