"""The hash-chain check: does the stored log link up, event by event, to the chain head?

This needs no engine and no definitions — only ``engine.canonical`` (the offline verifier's
contract). It finds rows that were edited, deleted, inserted or reordered, unless whoever did it
also recomputed every later hash and the head; re-execution (``engine.audit.replay``) catches that.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.audit.record import CaseRecord, RecordedEvent
from engine.canonical import GENESIS_HASH, canonical_json, event_hash
from engine.events import SCHEMA_VERSION, event_body


@dataclass(frozen=True)
class Divergence:
    """The first event where the record is not what it should be, and what differed.

    ``seq`` 0 means the record as a whole (a bundle file, a definition); ``expected`` is what the
    chain or re-execution says, ``found`` what is stored.
    """

    seq: int
    event_type: str
    field: str
    expected: str
    found: str
    message: str

    def describe(self) -> str:
        text = f"event {self.seq} ({self.event_type or '-'}): {self.message}"
        if self.field:
            text += f" [{self.field}: expected {shorten(self.expected)}, found {shorten(self.found)}]"
        return text


def shorten(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check_chain(record: CaseRecord) -> Divergence | None:
    """The first problem in ``record``'s chain, or None when every link and the head hold."""
    prev = GENESIS_HASH
    for position, event in enumerate(record.events, start=1):
        problem = _check_event(event, position, prev, record.case_id)
        if problem is not None:
            return problem
        prev = event.hash
    last = record.events[-1] if record.events else None
    last_seq = last.seq if last else 0
    if record.last_seq != last_seq:
        deleted = record.last_seq > last_seq
        return Divergence(
            record.last_seq if deleted else last_seq,
            "(deleted)" if deleted else (last.type if last else ""),
            "head.last_seq",
            str(record.last_seq),
            str(last_seq),
            f"the case head says the newest event is {record.last_seq}, the log ends at {last_seq}"
            + (" (the newest events were deleted)" if deleted else ""),
        )
    if record.head_hash != prev:
        return Divergence(
            last_seq,
            last.type if last else "",
            "head.hash",
            record.head_hash,
            prev,
            "the case head's hash is not the newest event's hash",
        )
    return None


def _check_event(event: RecordedEvent, position: int, prev: str, case_id: str) -> Divergence | None:
    def problem(field: str, expected: object, found: object, message: str) -> Divergence:
        return Divergence(event.seq, event.type, field, str(expected), str(found), message)

    if event.case_id != case_id:
        return problem("case_id", case_id, event.case_id, "the event belongs to another case")
    if event.seq > position:  # a gap: name the missing event, not the one after it
        return Divergence(
            position,
            "(missing)",
            "seq",
            str(position),
            str(event.seq),
            f"event {position} is missing (deleted); the log goes on with event {event.seq}",
        )
    if event.seq != position:
        return problem("seq", position, event.seq, f"event {position} is out of order or duplicated")
    if event.prev_hash != prev:
        return problem("prev_hash", prev, event.prev_hash, "prev_hash does not link to the previous event")
    if event.schema != SCHEMA_VERSION:
        return problem("schema", SCHEMA_VERSION, event.schema, "unknown event schema version")
    payload = event.payload
    if payload is None or canonical_json(payload) != event.payload_json:
        return problem(
            "payload", "canonical JSON", event.payload_json[:200], "the payload is not canonical JSON"
        )
    body = event_body(event.case_id, event.seq, event.type, event.at, event.actor, payload)
    recomputed = event_hash(prev, body)
    if recomputed != event.hash:
        return problem(
            "hash",
            recomputed,
            event.hash,
            "the hash does not match the event's type, time, actor and payload (the row was edited)",
        )
    return None
