"""The storage contract, one suite run against every backend (SQLite and PostgreSQL via ``database``).

What the rest of cadreflow relies on from ``engine.store``: migrations that can run again, an event
table that refuses a second event at the same ``(case_id, seq)`` with a clean ``Conflict``, times that
come back timezone-aware UTC, JSON text stored byte for byte (never re-encoded the way JSONB would),
a hash chain an offline verifier can recompute, and snapshots that restore to exactly the state that
was saved — and keep running exactly like an instance that was never saved.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import StatementError

from engine import events
from engine.bpmn.runtime import CaseRuntime
from engine.canonical import canonical_json, content_hash, format_time
from engine.definitions import Definition, get_definition
from engine.errors import Conflict
from engine.store.db import Database
from engine.store.migrate import MIGRATIONS, upgrade
from engine.store.models import Base, Case, DefinitionVersion, Event, HumanTask, PoolMember, Snapshot, Unit
from tests.conftest import Harness

# ------------------------------------------------------------------------------------------------
# helpers


def _head_revision() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def _schema(db: Database) -> dict[str, list[str]]:
    """Table name -> sorted column names, as the database reports them."""
    inspector = inspect(db.write_engine)
    return {name: sorted(column["name"] for column in inspector.get_columns(name))
            for name in inspector.get_table_names()}


def _definition(db: Database, case_id: str) -> Definition:
    with db.read() as session:
        case = session.get(Case, case_id)
        assert case is not None
        return get_definition(session, case.definition_hash)


def _snapshot(db: Database, case_id: str) -> Snapshot:
    with db.read() as session:
        snap = session.get(Snapshot, case_id)
        assert snap is not None
        session.expunge(snap)
        return snap


def _step_data(definition: Definition, element_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """What the service hands SpiffWorkflow for a completion (the form, and under ``formDataKey``)."""
    out = dict(data)
    info = definition.user_tasks.get(element_id)
    key = info.properties.get("formDataKey") if info else None
    if key:
        out[key] = dict(data)
    return out


def _replay_live(definition: Definition, log: list[Event]) -> CaseRuntime:
    """Re-execute a case's input events on one instance that is never saved or restored."""
    runtime: CaseRuntime | None = None
    for event in log:
        payload = json.loads(event.payload_json)
        seed = f"{event.case_id}/{event.seq}"
        if event.type == events.CASE_STARTED:
            runtime, _ = CaseRuntime.start(definition.specs, event.at, seed)
        elif event.type == events.TASK_COMPLETED:
            assert runtime is not None
            data = _step_data(definition, payload["element_id"], payload["data"])
            runtime.complete(payload["task_id"], data, event.at, seed)
        else:
            assert event.type not in {events.TIMER_FIRED, events.MESSAGE_RECEIVED}, "replay this input too"
    assert runtime is not None, "the log has no case.started event"
    return runtime


