"""Recurring application work, run by the worker: today, the biennial pool adjustment (domain.md §4).

Why not a timer cycle inside a BPMN process: the adjustment needs the records compiled from every
cadre's log, which only the engine can do, and SpiffWorkflow's cycle timers drift (DESIGN.md §2). So the
schedule lives here: the next adjustment falls due two years after the last one started (after the
first admission to the pool when there has been none), whether that one was opened by hand or by the
schedule. Each occurrence is a ``schedule_runs`` row keyed by its due time, inserted in the same
transaction that starts the case — a second worker's insert of the same occurrence conflicts, so
however many workers run, an occurrence runs once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.canonical import format_time
from engine.clock import Clock, add_duration
from engine.errors import Conflict
from engine.pool import last_adjustment, start_adjustment_in_session
from engine.store.db import Database
from engine.store.models import PoolMember, ScheduleRun

ADJUSTMENT_SCHEDULE = "pool_adjustment"
ADJUSTMENT_EVERY = "P2Y"
SCHEDULE_ACTOR = "system:schedule"


def next_adjustment_due(session: Session) -> datetime | None:
    """When the next adjustment falls due; None while the pool has never had a member."""
    last = last_adjustment(session)
    anchor = last.started_at if last is not None else session.scalar(select(func.min(PoolMember.admitted_at)))
    return add_duration(anchor, ADJUSTMENT_EVERY) if anchor is not None else None


def run_due_schedules(db: Database, clock: Clock) -> int:
    """Run every occurrence that is due now and has not run; return how many this call ran."""
    now = clock.now()
    with db.read() as session:  # the usual answer is "not yet": no need for the write lock to say so
        due = next_adjustment_due(session)
    if due is None or due > now:
        return 0
    try:
        with db.write() as session:
            due = next_adjustment_due(session)
            if due is None or due > now:
                return 0
            occurrence = format_time(due)
            if session.get(ScheduleRun, (ADJUSTMENT_SCHEDULE, occurrence)) is not None:
                return 0
            run = ScheduleRun(schedule=ADJUSTMENT_SCHEDULE, occurrence=occurrence, due_at=due, ran_at=now)
            session.add(run)
            session.flush()  # claim the occurrence first: a concurrent worker blocks here, then conflicts
            case = start_adjustment_in_session(
                session, SCHEDULE_ACTOR, now, {"schedule": ADJUSTMENT_SCHEDULE, "due": occurrence}
            )
            run.case_id = case.id if case is not None else None
            return 1
    except Conflict:  # the unit of work's name for a duplicate key: another worker ran this occurrence
        return 0
