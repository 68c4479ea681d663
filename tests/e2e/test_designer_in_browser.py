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
        "id => { const m = window.cadreflowModeler; m.get('canvas').scrollToElement(m.get('elementRegistry').get(id)); }",
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
