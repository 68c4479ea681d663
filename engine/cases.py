"""Case services: everything a person (or the clock) does to a case. The web inbox calls these.

Each action is one transaction (a unit of work) that, under a lock on the case row:
1. appends the input event (who did what, with the data) to the case's hash chain;
2. applies it to the SpiffWorkflow instance restored from the latest snapshot, with the engine's
   ids and the event's time (``engine.bpmn.determinism``);
3. appends the output events (automatic tasks run, tasks made ready, timers scheduled, case finished);
4. brings the projections up to date — inbox rows, due timers, case subjects, case data — and
   replaces the snapshot.
If anything fails, nothing of it is stored. The work per step is bounded by the live state of the
case (its snapshot and ready tasks), never by the length of its history.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import events
from engine.authz import case_subjects, check_may_act, subjects_in
from engine.bpmn.runtime import (
    TIMER_EPSILON,
    CaseRuntime,
    StepOutcome,
    ThrownMessage,
    start_messages,
)
from engine.canonical import GENESIS_HASH, canonical_json, content_hash, format_time
from engine.clock import Clock, add_duration
from engine.definitions import Definition, get_definition, latest_version
from engine.directory import Actor, load_actor
from engine.drafts import delete_drafts
from engine.errors import Conflict, Forbidden, Invalid, NotFound, ScriptError
from engine.forms import validate_form
from engine.references import ref_exists
from engine.store.db import Database
from engine.store.models import (
    Case,
    CaseActor,
    CaseSubject,
    DefinitionVersion,
    HumanTask,
    MessageOutbox,
    PoolMember,
    ScheduledTimer,
    Snapshot,
)

# What a finished case's ``case.finished`` event records as its result, where the process sets it:
# the selection's admitted and dropped, a cadre file's or a vacancy's outcome, an adjustment's lists.
RESULT_KEYS = ("admitted", "dropped", "outcome", "removed", "retained", "new_batch_quota")


@dataclass(frozen=True)
class TaskView:
    id: str
    case_id: str
    process_id: str
    element_id: str
    name: str
    role: str
    unit_id: str
    input: dict[str, Any]
    status: str
    assignee: str | None
    due_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class CaseView:
    id: str
    process_id: str
    definition_hash: str
    title: str
    status: str
    data: dict[str, Any]
    ready: list[TaskView]
    last_seq: int


def task_view(row: HumanTask) -> TaskView:
    """The inbox projection row as the services' :class:`TaskView`."""
    return TaskView(
        id=row.id,
        case_id=row.case_id,
        process_id=row.process_id,
        element_id=row.element_id,
        name=row.name,
        role=row.role,
        unit_id=row.unit_id,
        input=json.loads(row.input_json),
        status=row.status,
        assignee=row.assignee,
        due_at=row.due_at,
        created_at=row.created_at,
    )


def _case_view(session: Session, case: Case) -> CaseView:
    rows = session.scalars(
        select(HumanTask)
        .where(HumanTask.case_id == case.id, HumanTask.status == "ready")
        .order_by(HumanTask.created_at, HumanTask.id)
    ).all()
    return CaseView(
        id=case.id,
        process_id=case.process_id,
        definition_hash=case.definition_hash,
        title=case.title,
        status=case.status,
        data=json.loads(case.data_json),
        ready=[task_view(r) for r in rows],
        last_seq=case.last_seq,
    )


# ------------------------------------------------------------------------------------------------
# Reading


def get_case(db: Database, case_id: str) -> CaseView:
    with db.read() as session:
        case = session.get(Case, case_id)
        if case is None:
            raise NotFound(f"no case {case_id}", case_id=case_id)
        return _case_view(session, case)


def ready_tasks(db: Database, case_id: str) -> list[TaskView]:
    """Every ready human task of the case, whoever may act on it."""
    return get_case(db, case_id).ready


