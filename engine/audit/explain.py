"""Why each nominee of a selection batch is in or out, and what a waiting case waits for.

Read from the case's own record: the case data as of its last event (``dropped`` with the engine's
reason text, the figures the scripts computed — rates, scores, ranking, ratings) and the event log
(``task.ready`` names what each task instance was about, ``task.completed`` who entered the decisive
figures and when). Nothing here re-decides anything: an explanation repeats what the rules decided
on, and points at the event that carried the figures, so an auditor can check it against the log.

For ``reserve_selection`` the stage names and rules are those of the selection contract
(``/work/shared/spec/selection-contract.md``); other processes have no nominees and get only the
waiting part.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from engine import events
from engine.case_views import candidate_rows
from engine.cases import TaskView, restore, task_view
from engine.definitions import get_definition
from engine.errors import NotFound
from engine.store.db import Database
from engine.store.models import Case, Event, HumanTask, ScheduledTimer

# The rule each stage applies (a code; the pages phrase it in the reader's language).
RULES = {
    "committee_opinion": "the unit committee found the nominee not qualified",
    "conditions": "age, education, service years and political status against the batch's conditions",
    "recommendation": "votes ≥ threshold × participants",
    "exam_absent": "a candidate without an exam score is out",
    "exam_below_pass": "exam score ≥ pass mark",
    "ratio_elimination": "the inspection list is the best-ranked 1.5 × quota (rounded up)",
    "inspection": "a candidate rated incompetent is out",
    "proposal": "not proposed, and no longer available for back-fill",
    "objection": "an objection in an opinion round withdraws the candidate",
    "committee": "the party committee rejected the candidate",
    "admitted": "approved by the party committee, admitted after the notice period",
    "in_progress": "not decided yet",
}

# The opinion tasks of a round and the role (the body) that gives each opinion.
OPINION_BODIES = {"discipline_opinion": "discipline_inspection", "family_planning_opinion": "family_planning"}


@dataclass(frozen=True)
class Decision:
    """The event that carried the decisive figures: who entered them, when, in which task."""

    seq: int
    at: datetime
    actor: str
    element_id: str


@dataclass(frozen=True)
class NomineeExplanation:
    candidate: str
    name: str
    unit: str
    outcome: str  # admitted | dropped | in_progress
    stage: str  # the stage they left at, "admitted", or where they stand now
    rule: str  # a key of RULES
    reason: str  # the engine's own reason text from ``dropped`` ("" when not dropped)
    figures: dict[str, Any]  # what the rule was applied to, in reading order
    decided: Decision | None


@dataclass(frozen=True)
class WaitingTimerView:
    element_id: str
    due: datetime


@dataclass(frozen=True)
class CaseExplanation:
    case_id: str
    process_id: str
    status: str
    nominees: list[NomineeExplanation]
    tasks: list[TaskView]  # ready human tasks: role, unit, since (created_at), due, assignee
    timers: list[WaitingTimerView]
    messages: list[str]  # names of the messages the case waits for
    settings: dict[str, Any] = field(default_factory=dict)  # quota, threshold, pass mark, ...


def explain_case(db: Database, case_id: str) -> CaseExplanation:
    """The explanation of ``case_id`` as it stands (callers check who may read it).

    Raises:
        NotFound: no such case.
    """
    with db.read() as session:
        case = session.get(Case, case_id)
        if case is None:
            raise NotFound(f"no case {case_id}", case_id=case_id)
        data = json.loads(case.data_json)
        log = session.scalars(select(Event).where(Event.case_id == case_id).order_by(Event.seq)).all()
        ready = session.scalars(
            select(HumanTask)
            .where(HumanTask.case_id == case_id, HumanTask.status == "ready")
            .order_by(HumanTask.created_at, HumanTask.id)
        ).all()
        timers = session.scalars(
            select(ScheduledTimer)
            .where(ScheduledTimer.case_id == case_id, ScheduledTimer.status == "waiting")
            .order_by(ScheduledTimer.due_at, ScheduledTimer.key)
        ).all()
        messages: list[str] = []
        if case.status != "finished":
            runtime = restore(session, case, get_definition(session, case.definition_hash))
            messages = sorted(runtime.waiting_message_names())
        return CaseExplanation(
            case_id=case.id,
            process_id=case.process_id,
            status=case.status,
            nominees=explain_nominees(data, log),
            tasks=[task_view(row) for row in ready],
            timers=[WaitingTimerView(t.element_id, t.due_at) for t in timers],
            messages=messages,
            settings=_settings(data),
        )


def explain_nominees(data: dict[str, Any], log: Sequence[Event]) -> list[NomineeExplanation]:
    """One explanation per nominee of a selection case, from its data and event log."""
    record = _Record(log)
    return [
        _explain(data, record, row.id, row.name, row.unit, row.outcome, row.stage, row.reason)
        for row in candidate_rows(data)
    ]


def _settings(data: dict[str, Any]) -> dict[str, Any]:
    keys = ("quota", "recommendation_threshold", "pass_mark", "weights", "list_size", "notice_period")
    return {key: data[key] for key in keys if key in data}


class _Record:
    """The completions of a case's human tasks, with what each task instance was about."""

    def __init__(self, log: Sequence[Event]) -> None:
        about: dict[str, dict[str, Any]] = {}
        self.completions: list[tuple[Event, dict[str, Any], dict[str, Any]]] = []
        for event in log:
            payload = json.loads(event.payload_json)
            if event.type == events.TASK_READY:
                about[str(payload.get("task_id"))] = _dict(payload.get("input"))
            elif event.type == events.TASK_COMPLETED:
                inputs = about.get(str(payload.get("task_id")), {})
                self.completions.append((event, payload, inputs))

    def last(self, element_id: str, **about: str) -> tuple[Decision, dict[str, Any]] | None:
        """The latest completion of ``element_id`` (about that unit/candidate) and its form data."""
        for event, payload, inputs in reversed(self.completions):
            if payload.get("element_id") == element_id and all(inputs.get(k) == v for k, v in about.items()):
                return _decision(event, element_id), _dict(payload.get("data"))
        return None

    def objection(self, candidate: str) -> tuple[Decision, dict[str, Any]] | None:
        """The first opinion that objected to ``candidate``, with its round and reason."""
        rounds: dict[str, int] = {}
        for event, payload, _inputs in self.completions:
            element = str(payload.get("element_id"))
            if element not in OPINION_BODIES:
                continue
            rounds[element] = rounds.get(element, 0) + 1
            for opinion in _dict(payload.get("data")).get("opinions") or []:
                if _dict(opinion).get("candidate") == candidate and opinion.get("opinion") == "objection":
                    figures = {
                        "round": rounds[element],
                        "body": OPINION_BODIES[element],
                        "objection": opinion.get("reason", ""),
                    }
                    return _decision(event, element), figures
        return None


