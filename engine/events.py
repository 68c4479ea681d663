"""The event log: stable type names and the one function that appends to a case's hash chain.

Events are never updated or deleted; corrections are new events. Types are dotted, past-tense, stable
names — recorded histories and other tools depend on them, so renaming one is a breaking change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from engine.canonical import canonical_json, event_hash, format_time
from engine.store.models import Case, Event

SCHEMA_VERSION = 1

# Inputs: what came from outside. Re-executing a case replays exactly these.
CASE_STARTED = "case.started"
TASK_CLAIMED = "task.claimed"
TASK_UNCLAIMED = "task.unclaimed"
TASK_COMPLETED = "task.completed"
TIMER_FIRED = "timer.fired"
MESSAGE_RECEIVED = "message.received"
# A designer moved the case to another version of its process. Payload: from_hash, from_version,
# definition_hash and version (the target, named as in case.started), why. Re-execution applies it
# with engine.designer.migration.migrate_in_session (which calls engine.bpmn.migration.migrate_runtime).
CASE_MIGRATED = "case.migrated"
# Outputs: what the engine did in response, recorded for readers (timeline, audit, explanations).
AUTOMATIC_COMPLETED = "automatic.completed"
TASK_READY = "task.ready"
TIMER_SCHEDULED = "timer.scheduled"
CASE_FINISHED = "case.finished"
MESSAGE_SENT = "message.sent"  # a step threw a message for other cases (it waits in the outbox)
CYCLE_STARTED = "cycle.started"  # a long-running case's next workflow instance (e.g. its next year)
MESSAGE_DELIVERED = "message.delivered"  # the outbox handed it on: to which cases

INPUT_TYPES = frozenset(
    {CASE_STARTED, TASK_CLAIMED, TASK_UNCLAIMED, TASK_COMPLETED, TIMER_FIRED, MESSAGE_RECEIVED, CASE_MIGRATED}
)


def event_body(
    case_id: str, seq: int, type_: str, at: datetime, actor: str, payload: dict[str, Any]
) -> dict[str, Any]:
    """The hashed part of an event (see ``engine.canonical``)."""
    return {
        "case_id": case_id,
        "seq": seq,
        "type": type_,
        "schema": SCHEMA_VERSION,
        "at": format_time(at),
        "actor": actor,
        "payload": payload,
    }


def append(
    session: Session, case: Case, type_: str, at: datetime, actor: str, payload: dict[str, Any]
) -> Event:
    """Append one event to ``case``'s chain and move the chain head on the case row."""
    seq = case.last_seq + 1
    body = event_body(case.id, seq, type_, at, actor, payload)
    digest = event_hash(case.head_hash, body)
    row = Event(
        case_id=case.id,
        seq=seq,
        type=type_,
        schema=SCHEMA_VERSION,
        at=at,
        actor=actor,
        payload_json=canonical_json(payload),
        prev_hash=case.head_hash,
        hash=digest,
    )
    session.add(row)
    case.last_seq = seq
    case.head_hash = digest
    return row
