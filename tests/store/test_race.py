"""Two people act on the same task at the same instant, on every backend.

DESIGN.md §4: "two people completing the same task get one success and one clear conflict". Each
round starts a fresh case, then two threads — each with its own user holding the task's role — wait
at a :class:`threading.Barrier` and call the service together. Exactly one must win and the other get
``Conflict``; afterwards the case must be intact: the chain verifies, the task is completed (or
claimed) once, and the case head's ``last_seq`` equals the number of events.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from engine import cases, events
from engine.errors import CadreflowError, Conflict
from engine.store.models import CaseActor, Event, HumanTask
from tests.conftest import Harness

# Rounds per race, each on a fresh case; raise it (RACE_ROUNDS=200) to stress the locking.
ROUNDS = int(os.environ.get("RACE_ROUNDS", "5"))
JOIN_TIMEOUT = 60.0


def _race(action: Callable[[str], Any], users: tuple[str, str]) -> tuple[list[str], list[BaseException]]:
    """Run ``action(user)`` in two threads released together; return (winners, errors)."""
    barrier = threading.Barrier(len(users), timeout=JOIN_TIMEOUT)
    winners: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(user: str) -> None:
        try:
            barrier.wait()
            action(user)
        except BaseException as err:  # noqa: BLE001 - collected and asserted by the test
            with lock:
                errors.append(err)
        else:
            with lock:
                winners.append(user)

    threads = [threading.Thread(target=run, args=(user,), name=f"race-{user}") for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a racing call hung (lock never released?)"
    return winners, errors


def _assert_one_conflict(winners: list[str], errors: list[BaseException]) -> None:
    """Exactly one call succeeded and the other failed with a clean, typed Conflict."""
    assert len(winners) == 1, f"expected one winner, got {winners} (errors: {errors!r})"
    assert len(errors) == 1, f"expected one loser, got {errors!r}"
    loser = errors[0]
    assert isinstance(loser, Conflict), f"the loser got {type(loser).__name__}: {loser}"
    assert isinstance(loser, CadreflowError) and loser.code == "conflict"


def _task_row(harness: Harness, task_id: str) -> HumanTask:
    with harness.db.read() as session:
        row = session.get(HumanTask, task_id)
        assert row is not None
        session.expunge(row)
        return row


def _count(harness: Harness, *where: Any) -> int:
    with harness.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(Event).where(*where)) or 0)


def test_concurrent_completion_one_wins_one_conflicts(harness: Harness) -> None:
    """Two org_department users complete the same ``open_batch`` together: one success, one Conflict."""
    users = (harness.user("org-a", "org_department"), harness.user("org-b", "org_department"))
    data = harness.data("open_batch")
    won_by: set[str] = set()
    for _ in range(ROUNDS):
        case_id = harness.start()
        task = harness.task(case_id, "open_batch")

        def complete(user: str, task_id: str = task.id) -> cases.CaseView:
            return cases.complete_task(harness.db, harness.clock, user, task_id, data)

        winners, errors = _race(complete, users)

        _assert_one_conflict(winners, errors)
        won_by.update(winners)
        log = harness.verify_chain(case_id)
        assert harness.case_row(case_id).last_seq == len(log)
        row = _task_row(harness, task.id)
        assert (row.status, row.completed_by) == ("completed", winners[0])
        completions = [e for e in log if e.type == events.TASK_COMPLETED]
        assert len(completions) == 1
        assert json.loads(completions[0].payload_json)["task_id"] == task.id
        assert completions[0].actor == winners[0]
        with harness.db.read() as session:
            actors = list(session.scalars(select(CaseActor.user_id).where(
                CaseActor.case_id == case_id, CaseActor.element_id == "open_batch")))
        assert actors == [winners[0]]
        # The case moved on exactly once: one nominate task per unit, nothing duplicated.
        ready = cases.ready_tasks(harness.db, case_id)
        assert sorted((t.element_id, t.unit_id) for t in ready) == [("nominate", "u1"), ("nominate", "u2")]
        assert _count(harness, Event.case_id == case_id, Event.type == events.TASK_READY) == 3
    assert won_by <= set(users)


def test_concurrent_claim_one_wins_one_conflicts(harness: Harness) -> None:
    """Two org_department users claim the same ``open_batch`` together: one claim, one Conflict."""
    users = (harness.user("org-a", "org_department"), harness.user("org-b", "org_department"))
    for _ in range(ROUNDS):
        case_id = harness.start()
        task = harness.task(case_id, "open_batch")

        def claim(user: str, task_id: str = task.id) -> cases.TaskView:
            return cases.claim_task(harness.db, harness.clock, user, task_id)

        winners, errors = _race(claim, users)

        _assert_one_conflict(winners, errors)
        log = harness.verify_chain(case_id)
        assert harness.case_row(case_id).last_seq == len(log)
        row = _task_row(harness, task.id)
        assert (row.status, row.assignee) == ("ready", winners[0])
        claims = [e for e in log if e.type == events.TASK_CLAIMED]
        assert [c.actor for c in claims] == [winners[0]]
        # The winner's claim holds: only the winner can complete the task now.
        loser = next(user for user in users if user != winners[0])
        try:
            cases.complete_task(harness.db, harness.clock, loser, task.id, harness.data("open_batch"))
        except Conflict:
            pass
        else:
            raise AssertionError("the losing claimant completed a task claimed by the winner")
        cases.complete_task(harness.db, harness.clock, winners[0], task.id, harness.data("open_batch"))
        assert _task_row(harness, task.id).completed_by == winners[0]
        harness.verify_chain(case_id)