def inbox(db: Database, user_id: str) -> list[TaskView]:
    """The ready tasks ``user_id`` may act on: their roles, in their units, not about themselves."""
    with db.read() as session:
        actor = load_actor(session, user_id)
        out = []
        for role in sorted(actor.roles()):
            query = select(HumanTask).where(HumanTask.status == "ready", HumanTask.role == role)
            units = {g.unit_id for g in actor.grants if g.role == role}
            if "" not in units:
                query = query.where(HumanTask.unit_id.in_(units))
            for row in session.scalars(query.order_by(HumanTask.due_at, HumanTask.created_at)):
                if row.assignee in (None, user_id) and not session.get(CaseSubject, (row.case_id, user_id)):
                    out.append(task_view(row))
        return out


# ------------------------------------------------------------------------------------------------
# Acting


@dataclass(frozen=True)
class StartableProcess:
    process_id: str
    name: str  # the process's name in the BPMN ("English / 中文")


def startable_processes(db: Database, user_id: str) -> list[StartableProcess]:
    """Deployed processes whose latest version ``user_id`` may start (they hold the start lane's role)."""
    with db.read() as session:
        actor = load_actor(session, user_id)
        process_ids = session.scalars(select(DefinitionVersion.process_id).distinct()).all()
        out = []
        for process_id in sorted(process_ids):
            definition = get_definition(session, latest_version(session, process_id).hash)
            starter = _start_lane(definition)
            if start_messages(definition.specs):
                continue  # started by a message (another case, or a page that compiles its data)
            if starter and actor.has_role(starter, _any_unit(actor, starter)):
                out.append(StartableProcess(process_id, definition.specs.spec.description or process_id))
        return out


def start_case(
    db: Database, clock: Clock, user_id: str, process_id: str, message: dict[str, Any] | None = None
) -> CaseView:
    """Start a case of the latest deployed version of ``process_id``; the version is pinned for good.

    ``message`` ({name, data}) starts a process whose start event waits for that message, by hand
    (cases are otherwise started by the messages other cases throw).
    """
    with db.write() as session:
        actor = load_actor(session, user_id)
        row = latest_version(session, process_id)
        definition = get_definition(session, row.hash)
        starter = _start_lane(definition)
        if starter and not actor.has_role(starter, _any_unit(actor, starter)):
            raise Forbidden(f"starting a {process_id} case needs the role {starter}")
        thrown = None
        if message is not None:
            name = str(message.get("name", ""))
            if name not in start_messages(definition.specs):
                raise Invalid(
                    f"{process_id} is not started by message {name!r}", fields={"message": "unknown"}
                )
            thrown = ThrownMessage(name, message.get("data") or {})
        case = start_in_session(
            session,
            definition,
            row.version,
            user_id,
            clock.now(),
            thrown,
            {"by_hand": True} if thrown else None,
        )
        return _case_view(session, case)


def start_in_session(
    session: Session,
    definition: Definition,
    version: int,
    actor: str,
    now: datetime,
    message: ThrownMessage | None = None,
    via: dict[str, Any] | None = None,
    initial: dict[str, Any] | None = None,
) -> Case:
    """Create the case row and run its first step (with ``message`` for a message start event)."""
    key = message.payload.get("key") if message and isinstance(message.payload, dict) else None
    case = Case(
        id=_new_case_id(),
        process_id=definition.process_id,
        definition_hash=definition.hash,
        title="",
        status="running",
        started_at=now,
        started_by=actor,
        updated_at=now,
        last_seq=0,
        head_hash=GENESIS_HASH,
        data_json="{}",
        correlation_key=str(key) if key is not None else None,
    )
    session.add(case)
    session.flush()
    payload: dict[str, Any] = {
        "process_id": definition.process_id,
        "definition_hash": definition.hash,
        "version": version,
    }
    if initial is not None:
        payload["data"] = as_logged({"data": initial})["data"]
        payload["requested"] = via or {}
    if message is not None:
        payload["message"] = {
            "name": message.name,
            "data": as_logged({"data": message.payload})["data"],
            **(via or {}),
        }
    seed = append_input(session, case, events.CASE_STARTED, now, actor, payload)
    # A start message may name the people the new case is about (a cadre's own file): from the
    # first step on they may not act on it.
    subjects = message.payload.get("subjects") if message and isinstance(message.payload, dict) else None
    for subject in dict.fromkeys(s for s in subjects or [] if isinstance(s, str)):
        session.add(CaseSubject(case_id=case.id, subject_id=subject))
    runtime, outcome = CaseRuntime.start(definition.specs, now, seed, message, payload.get("data"))
    after_step(session, case, definition, runtime, outcome, now)
    return case