def _explain(
    data: dict[str, Any],
    record: _Record,
    cid: str,
    name: str,
    unit: str,
    outcome: str,
    stage: str,
    reason: str,
) -> NomineeExplanation:
    figures: dict[str, Any] = {}
    decided: Decision | None = None
    rule = stage if stage in RULES else "in_progress"
    screening = _dict(_dict(data.get("screening")).get(cid))
    if stage == "qualification" and outcome == "dropped":
        found = record.last("nominate", unit=unit)
        decided = found[0] if found else None
        if screening.get("committee_opinion") == "not_qualified":
            rule = "committee_opinion"
            figures = {"committee_opinion": "not_qualified", "committee_reason": screening.get("reason", "")}
        else:
            rule = "conditions"
            figures = _conditions(data, cid, screening)
    elif stage == "recommendation" and outcome == "dropped":
        figures = _recommendation(data, cid)
        found = record.last("democratic_recommendation", unit=unit)
        decided = found[0] if found else None
    elif stage in ("exam_absent", "exam_below_pass"):
        figures = {"score": _dict(data.get("exam_scores")).get(cid), "pass_mark": data.get("pass_mark")}
        decided = _first(record.last("record_exam_scores"))
    elif stage == "ratio_elimination":
        figures = _ranking(data, cid)
        decided = _first(record.last("record_exam_scores"))
    elif stage == "inspection" and outcome == "dropped":
        figures = {"rating": _dict(_dict(data.get("inspections")).get(cid)).get("rating")}
        decided = _first(record.last("inspect_candidate", candidate=cid))
    elif stage == "proposal" and outcome == "dropped":
        figures = {
            "composite": _dict(data.get("composite_scores")).get(cid),
            "preselection": data.get("preselection"),
            "proposed": data.get("proposed"),
        }
        decided = _first(record.last("propose_candidates"))
    elif stage == "objection":
        found = record.objection(cid)
        if found is not None:
            decided, figures = found
    elif stage == "committee" and outcome == "dropped":
        figures = _committee(data, cid)
        decided = _first(record.last("committee_decision"))
    elif outcome == "admitted":
        figures = {**_recommendation(data, cid), **_exam(data, cid), **_committee(data, cid)}
        decided = _first(record.last("committee_decision"))
    else:  # still in the running: what is known about them so far
        rule = "in_progress"
        known = {**_recommendation(data, cid), **_exam(data, cid)}
        figures = {k: v for k, v in known.items() if v is not None}
    return NomineeExplanation(cid, name, unit, outcome, stage, rule, reason, figures, decided)


