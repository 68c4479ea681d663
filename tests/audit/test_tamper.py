"""One test per kind of tampering with a stored case: each must fail verification naming the event.

A case is driven through the selection's happy path (up to the notice-period timer) on SQLite and on
PostgreSQL; then a single row of ``events`` or ``snapshots`` is altered by hand, as someone with
database access would, and :func:`verify_case` must say where.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from engine import events
from engine.audit.verify import VerifyReport, verify_case
from engine.canonical import canonical_json, content_hash, event_hash
from engine.events import event_body
from engine.store.models import Case, Event, Snapshot
from tests.conftest import Harness


@pytest.fixture
def recorded(harness: Harness) -> str:
    """A selection batch driven to its committee decision: about 70 events, inputs and outputs."""
    case_id = harness.start()
    harness.drive(case_id, until="committee_decision")
    report = verify_case(harness.db, case_id)
    assert report.ok, report.line()
    return case_id


def _event(harness: Harness, case_id: str, type_: str, nth: int = 0) -> Event:
    found = [e for e in harness.events(case_id) if e.type == type_]
    assert len(found) > nth, f"the case has no {type_} number {nth}"
    return found[nth]


def _failed(harness: Harness, case_id: str) -> VerifyReport:
    report = verify_case(harness.db, case_id)
    assert not report.ok, "verification passed a tampered case"
    assert report.divergence is not None
    assert report.line().startswith(f"FAIL {case_id}: event {report.divergence.seq} (")
    return report


def _set_event(harness: Harness, case_id: str, seq: int, **values: Any) -> None:
    with harness.db.write() as session:
        session.execute(update(Event).where(Event.case_id == case_id, Event.seq == seq).values(**values))


def test_editing_an_event_payload_is_named(harness: Harness, recorded: str) -> None:
    target = _event(harness, recorded, events.TASK_COMPLETED, 2)
    payload = json.loads(target.payload_json)
    payload["data"]["tampered"] = True
    _set_event(harness, recorded, target.seq, payload_json=canonical_json(payload))

    report = _failed(harness, recorded)
    assert report.divergence is not None
    assert (report.divergence.seq, report.divergence.event_type) == (target.seq, events.TASK_COMPLETED)
    assert report.divergence.field == "hash"


@pytest.mark.parametrize("column", ["at", "actor", "type"])
def test_editing_an_events_time_actor_or_type_is_named(harness: Harness, recorded: str, column: str) -> None:
    target = _event(harness, recorded, events.TASK_READY, 3)
    value: Any = {
        "at": target.at + timedelta(seconds=1),
        "actor": "mallory",
        "type": events.TASK_CLAIMED,
    }[column]
    _set_event(harness, recorded, target.seq, **{column: value})

    report = _failed(harness, recorded)
    assert report.divergence is not None
    assert report.divergence.seq == target.seq
    assert report.divergence.field == "hash"


def test_deleting_a_middle_event_is_named(harness: Harness, recorded: str) -> None:
    target = _event(harness, recorded, events.AUTOMATIC_COMPLETED, 4)
    with harness.db.write() as session:
        session.execute(delete(Event).where(Event.case_id == recorded, Event.seq == target.seq))

    report = _failed(harness, recorded)
    assert report.divergence is not None
    assert (report.divergence.seq, report.divergence.field) == (target.seq, "seq")
    assert "deleted" in report.divergence.message


def test_deleting_the_newest_event_is_named(harness: Harness, recorded: str) -> None:
    newest = harness.events(recorded)[-1]
    with harness.db.write() as session:
        session.execute(delete(Event).where(Event.case_id == recorded, Event.seq == newest.seq))

    report = _failed(harness, recorded)
    assert report.divergence is not None
    assert (report.divergence.seq, report.divergence.field) == (newest.seq, "head.last_seq")


def test_inserting_an_event_with_a_stale_chain_is_named(harness: Harness, recorded: str) -> None:
    newest = harness.events(recorded)[-1]
    with harness.db.write() as session:
        session.add(
            Event(
                case_id=recorded,
                seq=newest.seq + 1,
                type=events.CASE_FINISHED,
                schema=1,
                at=newest.at,
                actor="system:engine",
                payload_json='{"result":{}}',
                prev_hash=newest.hash,
                hash="f" * 64,
            )
        )

    report = _failed(harness, recorded)
    assert report.divergence is not None
    assert (report.divergence.seq, report.divergence.field) == (newest.seq + 1, "hash")


def _append_rehashed(harness: Harness, case_id: str, type_: str, actor: str, payload: dict[str, Any]) -> int:
    """Append an event with a correctly computed hash and move the case head: the chain is fine."""
    with harness.db.write() as session:
        case = session.get(Case, case_id)
        assert case is not None
        newest = session.scalars(
            select(Event).where(Event.case_id == case_id).order_by(Event.seq.desc())
        ).first()
        assert newest is not None
        seq = case.last_seq + 1
        body = event_body(case_id, seq, type_, newest.at, actor, payload)
        digest = event_hash(case.head_hash, body)
        session.add(
            Event(
                case_id=case_id,
                seq=seq,
                type=type_,
                schema=1,
                at=newest.at,
                actor=actor,
                payload_json=canonical_json(payload),
                prev_hash=case.head_hash,
                hash=digest,
            )
        )
        case.last_seq, case.head_hash = seq, digest
    return seq


def test_an_appended_engine_output_with_a_valid_chain_is_caught_by_re_execution(
    harness: Harness, recorded: str
) -> None:
    """A forged outcome (the case "finished" with a chosen result) links up; re-execution refuses it."""
    seq = _append_rehashed(
        harness, recorded, events.CASE_FINISHED, "system:engine", {"result": {"admitted": ["x"]}}
    )

    report = _failed(harness, recorded)
    assert report.divergence is not None
    assert (report.divergence.seq, report.divergence.event_type) == (seq, events.CASE_FINISHED)
    assert "did not produce" in report.divergence.message


def test_an_appended_input_with_a_valid_chain_is_caught_by_re_execution(
    harness: Harness, recorded: str
) -> None:
    """A forged decision for the ready task links up, but its consequences are missing from the log."""
    task = harness.task(recorded, "committee_decision")
    data = harness.data("committee_decision")
    seq = _append_rehashed(
        harness,
        recorded,
        events.TASK_COMPLETED,
        "mallory",
        {"task_id": task.id, "element_id": "committee_decision", "data": data},
    )

    report = _failed(harness, recorded)
    assert report.divergence is not None
    assert report.divergence.seq == seq + 1
    assert "the log lacks" in report.divergence.message


def test_reordering_two_events_is_named(harness: Harness, recorded: str) -> None:
    first = _event(harness, recorded, events.TASK_READY, 2)
    second = harness.events(recorded)[first.seq]  # the event right after it
    with harness.db.write() as session:
        session.execute(update(Event).where(Event.case_id == recorded, Event.seq == first.seq).values(seq=-1))
        session.execute(
            update(Event).where(Event.case_id == recorded, Event.seq == second.seq).values(seq=first.seq)
        )
        session.execute(
            update(Event).where(Event.case_id == recorded, Event.seq == -1).values(seq=second.seq)
        )

    report = _failed(harness, recorded)
    assert report.divergence is not None
    assert report.divergence.seq == first.seq
    assert report.divergence.field in ("prev_hash", "hash")


def _snapshot(harness: Harness, case_id: str) -> Snapshot:
    with harness.db.read() as session:
        snap = session.get(Snapshot, case_id)
        assert snap is not None
        session.expunge(snap)
        return snap


def _edited_state(state_json: str) -> dict[str, Any]:
    state: dict[str, Any] = json.loads(state_json)
    state["data"] = {**(state.get("data") or {}), "tampered": True}
    return state


def test_editing_a_snapshots_state_is_named(harness: Harness, recorded: str) -> None:
    snap = _snapshot(harness, recorded)
    with harness.db.write() as session:
        session.execute(
            update(Snapshot)
            .where(Snapshot.case_id == recorded)
            .values(state_json=json.dumps(_edited_state(snap.state_json)))
        )

    report = _failed(harness, recorded)
    assert report.divergence is not None
    assert (report.divergence.seq, report.divergence.field) == (snap.seq, "snapshot.state_hash")
    assert "its own content" in report.divergence.message


def test_editing_a_snapshots_state_and_its_hash_together_is_caught_by_re_execution(
    harness: Harness, recorded: str
) -> None:
    snap = _snapshot(harness, recorded)
    state = _edited_state(snap.state_json)
    with harness.db.write() as session:
        session.execute(
            update(Snapshot)
            .where(Snapshot.case_id == recorded)
            .values(state_json=json.dumps(state), state_hash=content_hash(state))
        )

    report = _failed(harness, recorded)
    assert report.divergence is not None
    assert (report.divergence.seq, report.divergence.field) == (snap.seq, "snapshot.state_hash")
    assert "re-executed state" in report.divergence.message


def test_editing_a_snapshots_hash_is_named(harness: Harness, recorded: str) -> None:
    snap = _snapshot(harness, recorded)
    with harness.db.write() as session:
        session.execute(update(Snapshot).where(Snapshot.case_id == recorded).values(state_hash="0" * 64))

    report = _failed(harness, recorded)
    assert report.divergence is not None
    assert (report.divergence.seq, report.divergence.field) == (snap.seq, "snapshot.state_hash")