def claim_task(db: Database, clock: Clock, user_id: str, task_id: str) -> TaskView:
    with db.write() as session:
        row, case, definition = _lock_task(session, task_id)
        actor = load_actor(session, user_id)
        check_may_act(session, actor, row, _properties(definition, row))
        if row.assignee == user_id:
            return task_view(row)
        if row.assignee is not None:
            raise Conflict(
                f"already claimed by {row.assignee}", case_id=case.id, task=task_id, element_id=row.element_id
            )
        row.assignee = user_id
        append_input(
            session,
            case,
            events.TASK_CLAIMED,
            clock.now(),
            user_id,
            {"task_id": task_id, "element_id": row.element_id},
        )
        case.updated_at = clock.now()
        return task_view(row)


def unclaim_task(db: Database, clock: Clock, user_id: str, task_id: str) -> TaskView:
    with db.write() as session:
        row, case, _definition = _lock_task(session, task_id)
        if row.assignee != user_id:
            raise Forbidden(
                "only the person who claimed a task can give it back", case_id=case.id, task=task_id
            )
        row.assignee = None
        append_input(
            session,
            case,
            events.TASK_UNCLAIMED,
            clock.now(),
            user_id,
            {"task_id": task_id, "element_id": row.element_id},
        )
        case.updated_at = clock.now()
        return task_view(row)


def complete_task(db: Database, clock: Clock, user_id: str, task_id: str, data: dict[str, Any]) -> CaseView:
    """Complete a ready human task with form ``data``.

    Errors, in this order: ``not_found`` (no such task), ``conflict`` (already completed),
    ``forbidden`` (role, unit, separation of duties), ``conflict`` (claimed by someone else),
    ``invalid`` (form or rule).
    """
    with db.write() as session:
        row, case, definition = _lock_task(session, task_id)
        actor = load_actor(session, user_id)
        properties = _properties(definition, row)
        check_may_act(session, actor, row, properties)
        if row.assignee not in (None, user_id):
            raise Conflict(
                f"claimed by {row.assignee}", case_id=case.id, task=task_id, element_id=row.element_id
            )
        # Listing oneself is forbidden, and forbidden is reported before any field error.
        listed = subjects_in(data if isinstance(data, dict) else {}, properties.get("subjectsPath", ""))
        if actor.user_id in listed:
            raise Forbidden(
                "you may not list yourself: nobody acts on a case about themselves",
                case_id=case.id,
                task=task_id,
                element_id=row.element_id,
            )
        runtime = restore(session, case, definition)
        spiff_data = _spiff_task_data(runtime, task_id)
        # The workflow gets exactly what the log records (canonical key order included), so that
        # re-executing the log reproduces the stored state.
        clean = as_logged(_validate(session, definition, row, data, spiff_data, case))
        named = subjects_in(clean, properties.get("subjectsPath", ""))
        now = clock.now()
        seed = append_input(
            session,
            case,
            events.TASK_COMPLETED,
            now,
            user_id,
            {"task_id": task_id, "element_id": row.element_id, "data": clean},
        )
        step_data = dict(clean)
        if properties.get("formDataKey"):
            step_data[properties["formDataKey"]] = dict(clean)
        outcome = runtime.complete(task_id, step_data, now, seed)
        row.status, row.completed_at, row.completed_by = "completed", now, user_id
        delete_drafts(session, task_id)
        if session.get(CaseActor, (case.id, row.element_id, user_id)) is None:
            session.add(CaseActor(case_id=case.id, element_id=row.element_id, user_id=user_id))
        for subject in named:
            if session.get(CaseSubject, (case.id, subject)) is None:
                session.add(CaseSubject(case_id=case.id, subject_id=subject))
        after_step(session, case, definition, runtime, outcome, now)
        return _case_view(session, case)


