"""The biennial adjustment (domain.md §4): the worker opens it two years after the last one (after the
first admission when there has been none), once per occurrence however many workers run, on SQLite and
PostgreSQL."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from engine.clock import ManualClock, add_duration
from engine.pool import ADJUSTMENT_PROCESS
from engine.schedules import ADJUSTMENT_EVERY, next_adjustment_due, run_due_schedules
from engine.store.db import Database
from engine.store.models import Case, PoolMember, ScheduleRun
from engine.worker import run_worker
from tests.conftest import Harness


def _admit(db: Database, harness: Harness, candidate: str) -> None:
    """A pool member, as a finished selection case leaves one (its source: a case of the harness)."""
    source = harness.start()
    with db.write() as session:
        session.add(
            PoolMember(
                candidate_id=candidate,
                name=f"Cadre {candidate}",
                unit_id="u1",
                source_case_id=source,
                admitted_at=harness.clock.now(),
            )
        )


@dataclass(frozen=True)
class Adjustment:
    id: str
    started_by: str
    started_at: datetime
    status: str
    data: dict[str, Any]


def _adjustments(db: Database) -> list[Adjustment]:
    with db.read() as session:
        rows = session.scalars(
            select(Case).where(Case.process_id == ADJUSTMENT_PROCESS).order_by(Case.started_at)
        )
        return [Adjustment(c.id, c.started_by, c.started_at, c.status, json.loads(c.data_json)) for c in rows]


def test_nothing_is_due_while_the_pool_is_empty(harness: Harness) -> None:
    with harness.db.read() as session:
        assert next_adjustment_due(session) is None
    assert run_due_schedules(harness.db, ManualClock(harness.clock.now() + timedelta(days=3650))) == 0


def test_two_years_after_the_first_admission_the_adjustment_opens_once(harness: Harness) -> None:
    db = harness.db
    admitted = harness.clock.now()
    _admit(db, harness, "z1")
    due = add_duration(admitted, ADJUSTMENT_EVERY)
    assert run_due_schedules(db, ManualClock(due - timedelta(seconds=1))) == 0
    assert _adjustments(db) == []

    # Two workers reach the occurrence at the same moment: one runs it, the other finds it taken.
    at_due = ManualClock(due + timedelta(seconds=1))
    barrier = threading.Barrier(2)
    results: list[int] = []

    def worker() -> None:
        barrier.wait()
        results.append(run_due_schedules(db, at_due))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 1]

    [opened] = _adjustments(db)
    assert opened.started_by == "system:schedule" and opened.status == "running"
    data = opened.data
    assert [r["candidate"] for r in data["cadre_records"].values()] == ["z1"]
    assert data["cadre_records"]["z1"]["ratings_in_period"] == [] and data["period_start"] == ""
    with db.read() as session:
        runs = list(session.scalars(select(ScheduleRun)))
        assert [(r.occurrence, r.case_id) for r in runs] == [(runs[0].occurrence, opened.id)]
        # The next one is two years after this one started, not after the first admission.
        assert next_adjustment_due(session) == add_duration(opened.started_at, ADJUSTMENT_EVERY)
    assert run_due_schedules(db, ManualClock(due + timedelta(days=300))) == 0


def test_the_worker_runs_the_schedule_and_the_period_starts_at_the_last_adjustment(harness: Harness) -> None:
    db = harness.db
    _admit(db, harness, "z2")
    first_due = add_duration(harness.clock.now(), ADJUSTMENT_EVERY)
    run_worker(db, ManualClock(first_due + timedelta(minutes=1)), once=True)
    [first] = _adjustments(db)
    second_due = add_duration(first.started_at, ADJUSTMENT_EVERY)
    run_worker(db, ManualClock(second_due + timedelta(minutes=1)), once=True)
    first, second = _adjustments(db)
    assert second.data["period_start"] == first.started_at.date().isoformat()
