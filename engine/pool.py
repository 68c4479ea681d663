"""The reserve-cadre pool: who is in it, with the latest of their record, and the cases that use it.

A member joins when a selection or supplement case finishes (``pool_entries``); their own
``reserve_cadre`` case (started by the ``cadre_admitted`` message, correlation key = candidate id)
carries the year's summary in its case data. This module reads both — the pool table and the case
rows, never snapshots — and opens the processes that work on the pool as a whole with the compiled
records as their start message: the biennial adjustment and a vacancy's preferred use.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import cases
from engine.bpmn.runtime import ThrownMessage
from engine.cadre_records import CADRE_PROCESS, RATINGS, period_record, record_events
from engine.clock import Clock
from engine.definitions import get_definition, latest_version
from engine.errors import Invalid, NotFound
from engine.store.db import Database
from engine.store.models import Case, PoolMember

ADJUSTMENT_PROCESS = "pool_adjustment"
ADJUSTMENT_OPENED = "adjustment_opened"
RATING_ORDER = {rating: rank for rank, rating in enumerate((*RATINGS, ""))}  # "": not assessed yet
POTENTIAL_ORDER = {"high": 0, "medium": 1, "low": 2, "": 3}


@dataclass(frozen=True)
class PoolCadre:
    candidate: str
    name: str
    unit: str
    status: str  # active | used | removed | withdrawn
    admitted_at: datetime
    case_id: str | None  # their reserve_cadre case, once it has started
    year: int
    mentor: str
    last_rating: str
    last_potential: str
    talks_total: int
    courses_attended_total: int
    findings_substantiated_total: int


def pool(db: Database, unit: str | None = None, status: str | None = None) -> list[PoolCadre]:
    """Everyone who joined the pool, with the latest of their record, newest first."""
    with db.read() as session:
        return pool_in_session(session, unit, status)


def pool_in_session(session: Session, unit: str | None = None, status: str | None = None) -> list[PoolCadre]:
    """:func:`pool` inside a unit of work the caller holds."""
    members = session.scalars(
        select(PoolMember).order_by(PoolMember.admitted_at.desc(), PoolMember.id)
    ).all()
    keys = [m.candidate_id for m in members]
    files = {
        c.correlation_key: c
        for c in session.scalars(
            select(Case).where(Case.process_id == CADRE_PROCESS, Case.correlation_key.in_(keys))
        )
    }
    out = []
    for member in members:
        case = files.get(member.candidate_id)
        data: dict[str, Any] = json.loads(case.data_json) if case is not None else {}
        outcome = data.get("outcome") if case is not None and case.status == "finished" else None
        cadre = PoolCadre(
            candidate=member.candidate_id,
            name=member.name,
            unit=member.unit_id,
            status=str(outcome or member.status),
            admitted_at=member.admitted_at,
            case_id=case.id if case is not None else None,
            year=int(data.get("year") or 1),
            mentor=str(data.get("mentor") or ""),
            last_rating=str(data.get("last_rating") or ""),
            last_potential=str(data.get("last_potential") or ""),
            talks_total=int(data.get("talks_total") or 0),
            courses_attended_total=int(data.get("courses_attended_total") or 0),
            findings_substantiated_total=int(data.get("findings_substantiated_total") or 0),
        )
        if (unit is None or cadre.unit == unit) and (status is None or cadre.status == status):
            out.append(cadre)
    return out


def _record(cadre: PoolCadre) -> dict[str, Any]:
    record = asdict(cadre)
    record["admitted_at"] = cadre.admitted_at.date().isoformat()
    return record


def shortlist(db: Database, unit: str | None = None) -> list[dict[str, Any]]:
    """Active cadres ranked by their latest assessment (rating, then potential), then their record."""
    active = [c for c in pool(db, status="active") if unit is None or c.unit == unit]
    ranked = sorted(
        active,
        key=lambda c: (
            RATING_ORDER.get(c.last_rating, 4),
            POTENTIAL_ORDER.get(c.last_potential, 3),
            c.findings_substantiated_total,
            -c.courses_attended_total,
            -c.talks_total,
            c.candidate,
        ),
    )
    return [{**_record(c), "rank": i + 1} for i, c in enumerate(ranked)]


def open_adjustment(db: Database, clock: Clock, user_id: str, target: int | None = None) -> cases.CaseView:
    """Start the pool adjustment by hand with every active cadre's record for the period and the target
    size (None: the last adjustment's target)."""
    if target is not None and target < 0:
        raise Invalid("the target size cannot be negative", fields={"target": "≥ 0"})
    with db.read() as session:
        data = adjustment_opening(session, target)
    return cases.start_case(db, clock, user_id, ADJUSTMENT_PROCESS, {"name": ADJUSTMENT_OPENED, "data": data})


def start_adjustment_in_session(
    session: Session, actor: str, now: datetime, via: dict[str, Any]
) -> Case | None:
    """Start the adjustment inside the caller's transaction (the biennial schedule does, so that the
    occurrence row and the case commit together); None when no ``pool_adjustment`` is deployed."""
    try:
        row = latest_version(session, ADJUSTMENT_PROCESS)
    except NotFound:
        return None
    definition = get_definition(session, row.hash)
    message = ThrownMessage(ADJUSTMENT_OPENED, adjustment_opening(session, None))
    return cases.start_in_session(session, definition, row.version, actor, now, message, via)


def last_adjustment(session: Session) -> Case | None:
    """The most recently started adjustment: its start is where the next period begins."""
    return session.scalars(
        select(Case)
        .where(Case.process_id == ADJUSTMENT_PROCESS)
        .order_by(Case.started_at.desc(), Case.id)
        .limit(1)
    ).first()


def adjustment_opening(session: Session, target: int | None) -> dict[str, Any]:
    """The ``adjustment_opened`` payload: the target, and per active cadre the record for the period
    since the last adjustment (since admission for those who joined after it) — domain.md §4."""
    last = last_adjustment(session)
    since = last.started_at if last is not None else None
    if target is None and last is not None:
        previous = json.loads(last.data_json).get("target")
        target = previous if isinstance(previous, int) else None
    active = pool_in_session(session, status="active")
    logs = record_events(session, [c.case_id for c in active if c.case_id], since)
    records = [
        {**_record(c), **period_record(logs.get(c.case_id or "", []), since).as_data()} for c in active
    ]
    return {
        "target": target,
        "cadres": records,
        "pool_size": len(records),
        "period_start": since.date().isoformat() if since is not None else "",
    }


def open_vacancy(db: Database, clock: Clock, user_id: str, vacancy: dict[str, Any]) -> cases.CaseView:
    """Start preferred use for a vacancy ({unit, post, requirements}) with the ranked shortlist."""
    unit = vacancy.get("unit")
    data = {"vacancy": vacancy, "shortlist": shortlist(db, unit if isinstance(unit, str) else None)}
    return cases.start_case(db, clock, user_id, "preferred_use", {"name": "vacancy_opened", "data": data})
