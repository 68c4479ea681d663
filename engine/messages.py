"""Delivering the messages cases throw to each other (the outbox), one transaction per message.

A step puts what its case threw into ``message_outbox`` (``engine.cases``); this module hands each
message on: to new cases of the processes whose start event catches it, or to the running cases
waiting for it whose correlation key equals the payload's ``key``. Several workers may deliver at
once: rows are claimed with ``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import events
from engine.bpmn.runtime import ThrownMessage, start_messages
from engine.canonical import canonical_json
from engine.cases import lock_case, receive_in_session, restore, start_in_session
from engine.clock import Clock
from engine.definitions import Definition, get_definition, latest_version
from engine.errors import NotFound
from engine.store.db import Database
from engine.store.models import Case, DefinitionVersion, MessageOutbox

START_PREFIX = "start:"


def deliver_messages(db: Database, clock: Clock, limit: int | None = None) -> int:
    """Deliver pending outbox messages (one transaction each); return how many were handled.

    A message starts a case of every process whose start event catches it; otherwise it goes to the
    running cases waiting for it whose ``correlation_key`` equals the payload's ``key``. Both ends log
    the link: the target a ``case.started``/``message.received`` naming the sender, the sender a
    ``message.delivered`` naming the targets. A message nobody takes is marked undeliverable (and
    logged so in the sender) rather than retried forever.
    """
    handled = 0
    while limit is None or handled < limit:
        with db.write() as session:
            row = session.scalars(
                select(MessageOutbox)
                .where(MessageOutbox.status == "pending")
                .order_by(MessageOutbox.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if row is None:
                return handled
            now = clock.now()
            payload = json.loads(row.payload_json)
            message = ThrownMessage(row.name, payload)
            via = {"source_case": row.source_case_id, "outbox_id": row.id}
            if row.name.startswith(START_PREFIX):
                # "start:<process>" asks for a case of a process that starts without a message (e.g.
                # the adjustment asking for a new selection batch): the payload is its start data.
                try:
                    definition, version = _latest(session, row.name[len(START_PREFIX) :])
                except NotFound:
                    targets = []  # no such process deployed: undeliverable, logged in the sender
                else:
                    data = payload if isinstance(payload, dict) else {}
                    started = start_in_session(
                        session, definition, version, "system:message", now, None, via, data
                    )
                    targets = [started.id]
            else:
                targets = [
                    start_in_session(session, definition, version, "system:message", now, message, via).id
                    for definition, version in _starters(session, row.name)
                ]
            if not targets:
                targets = _deliver_to_waiting(session, message, via, now)
            row.status = "delivered" if targets else "undeliverable"
            row.delivered_at = now
            row.targets_json = canonical_json(targets)
            source = lock_case(session, row.source_case_id)
            events.append(
                session,
                source,
                events.MESSAGE_DELIVERED,
                now,
                "system:engine",
                {"outbox_id": row.id, "name": row.name, "targets": targets},
            )
            handled += 1
    return handled


def _latest(session: Session, process_id: str) -> tuple[Definition, int]:
    row = latest_version(session, process_id)
    return get_definition(session, row.hash), row.version


def _starters(session: Session, name: str) -> list[tuple[Definition, int]]:
    """The latest version of every deployed process whose start event catches message ``name``."""
    out = []
    for process_id in sorted(session.scalars(select(DefinitionVersion.process_id).distinct())):
        row = latest_version(session, process_id)
        definition = get_definition(session, row.hash)
        if name in start_messages(definition.specs):
            out.append((definition, row.version))
    return out


def _deliver_to_waiting(
    session: Session, message: ThrownMessage, via: dict[str, Any], now: datetime
) -> list[str]:
    key = message.payload.get("key") if isinstance(message.payload, dict) else None
    if key is None:
        return []
    delivered = []
    candidates = session.scalars(
        select(Case.id).where(Case.status == "running", Case.correlation_key == str(key)).order_by(Case.id)
    ).all()
    for case_id in candidates:
        case = lock_case(session, case_id)
        definition = get_definition(session, case.definition_hash)
        runtime = restore(session, case, definition)
        if message.name not in runtime.waiting_message_names():
            continue
        receive_in_session(
            session, case, definition, runtime, "system:message", message.name, message.payload, now, via
        )
        delivered.append(case.id)
    return delivered
