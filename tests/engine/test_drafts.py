"""Drafts (``engine.drafts``): saved per person without validation, only by people who may act on
the ready task, and deleted with the task's completion (``delete_drafts``)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine import cases
from engine.drafts import delete_drafts, get_draft, save_draft
from engine.errors import Conflict, Invalid, NotFound
from engine.store.models import TaskDraft
from engine.task_views import task_detail
from tests.conftest import Harness

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)

UNKNOWN_TASK = "00000000-0000-4000-8000-000000000000"


def _draft_count(harness: Harness) -> int:
    with harness.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(TaskDraft)) or 0)


def test_a_draft_is_saved_unvalidated_per_person_and_replaced(harness: Harness) -> None:
    case_id = harness.start()
    harness.drive(case_id, until="nominate")
    task = harness.task(case_id, "nominate", unit="u1")
    ann = harness.user("ann", "unit_committee@u1")
    bob = harness.user("bob", "unit_committee@u1")

    half = {"nominees": [{"id": "a1", "name": "An Yi"}]}  # far from valid: most fields missing
    save_draft(harness.db, harness.clock, ann, task.id, half)
    assert get_draft(harness.db, ann, task.id) == half
    assert get_draft(harness.db, bob, task.id) is None  # drafts are personal
    detail = task_detail(harness.db, ann, task.id)
    assert detail.values == half and detail.has_draft
    assert task_detail(harness.db, bob, task.id).values == {"nominees": []}  # bob gets the prefill

    harness.clock.advance("PT1H")
    save_draft(harness.db, harness.clock, ann, task.id, {"nominees": [], "note": "中文 ok"})
    assert get_draft(harness.db, ann, task.id) == {"nominees": [], "note": "中文 ok"}
    with harness.db.read() as session:
        row = session.get(TaskDraft, (task.id, ann))
        assert row is not None and row.saved_at == harness.clock.now()
        assert row.data_json == '{"nominees":[],"note":"中文 ok"}'  # canonical JSON
    assert _draft_count(harness) == 1


def test_only_people_who_may_act_can_save_and_others_learn_nothing(harness: Harness) -> None:
    case_id = harness.start()
    harness.drive(case_id, until="nominate")
    task = harness.task(case_id, "nominate", unit="u1")
    other_unit = harness.user("cat", "unit_committee@u2")
    clerk = harness.user("dan", "exam_office")
    for user in (other_unit, clerk):
        with pytest.raises(NotFound) as raised:
            save_draft(harness.db, harness.clock, user, task.id, {})
        # The same answer as for a task that does not exist: the page cannot be used to probe.
        assert raised.value.message == f"no task {task.id}"
    with pytest.raises(NotFound):
        save_draft(harness.db, harness.clock, other_unit, UNKNOWN_TASK, {})
    with pytest.raises(NotFound):
        save_draft(harness.db, harness.clock, "ghost", task.id, {})
    ann = harness.user("ann", "unit_committee@u1")
    for bad in ([], "text", {"x": float("nan")}, {"x": "y" * 600_000}):
        with pytest.raises(Invalid):
            save_draft(harness.db, harness.clock, ann, task.id, bad)  # type: ignore[arg-type]
    assert _draft_count(harness) == 0


def test_no_draft_for_a_task_claimed_by_someone_else_or_no_longer_ready(harness: Harness) -> None:
    case_id = harness.start()
    task = harness.task(case_id, "open_batch")
    li, zhou = harness.actor("li"), harness.user("zhou", "org_department")
    cases.claim_task(harness.db, harness.clock, li, task.id)
    with pytest.raises(Conflict):
        save_draft(harness.db, harness.clock, zhou, task.id, {"quota": 2})
    save_draft(harness.db, harness.clock, li, task.id, {"quota": 2})
    harness.complete(case_id, "open_batch")
    with pytest.raises(Conflict):
        save_draft(harness.db, harness.clock, li, task.id, {"quota": 3})


def test_delete_drafts_removes_everyones_draft_of_the_task(harness: Harness) -> None:
    case_id = harness.start()
    harness.drive(case_id, until="nominate")
    u1 = harness.task(case_id, "nominate", unit="u1")
    u2 = harness.task(case_id, "nominate", unit="u2")
    ann, bob = harness.user("ann", "unit_committee@u1"), harness.user("bob", "unit_committee@u1")
    cat = harness.user("cat", "unit_committee@u2")
    save_draft(harness.db, harness.clock, ann, u1.id, {"nominees": []})
    save_draft(harness.db, harness.clock, bob, u1.id, {"nominees": []})
    save_draft(harness.db, harness.clock, cat, u2.id, {"nominees": []})
    with harness.db.write() as session:
        assert delete_drafts(session, u1.id) == 2
    assert get_draft(harness.db, ann, u1.id) is None and get_draft(harness.db, bob, u1.id) is None
    assert get_draft(harness.db, cat, u2.id) == {"nominees": []}
    with harness.db.write() as session:
        assert delete_drafts(session, u1.id) == 0
