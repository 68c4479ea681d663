"""The batch overview: every selection batch with where it stands and how many candidates got how far.

Read from the case rows alone (``cases.data_json``, the data as of the case's last event) plus the
``human_tasks`` and ``scheduled_timers`` projections for the current stage — never from snapshots.
For the organization department and auditors, who oversee all batches; others get :class:`Forbidden`
(they can see that the page exists, they just may not use it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from engine.directory import load_actor
from engine.errors import Forbidden
from engine.store.db import Database
from engine.store.models import Case, CaseSubject, HumanTask, ScheduledTimer

PROCESS_ID = "reserve_selection"
OVERSEERS = ("org_department", "auditor")
FUNNEL_STEPS = (
    "nominated",
    "qualified",
    "recommended",
    "passed_exam",
    "inspected",
    "proposed",
    "approved",
    "admitted",
)


@dataclass(frozen=True)
class BatchSummary:
    case_id: str
    title: str
    status: str
    started_at: datetime
    stage: list[str]  # element ids of the ready tasks and waiting timers, or ["finished"]
    funnel: list[tuple[str, int]]  # (step, candidates), in FUNNEL_STEPS order


def batch_overview(db: Database, user_id: str) -> list[BatchSummary]:
    """Every ``reserve_selection`` case, newest first, with its stage and candidate funnel.

    Cases the user is a candidate of are left out (nobody looks at a case about themselves).

    Raises:
        NotFound: no active user ``user_id``.
        Forbidden: the user is neither org_department nor auditor.
    """
    with db.read() as session:
        actor = load_actor(session, user_id)
        if not any(actor.has_role(role) for role in OVERSEERS):
            raise Forbidden("the batch overview is for the organization department and auditors")
        mine = select(CaseSubject.case_id).where(CaseSubject.subject_id == user_id)
        rows = session.execute(
            select(Case.id, Case.title, Case.status, Case.started_at, Case.data_json)
            .where(Case.process_id == PROCESS_ID, Case.id.not_in(mine))
            .order_by(Case.started_at.desc(), Case.id.desc())
        ).all()
        ids = [row.id for row in rows]
        waiting: dict[str, list[str]] = {case_id: [] for case_id in ids}
        if ids:
            ready = session.execute(
                select(HumanTask.case_id, HumanTask.element_id)
                .where(HumanTask.case_id.in_(ids), HumanTask.status == "ready")
                .order_by(HumanTask.created_at, HumanTask.id)
            )
            timers = session.execute(
                select(ScheduledTimer.case_id, ScheduledTimer.element_id)
                .where(ScheduledTimer.case_id.in_(ids), ScheduledTimer.status == "waiting")
                .order_by(ScheduledTimer.due_at, ScheduledTimer.key)
            )
            for case_id, element_id in [*ready, *timers]:
                if element_id not in waiting[case_id]:
                    waiting[case_id].append(element_id)
        return [
            BatchSummary(
                case_id=row.id,
                title=row.title,
                status=row.status,
                started_at=row.started_at,
                stage=["finished"] if row.status == "finished" else waiting[row.id],
                funnel=funnel(json.loads(row.data_json)),
            )
            for row in rows
        ]


def funnel(data: dict[str, Any]) -> list[tuple[str, int]]:
    """How many candidates reached each step, from a case's data (0 for steps not reached yet)."""
    backfilled = data.get("backfilled_by_round")
    backfills = sum(_size(v) for v in backfilled.values()) if isinstance(backfilled, dict) else 0
    counts = {
        "nominated": _size(data.get("screening")),
        "qualified": _size(data.get("qualified")),
        "recommended": _size(data.get("remaining")),
        "passed_exam": _size(data.get("passed_exam")),
        "inspected": _size(data.get("inspection_list")),
        "proposed": _size(data.get("proposed")) + backfills,
        "approved": _size(data.get("approved")),
        "admitted": _size(data.get("admitted")),
    }
    return [(step, counts[step]) for step in FUNNEL_STEPS]


def _size(value: Any) -> int:
    return len(value) if isinstance(value, (list, dict)) else 0
