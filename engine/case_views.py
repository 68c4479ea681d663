"""The case page: the diagram with what is done and what waits, the timeline, and the candidates.

Who may view a case (``may_view_case``):

* nobody who is a subject of it (a candidate never sees their own batch, whatever their roles);
* auditors, and holders of every role that acts for the whole case — the lane roles of its process
  that are not scoped to a unit (for ``reserve_selection``: org_department, party_committee,
  exam_office, inspection_team, discipline_inspection, family_planning);
* holders of a unit-scoped lane role (unit_committee) when the case's ``units`` include one of their
  units — and they see only their own units' part of it: the candidates of their units, the timeline
  without other units' tasks and candidates, and of the case data only the batch's settings.

Everyone else gets :class:`NotFound`, as if the case did not exist.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import events
from engine.authz import is_subject
from engine.canonical import format_time
from engine.cases import CaseView, task_view
from engine.definitions import Definition, get_definition
from engine.directory import Actor, load_actor
from engine.errors import NotFound
from engine.roles import ROLES
from engine.store.db import Database
from engine.store.models import Case, DefinitionVersion, Event, HumanTask, ScheduledTimer

WHOLE_CASE_VIEWERS = frozenset({"auditor"})
# What a viewer restricted to some units sees of the case data: the batch's settings, nothing about
# candidates (the lists and maps of later stages name every unit's candidates).
BATCH_SETTINGS = (
    "batch_name",
    "quota",
    "units",
    "conditions",
    "reference_date",
    "recommendation_threshold",
    "pass_mark",
    "weights",
    "notice_period",
)
STAGES = (
    "qualification",
    "recommendation",
    "exam",
    "inspection",
    "proposal",
    "opinions",
    "committee",
    "notice",
)


@dataclass(frozen=True)
class TimelineEntry:
    seq: int
    at: datetime
    actor: str
    type: str
    summary: str


@dataclass(frozen=True)
class CandidateRow:
    id: str
    name: str
    unit: str
    stage: str  # where they are now (one of STAGES), the stage they dropped at, or "admitted"
    outcome: str  # admitted | dropped | in_progress
    reason: str


@dataclass(frozen=True)
class CaseDetail:
    case: CaseView
    bpmn_xml: str
    completed: list[str]
    active: list[str]
    timeline: list[TimelineEntry]
    candidates: list[CandidateRow]
    restricted_to_units: list[str] | None = None  # the units a unit-scoped viewer sees; None = all


# ------------------------------------------------------------------------------------------------
# Visibility


def may_view_case(session: Session, actor: Actor, case: Case) -> bool:
    """Whether ``actor`` may open the case page of ``case`` (see the module docstring)."""
    return _view_scope(session, actor, case) is not False


def may_see_task(db: Database, user_id: str, task_id: str) -> bool:
    """Whether the task would show on a case page ``user_id`` may open (so a refusal may say why)."""
    with db.read() as session:
        row = session.get(HumanTask, task_id)
        case = session.get(Case, row.case_id) if row is not None else None
        if row is None or case is None:
            return False
        scope = _view_scope(session, load_actor(session, user_id), case)
        return scope is True or (isinstance(scope, set) and row.unit_id in scope)


def _view_scope(session: Session, actor: Actor, case: Case) -> bool | set[str]:
    """False: may not view; True: the whole case; a set: only these units' part of it."""
    if is_subject(session, case.id, actor.user_id):
        return False
    if actor.roles() & WHOLE_CASE_VIEWERS:
        return True
    lanes = {info.lane for info in get_definition(session, case.definition_hash).user_tasks.values()}
    scoped_lanes = {lane for lane in lanes if lane and lane in ROLES and ROLES[lane].unit_scoped}
    if any(lane and lane not in scoped_lanes and actor.has_role(lane) for lane in lanes):
        return True
    units = _case_units(case)
    mine = {g.unit_id for g in actor.grants if g.role in scoped_lanes and g.unit_id in units}
    return mine or False


def _case_units(case: Case) -> set[str]:
    units = json.loads(case.data_json).get("units")
    return {u for u in units if isinstance(u, str)} if isinstance(units, list) else set()


# ------------------------------------------------------------------------------------------------
# The case page


