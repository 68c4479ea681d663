"""Two workers against PostgreSQL fire 1,000 due timers between them, none twice (issue: worker).

Each worker is a separate process running ``cadreflow worker --once`` with the real clock; the timers
fell due an hour before, so both find work at once and race for it row by row.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine import cases, events
from engine.clock import ManualClock
from engine.definitions import deploy_processes
from engine.directory import ensure_user, grant
from engine.store.db import Database
from engine.store.models import Case, Event, ScheduledTimer
from tests.conftest import _empty_tables

TIMERS = 1000
PROCESSES = Path(__file__).resolve().parents[1] / "engine" / "fixtures" / "timers" / "processes"


@pytest.mark.postgres
def test_two_workers_fire_a_thousand_timers_none_twice(pg_migrated: str) -> None:
    _empty_tables(pg_migrated)
    db = Database(pg_migrated)
    clock = ManualClock(datetime.now(timezone.utc) - timedelta(hours=2))
    deploy_processes(db, PROCESSES, "test", clock.now())
    with db.write() as session:
        ensure_user(session, "li")
        grant(session, "li", "org_department")
    for _ in range(TIMERS):
        cases.start_case(db, clock, "li", "reminder")  # each waits for a timer due an hour later
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(ScheduledTimer)) == TIMERS

    command = [sys.executable, "-m", "engine.cli", "--database", pg_migrated, "worker", "--once"]
    workers = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(2)
    ]
    outputs = [worker.communicate(timeout=600)[0] for worker in workers]
    assert all(worker.returncode == 0 for worker in workers), outputs
    fired_by = [int(out.strip().splitlines()[-1].split("firing ")[1].split(" ")[0]) for out in outputs]

    with db.read() as session:
        per_case = session.execute(
            select(Event.case_id, func.count())
            .where(Event.type == events.TIMER_FIRED)
            .group_by(Event.case_id)
        ).all()
        finished = session.scalar(select(func.count()).select_from(Case).where(Case.status == "finished"))
        waiting = session.scalar(
            select(func.count()).select_from(ScheduledTimer).where(ScheduledTimer.status != "fired")
        )
    db.dispose()
    assert len(per_case) == TIMERS and all(count == 1 for _case, count in per_case)
    assert finished == TIMERS and waiting == 0
    assert sum(fired_by) == TIMERS, outputs
    assert min(fired_by) > 0, f"one worker did all the work: {fired_by}"  # both really raced
