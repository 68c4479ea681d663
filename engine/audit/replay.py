"""Re-execute a case from its log, with the engine's own step code, and compare what it does.

The re-execution runs in a scratch in-memory SQLite database holding only the case's pinned
definitions. Each recorded *input* event (what came from outside: the start, claims, form data,
timer firings, messages received) is applied through the very functions the live engine used
(``engine.cases.*_in_session``) with the recorded case id, time, actor and payload; the events the
step appends are compared, field by field, with the events recorded after that input. Authorization
is not re-checked (grants change over time); recorded form data is re-validated against the pinned
form. ``message.delivered`` events are appended outside steps by the outbox: each must name a
message this case sent earlier; it is carried into the scratch chain unchanged.

Ids the database assigns (outbox rows) are taken from the record, like the case id: they are where
the message went, not what the rules decided.

In divergences, ``expected`` is what re-execution produced (what the rules say) and ``found`` what
the log records.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import create_engine, event, func, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from engine import cases, events
from engine.audit.chain import Divergence, shorten
from engine.audit.record import CaseRecord, RecordedEvent, load_record
from engine.authz import case_subjects
from engine.bpmn.loader import bundle_hash
from engine.bpmn.runtime import CaseRuntime, ThrownMessage
from engine.canonical import canonical_json, format_time
from engine.definitions import Definition, get_definition
from engine.designer.migration import migrate_in_session
from engine.errors import CadreflowError, IntegrityError, NotFound
from engine.forms import validate_form
from engine.store.db import Database
from engine.store.models import (
    Base,
    Case,
    DefinitionVersion,
    Event,
    HumanTask,
    MessageOutbox,
    ScheduledTimer,
    Snapshot,
)

FIELDS = ("type", "schema", "at", "actor", "payload", "prev_hash", "hash")


class ReplayDivergence(IntegrityError):
    """Re-execution did not reproduce the record; ``divergence`` says where and how."""

    code = "divergence"

    def __init__(self, case_id: str, divergence: Divergence) -> None:
        super().__init__(divergence.describe(), case_id=case_id)
        self.divergence = divergence


@dataclass(frozen=True)
class CaseState:
    """A case as it stood right after event ``seq``, rebuilt from the log (the as-of view).

    An output event belongs to the step of the input before it, which is one transaction: the state
    after any event of a step is the state after the whole step.
    """

    seq: int
    at: datetime
    event_type: str
    data: dict[str, Any]
    ready_tasks: list[dict[str, str]]
    active_elements: list[str]
    completed_elements: list[str]
    waiting_timers: list[dict[str, str]]
    waiting_messages: list[str]
    finished: bool
    cycle: int
    definition_hash: str


Handler = Callable[["Replay", RecordedEvent], None]
# Input event type -> the step that applies it. A later input type registers its own handler.
HANDLERS: dict[str, Handler] = {}


def handles(type_: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        HANDLERS[type_] = handler
        return handler

    return register


class Replay:
    """One re-execution of one record in its own scratch database; use as a context manager."""

    def __init__(self, record: CaseRecord) -> None:
        self.record = record
        self.case_id = record.case_id
        self._engine = create_engine(
            "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
        Base.metadata.create_all(self._engine)
        self.session = Session(self._engine, autoflush=True)
        self._outbox_ids = deque(
            p["outbox_id"]
            for p in (e.payload for e in record.events if e.type == events.MESSAGE_SENT)
            if isinstance(p, dict) and isinstance(p.get("outbox_id"), int)
        )
        event.listen(self.session, "before_flush", self._assign_outbox_ids)
        self._copy_definitions()
        self._path: list[str] = []  # element ids completed in the current cycle, from the log

    def __enter__(self) -> Replay:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.session.close()
        self._engine.dispose()

    # -- running ---------------------------------------------------------------------------------
    def steps(self, until: int | None = None) -> Iterator[tuple[RecordedEvent, int]]:
        """Apply the record step by step; yield (the step's first event, its last seq) after each.

        Raises :class:`ReplayDivergence` at the first event that re-execution does not reproduce.
        """
        log = self.record.events
        index = 0
        while index < len(log):
            recorded = log[index]
            if until is not None and recorded.seq > until:
                return
            if recorded.type == events.MESSAGE_DELIVERED:
                self._carry_delivery(recorded)
                produced = 1
            else:
                handler = HANDLERS.get(recorded.type)
                if handler is None:
                    raise self._diverged(
                        recorded,
                        "",
                        "",
                        "",
                        f"the log records a {recorded.type} event here that re-execution did not produce "
                        "(an engine output with no input before it: inserted or reordered?)",
                    )
                before = self._last_seq()
                try:
                    handler(self, recorded)
                    self.session.flush()
                except ReplayDivergence:
                    raise
                except CadreflowError as err:
                    raise self._diverged(
                        recorded, "", "", "", f"re-executing this {recorded.type} failed: {err}"
                    ) from err
                produced = self._compare_step(index, before)
            self._follow_path(log[index : index + produced])
            index += produced
            yield recorded, log[index - 1].seq

    def run(self) -> int:
        """Re-execute the whole record; return the number of events checked."""
        checked = 0
        for _first, last in self.steps():
            checked = last
        return checked

    # -- the state, for the as-of view -----------------------------------------------------------
    def state(self, event: RecordedEvent) -> CaseState:
        case = self._case()
        data = json.loads(case.data_json)
        ready = self.session.scalars(
            select(HumanTask)
            .where(HumanTask.case_id == self.case_id, HumanTask.status == "ready")
            .order_by(HumanTask.created_at, HumanTask.id)
        ).all()
        timers = self.session.scalars(
            select(ScheduledTimer)
            .where(ScheduledTimer.case_id == self.case_id, ScheduledTimer.status == "waiting")
            .order_by(ScheduledTimer.due_at, ScheduledTimer.key)
        ).all()
        runtime = self._runtime(case)
        active = [r.element_id for r in ready] + runtime.waiting_event_elements()
        return CaseState(
            seq=event.seq,
            at=event.at,
            event_type=event.type,
            data=data,
            ready_tasks=[
                {
                    "task_id": r.id,
                    "element_id": r.element_id,
                    "name": r.name,
                    "role": r.role,
                    "unit": r.unit_id,
                }
                for r in ready
            ],
            active_elements=list(dict.fromkeys(active)),
            completed_elements=list(dict.fromkeys(self._path)),
            waiting_timers=[{"element_id": t.element_id, "due": format_time(t.due_at)} for t in timers],
            waiting_messages=sorted(runtime.waiting_message_names()),
            finished=case.status == "finished",
            cycle=int(data.get("cycle") or 1),
            definition_hash=case.definition_hash,
        )

    def snapshot(self) -> Snapshot | None:
        return self.session.get(Snapshot, self.case_id)

    def case_row(self) -> Case | None:
        return self.session.get(Case, self.case_id)

    # -- helpers for handlers --------------------------------------------------------------------
    def _case(self) -> Case:
        case = self.session.get(Case, self.case_id)
        if case is None:
            raise IntegrityError("the log does not begin with case.started", case_id=self.case_id)
        return case

    def _definition(self, definition_hash: str) -> Definition:
        return get_definition(self.session, definition_hash)

    def _runtime(self, case: Case) -> CaseRuntime:
        return cases.restore(self.session, case, self._definition(case.definition_hash))

    def _task(self, recorded: RecordedEvent) -> HumanTask:
        payload = _dict(recorded.payload)
        row = self.session.get(HumanTask, str(payload.get("task_id")))
        if row is None or row.case_id != self.case_id or row.status != "ready":
            state = "no such task" if row is None else f"the task is {row.status}"
            raise self._diverged(
                recorded,
                "payload.task_id",
                "a ready task",
                str(payload.get("task_id")),
                f"re-execution has no ready task {payload.get('task_id')} here ({state})",
            )
        if row.element_id != payload.get("element_id"):
            raise self._diverged(
                recorded,
                "payload.element_id",
                row.element_id,
                str(payload.get("element_id")),
                "the task is another element in re-execution",
            )
        return row

    def _diverged(
        self, recorded: RecordedEvent, field: str, expected: str, found: str, message: str
    ) -> ReplayDivergence:
        return ReplayDivergence(
            self.case_id, Divergence(recorded.seq, recorded.type, field, expected, found, message)
        )

    # -- internals -------------------------------------------------------------------------------
    def _copy_definitions(self) -> None:
        for definition in self.record.definitions.values():
            files = {path: text.encode("utf-8") for path, text in definition.files.items()}
            if bundle_hash(files) != definition.hash:
                raise ReplayDivergence(
                    self.case_id,
                    Divergence(
                        0,
                        "",
                        "definition",
                        definition.hash,
                        bundle_hash(files),
                        f"the files of definition {definition.hash[:12]} do not hash to it (edited)",
                    ),
                )
            self.session.add(
                DefinitionVersion(
                    hash=definition.hash,
                    process_id=definition.process_id,
                    version=definition.version,
                    files_json=canonical_json(definition.files),
                    deployed_at=self.record.events[0].at
                    if self.record.events
                    else datetime.now().astimezone(),
                    deployed_by="audit",
                    note="",
                )
            )
        self.session.flush()

    def _assign_outbox_ids(self, session: Session, _context: object, _instances: object) -> None:
        for obj in session.new:
            if isinstance(obj, MessageOutbox) and obj.id is None:
                if self._outbox_ids:
                    obj.id = self._outbox_ids.popleft()
                else:  # more messages than the log records: the comparison will name the event
                    top = session.scalar(select(func.max(MessageOutbox.id))) or 0
                    obj.id = max(top, 10**12) + 1

    def _last_seq(self) -> int:
        case = self.session.get(Case, self.case_id)
        return case.last_seq if case is not None else 0

    def _produced(self, after: int) -> list[Event]:
        return list(
            self.session.scalars(
                select(Event).where(Event.case_id == self.case_id, Event.seq > after).order_by(Event.seq)
            )
        )

    def _compare_step(self, index: int, before: int) -> int:
        log = self.record.events
        produced = self._produced(before)
        for offset, mine in enumerate(produced):
            if index + offset >= len(log):
                raise ReplayDivergence(
                    self.case_id,
                    Divergence(
                        mine.seq,
                        mine.type,
                        "type",
                        mine.type,
                        "(nothing)",
                        f"re-execution produced event {mine.seq} ({mine.type}) that the log lacks "
                        "(the newest events were deleted?)",
                    ),
                )
            recorded = log[index + offset]
            difference = compare_event(mine, recorded)
            if difference is not None:
                field, expected, found = difference
                raise self._diverged(recorded, field, expected, found, _what(field, mine.type, recorded.type))
        return len(produced)

    def _carry_delivery(self, recorded: RecordedEvent) -> None:
        payload = _dict(recorded.payload)
        sent = [
            e
            for e in self.record.events[: recorded.seq - 1]
            if e.type == events.MESSAGE_SENT and _dict(e.payload).get("outbox_id") == payload.get("outbox_id")
        ]
        if not sent or _dict(sent[0].payload).get("name") != payload.get("name"):
            raise self._diverged(
                recorded,
                "payload.outbox_id",
                "a message this case sent earlier",
                str(payload.get("outbox_id")),
                "message.delivered names no message this case sent before it",
            )
        case = self._case()
        mine = events.append(self.session, case, recorded.type, recorded.at, recorded.actor, payload)
        self.session.flush()
        difference = compare_event(mine, recorded)
        if difference is not None:
            field, expected, found = difference
            raise self._diverged(recorded, field, expected, found, _what(field, mine.type, recorded.type))

    def _follow_path(self, step: list[RecordedEvent]) -> None:
        for recorded in step:
            payload = _dict(recorded.payload)
            if recorded.type in (events.CASE_STARTED, events.CYCLE_STARTED):
                self._path = []
            elif recorded.type in (events.AUTOMATIC_COMPLETED, events.TASK_COMPLETED):
                if isinstance(payload.get("element_id"), str):
                    self._path.append(payload["element_id"])


# ------------------------------------------------------------------------------------------------
# Comparing


def compare_event(mine: Event, recorded: RecordedEvent) -> tuple[str, str, str] | None:
    """The first field (in :data:`FIELDS` order) where a re-executed event and the record differ."""
    pairs = {
        "type": (mine.type, recorded.type),
        "schema": (str(mine.schema), str(recorded.schema)),
        "at": (format_time(mine.at), format_time(recorded.at)),
        "actor": (mine.actor, recorded.actor),
        "payload": (mine.payload_json, recorded.payload_json),
        "prev_hash": (mine.prev_hash, recorded.prev_hash),
        "hash": (mine.hash, recorded.hash),
    }
    for name in FIELDS:
        expected, found = pairs[name]
        if expected != found:
            if name == "payload":
                return payload_difference(json.loads(expected), recorded.payload)
            return name, expected, found
    return None


def payload_difference(expected: Any, found: Any, path: str = "payload") -> tuple[str, str, str]:
    """The first path at which two payloads differ, with both values there."""
    if isinstance(expected, dict) and isinstance(found, dict):
        for key in sorted(set(expected) | set(found)):
            if key not in found:
                return f"{path}.{key}", canonical_json(expected[key]), "(missing)"
            if key not in expected:
                return f"{path}.{key}", "(missing)", canonical_json(found[key])
            if canonical_json(expected[key]) != canonical_json(found[key]):
                return payload_difference(expected[key], found[key], f"{path}.{key}")
    if isinstance(expected, list) and isinstance(found, list) and len(expected) == len(found):
        for position, (a, b) in enumerate(zip(expected, found, strict=True)):
            if canonical_json(a) != canonical_json(b):
                return payload_difference(a, b, f"{path}[{position}]")
    return path, canonical_json(expected), canonical_json(found)


def _what(field: str, produced: str, recorded: str) -> str:
    if field == "type":
        return f"re-execution produced {produced} here, the log records {recorded}"
    if field in ("prev_hash", "hash"):
        return f"the recorded {field} differs from the re-executed one"
    return f"the recorded {field.split('.')[0].split('[')[0]} differs from re-execution ({field})"


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


# ------------------------------------------------------------------------------------------------
# The steps, one per input event type


@handles(events.CASE_STARTED)
def _start(replay: Replay, recorded: RecordedEvent) -> None:
    if replay.session.get(Case, replay.case_id) is not None:
        raise replay._diverged(
            recorded,
            "type",
            "(an input of the running case)",
            recorded.type,
            "a second case.started in one log",
        )
    payload = _dict(recorded.payload)
    definition_hash = str(payload.get("definition_hash"))
    if definition_hash not in replay.record.definitions:
        raise replay._diverged(
            recorded,
            "payload.definition_hash",
            "a definition in the record",
            definition_hash,
            "the case was started on a definition the record does not hold",
        )
    definition = replay._definition(definition_hash)
    message = via = initial = None
    if isinstance(payload.get("message"), dict):
        logged = dict(payload["message"])
        message = ThrownMessage(str(logged.pop("name", "")), logged.pop("data", None))
        via = logged
    if "data" in payload:
        initial, via = payload["data"], payload.get("requested") or None
    cases.start_in_session(
        replay.session,
        definition,
        int(payload.get("version") or 0),
        recorded.actor,
        recorded.at,
        message,
        via,
        initial,
        case_id=replay.case_id,
    )


@handles(events.TASK_CLAIMED)
def _claim(replay: Replay, recorded: RecordedEvent) -> None:
    cases.record_assignment(
        replay.session, replay._case(), replay._task(recorded), recorded.actor, recorded.actor, recorded.at
    )


@handles(events.TASK_UNCLAIMED)
def _unclaim(replay: Replay, recorded: RecordedEvent) -> None:
    cases.record_assignment(
        replay.session, replay._case(), replay._task(recorded), None, recorded.actor, recorded.at
    )


@handles(events.TASK_COMPLETED)
def _complete(replay: Replay, recorded: RecordedEvent) -> None:
    case = replay._case()
    row = replay._task(recorded)
    definition = replay._definition(case.definition_hash)
    runtime = cases.restore(replay.session, case, definition)
    data = _dict(recorded.payload).get("data")
    schema = definition.forms.get(row.form_key)
    if schema is not None:  # the recorded input was valid for the pinned form (not who may act)
        spiff_data = next((t.data for t in runtime.ready_human_tasks() if t.task_id == row.id), {})
        try:
            validate_form(
                schema,
                data,
                task_data=spiff_data,
                case_subjects=case_subjects(replay.session, case.id),
                ref_exists=lambda _kind, _value: True,
                element_id=row.element_id,
            )
        except CadreflowError as err:
            raise replay._diverged(
                recorded,
                "payload.data",
                "data valid for the pinned form",
                shorten(canonical_json(data)),
                f"the recorded form data is not valid for form {row.form_key}: {err}",
            ) from err
    cases.complete_in_session(
        replay.session, case, definition, runtime, row, recorded.actor, _dict(data), recorded.at
    )


@handles(events.TIMER_FIRED)
def _fire(replay: Replay, recorded: RecordedEvent) -> None:
    case = replay._case()
    payload = _dict(recorded.payload)
    timer = replay.session.get(ScheduledTimer, f"{case.id}/{payload.get('task_id')}")
    if timer is None or timer.status != "waiting":
        raise replay._diverged(
            recorded,
            "payload.task_id",
            "a waiting timer",
            str(payload.get("task_id")),
            "re-execution has no such timer waiting here",
        )
    cases.fire_in_session(replay.session, case, timer, recorded.at)


@handles(events.MESSAGE_RECEIVED)
def _receive(replay: Replay, recorded: RecordedEvent) -> None:
    case = replay._case()
    payload = dict(_dict(recorded.payload))
    name, data = str(payload.pop("name", "")), payload.pop("data", None)
    definition = replay._definition(case.definition_hash)
    runtime = cases.restore(replay.session, case, definition)
    if name not in runtime.waiting_message_names():
        raise replay._diverged(
            recorded,
            "payload.name",
            ", ".join(sorted(runtime.waiting_message_names())) or "(none)",
            name,
            f"re-execution is not waiting for message {name!r} here",
        )
    cases.receive_in_session(
        replay.session, case, definition, runtime, recorded.actor, name, data, recorded.at, payload or None
    )


@handles(events.CASE_MIGRATED)
def _migrate(replay: Replay, recorded: RecordedEvent) -> None:
    """The designer moved the case to another version: the same step, with the recorded payload."""
    payload = dict(_dict(recorded.payload))
    target = replay._definition(str(payload.get("definition_hash", "")))
    migrate_in_session(replay.session, replay._case(), target, recorded.actor, recorded.at, payload)


# ------------------------------------------------------------------------------------------------
# The as-of view


def states_of(record: CaseRecord, until: int | None = None) -> Iterator[CaseState]:
    """One :class:`CaseState` per event of ``record`` (up to ``until``), computed in one pass."""
    with Replay(record) as replay:
        for first, last in replay.steps(until):
            after_step = replay.state(first)
            for recorded in record.events[first.seq - 1 : last]:
                if until is not None and recorded.seq > until:
                    return
                yield replace(after_step, seq=recorded.seq, at=recorded.at, event_type=recorded.type)


def states(db: Database, case_id: str) -> Iterator[CaseState]:
    """The case as it stood after each of its events, oldest first (re-executed from the log)."""
    return states_of(load_record(db, case_id))


def state_after(db: Database, case_id: str, seq: int) -> CaseState:
    """The case as it stood right after event ``seq``, rebuilt from the log, not from today's state.

    Raises NotFound for a seq the case does not have, :class:`ReplayDivergence` when the log up to
    there does not re-execute.
    """
    record = load_record(db, case_id)
    if not 1 <= seq <= len(record.events):
        raise NotFound(f"case {case_id} has no event {seq} (it has {len(record.events)})", case_id=case_id)
    found = states_at(record, [seq])
    if seq not in found:
        raise NotFound(f"event {seq} of case {case_id} could not be reached", case_id=case_id)
    return found[seq]


def states_at(record: CaseRecord, seqs: Collection[int]) -> dict[int, CaseState]:
    """The states right after each event of ``seqs`` (those the record has), in one re-execution.

    Only the steps holding a wanted event are read back into a state: building one after every step
    (what :func:`states_of` does, to walk through them all) costs more than re-executing itself.
    """
    wanted = sorted({seq for seq in seqs if 1 <= seq <= len(record.events)})
    found: dict[int, CaseState] = {}
    if not wanted:
        return found
    with Replay(record) as replay:
        for first, last in replay.steps(until=wanted[-1]):
            inside = [seq for seq in wanted if first.seq <= seq <= last]
            if inside:
                state = replay.state(first)
                for seq in inside:
                    recorded = record.events[seq - 1]
                    found[seq] = replace(state, seq=seq, at=recorded.at, event_type=recorded.type)
    return found