def case_detail(db: Database, user_id: str, case_id: str) -> CaseDetail:
    """The case page of ``case_id`` as ``user_id`` may see it.

    Raises:
        NotFound: no such case, or the user may not view it.
    """
    with db.read() as session:
        actor = load_actor(session, user_id)
        case = session.get(Case, case_id)
        scope = _view_scope(session, actor, case) if case is not None else False
        if case is None or scope is False:
            raise NotFound(f"no case {case_id}", case_id=case_id)
        units = None if scope is True else set(scope)
        definition = get_definition(session, case.definition_hash)
        data = json.loads(case.data_json)
        tasks = {
            row.id: row
            for row in session.scalars(select(HumanTask).where(HumanTask.case_id == case.id)).all()
        }
        nominee_unit = data.get("nominee_unit") if isinstance(data.get("nominee_unit"), dict) else {}

        def hidden(row: HumanTask | None) -> bool:
            """A task of another unit, or about another unit's candidate (for restricted viewers)."""
            if units is None or row is None:
                return False
            if row.unit_id and row.unit_id not in units:
                return True
            candidate = json.loads(row.input_json).get("candidate")
            return isinstance(candidate, str) and nominee_unit.get(candidate, "") not in units

        ready = sorted(
            (r for r in tasks.values() if r.status == "ready" and not hidden(r)),
            key=lambda r: (r.created_at, r.id),
        )
        log = session.scalars(select(Event).where(Event.case_id == case.id).order_by(Event.seq)).all()
        timers = session.scalars(
            select(ScheduledTimer)
            .where(ScheduledTimer.case_id == case.id, ScheduledTimer.status == "waiting")
            .order_by(ScheduledTimer.due_at, ScheduledTimer.key)
        ).all()
        view = CaseView(
            id=case.id,
            process_id=case.process_id,
            definition_hash=case.definition_hash,
            title=case.title,
            status=case.status,
            data=data if units is None else {k: data[k] for k in BATCH_SETTINGS if k in data},
            ready=[task_view(r) for r in ready],
            last_seq=case.last_seq,
        )
        timeline: list[TimelineEntry] = []
        candidates = candidate_rows(data)
        if units is not None:
            candidates = [c for c in candidates if c.unit in units]
        shown = None if units is None else {c.id for c in candidates}
        for event in log:
            payload = json.loads(event.payload_json)
            row = tasks.get(str(payload.get("task_id", "")))
            if hidden(row):
                continue
            summary = _summary(event, payload, row, shown)
            timeline.append(TimelineEntry(event.seq, event.at, event.actor, event.type, summary))
        return CaseDetail(
            case=view,
            bpmn_xml=_main_bpmn(session, case),
            completed=_completed(definition, log),
            active=_dedupe([r.element_id for r in ready] + [t.element_id for t in timers]),
            timeline=timeline,
            candidates=candidates,
            restricted_to_units=None if units is None else sorted(units),
        )


def _main_bpmn(session: Session, case: Case) -> str:
    """The pinned version's BPMN file that defines the case's process (named after it, by convention)."""
    row = session.get(DefinitionVersion, case.definition_hash)
    files: dict[str, str] = json.loads(row.files_json) if row is not None else {}
    bpmn = sorted(path for path in files if path.endswith(".bpmn"))
    for path in bpmn:
        if PurePosixPath(path).stem == case.process_id:
            return files[path]
    for path in bpmn:
        if f'id="{case.process_id}"' in files[path]:
            return files[path]
    return files[bpmn[0]] if bpmn else ""


def _completed(definition: Definition, log: Any) -> list[str]:
    """Element ids completed so far: start events, automatic steps, completed tasks, fired timers."""
    out: list[str] = []
    if log:  # started: its start events are done (they are also logged as automatic steps)
        start = definition.specs.spec.start
        out = [str(spec.bpmn_id) for spec in getattr(start, "outputs", []) if getattr(spec, "bpmn_id", None)]
    for event in log:
        if event.type in (events.TASK_COMPLETED, events.AUTOMATIC_COMPLETED, events.TIMER_FIRED):
            element_id = json.loads(event.payload_json).get("element_id")
            if isinstance(element_id, str):
                out.append(element_id)
    return _dedupe(out)


