"""The designer in the browser: edit the reserve_selection diagram (rename a task, change a condition),
see a validation problem marked at its element, fix it; change a rule of the `qualification` decision,
see the process tests fail, fix the tests, deploy a new version, see the diff on both diagrams, and
migrate the open batches to it.

One live app per module (its own demo database, wall clock); the tests run in file order, the second
continues from the first's saved draft.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import LiveApp, screenshot, serve_demo, sign_in

PROCESS = "reserve_selection"
CONDITION_FLOW = "flow_gw_qualified_to_democratic_recommendation"
AGE_CELL = "rule_max_age_age"  # the max-age rule's age cell in qualification.dmn


@pytest.fixture(scope="module")
def designer_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    with serve_demo(tmp_path_factory.mktemp("e2e-designer")) as live:
        yield live


@pytest.fixture(scope="module")
def live_server(designer_app: LiveApp) -> str:
    return designer_app.url


def open_editor(page: Any) -> None:
    sign_in(page, "gao_design")
    page.click("#nav-designer")
    page.click(f"tr[data-process={PROCESS}] a:has-text('Edit')")
    page.wait_for_selector("body[data-modeler=ready]")


def select_on_diagram(page: Any, element_id: str) -> None:
    """Click the element on the canvas (scrolled into view through the modeler first)."""
    page.evaluate(
        "id => { const m = window.cadreflowModeler;"
        " m.get('canvas').scrollToElement(m.get('elementRegistry').get(id)); }",
        element_id,
    )
    page.click(f".djs-element[data-element-id={element_id}] .djs-hit", force=True)
    page.wait_for_function(f"document.getElementById('prop-id').value === '{element_id}'")


def save(page: Any) -> None:
    before = int(page.evaluate("document.body.dataset.saved || '0'"))
    page.click("#save-draft")
    page.wait_for_function(f"Number(document.body.dataset.saved || 0) > {before}")


def set_field(page: Any, selector: str, value: str) -> None:
    page.fill(selector, value)
    page.dispatch_event(selector, "change")


def test_edit_the_diagram_see_a_problem_at_its_element_and_fix_it(page: Any) -> None:
    open_editor(page)
    assert page.is_visible(".bjs-powered-by")  # the bpmn.io watermark stays visible

    select_on_diagram(page, "open_batch")
    set_field(page, "#prop-name", "Open the batch / 开启本批次")
    select_on_diagram(page, CONDITION_FLOW)
    assert page.input_value("#prop-condition") == "len(qualified) > 0"
    set_field(page, "#prop-condition", "len(qualified >")  # broken: a syntax error
    save(page)

    problem = page.locator(f"#problem-list li[data-element={CONDITION_FLOW}]")
    problem.wait_for()
    assert CONDITION_FLOW in problem.inner_text()
    marked = page.locator(f".djs-element.cf-problem[data-element-id={CONDITION_FLOW}]")
    assert marked.count() == 1
    badge = page.locator(f".problem-badge[data-element={CONDITION_FLOW}]")
    assert badge.is_visible()
    screenshot(page, "designer-1-problem-on-element")

    select_on_diagram(page, "open_batch")  # away, then back through the problem list
    problem.locator("button").click()
    page.wait_for_function(f"document.getElementById('prop-id').value === '{CONDITION_FLOW}'")
    assert page.locator("#prop-problems li").count() >= 1

    set_field(page, "#prop-condition", "len(qualified) >= 1")

    # The form of open_batch: its YAML edited, the preview follows.
    page.click("[data-tab=forms]")
    page.select_option("#pick-form", "forms/open_batch.schema.yaml")
    page.wait_for_selector("#form-preview label:has-text('Batch name')")
    text = page.input_value("#form-text")
    page.fill(
        "#form-text", text.replace("title: Batch name / 批次名称", "title: Name of the batch / 批次名称")
    )
    page.wait_for_selector("#form-preview label:has-text('Name of the batch')")
    screenshot(page, "designer-2-form-preview")
    page.click("[data-tab=diagram]")
    save(page)
    assert page.inner_text("#save-status") == "Saved, no problems."
    assert page.locator("#problems").is_hidden()
    assert page.locator(".cf-problem").count() == 0

    # The saved draft keeps both edits: reload and read them back from the modeler.
    page.reload()
    page.wait_for_selector("body[data-modeler=ready]")
    select_on_diagram(page, "open_batch")
    assert page.input_value("#prop-name") == "Open the batch / 开启本批次"
    select_on_diagram(page, CONDITION_FLOW)
    assert page.input_value("#prop-condition") == "len(qualified) >= 1"
    screenshot(page, "designer-2-fixed")


def type_into_cell(page: Any, cell: Any, text: str) -> None:
    """Replace a decision-table cell's expression as a person does: click, select all, type, leave."""
    cell.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(text)
    page.click("#panel-decisions > p.muted")  # leave the cell: dmn-js takes the edit