def deliver_message(
    db: Database, clock: Clock, user_id: str, case_id: str, name: str, data: dict[str, Any]
) -> CaseView:
    with db.write() as session:
        case = lock_case(session, case_id)
        definition = get_definition(session, case.definition_hash)
        runtime = restore(session, case, definition)
        if name not in runtime.waiting_message_names():
            raise NotFound(f"case {case_id} is not waiting for message {name!r}", case_id=case_id)
        now = clock.now()
        seed = append_input(
            session, case, events.MESSAGE_RECEIVED, now, user_id, {"name": name, "data": data}
        )
        outcome = runtime.deliver_message(name, as_logged(data), now, seed)
        after_step(session, case, definition, runtime, outcome, now)
        return _case_view(session, case)


def fire_due_timers(db: Database, now: datetime, case_id: str | None = None, limit: int | None = None) -> int:
    """Fire every timer due at or before ``now`` (one transaction per firing); return how many fired.

    Due rows are claimed with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so any number of workers can
    run this at once and none fires a timer twice (on SQLite writers are serialised anyway).
    """
    fired = 0
    while limit is None or fired < limit:
        with db.write() as session:
            query = select(ScheduledTimer).where(
                ScheduledTimer.status == "waiting", ScheduledTimer.due_at <= now
            )
            if case_id is not None:
                query = query.where(ScheduledTimer.case_id == case_id)
            timer = session.scalars(
                query.order_by(ScheduledTimer.due_at, ScheduledTimer.key)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if timer is None:
                return fired
            case = lock_case(session, timer.case_id)
            definition = get_definition(session, case.definition_hash)
            runtime = restore(session, case, definition)
            at = max(now, case.updated_at)
            payload = {
                "task_id": timer.task_id,
                "element_id": timer.element_id,
                "due": format_time(timer.due_at),
            }
            seed = append_input(session, case, events.TIMER_FIRED, at, "system:clock", payload)
            outcome = runtime.fire_timers(max(at - TIMER_EPSILON, timer.due_at), seed)
            timer.status, timer.fired_at = "fired", at
            after_step(session, case, definition, runtime, outcome, at)
            fired += 1
    return fired


# ------------------------------------------------------------------------------------------------
# Internals


def _new_case_id() -> str:
    return "c-" + secrets.token_hex(6)


def _any_unit(actor: Actor, role: str) -> str:
    return next((g.unit_id for g in actor.grants if g.role == role), "")


def _start_lane(definition: Definition) -> str | None:
    start = definition.specs.spec.start
    for candidate in [start, *getattr(start, "outputs", [])]:
        lane = getattr(candidate, "lane", None)
        if lane:
            return lane
    return None


def _properties(definition: Definition, row: HumanTask) -> dict[str, str]:
    info = definition.user_tasks.get(row.element_id)
    return dict(info.properties) if info else {}


def as_logged(value: dict[str, Any]) -> dict[str, Any]:
    """``value`` as the event log will hold it: canonical JSON, read back."""
    result: dict[str, Any] = json.loads(canonical_json(value))
    return result


def lock_case(session: Session, case_id: str) -> Case:
    case = session.get(Case, case_id, with_for_update=True, populate_existing=True)
    if case is None:
        raise NotFound(f"no case {case_id}", case_id=case_id)
    return case


def _lock_task(session: Session, task_id: str) -> tuple[HumanTask, Case, Definition]:
    """The task row, re-read under the case's lock (so a concurrent completion is seen)."""
    row = session.get(HumanTask, task_id)
    if row is None:
        raise NotFound(f"no task {task_id}", task=task_id)
    case = lock_case(session, row.case_id)
    session.refresh(row)
    if row.status != "ready":
        raise Conflict(
            f"this task is already {row.status}", case_id=case.id, task=task_id, element_id=row.element_id
        )
    return row, case, get_definition(session, case.definition_hash)


def restore(session: Session, case: Case, definition: Definition) -> CaseRuntime:
    snap = session.get(Snapshot, case.id)
    if snap is None or snap.seq > case.last_seq:
        raise Conflict(
            "the case's stored state is out of step with its log; verify the case", case_id=case.id
        )
    return CaseRuntime.restore(definition.specs, json.loads(snap.state_json))


def _spiff_task_data(runtime: CaseRuntime, task_id: str) -> dict[str, Any]:
    for task in runtime.ready_human_tasks():
        if task.task_id == task_id:
            return task.data
    raise Conflict("this task is no longer ready", task=task_id)


def _validate(
    session: Session,
    definition: Definition,
    row: HumanTask,
    data: Any,
    spiff_data: dict[str, Any],
    case: Case,
) -> dict[str, Any]:
    schema = definition.forms.get(row.form_key)
    if schema is None:
        raise Invalid(
            f"the form {row.form_key!r} of {row.element_id} is not part of this definition",
            case_id=case.id,
            element_id=row.element_id,
        )

    try:
        return validate_form(
            schema,
            data,
            task_data=spiff_data,
            case_subjects=case_subjects(session, case.id),
            ref_exists=lambda kind, value: ref_exists(session, kind, value),
            element_id=row.element_id,
        )
    except Invalid as err:
        err.case_id, err.task = case.id, row.id
        raise


def append_input(
    session: Session, case: Case, type_: str, at: datetime, actor: str, payload: dict[str, Any]
) -> str:
    """Append an input event; return the seed for the step's ids (unique per case and event)."""
    event = events.append(session, case, type_, at, actor, payload)
    return f"{case.id}/{event.seq}"


def after_step(
    session: Session,
    case: Case,
    definition: Definition,
    runtime: CaseRuntime,
    outcome: StepOutcome,
    now: datetime,
) -> None:
    for auto in outcome.automatic:
        events.append(session, case, events.AUTOMATIC_COMPLETED, now, "system:engine", auto)
    for message in runtime.thrown_messages():
        _send(session, case, message, now)
    _sync_inbox(session, case, definition, runtime, now)
    _sync_timers(session, case, runtime, now)
    data = runtime.case_data()
    if isinstance(data.get("correlation_key"), str):
        case.correlation_key = data["correlation_key"]
    if not case.title and isinstance(data.get("batch_name"), str):
        case.title = data["batch_name"]
    case.data_json = canonical_json(data)
    case.updated_at = now
    if runtime.finished and isinstance(data.get("next_cycle"), dict):
        _next_cycle(session, case, definition, data["next_cycle"], now)
        return
    if runtime.finished and case.status != "finished":
        case.status = "finished"
        result = {key: data[key] for key in RESULT_KEYS if key in data}
        events.append(session, case, events.CASE_FINISHED, now, "system:engine", {"result": result})
        _record_pool_entries(session, case, data, now)
    _snapshot(session, case, definition, runtime)


def _snapshot(session: Session, case: Case, definition: Definition, runtime: CaseRuntime) -> None:
    state = runtime.snapshot()
    # Not canonical JSON: SpiffWorkflow stores each task's data as a delta against its parent and
    # restores tasks in the order written (parents first), so key order must be kept as produced.
    state_json = json.dumps(state, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    snap = session.get(Snapshot, case.id)
    if snap is None:
        snap = Snapshot(case_id=case.id)
        session.add(snap)
    snap.seq, snap.definition_hash, snap.state_json = case.last_seq, definition.hash, state_json
    snap.state_hash = content_hash(state)


def _next_cycle(
    session: Session, case: Case, definition: Definition, carried: dict[str, Any], now: datetime
) -> None:
    """Start the case's next workflow instance (one per cycle, e.g. per year) with the carried summary.

    Long-running cases stay small this way (DESIGN.md §2): the finished instance's state is dropped
    from the snapshot, its history stays in the one event log. A definition whose start event waits
    for a message gets that message again, with the carried summary as its payload.
    """
    carried = as_logged({"data": carried})["data"]
    cycle = int(json.loads(case.data_json).get("cycle") or 1) + 1
    start = sorted(start_messages(definition.specs))
    message = ThrownMessage(start[0], carried) if start else None
    event = events.append(
        session, case, events.CYCLE_STARTED, now, "system:engine", {"cycle": cycle, "data": carried}
    )
    runtime, outcome = CaseRuntime.start(
        definition.specs, now, f"{case.id}/{event.seq}", message, {**carried, "cycle": cycle}
    )
    if runtime.finished:  # it would start the next one at once, and the next, forever
        raise ScriptError(
            f"cycle {cycle} of {definition.process_id} ended as soon as it started; a cycle "
            "must wait for a task, timer or message",
            case_id=case.id,
        )
    after_step(session, case, definition, runtime, outcome, now)


def _sync_inbox(
    session: Session, case: Case, definition: Definition, runtime: CaseRuntime, now: datetime
) -> None:
    ready = {t.task_id: t for t in runtime.ready_human_tasks()}
    rows = session.scalars(
        select(HumanTask).where(HumanTask.case_id == case.id, HumanTask.status == "ready")
    ).all()
    for row in rows:
        if row.id not in ready:
            row.status = "cancelled"
            delete_drafts(session, row.id)
    known = {row.id for row in rows}
    for task_id, task in ready.items():
        if task_id in known:
            continue
        info = definition.user_tasks.get(task.element_id)
        props = task.properties
        unit_key = props.get("unitKey", "unit")
        subject_key = props.get("subjectKey", "candidate")
        about = {
            k: task.data[k]
            for k in dict.fromkeys([unit_key, subject_key])
            if isinstance(task.data.get(k), str)
        }
        due = add_duration(now, props["dueIn"]) if props.get("dueIn") else None
        session.add(
            HumanTask(
                id=task_id,
                case_id=case.id,
                process_id=case.process_id,
                element_id=task.element_id,
                name=task.name,
                role=task.lane or "",
                unit_id=str(task.data.get(unit_key) or ""),
                form_key=(info.form_key if info else "") or "",
                input_json=canonical_json(about),
                status="ready",
                assignee=None,
                created_at=now,
                due_at=due,
            )
        )
        events.append(
            session,
            case,
            events.TASK_READY,
            now,
            "system:engine",
            {"task_id": task_id, "element_id": task.element_id, "role": task.lane, "input": about},
        )


def _sync_timers(session: Session, case: Case, runtime: CaseRuntime, now: datetime) -> None:
    waiting = {f"{case.id}/{t.task_id}": t for t in runtime.waiting_timers()}
    rows = session.scalars(
        select(ScheduledTimer).where(ScheduledTimer.case_id == case.id, ScheduledTimer.status == "waiting")
    ).all()
    for row in rows:
        if row.key not in waiting:
            row.status = "cancelled" if row.status == "waiting" else row.status
    known = {row.key for row in rows}
    for key, timer in waiting.items():
        if key in known or session.get(ScheduledTimer, key) is not None:
            continue
        session.add(
            ScheduledTimer(
                key=key,
                case_id=case.id,
                task_id=timer.task_id,
                element_id=timer.element_id,
                due_at=timer.due,
                status="waiting",
            )
        )
        events.append(
            session,
            case,
            events.TIMER_SCHEDULED,
            now,
            "system:engine",
            {"task_id": timer.task_id, "element_id": timer.element_id, "due": format_time(timer.due)},
        )


def _record_pool_entries(session: Session, case: Case, data: dict[str, Any], now: datetime) -> None:
    """Admitted candidates join the pool (convention: a finished case's ``pool_entries`` list)."""
    for entry in data.get("pool_entries") or []:
        if isinstance(entry, dict) and isinstance(entry.get("candidate"), str):
            session.add(
                PoolMember(
                    candidate_id=entry["candidate"],
                    name=str(entry.get("name", "")),
                    unit_id=str(entry.get("unit", "")),
                    source_case_id=case.id,
                    admitted_at=now,
                )
            )


# ------------------------------------------------------------------------------------------------
# Messages between cases


def _send(session: Session, case: Case, message: ThrownMessage, now: datetime) -> None:
    """Put a thrown message in the outbox (same transaction as the step) and log it in the sender."""
    payload = as_logged({"data": message.payload})["data"]
    row = MessageOutbox(
        source_case_id=case.id,
        source_seq=case.last_seq + 1,
        name=message.name,
        payload_json=canonical_json(payload),
        status="pending",
        created_at=now,
        targets_json="[]",
    )
    session.add(row)
    session.flush()
    events.append(
        session,
        case,
        events.MESSAGE_SENT,
        now,
        "system:engine",
        {"outbox_id": row.id, "name": message.name, "data": payload},
    )
