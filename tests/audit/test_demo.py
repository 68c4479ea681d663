"""Verification and the as-of view on the demo database (``cadreflow demo``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import events
from engine.audit.bundle import export_case, verify_bundle
from engine.audit.record import case_ids
from engine.audit.replay import ReplayDivergence, state_after, states
from engine.audit.verify import verify_all
from engine.errors import NotFound
from engine.store.db import Database
from engine.store.models import Event
from tests.audit.make_golden import first_case


def _log(db: Database, case_id: str) -> list[Event]:
    with db.read() as session:
        rows = list(session.scalars(select(Event).where(Event.case_id == case_id).order_by(Event.seq)))
        session.expunge_all()
        return rows


def test_every_demo_case_verifies(demo_template: Path) -> None:
    db = Database(f"sqlite:///{demo_template}")
    try:
        seen: list[str] = []
        reports = verify_all(db, progress=lambda report: seen.append(report.case_id))
    finally:
        db.dispose()
    assert [r.line() for r in reports if not r.ok] == []
    assert seen == [r.case_id for r in reports]
    assert {r.case_id for r in reports} == set(case_ids(db))
    assert len(reports) >= 8 and sum(r.events for r in reports) > 300


def test_every_demo_case_exports_a_bundle_that_verifies_offline(demo_template: Path, tmp_path: Path) -> None:
    db = Database(f"sqlite:///{demo_template}")
    try:
        ids = case_ids(db)
        for case_id in ids:
            manifest = export_case(db, case_id, tmp_path / f"{case_id}.zip", exported_by="test")
            assert manifest["head"]["seq"] == manifest["event_count"]
    finally:
        db.dispose()
    for case_id in ids:
        report = verify_bundle(tmp_path / f"{case_id}.zip")
        assert report.ok, report.line()


def test_the_as_of_view_shows_the_case_as_it_stood_after_each_event(demo_template: Path) -> None:
    db = Database(f"sqlite:///{demo_template}")
    try:
        case_id = first_case(db, "reserve_selection", "finished")
        log = _log(db, case_id)
        all_states = list(states(db, case_id))
        first = state_after(db, case_id, 1)
        opened = next(e for e in log if e.type == events.TASK_COMPLETED)
        after_open = state_after(db, case_id, opened.seq)
    finally:
        db.dispose()

    assert [s.seq for s in all_states] == [e.seq for e in log]
    assert [s.event_type for s in all_states] == [e.type for e in log]
    # Right after the start: only the department's first task is ready, nothing decided yet.
    assert first.event_type == events.CASE_STARTED and not first.finished
    assert [t["element_id"] for t in first.ready_tasks] == ["open_batch"]
    assert first.active_elements == ["open_batch"]
    assert "batch_name" not in first.data
    # After the batch is opened: the form's data is in the case data, the path runs through open_batch.
    form = json.loads(opened.payload_json)["data"]
    assert after_open.data["batch_name"] == form["batch_name"]
    assert "open_batch" in after_open.completed_elements
    assert "open_batch" not in after_open.active_elements
    assert {t["element_id"] for t in after_open.ready_tasks} == {"nominate"}
    # Every ready task of a state was announced by a task.ready event at or before it
    # (A step is one transaction, so this holds at the end of each step.)
    announced: set[str] = set()
    for position, (state, event) in enumerate(zip(all_states, log, strict=True)):
        if event.type == events.TASK_READY:
            announced.add(json.loads(event.payload_json)["task_id"])
        step_ends = position + 1 == len(log) or log[position + 1].type in events.INPUT_TYPES
        if step_ends:
            assert {t["task_id"] for t in state.ready_tasks} <= announced, f"after event {event.seq}"
    # The end: finished, nothing active, the case data as stored.
    assert all_states[-1].finished and all_states[-1].ready_tasks == []


def test_the_as_of_view_follows_timers_messages_and_cycles(demo_template: Path) -> None:
    db = Database(f"sqlite:///{demo_template}")
    try:
        case_id = first_case(db, "reserve_cadre", "finished")
        log = _log(db, case_id)
        all_states = {s.seq: s for s in states(db, case_id)}
    finally:
        db.dispose()
    scheduled = next(e for e in log if e.type == events.TIMER_SCHEDULED)
    timer = json.loads(scheduled.payload_json)
    assert {"element_id": timer["element_id"], "due": timer["due"]} in all_states[
        scheduled.seq
    ].waiting_timers
    assert timer["element_id"] in all_states[scheduled.seq].active_elements
    cycle = next(e for e in log if e.type == events.CYCLE_STARTED)
    assert all_states[cycle.seq].cycle == json.loads(cycle.payload_json)["cycle"] == 2
    # A step is one transaction: the state after any of its events is the state after the step, so
    # cycle 1 is what stood before the input whose step ended the year.
    ending = max(e.seq for e in log if e.seq < cycle.seq and e.type in events.INPUT_TYPES)
    assert all_states[ending - 1].cycle == 1
    received = next(e for e in log if e.type == events.MESSAGE_RECEIVED)
    name = json.loads(received.payload_json)["name"]
    assert name in all_states[received.seq - 1].waiting_messages
    assert name not in all_states[received.seq].waiting_messages


def test_the_as_of_view_refuses_an_event_the_case_does_not_have(demo_db: Database) -> None:
    case_id = first_case(demo_db, "reserve_selection", "finished")
    with pytest.raises(NotFound):
        state_after(demo_db, case_id, 10_000)
    with pytest.raises(NotFound):
        state_after(demo_db, "c-nope", 1)


def test_the_as_of_view_of_a_tampered_log_is_a_typed_error(demo_db: Database) -> None:
    case_id = first_case(demo_db, "reserve_selection", "finished")
    target = next(e for e in _log(demo_db, case_id) if e.type == events.AUTOMATIC_COMPLETED)
    with demo_db.write() as session:
        row = session.get(Event, (case_id, target.seq))
        assert row is not None
        row.payload_json = row.payload_json.replace(target.payload_json[2:8], "tamper")
    with pytest.raises(ReplayDivergence) as raised:
        state_after(demo_db, case_id, target.seq + 5)
    assert raised.value.divergence.seq == target.seq
