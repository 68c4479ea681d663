"""Drafts are kept apart from deployed versions; saving reports problems but never refuses to save."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import cases
from engine.clock import ManualClock
from engine.designer import drafts
from engine.designer.deploy import DeployBlocked, deploy_draft, run_draft_tests
from engine.designer.versions import list_versions
from engine.errors import Conflict, Forbidden, Invalid, NotFound
from engine.store.db import Database
from tests.conftest import make_user

ROOT = Path(__file__).resolve().parents[2]


def test_open_draft_starts_from_the_latest_version_with_the_process_tests(
    deployed: Database, designer: str
) -> None:
    draft = drafts.open_draft(deployed, designer, "reserve_selection", project_root=ROOT)
    assert "processes/reserve_selection/reserve_selection.bpmn" in draft.files
    assert "processes/reserve_selection/qualification.dmn" in draft.files
    assert "forms/open_batch.schema.yaml" in draft.files
    assert "processes/reserve_selection/tests/happy_path.test.yaml" in draft.files
    # opening again returns the same draft, not a fresh copy
    drafts.save_draft(deployed, designer, "reserve_selection", {**draft.files, "forms/extra.yaml": "a: 1\n"})
    assert "forms/extra.yaml" in drafts.open_draft(deployed, designer, "reserve_selection").files
    assert [d.process_id for d in drafts.list_drafts(deployed)] == ["reserve_selection"]


def test_saving_a_broken_draft_keeps_it_and_lists_its_problems(deployed: Database, designer: str) -> None:
    files = dict(drafts.open_draft(deployed, designer, "reserve_selection", project_root=ROOT).files)
    path = "processes/reserve_selection/reserve_selection.bpmn"
    files[path] = files[path].replace('name="exam_office"', 'name="auditor"', 1)
    saved = drafts.save_draft(deployed, designer, "reserve_selection", files)
    assert saved.draft.files[path] == files[path]
    assert {(p.file, p.element_id, p.rule) for p in saved.problems} >= {
        (path, "record_exam_scores", "lane-role")
    }
    # the deployed version is untouched and running cases are not affected
    assert [v.version for v in list_versions(deployed, "reserve_selection")] == [1]
    with pytest.raises(DeployBlocked) as blocked:
        deploy_draft(deployed, ManualClock(saved.draft.saved_at), designer, "reserve_selection", "try")
    assert any(p.rule == "lane-role" for p in blocked.value.problems)


def test_a_draft_saved_by_someone_else_since_it_was_opened_is_not_overwritten(
    deployed: Database, designer: str
) -> None:
    other = make_user(deployed, "dy", "designer")
    mine = drafts.open_draft(deployed, designer, "reserve_selection", project_root=ROOT)
    theirs = drafts.open_draft(deployed, other, "reserve_selection", project_root=ROOT)
    assert mine.revision == theirs.revision
    saved = drafts.save_draft(
        deployed,
        other,
        "reserve_selection",
        {**theirs.files, "forms/theirs.yaml": "a: 1\n"},
        expected_revision=theirs.revision,
    )
    assert saved.draft.revision != mine.revision
    with pytest.raises(Conflict, match="dy saved this draft"):
        drafts.save_draft(
            deployed,
            designer,
            "reserve_selection",
            {**mine.files, "forms/mine.yaml": "b: 2\n"},
            expected_revision=mine.revision,
        )
    files = drafts.open_draft(deployed, designer, "reserve_selection").files
    assert "forms/theirs.yaml" in files and "forms/mine.yaml" not in files
    # Reloaded, the same designer saves on top of it.
    again = drafts.save_draft(
        deployed,
        designer,
        "reserve_selection",
        {**files, "forms/mine.yaml": "b: 2\n"},
        expected_revision=saved.draft.revision,
    )
    assert {"forms/theirs.yaml", "forms/mine.yaml"} <= set(again.draft.files)


def test_a_draft_may_not_write_outside_its_process(deployed: Database, designer: str) -> None:
    with pytest.raises(Invalid):
        drafts.save_draft(deployed, designer, "reserve_selection", {"processes/timely_supplement/x.bpmn": ""})
    with pytest.raises(Invalid):
        drafts.save_draft(deployed, designer, "reserve_selection", {"forms/../x.yaml": ""})
    with pytest.raises(Invalid):
        drafts.save_draft(deployed, designer, "../processes", {})


def test_only_designers_edit_drafts(deployed: Database) -> None:
    clerk = make_user(deployed, "clerk", "org_department")
    with pytest.raises(Forbidden):
        drafts.open_draft(deployed, clerk, "reserve_selection")


def test_discard_drops_the_draft(deployed: Database, designer: str) -> None:
    drafts.open_draft(deployed, designer, "reserve_selection")
    drafts.discard_draft(deployed, designer, "reserve_selection")
    assert drafts.list_drafts(deployed) == []
    with pytest.raises(NotFound):
        drafts.discard_draft(deployed, designer, "reserve_selection")


def test_new_process_from_template_validates_passes_its_test_and_deploys(
    deployed: Database, designer: str, clock: ManualClock
) -> None:
    saved = drafts.new_process_from_template(deployed, designer, "leave_request", "Leave request / 请假")
    assert saved.problems == []
    assert sorted(saved.draft.files) == [
        "forms/leave_request_review.schema.yaml",
        "processes/leave_request/leave_request.bpmn",
        "processes/leave_request/tests/review.test.yaml",
    ]
    assert [r.line() for r in run_draft_tests(deployed, "leave_request")] == [
        "PASS review - the organization department approves and the case ends"
    ]
    result = deploy_draft(deployed, clock, designer, "leave_request", "first version")
    assert (result.version, result.created) == (1, True)
    assert drafts.list_drafts(deployed) == []
    # the new process runs like any other
    li = make_user(deployed, "li", "org_department")
    case = cases.start_case(deployed, clock, li, "leave_request")
    assert [t.element_id for t in case.ready] == ["review"]
    with pytest.raises(Conflict):
        drafts.new_process_from_template(deployed, designer, "leave_request", "Again / 再次")