def run_tests(page: Any) -> str:
    page.click("[data-tab=tests]")
    page.click("#run-tests")
    page.wait_for_selector("body[data-tests=done]", timeout=60_000)
    return str(page.inner_text("#test-results"))


def edit_test_file(page: Any, name: str, old: str, new: str) -> None:
    page.select_option("#pick-test", f"processes/{PROCESS}/tests/{name}")
    text = page.input_value("#test-text")
    assert text.count(old) == 1, name
    page.fill("#test-text", text.replace(old, new))


def test_change_a_decision_rule_fix_the_tests_deploy_and_migrate_the_open_batches(page: Any) -> None:
    open_editor(page)

    # The age limit becomes "under max_age" instead of "up to max_age".
    page.click("[data-tab=decisions]")
    page.wait_for_selector("body[data-dmn=ready]")
    cell = page.locator(f"td[data-element-id={AGE_CELL}] [contenteditable]")
    assert cell.inner_text().strip() == "> conditions['max_age']"
    type_into_cell(page, cell, ">= conditions['max_age'] +")  # unfinished: the save says so at the cell
    save(page)
    assert page.locator(f"#problem-list li[data-element={AGE_CELL}]").count() == 1
    assert page.locator(f"td.cf-problem-cell[data-element-id={AGE_CELL}]").count() == 1
    type_into_cell(page, cell, ">= conditions['max_age']")
    assert page.is_visible(".dmn-editor .bjs-powered-by")
    screenshot(page, "designer-3-decision-changed")

    results = run_tests(page)
    assert "FAIL qualification drops" in results
    assert "FAIL qualification on 28 Feb" in results
    assert re.search(r"\b21 passed, 2 failed", results), results
    screenshot(page, "designer-4-tests-fail")

    # The tests' boundary cases move with the rule: the maximum they set is now one year higher.
    edit_test_file(page, "qualification_conditions.test.yaml", "max_age: 34", "max_age: 35")
    edit_test_file(page, "qualification_leap_day_eve.test.yaml", "max_age: 34", "max_age: 35")

    # Deploying runs the tests again (and would refuse if one failed): they pass now.
    page.click("[data-tab=deploy]")
    page.fill("#deploy-why", "Age limit: under the maximum age from 2027 / 年龄上限改为不含")
    page.click("#deploy")
    page.wait_for_selector("body[data-deploy=done]", timeout=60_000)
    assert "Deployed as version 2" in page.inner_text("#deploy-status")
    results = page.inner_text("#deploy-results")
    assert "FAIL" not in results and "23 passed, 0 failed" in results, results
    screenshot(page, "designer-5-deployed")

    page.click("#deployed-versions-link")
    page.wait_for_selector("body[data-diff=ready]")
    assert "Age limit" in page.inner_text("tr[data-version='2'] .why")
    for side in ("a", "b"):  # both diagrams mark the task calling the changed decision and the edits
        for element in ("check_conditions", "open_batch", CONDITION_FLOW):
            marked = page.locator(f"#diagram-{side} .djs-element.cf-changed[data-element-id={element}]")
            assert marked.count() == 1, (side, element)
    assert page.locator(f"#change-list li[data-element={AGE_CELL.rsplit('_', 1)[0]}]").count() >= 1
    assert page.locator(".diff-diagram .bjs-powered-by").count() == 2
    screenshot(page, "designer-6-diff")

    page.click(".designer-nav a:has-text('Migrate cases')")
    group = page.locator(".migration-group[data-version='1']")
    open_batches = group.locator("input[name=case]").count()
    assert open_batches >= 3  # the demo's batches at the opinions, the exam and just opened
    group.locator("[data-select-all]").check()
    page.click("#dry-run")
    checks = page.locator("#check-table tbody tr")
    assert checks.count() == open_batches
    assert page.locator("#check-table tr[data-can-move=yes]").count() == open_batches
    screenshot(page, "designer-7-dry-run")
    page.fill("#migrate-why", "Batches still open follow the new age rule")
    page.click("#migrate")
    page.wait_for_selector("#result-table")
    assert page.locator("#result-table tr[data-moved=yes]").count() == open_batches
    assert page.locator(".migration-group[data-version='1']").count() == 0
    assert page.locator(".migration-group[data-version='2'] input[name=case]").count() == open_batches
    screenshot(page, "designer-8-migrated")