def _dump(state: dict[str, Any]) -> str:
    """The snapshot text as the service writes it (key order as SpiffWorkflow produced it)."""
    return json.dumps(state, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


# ------------------------------------------------------------------------------------------------
# migrations


def test_migrations_are_idempotent(database: Database) -> None:
    """Upgrading an up-to-date database twice changes nothing and keeps the rows."""
    with database.write() as session:
        session.add(Unit(id="keep", name_en="Kept", name_zh="保留"))
    before = _schema(database)
    assert set(before) == set(Base.metadata.tables) | {"alembic_version"}

    upgrade(database)
    upgrade(database)

    assert _schema(database) == before
    with database.read() as session:
        versions = session.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        assert versions == [_head_revision()]
        unit = session.get(Unit, "keep")
        assert unit is not None and unit.name_zh == "保留"


# ------------------------------------------------------------------------------------------------
# the event table is append-only by primary key


def test_duplicate_event_key_is_a_conflict(harness: Harness) -> None:
    """A second event at an existing ``(case_id, seq)`` is refused as Conflict, never overwrites."""
    case_id = harness.start()
    original = harness.events(case_id)[0]

    with pytest.raises(Conflict) as raised:
        with harness.db.write() as session:
            session.add(Event(
                case_id=case_id, seq=1, type=events.TASK_COMPLETED, schema=events.SCHEMA_VERSION,
                at=harness.clock.now(), actor="mallory", payload_json="{}", prev_hash="0" * 64, hash="f" * 64,
            ))
    assert raised.value.code == "conflict"

    # The same when the duplicate is flushed inside the unit of work rather than at commit.
    with pytest.raises(Conflict):
        with harness.db.write() as session:
            session.add(Event(
                case_id=case_id, seq=original.seq, type="x", schema=1, at=harness.clock.now(),
                actor="mallory", payload_json="{}", prev_hash="0" * 64, hash="e" * 64,
            ))
            session.flush()

    after = harness.events(case_id)[0]
    assert (after.type, after.actor, after.payload_json, after.hash) == (
        original.type, original.actor, original.payload_json, original.hash)
    harness.verify_chain(case_id)


def test_a_failed_unit_of_work_stores_nothing(harness: Harness) -> None:
    """Rows added in a unit of work that then fails with Conflict are all rolled back."""
    case_id = harness.start()
    count = len(harness.events(case_id))
    with pytest.raises(Conflict):
        with harness.db.write() as session:
            session.add(Unit(id="ghost", name_en="Ghost", name_zh="鬼"))
            session.flush()
            session.add(Event(case_id=case_id, seq=1, type="x", schema=1, at=harness.clock.now(), actor="m",
                              payload_json="{}", prev_hash="0" * 64, hash="d" * 64))
    with harness.db.read() as session:
        assert session.get(Unit, "ghost") is None
    assert len(harness.events(case_id)) == count


# ------------------------------------------------------------------------------------------------
# times


def test_times_come_back_timezone_aware_utc(harness: Harness) -> None:
    """Every stored time reads back aware, in UTC, to the microsecond; offsets are normalised."""
    harness.clock.advance("PT0.123456S")
    started = harness.clock.now()
    case_id = harness.start()
    east8 = timezone(timedelta(hours=8))
    with harness.db.write() as session:
        session.add(PoolMember(candidate_id="a1", name="An Yi", unit_id="u1", source_case_id=case_id,
                               admitted_at=datetime(2027, 1, 4, 8, 0, 0, 654321, tzinfo=east8)))

    with harness.db.read() as session:
        case = session.get(Case, case_id)
        assert case is not None
        task = session.scalars(select(HumanTask).where(HumanTask.case_id == case_id)).one()
        member = session.scalars(select(PoolMember).where(PoolMember.source_case_id == case_id)).one()
        definition = session.get(DefinitionVersion, case.definition_hash)
        assert definition is not None
        event_times = list(session.scalars(select(Event.at).where(Event.case_id == case_id)))
        session.expunge_all()
        moments = [case.started_at, case.updated_at, task.created_at, task.due_at, member.admitted_at,
                   definition.deployed_at, *event_times]

    for moment in moments:
        assert moment is not None
        assert moment.tzinfo is not None and moment.utcoffset() == timedelta(0), moment
    assert case.started_at == started and case.started_at.microsecond == 123456
    assert all(at == started for at in event_times)
    assert task.due_at == started + timedelta(days=5)  # open_batch is due in P5D
    assert member.admitted_at == datetime(2027, 1, 4, 0, 0, 0, 654321, tzinfo=timezone.utc)
    assert format_time(member.admitted_at) == "2027-01-04T00:00:00.654321Z"


def test_naive_times_are_refused(harness: Harness) -> None:
    """A naive datetime never reaches the database (it would be read back as some other instant)."""
    case_id = harness.start()
    with pytest.raises(StatementError) as raised:
        with harness.db.write() as session:
            session.add(PoolMember(candidate_id="a1", name="An Yi", unit_id="u1", source_case_id=case_id,
                                   admitted_at=datetime(2027, 1, 4)))
    assert isinstance(raised.value.orig, ValueError) and "naive" in str(raised.value.orig)
    with harness.db.read() as session:
        assert session.scalars(select(PoolMember)).first() is None


# ------------------------------------------------------------------------------------------------
# JSON text


PAYLOAD: dict[str, Any] = {
    "zeta": "最后",
    "alpha": "李明 — Ünïcödé ✓ 😀",
    "nested": {"b": [1, 2.5, 78.5, 1e-7, 1e16, -0.0], "a": None, "é": True, "Z": False},
    "big": 12345678901234567890,
    "escape": "tab\there \"quoted\" back\\slash\nnew line \u2028 ctrl\u0001",
}


def test_canonical_json_text_is_stored_byte_identical(harness: Harness) -> None:
    """The payload text reads back exactly as written (ORM and raw SQL), and hashes over it verify."""
    case_id = harness.start()
    with harness.db.write() as session:
        case = session.get(Case, case_id, with_for_update=True)
        assert case is not None
        written = events.append(session, case, "test.note", harness.clock.now(), "tester", PAYLOAD)
        session.flush()
        seq, text_written = written.seq, written.payload_json

    assert text_written == canonical_json(PAYLOAD)
    assert text_written.startswith('{"alpha":"李明 — Ünïcödé ✓ 😀","big":12345678901234567890,')
    with harness.db.read() as session:
        via_orm = session.get(Event, (case_id, seq))
        assert via_orm is not None
        orm_text = via_orm.payload_json
        raw = session.execute(text("SELECT payload_json FROM events WHERE case_id = :c AND seq = :s"),
                              {"c": case_id, "s": seq}).scalar_one()
    assert orm_text == text_written
    assert raw == text_written
    assert raw.encode("utf-8") == text_written.encode("utf-8")
    assert json.loads(raw) == PAYLOAD
    harness.verify_chain(case_id)


def test_json_text_columns_are_not_normalised(harness: Harness) -> None:
    """Key order, whitespace and number spelling survive (a JSONB column would rewrite all three)."""
    case_id = harness.start()
    odd = '{"z": 1.50,  "a": "\\u00e9 é", "n": 1E2, "a2": [3, 2, 1]}'
    with harness.db.write() as session:
        snap = session.get(Snapshot, case_id)
        assert snap is not None
        snap.state_json = odd
    assert _snapshot(harness.db, case_id).state_json == odd


# ------------------------------------------------------------------------------------------------
# the hash chain over real steps


def test_chain_verifies_after_real_steps(harness: Harness) -> None:
    """After start, completions, a claim and an unclaim the chain recomputes and the head matches."""
    case_id = harness.start()
    harness.clock.advance("PT1H")
    harness.complete(case_id, "open_batch")
    harness.clock.advance("PT1H")
    harness.complete(case_id, "nominate", unit="u1")
    u2 = harness.task(case_id, "nominate", unit="u2")
    actor = harness.user("unit_committee@u2", "unit_committee@u2")
    from engine import cases

    cases.claim_task(harness.db, harness.clock, actor, u2.id)
    cases.unclaim_task(harness.db, harness.clock, actor, u2.id)

    log = harness.verify_chain(case_id)
    types = [e.type for e in log]
    assert types[0] == events.CASE_STARTED
    assert types.count(events.TASK_COMPLETED) == 2
    assert types[-2:] == [events.TASK_CLAIMED, events.TASK_UNCLAIMED]
    assert events.AUTOMATIC_COMPLETED in types and events.TASK_READY in types
    head = harness.case_row(case_id)
    assert (head.last_seq, head.head_hash) == (log[-1].seq, log[-1].hash)
    assert len({e.hash for e in log}) == len(log)


# ------------------------------------------------------------------------------------------------
# snapshots


def test_save_restore_round_trip_mid_case(harness: Harness) -> None:
    """Mid-case, a save/restore round trip changes nothing and the restored instance runs on identically.

    The stored snapshot restores to itself; an instance that was never saved (the log's inputs
    re-executed) and its own saved-and-restored copy take the next step to identical snapshots (same
    seed, same time); and the stored snapshot, restored and given that step, reaches the state the
    service stored for it.

    "Identical" is equal as data and by ``state_hash`` (canonical JSON), not as text: restoring
    rebuilds each task's data from its parent's, so the key order inside a task's delta can change
    in a round trip (SpiffWorkflow 3.2.0; seen here on the ``nominate`` multi-instance children).
    """
    case_id = harness.start()
    harness.clock.advance("PT2H")
    harness.complete(case_id, "open_batch")
    harness.clock.advance("PT3H")
    harness.complete(case_id, "nominate", unit="u1")
    definition = _definition(harness.db, case_id)
    specs = definition.specs

    stored = _snapshot(harness.db, case_id)
    assert stored.seq == harness.case_row(case_id).last_seq
    restored = CaseRuntime.restore(specs, json.loads(stored.state_json))
    assert restored.snapshot() == json.loads(stored.state_json)
    assert content_hash(restored.snapshot()) == stored.state_hash

    live = _replay_live(definition, harness.events(case_id))
    resumed = CaseRuntime.restore(specs, json.loads(_dump(live.snapshot())))
    assert resumed.snapshot() == live.snapshot()
    assert content_hash(resumed.snapshot()) == content_hash(live.snapshot())
    assert [t.task_id for t in resumed.ready_human_tasks()] == [t.task_id for t in live.ready_human_tasks()]

    # The next step through the service, then the same input (seed, time, data) on the three instances.
    harness.clock.advance("PT4H")
    harness.complete(case_id, "nominate", unit="u2")
    log = harness.events(case_id)
    step = next(e for e in log if e.seq > stored.seq and e.type == events.TASK_COMPLETED)
    payload = json.loads(step.payload_json)
    data = _step_data(definition, payload["element_id"], payload["data"])
    seed = f"{case_id}/{step.seq}"
    from_live = live.complete(payload["task_id"], dict(data), step.at, seed)
    from_resumed = resumed.complete(payload["task_id"], dict(data), step.at, seed)
    from_restored = restored.complete(payload["task_id"], dict(data), step.at, seed)

    assert resumed.snapshot() == live.snapshot()
    assert content_hash(resumed.snapshot()) == content_hash(live.snapshot())
    after = _snapshot(harness.db, case_id)
    assert content_hash(restored.snapshot()) == after.state_hash
    assert restored.snapshot() == json.loads(after.state_json)
    recorded = [json.loads(e.payload_json) for e in log
                if e.seq > step.seq and e.type == events.AUTOMATIC_COMPLETED]
    assert from_live.automatic == from_resumed.automatic == from_restored.automatic == recorded
    case_data = json.loads(harness.case_row(case_id).data_json)
    assert live.case_data() == resumed.case_data() == restored.case_data() == case_data

    # And a second round trip after the step.
    again = CaseRuntime.restore(specs, json.loads(after.state_json))
    assert again.snapshot() == json.loads(after.state_json)
    assert content_hash(again.snapshot()) == after.state_hash