def _conditions(data: dict[str, Any], cid: str, screening: dict[str, Any]) -> dict[str, Any]:
    conditions = _dict(data.get("conditions"))
    result = _dict(_dict(data.get("qualification_results")).get(cid))
    return {
        "failed": result.get("failed") or _dict(data.get("qualifications")).get(cid) or [],
        "age": result.get("age"),
        "max_age": conditions.get("max_age"),
        "education": screening.get("education"),
        "min_education": conditions.get("min_education"),
        "service_years": screening.get("service_years"),
        "min_service_years": conditions.get("min_service_years"),
        "political_status": screening.get("political_status"),
        "required_status": conditions.get("political_status"),
        "reference_date": data.get("reference_date"),
    }


def _recommendation(data: dict[str, Any], cid: str) -> dict[str, Any]:
    rate = _dict(_dict(data.get("recommendation_rates")).get(cid))
    return {
        "votes": rate.get("votes"),
        "participants": rate.get("participants"),
        "threshold": data.get("recommendation_threshold"),
    }


def _exam(data: dict[str, Any], cid: str) -> dict[str, Any]:
    return {
        "score": _dict(data.get("exam_scores")).get(cid),
        "pass_mark": data.get("pass_mark"),
        "composite": _dict(data.get("composite_scores")).get(cid),
        "rating": _dict(_dict(data.get("inspections")).get(cid)).get("rating"),
    }


def _ranking(data: dict[str, Any], cid: str) -> dict[str, Any]:
    ranking: list[Any] = data["exam_ranking"] if isinstance(data.get("exam_ranking"), list) else []
    return {
        "rank": ranking.index(cid) + 1 if cid in ranking else None,
        "ranked": len(ranking),
        "score": _dict(data.get("exam_scores")).get(cid),
        "list_size": data.get("list_size"),
        "quota": data.get("quota"),
    }


def _committee(data: dict[str, Any], cid: str) -> dict[str, Any]:
    decision = next(
        (d.get("decision") for d in data.get("decisions") or [] if _dict(d).get("candidate") == cid), None
    )
    return {
        "decision": decision,
        "meeting_date": data.get("meeting_date"),
        "minute_ref": data.get("minute_ref"),
    }


def _decision(event: Event, element_id: str) -> Decision:
    return Decision(seq=event.seq, at=event.at, actor=event.actor, element_id=element_id)


def _first(found: tuple[Decision, dict[str, Any]] | None) -> Decision | None:
    return found[0] if found else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class ReadyRecord:
    """When a human task instance became ready and what it was about (its unit or candidate)."""

    at: datetime
    about: dict[str, Any]


def ready_records(db: Database, case_id: str) -> dict[str, ReadyRecord]:
    """Every human task instance of the case by task id, from its ``task.ready`` event.

    A task instance becomes ready once, so this holds for any moment of the case's history (the
    as-of view's ready tasks come from re-execution; this adds since when and about whom).
    """
    with db.read() as session:
        rows = session.execute(
            select(Event.at, Event.payload_json).where(
                Event.case_id == case_id, Event.type == events.TASK_READY
            )
        ).all()
    out = {}
    for at, text in rows:
        payload = json.loads(text)
        out[str(payload.get("task_id"))] = ReadyRecord(at, _dict(payload.get("input")))
    return out
