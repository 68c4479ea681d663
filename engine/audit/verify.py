"""Verification of a case: the hash chain, then re-execution, then the stored snapshot.

What passing proves: the stored log links up to the head kept on the case row; re-executing its
inputs on the pinned definitions, with the recorded times and data, makes the engine append exactly
the recorded events (same types, times, actors, payloads, hashes); and the stored snapshot — the
state the live engine resumes from — equals the re-executed one. So every recorded outcome follows
from the recorded inputs and the rules, and nothing has been edited, deleted, inserted or reordered.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from engine.audit.chain import Divergence, check_chain
from engine.audit.record import CaseRecord, case_ids, load_record
from engine.audit.replay import Replay, ReplayDivergence
from engine.canonical import canonical_json, content_hash
from engine.errors import CadreflowError
from engine.store.db import Database


@dataclass(frozen=True)
class VerifyReport:
    """The outcome for one case. ``divergence`` is the first problem found (None when ``ok``)."""

    ok: bool
    case_id: str
    events: int  # events in the log
    seconds: float
    divergence: Divergence | None = None

    def line(self) -> str:
        """``OK <case> (<n> events)`` or ``FAIL <case>: event <seq> (<type>): <what differed>``."""
        if self.ok:
            return f"OK {self.case_id} ({self.events} events)"
        assert self.divergence is not None
        return f"FAIL {self.case_id}: {self.divergence.describe()}"


def verify_case(db: Database, case_id: str) -> VerifyReport:
    """Verify one case of ``db`` (raises NotFound for an unknown case id)."""
    started = time.perf_counter()
    record = load_record(db, case_id)
    return verify_record(record, started=started)


def verify_all(db: Database, progress: Callable[[VerifyReport], None] | None = None) -> list[VerifyReport]:
    """Verify every case, oldest first; ``progress`` is called with each report as it is made."""
    reports = []
    for case_id in case_ids(db):
        report = verify_case(db, case_id)
        if progress is not None:
            progress(report)
        reports.append(report)
    return reports


def verify_record(
    record: CaseRecord, snapshot_hash: str | None = None, started: float | None = None
) -> VerifyReport:
    """Chain, re-execution, then the final snapshot (the record's, or ``snapshot_hash`` for a bundle)."""
    started = time.perf_counter() if started is None else started
    divergence = _first_divergence(record, snapshot_hash)
    return VerifyReport(
        ok=divergence is None,
        case_id=record.case_id,
        events=len(record.events),
        seconds=time.perf_counter() - started,
        divergence=divergence,
    )


def _first_divergence(record: CaseRecord, snapshot_hash: str | None) -> Divergence | None:
    problem = check_chain(record)
    if problem is not None:
        return problem
    try:
        with Replay(record) as replay:
            replay.run()
            return _compare_final(record, replay, snapshot_hash)
    except ReplayDivergence as err:
        return err.divergence
    except CadreflowError as err:  # e.g. a pinned definition that no longer parses
        return Divergence(0, "", "", "", "", f"the case could not be re-executed: {err}")


def _compare_final(record: CaseRecord, replay: Replay, snapshot_hash: str | None) -> Divergence | None:
    mine = replay.snapshot()
    if mine is None:
        return (
            None
            if record.snapshot is None and snapshot_hash is None
            else _at(
                record, record.last_seq, "snapshot", "(none)", "a snapshot", "re-execution left no snapshot"
            )
        )
    replayed_hash = content_hash(json.loads(mine.state_json))
    if snapshot_hash is not None:  # a bundle carries the final snapshot's hash in its manifest
        if snapshot_hash != replayed_hash:
            return _at(
                record,
                mine.seq,
                "snapshot.state_hash",
                replayed_hash,
                snapshot_hash,
                "the manifest's final snapshot hash differs from the re-executed state",
            )
        return None
    stored = record.snapshot
    if stored is None:
        return _at(record, mine.seq, "snapshot", "a snapshot", "(none)", "the stored snapshot is missing")
    try:
        stored_state = json.loads(stored.state_json)
    except ValueError:
        return _at(
            record,
            stored.seq,
            "snapshot.state_json",
            "JSON",
            stored.state_json[:80],
            "the stored snapshot is not JSON (edited)",
        )
    if content_hash(stored_state) != stored.state_hash:
        return _at(
            record,
            stored.seq,
            "snapshot.state_hash",
            content_hash(stored_state),
            stored.state_hash,
            "the stored snapshot's hash does not match its own content (edited)",
        )
    if stored.seq != mine.seq:
        return _at(
            record,
            stored.seq,
            "snapshot.seq",
            str(mine.seq),
            str(stored.seq),
            "the stored snapshot is of another event than re-execution reaches",
        )
    if stored.state_hash != replayed_hash or stored_state != json.loads(mine.state_json):
        return _at(
            record,
            stored.seq,
            "snapshot.state_hash",
            replayed_hash,
            stored.state_hash,
            "the stored snapshot differs from the re-executed state",
        )
    if stored.definition_hash != mine.definition_hash:
        return _at(
            record,
            stored.seq,
            "snapshot.definition_hash",
            mine.definition_hash,
            stored.definition_hash,
            "the stored snapshot names another definition",
        )
    case = replay.case_row()
    if case is not None and record.data_json is not None:
        if canonical_json(json.loads(record.data_json)) != canonical_json(json.loads(case.data_json)):
            return _at(
                record,
                record.last_seq,
                "case.data",
                case.data_json[:80],
                record.data_json[:80],
                "the case row's data differs from the re-executed case data",
            )
        if record.status is not None and record.status != case.status:
            return _at(
                record,
                record.last_seq,
                "case.status",
                case.status,
                record.status,
                "the case row's status differs from re-execution",
            )
    return None


def _at(record: CaseRecord, seq: int, field: str, expected: str, found: str, message: str) -> Divergence:
    event_type = record.events[seq - 1].type if 1 <= seq <= len(record.events) else ""
    return Divergence(seq, event_type, field, expected, found, message)
