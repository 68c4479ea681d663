"""Case services (``engine.cases``) on SQLite: who may start and act, the inbox, claims, failed
steps that must change nothing, typed errors, and timers that fire once.

The backend contract and the concurrent races run on both backends in ``tests/store``; these tests
are about the services' rules, so SQLite alone keeps them fast.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import func, select

from engine import cases, events
from engine.bpmn.runtime import CaseRuntime
from engine.canonical import content_hash
from engine.definitions import get_definition
from engine.errors import Conflict, Forbidden, Invalid, NotFound
from engine.store.models import Case, HumanTask, PoolMember, ScheduledTimer, Snapshot
from tests.conftest import Harness

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)

UNKNOWN_TASK = "00000000-0000-4000-8000-000000000000"


@dataclass(frozen=True)
class CaseState:
    """Everything a step may change, to show that a refused one changed nothing."""

    last_seq: int
    head_hash: str
    data_json: str
    snapshot: tuple[int, str, str]
    tasks: list[tuple[str, str, str | None]]
    event_count: int


def _state(harness: Harness, case_id: str) -> CaseState:
    case = harness.case_row(case_id)
    with harness.db.read() as session:
        snap = session.get(Snapshot, case_id)
        assert snap is not None
        tasks = [(r.id, r.status, r.assignee) for r in session.scalars(
            select(HumanTask).where(HumanTask.case_id == case_id).order_by(HumanTask.id))]
        snapshot = (snap.seq, snap.state_json, snap.state_hash)
    count = len(harness.events(case_id))
    return CaseState(case.last_seq, case.head_hash, case.data_json, snapshot, tasks, count)


def _case_count(harness: Harness) -> int:
    with harness.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(Case)) or 0)


# ------------------------------------------------------------------------------------------------
# starting


def test_start_needs_the_lane_role_of_the_start(harness: Harness) -> None:
    """Only org_department (the start's lane) may start a reserve_selection case."""
    for user in (harness.user("nobody"), harness.user("committee", "unit_committee@u1"),
                 harness.user("exams", "exam_office")):
        with pytest.raises(Forbidden) as raised:
            cases.start_case(harness.db, harness.clock, user, "reserve_selection")
        assert raised.value.code == "forbidden" and "org_department" in raised.value.message
    with pytest.raises(NotFound):
        cases.start_case(harness.db, harness.clock, "ghost", "reserve_selection")
    assert _case_count(harness) == 0

    li = harness.user("li", "org_department")
    view = cases.start_case(harness.db, harness.clock, li, "reserve_selection")
    assert view.status == "running"
    assert [t.element_id for t in view.ready] == ["open_batch"]
    assert _case_count(harness) == 1
    harness.verify_chain(view.id)


def test_start_of_an_undeployed_process_is_not_found(harness: Harness) -> None:
    """Starting a process nobody deployed says so (not_found), and creates nothing."""
    with pytest.raises(NotFound) as raised:
        cases.start_case(harness.db, harness.clock, harness.user("li", "org_department"), "no_such_process")
    assert raised.value.code == "not_found"
    assert _case_count(harness) == 0


# ------------------------------------------------------------------------------------------------
# the inbox


def test_inbox_shows_a_unit_committee_only_its_units_task(harness: Harness) -> None:
    """unit_committee@u1 sees u1's nominate task and nothing of u2's; others see neither."""
    case_id = harness.start()
    li = harness.actor("li")
    assert [t.element_id for t in cases.inbox(harness.db, li)] == ["open_batch"]
    harness.complete(case_id, "open_batch")

    u1 = harness.user("committee-u1", "unit_committee@u1")
    u2 = harness.user("committee-u2", "unit_committee@u2")
    inbox_u1 = cases.inbox(harness.db, u1)
    assert [(t.element_id, t.unit_id, t.case_id) for t in inbox_u1] == [("nominate", "u1", case_id)]
    assert inbox_u1[0].input == {"unit": "u1"}
    assert [(t.element_id, t.unit_id) for t in cases.inbox(harness.db, u2)] == [("nominate", "u2")]
    assert cases.inbox(harness.db, li) == []
    assert cases.inbox(harness.db, harness.user("exams", "exam_office")) == []


def test_a_claimed_task_leaves_the_other_inboxes(harness: Harness) -> None:
    """Once claimed, a task shows only in its assignee's inbox."""
    case_id = harness.start()
    harness.complete(case_id, "open_batch")
    first = harness.user("committee-a", "unit_committee@u1")
    second = harness.user("committee-b", "unit_committee@u1")
    task = harness.task(case_id, "nominate", unit="u1")
    cases.claim_task(harness.db, harness.clock, first, task.id)
    assert [t.id for t in cases.inbox(harness.db, first)] == [task.id]
    assert cases.inbox(harness.db, first)[0].assignee == first
    assert cases.inbox(harness.db, second) == []


# ------------------------------------------------------------------------------------------------
# claims


def test_a_claim_makes_completion_by_another_a_conflict(harness: Harness) -> None:
    """B cannot complete (or claim) what A claimed; the refusal changes nothing; A then completes."""
    case_id = harness.start()
    harness.complete(case_id, "open_batch")
    first = harness.user("committee-a", "unit_committee@u1")
    second = harness.user("committee-b", "unit_committee@u1")
    task = harness.task(case_id, "nominate", unit="u1")
    claimed = cases.claim_task(harness.db, harness.clock, first, task.id)
    assert claimed.assignee == first
    before = _state(harness, case_id)

    data = harness.data("nominate", unit="u1")
    with pytest.raises(Conflict) as raised:
        cases.complete_task(harness.db, harness.clock, second, task.id, data)
    assert raised.value.code == "conflict" and first in raised.value.message
    with pytest.raises(Conflict):
        cases.claim_task(harness.db, harness.clock, second, task.id)
    assert _state(harness, case_id) == before

    cases.complete_task(harness.db, harness.clock, first, task.id, data)
    with harness.db.read() as session:
        row = session.get(HumanTask, task.id)
        assert row is not None and (row.status, row.completed_by) == ("completed", first)
    harness.verify_chain(case_id)


def test_claiming_twice_is_harmless(harness: Harness) -> None:
    """A second claim by the assignee is a no-op: no second task.claimed event."""
    case_id = harness.start()
    li = harness.actor("li")
    task = harness.task(case_id, "open_batch")
    cases.claim_task(harness.db, harness.clock, li, task.id)
    seq = harness.case_row(case_id).last_seq
    assert cases.claim_task(harness.db, harness.clock, li, task.id).assignee == li
    assert harness.case_row(case_id).last_seq == seq
    assert [e.type for e in harness.events(case_id)].count(events.TASK_CLAIMED) == 1


def test_unclaim_by_a_non_assignee_is_forbidden(harness: Harness) -> None:
    """Only the assignee gives a task back; afterwards anyone with the role may complete it."""
    case_id = harness.start()
    harness.complete(case_id, "open_batch")
    first = harness.user("committee-a", "unit_committee@u1")
    second = harness.user("committee-b", "unit_committee@u1")
    task = harness.task(case_id, "nominate", unit="u1")

    with pytest.raises(Forbidden):  # nobody has claimed it
        cases.unclaim_task(harness.db, harness.clock, first, task.id)
    cases.claim_task(harness.db, harness.clock, first, task.id)
    before = _state(harness, case_id)
    with pytest.raises(Forbidden) as raised:
        cases.unclaim_task(harness.db, harness.clock, second, task.id)
    assert raised.value.code == "forbidden"
    assert _state(harness, case_id) == before
    assert harness.task(case_id, "nominate", unit="u1").assignee == first

    assert cases.unclaim_task(harness.db, harness.clock, first, task.id).assignee is None
    assert [e.type for e in harness.events(case_id)][-2:] == [events.TASK_CLAIMED, events.TASK_UNCLAIMED]
    cases.complete_task(harness.db, harness.clock, second, task.id, harness.data("nominate", unit="u1"))
    harness.verify_chain(case_id)


# ------------------------------------------------------------------------------------------------
# refused completions change nothing


def test_an_invalid_completion_changes_nothing(harness: Harness) -> None:
    """Form errors are reported per field; log, snapshot, inbox and case data stay as they were."""
    case_id = harness.start()
    li = harness.actor("li")
    task = harness.task(case_id, "open_batch")
    before = _state(harness, case_id)
    bad = harness.data("open_batch")
    bad.update(quota=0, units=["u1", "u9"])
    del bad["batch_name"]

    with pytest.raises(Invalid) as raised:
        cases.complete_task(harness.db, harness.clock, li, task.id, bad)
    assert raised.value.code == "invalid"
    assert {"batch_name", "quota"} <= set(raised.value.fields), raised.value.fields
    assert (raised.value.case_id, raised.value.task) == (case_id, task.id)
    assert _state(harness, case_id) == before
    assert [t.id for t in cases.ready_tasks(harness.db, case_id)] == [task.id]

    cases.complete_task(harness.db, harness.clock, li, task.id, harness.data("open_batch"))
    assert _state(harness, case_id).last_seq > before.last_seq


def test_a_forbidden_completion_changes_nothing(harness: Harness) -> None:
    """A user without the task's role (or in the wrong unit) is refused and nothing is stored."""
    case_id = harness.start()
    harness.complete(case_id, "open_batch")
    task = harness.task(case_id, "nominate", unit="u1")
    before = _state(harness, case_id)
    for user in (harness.user("committee-u2", "unit_committee@u2"), harness.actor("li")):
        with pytest.raises(Forbidden):
            cases.complete_task(harness.db, harness.clock, user, task.id, harness.data("nominate", unit="u1"))
        with pytest.raises(Forbidden):
            cases.claim_task(harness.db, harness.clock, user, task.id)
    assert _state(harness, case_id) == before


def test_completing_a_completed_task_conflicts_and_an_unknown_task_is_not_found(harness: Harness) -> None:
    """Second completion -> conflict; unknown task id -> not_found (for complete, claim, unclaim)."""
    case_id = harness.start()
    task = harness.task(case_id, "open_batch")
    harness.complete(case_id, "open_batch")
    before = _state(harness, case_id)
    li = harness.actor("li")

    with pytest.raises(Conflict) as conflict:
        cases.complete_task(harness.db, harness.clock, li, task.id, harness.data("open_batch"))
    assert conflict.value.code == "conflict" and conflict.value.task == task.id
    with pytest.raises(Conflict):
        cases.claim_task(harness.db, harness.clock, li, task.id)
    for call in (
        lambda: cases.complete_task(harness.db, harness.clock, li, UNKNOWN_TASK, harness.data("open_batch")),
        lambda: cases.claim_task(harness.db, harness.clock, li, UNKNOWN_TASK),
        lambda: cases.unclaim_task(harness.db, harness.clock, li, UNKNOWN_TASK),
        lambda: cases.complete_task(harness.db, harness.clock, li, "not-a-uuid", {}),
    ):
        with pytest.raises(NotFound) as missing:
            call()
        assert missing.value.code == "not_found"
    with pytest.raises(NotFound):
        cases.get_case(harness.db, "c-000000000000")
    assert _state(harness, case_id) == before


# ------------------------------------------------------------------------------------------------
# timers


def test_fire_due_timers_fires_nothing_before_due_and_exactly_once_after(harness: Harness) -> None:
    """The notice-period timer (P7D after the committee decision) fires once, at its due instant."""
    case_id = harness.start()
    harness.drive(case_id)  # through committee_decision
    decided = harness.clock.now()
    with harness.db.read() as session:
        timers = list(session.scalars(select(ScheduledTimer).where(ScheduledTimer.case_id == case_id)))
        session.expunge_all()
    assert [(t.element_id, t.status) for t in timers] == [("publication", "waiting")]
    due = timers[0].due_at
    assert due == decided + timedelta(days=7)
    east8 = timezone(timedelta(hours=8))

    assert cases.fire_due_timers(harness.db, decided) == 0
    assert cases.fire_due_timers(harness.db, (due - timedelta(microseconds=1)).astimezone(east8)) == 0
    assert cases.get_case(harness.db, case_id).status == "running"

    assert cases.fire_due_timers(harness.db, due.astimezone(east8)) == 1
    assert cases.fire_due_timers(harness.db, due) == 0
    assert cases.fire_due_timers(harness.db, due + timedelta(days=30)) == 0

    view = cases.get_case(harness.db, case_id)
    assert view.status == "finished" and view.data["admitted"] == ["a2", "b1"]
    log = harness.verify_chain(case_id)
    fired = [e for e in log if e.type == events.TIMER_FIRED]
    assert len(fired) == 1 and fired[0].at == due
    assert json.loads(fired[0].payload_json)["element_id"] == "publication"
    assert log[-1].type == events.CASE_FINISHED
    with harness.db.read() as session:
        row = session.get(ScheduledTimer, timers[0].key)
        assert row is not None and (row.status, row.fired_at) == ("fired", due)
        pool = sorted(session.scalars(
            select(PoolMember.candidate_id).where(PoolMember.source_case_id == case_id)))
    assert pool == ["a2", "b1"]


# ------------------------------------------------------------------------------------------------
# re-execution from the log


def _replay(harness: Harness, case_id: str) -> list[tuple[int, str]]:
    """Re-execute the case's inputs on a never-saved instance; (seq, state hash) after each input."""
    with harness.db.read() as session:
        case = session.get(Case, case_id)
        assert case is not None
        definition = get_definition(session, case.definition_hash)
    runtime: CaseRuntime | None = None
    hashes = []
    for event in harness.events(case_id):
        payload: dict[str, Any] = json.loads(event.payload_json)
        seed = f"{case_id}/{event.seq}"
        if event.type == events.CASE_STARTED:
            runtime, _ = CaseRuntime.start(definition.specs, event.at, seed)
        elif event.type == events.TASK_COMPLETED:
            assert runtime is not None
            data = dict(payload["data"])
            info = definition.user_tasks.get(payload["element_id"])
            if info and info.properties.get("formDataKey"):
                data[info.properties["formDataKey"]] = dict(payload["data"])
            runtime.complete(payload["task_id"], data, event.at, seed)
        else:
            continue
        hashes.append((event.seq, content_hash(runtime.snapshot())))
    return hashes


def test_re_executing_the_log_reproduces_the_stored_state(harness: Harness) -> None:
    """DESIGN.md §2: everything from outside is in the log, so a re-execution reaches the stored state."""
    case_id = harness.start()
    harness.drive(case_id)  # every completion of the happy path, up to the notice-period timer
    replayed = _replay(harness, case_id)
    with harness.db.read() as session:
        snap = session.get(Snapshot, case_id)
        assert snap is not None
        stored_hash = snap.state_hash
    assert replayed[-1][1] == stored_hash, "re-executing the log does not reach the stored state"


def test_add_user_grants_roles_scoped_to_units(add_user: Callable[..., str], harness: Harness) -> None:
    """The ``add_user`` fixture creates a user whose unit-scoped grant opens that unit's inbox only."""
    case_id = harness.start()
    harness.complete(case_id, "open_batch")
    user = add_user("ann", "unit_committee@u2", "exam_office")
    assert [(t.element_id, t.unit_id) for t in cases.inbox(harness.db, user)] == [("nominate", "u2")]
