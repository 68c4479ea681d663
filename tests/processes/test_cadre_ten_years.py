"""A reserve cadre's case over ten simulated years stays small: one workflow instance per year.

The case is driven through the services as people and the clock would (talks every quarter, two
supervision records, the course, a mass-supervision finding, the assessment; the worker's biennial
pool adjustment retains the cadre every two years) and the snapshot is measured at the start of every
year. Year ten must be within 10 % of year one, in tasks and bytes,
while the event log grows every year and stays one chain.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from engine import cases, messages
from engine.clock import ManualClock
from engine.definitions import deploy_processes
from engine.directory import ensure_unit, ensure_user, grant
from engine.schedules import run_due_schedules
from engine.store.db import Database
from engine.store.models import Case, Event, PoolMember, Snapshot
from engine.task_views import task_detail

ROOT = Path(__file__).resolve().parents[2]

ANSWERS: dict[str, dict[str, Any]] = {
    "plan_internships": {"placements": []},
    "record_talk": {
        "talk_date": "2027-04-06",
        "topics": ["work_performance"],
        "notes": "Quarterly talk held.",
    },
    "record_supervision": {
        "supervised_on": "2027-07-06",
        "work_completion": "good",
        "duty_performance": "good",
        "usual_performance": "good",
    },
    "record_course": {"attended": True, "result": "good"},
    "unit_assessment": {
        "rating": "competent",
        "potential": "high",
        "basis": "Field visit, interviews and all the records of the year.",
    },
    "confirm_assessment": {"rating": "competent", "potential": "high"},
}
WHO = {
    "plan_internships": "li",
    "record_talk": "wang",
    "record_supervision": "uc",
    "record_course": "ps",
    "unit_assessment": "uc",
    "confirm_assessment": "li",
    "pair_mentor": "li",
}


def _complete_ready(db: Database, clock: ManualClock, case_id: str) -> list[str]:
    done = []
    for task in cases.get_case(db, case_id).ready:
        data = ANSWERS.get(task.element_id)
        if task.element_id == "pair_mentor":
            data = {"cadre": "s1", "mentor": "wang", "paired_on": "2027-01-05"}
        assert data is not None, f"no answer for {task.element_id}"
        cases.complete_task(db, clock, WHO[task.element_id], task.id, data)
        done.append(task.element_id)
    return done


def _finish_adjustments(db: Database, clock: ManualClock) -> int:
    """Run what the worker's schedule opens; the department keeps the proposal, the committee decides."""
    opened = run_due_schedules(db, clock)
    with db.read() as session:
        running = list(
            session.scalars(
                select(Case.id).where(Case.process_id == "pool_adjustment", Case.status == "running")
            )
        )
    for adjustment in running:
        review = next(t for t in cases.get_case(db, adjustment).ready if t.element_id == "review_proposal")
        cases.complete_task(db, clock, "li", review.id, task_detail(db, "li", review.id).values)
        decision = next(
            t for t in cases.get_case(db, adjustment).ready if t.element_id == "adjustment_decision"
        )
        minute = {"meeting_date": clock.now().date().isoformat(), "minute_ref": f"SC-{clock.now().year}"}
        view = cases.complete_task(db, clock, "wu", decision.id, minute)
        assert view.status == "finished" and view.data["retained"] == ["s1"], view.data
    return opened


def _size(db: Database, case_id: str) -> tuple[int, int]:
    with db.read() as session:
        snap = session.get(Snapshot, case_id)
        assert snap is not None
        return len(json.loads(snap.state_json)["tasks"]), len(snap.state_json)


def test_ten_years_keep_the_live_state_of_one(tmp_path: Path, sqlite_template: Path) -> None:
    shutil.copyfile(sqlite_template, tmp_path / "cadre.db")
    db = Database(f"sqlite:///{tmp_path / 'cadre.db'}")
    clock = ManualClock(datetime(2027, 1, 4, tzinfo=timezone.utc))
    deploy_processes(db, ROOT / "processes", "test", clock.now())
    with db.write() as session:
        ensure_unit(session, "u1")
        for user, role, unit in (
            ("li", "org_department", None),
            ("wang", "mentor", "u1"),
            ("uc", "unit_committee", "u1"),
            ("ps", "party_school", None),
            ("wu", "party_committee", None),
        ):
            ensure_user(session, user)
            grant(session, user, role, unit)
    admission = {"key": "cadre:s1", "candidate": "s1", "name": "Sun Yi", "unit": "u1"}
    case_id = cases.start_case(
        db, clock, "li", "reserve_cadre", {"name": "cadre_admitted", "data": admission}
    ).id
    assert _complete_ready(db, clock, case_id) == ["pair_mentor"]
    with db.write() as session:  # in the pool (how admission puts them there is not this test's subject)
        session.add(
            PoolMember(
                candidate_id="s1",
                name="Sun Yi",
                unit_id="u1",
                source_case_id=case_id,
                admitted_at=clock.now(),
            )
        )

    sizes, events_per_year, adjustments = [], [], 0
    for year in range(1, 11):
        view = cases.get_case(db, case_id)
        assert view.status == "running" and view.data["year"] == year
        sizes.append(_size(db, case_id))
        with db.read() as session:
            events_per_year.append(
                session.scalar(select(func.count()).select_from(Event).where(Event.case_id == case_id))
            )
        for _quarter in range(4):
            clock.advance("P3M")
            cases.fire_due_timers(db, clock.now())
            _complete_ready(db, clock, case_id)
        finding = {"key": "s1", "finding": "unsubstantiated", "reference": f"MS-{year}", "summary": "checked"}
        cases.deliver_message(db, clock, "li", case_id, "finding_attached", finding)
        assert _complete_ready(db, clock, case_id) == ["unit_assessment"]
        assert _complete_ready(db, clock, case_id) == ["confirm_assessment"]
        adjustments += _finish_adjustments(db, clock)
        messages.deliver_messages(db, clock)

    final = cases.get_case(db, case_id)
    assert final.data["year"] == 11 and final.data["talks_total"] == 40 and final.data["findings_total"] == 10
    assert adjustments >= 2  # two years apart: the worker opened one every second year
    (tasks1, bytes1), (tasks10, bytes10) = sizes[0], sizes[-1]
    print("year: (snapshot tasks, bytes):", list(enumerate(sizes, start=1)))
    assert tasks10 <= tasks1 * 1.1 and bytes10 <= bytes1 * 1.1, sizes
    assert events_per_year == sorted(events_per_year) and events_per_year[-1] > events_per_year[0] * 5