def _dedupe(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


# ------------------------------------------------------------------------------------------------
# Timeline


def _who(actor: str) -> str:
    return actor.removeprefix("system:")


def _summary(event: Event, payload: dict[str, Any], row: HumanTask | None, shown: set[str] | None) -> str:
    """One readable line per event ("li completed open_batch", "engine: timer publication due …").

    ``shown``: the candidates a restricted viewer may see named (None: everyone).
    """
    who = _who(event.actor)
    element = str(payload.get("element_id", ""))
    about = ""
    if row is not None:
        inputs = json.loads(row.input_json)
        parts = [str(inputs[k]) for k in ("unit", "candidate") if isinstance(inputs.get(k), str)]
        about = f" ({', '.join(parts)})" if parts else ""
    kind = event.type
    if kind == events.CASE_STARTED:
        return f"{who} started the case ({payload.get('process_id')} v{payload.get('version')})"
    if kind == events.TASK_READY:
        role = payload.get("role") or "nobody"
        return f"{who}: {element}{about} ready for {role}"
    if kind == events.TASK_CLAIMED:
        return f"{who} claimed {element}{about}"
    if kind == events.TASK_UNCLAIMED:
        return f"{who} gave back {element}{about}"
    if kind == events.TASK_COMPLETED:
        return f"{who} completed {element}{about}"
    if kind == events.AUTOMATIC_COMPLETED:
        return f"{who}: {element} done ({payload.get('kind', 'automatic')})"
    if kind == events.TIMER_SCHEDULED:
        return f"{who}: timer {element} due {payload.get('due')}"
    if kind == events.TIMER_FIRED:
        return f"{who}: timer {element} fired (due {payload.get('due')})"
    if kind == events.MESSAGE_RECEIVED:
        return f"{who} sent the message {payload.get('name')}"
    if kind == events.CASE_FINISHED:
        result = payload.get("result") or {}
        admitted = result.get("admitted")
        if isinstance(admitted, list):
            named = [str(c) for c in admitted if shown is None or c in shown]
            return f"{who}: case finished, {len(admitted)} admitted" + (
                f": {', '.join(named)}" if named else ""
            )
        return f"{who}: case finished"
    return f"{who}: {kind} at {format_time(event.at)}"


# ------------------------------------------------------------------------------------------------
# Candidates


def candidate_rows(data: dict[str, Any]) -> list[CandidateRow]:
    """Every nominee of a ``reserve_selection`` case with where they stand, from the case data."""
    screening = data.get("screening")
    if not isinstance(screening, dict):
        return []
    unit_of = _dict(data.get("nominee_unit"))
    dropped: dict[str, dict[str, Any]] = {}
    for entry in data.get("dropped") or []:
        if isinstance(entry, dict) and isinstance(entry.get("candidate"), str):
            dropped.setdefault(entry["candidate"], entry)
    admitted = set(_ids(data.get("admitted")))
    rows = []
    for cid, record in screening.items():
        name = str(record.get("name", "")) if isinstance(record, dict) else ""
        row = CandidateRow(
            id=str(cid), name=name, unit=str(unit_of.get(cid, "")), stage="", outcome="in_progress", reason=""
        )
        if cid in dropped:
            entry = dropped[cid]
            row = replace(
                row, stage=str(entry.get("stage", "")), outcome="dropped", reason=str(entry.get("reason", ""))
            )
        elif cid in admitted:
            row = replace(row, stage="admitted", outcome="admitted", reason="admitted to the reserve pool")
        else:
            row = replace(row, stage=_current_stage(data, str(cid)))
        rows.append(row)
    return rows


def _current_stage(data: dict[str, Any], cid: str) -> str:
    """The stage a candidate who is still in the running has reached (the latest list naming them)."""
    backfilled = [c for ids in _dict(data.get("backfilled_by_round")).values() for c in _ids(ids)]
    consulting = [c for ids in _dict(data.get("consulting_by_round")).values() for c in _ids(ids)]
    if cid in _ids(data.get("approved")):
        return "notice"
    if cid in _ids(data.get("still_proposed")):
        return "committee"
    if cid in consulting or cid in backfilled:
        return "opinions"
    if cid in _ids(data.get("inspected")):
        return "proposal"
    if cid in _dict(data.get("inspection_list")):
        return "inspection"
    if cid in [r.get("id") for r in data.get("remaining") or [] if isinstance(r, dict)]:
        return "exam"
    if cid in _ids(data.get("qualified")):
        return "recommendation"
    return "qualification"


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _ids(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
