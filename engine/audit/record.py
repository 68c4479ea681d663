"""A case's record as an auditor receives it: its events, chain head, snapshot and definitions.

The record is read either from the database (:func:`load_record`) or from an exported bundle
(``engine.audit.bundle``); the chain check and the re-execution work on this one shape, so a bundle
is verified by exactly the code that verifies a live case.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.store.db import Database
from engine.store.models import Case, DefinitionVersion, Event, Snapshot


@dataclass(frozen=True)
class RecordedEvent:
    """One event row as stored: ``payload_json`` is the stored text, ``payload`` its parsed value."""

    case_id: str
    seq: int
    type: str
    schema: int
    at: datetime
    actor: str
    payload_json: str
    prev_hash: str
    hash: str

    @property
    def payload(self) -> Any:
        try:
            return json.loads(self.payload_json)
        except ValueError:
            return None


@dataclass(frozen=True)
class RecordedSnapshot:
    seq: int
    definition_hash: str
    state_json: str
    state_hash: str


@dataclass(frozen=True)
class RecordedDefinition:
    """A pinned definition version: the hash it is stored under and every file (path -> text)."""

    hash: str
    process_id: str
    version: int
    files: dict[str, str]


@dataclass(frozen=True)
class CaseRecord:
    """Everything needed to check a case without the rest of the database."""

    case_id: str
    process_id: str
    definition_hash: str  # the version pinned on the case row
    last_seq: int  # the chain head kept on the case row (or in a bundle's manifest)
    head_hash: str
    events: list[RecordedEvent]
    definitions: dict[str, RecordedDefinition]
    snapshot: RecordedSnapshot | None
    data_json: str | None = None  # the case row's data projection (absent in bundles)
    status: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def used_definition_hashes(definition_hash: str, events: list[RecordedEvent]) -> list[str]:
    """The pinned version plus any other version an event names (e.g. a later migration's target)."""
    hashes = [definition_hash]
    for event in events:
        payload = event.payload
        named = payload.get("definition_hash") if isinstance(payload, dict) else None
        if isinstance(named, str) and named not in hashes:
            hashes.append(named)
    return hashes


def case_ids(db: Database) -> list[str]:
    """Every case id, oldest first (the order ``verify --all`` reports in)."""
    with db.read() as session:
        return list(session.scalars(select(Case.id).order_by(Case.started_at, Case.id)))


def load_record(db: Database, case_id: str) -> CaseRecord:
    with db.read() as session:
        return record_in_session(session, case_id)


def record_in_session(session: Session, case_id: str) -> CaseRecord:
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"no case {case_id}", case_id=case_id)
    rows = session.scalars(select(Event).where(Event.case_id == case_id).order_by(Event.seq)).all()
    events = [
        RecordedEvent(
            case_id=r.case_id,
            seq=r.seq,
            type=r.type,
            schema=r.schema,
            at=r.at,
            actor=r.actor,
            payload_json=r.payload_json,
            prev_hash=r.prev_hash,
            hash=r.hash,
        )
        for r in rows
    ]
    definitions = {}
    for digest in used_definition_hashes(case.definition_hash, events):
        row = session.get(DefinitionVersion, digest)
        if row is not None:
            definitions[digest] = RecordedDefinition(
                row.hash, row.process_id, row.version, json.loads(row.files_json)
            )
    snap = session.get(Snapshot, case_id)
    snapshot = (
        RecordedSnapshot(snap.seq, snap.definition_hash, snap.state_json, snap.state_hash)
        if snap is not None
        else None
    )
    return CaseRecord(
        case_id=case.id,
        process_id=case.process_id,
        definition_hash=case.definition_hash,
        last_seq=case.last_seq,
        head_hash=case.head_hash,
        events=events,
        definitions=definitions,
        snapshot=snapshot,
        data_json=case.data_json,
        status=case.status,
    )
