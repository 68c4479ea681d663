"""Finding cases for an auditor: by process, batch, candidate, unit and date, a page at a time.

Auditors oversee everything, so the search is over every case; it reads the case rows, the people a
case is about (``case_subjects``), the inbox projection (``human_tasks``, for the units tasks were
scoped to) and the case data as of its last event — never snapshots.

* ``batch``: part of the case title (a selection batch is titled with its name) or the exact case id;
* ``candidate``: a person the case is about, by user/candidate id, or part of a name in the case data;
* ``unit``: a unit one of its tasks was scoped to, or named in its data (a batch's ``units``);
* ``date_from``/``date_to``: the case was open during that span (started by ``date_to``, last
  changed on or after ``date_from``); both are whole days, UTC.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import Session

from engine.directory import Actor, load_actor
from engine.errors import Forbidden, Invalid
from engine.store.db import Database
from engine.store.models import Case, CaseSubject, HumanTask, Unit

AUDITOR = "auditor"
MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class CaseSearch:
    process: str = ""
    batch: str = ""
    candidate: str = ""
    unit: str = ""
    date_from: date | None = None
    date_to: date | None = None
    page: int = 1
    page_size: int = 20


@dataclass(frozen=True)
class CaseHit:
    case_id: str
    process_id: str
    title: str
    status: str
    started_at: datetime
    updated_at: datetime
    units: list[str]
    events: int  # the case's last sequence number: how long its record is


@dataclass(frozen=True)
class SearchPage:
    hits: list[CaseHit]
    total: int
    page: int
    pages: int
    processes: list[str]  # every process that has cases (for the filter's choices)
    units: list[tuple[str, str, str]]  # (id, English name, Chinese name)


def load_auditor(session: Session, user_id: str) -> Actor:
    """The signed-in auditor.

    Raises:
        NotFound: no active user ``user_id``.
        Forbidden: the user is not an auditor.
    """
    actor = load_actor(session, user_id)
    if not actor.has_role(AUDITOR):
        raise Forbidden("the audit pages are for auditors")
    return actor


def search_cases(db: Database, user_id: str, query: CaseSearch) -> SearchPage:
    """The cases matching every filter given, most recently changed first.

    Raises:
        Forbidden: the user is not an auditor.
        Invalid: a date range that ends before it starts, or a page size out of range.
    """
    if query.date_from and query.date_to and query.date_to < query.date_from:
        raise Invalid("the date range ends before it starts", fields={"date_to": "before date_from"})
    if not 1 <= query.page_size <= MAX_PAGE_SIZE:
        raise Invalid(f"page size must be 1..{MAX_PAGE_SIZE}", fields={"page_size": "out of range"})
    with db.read() as session:
        load_auditor(session, user_id)
        matching = _filtered(select(Case), query)
        total = session.scalar(select(func.count()).select_from(matching.subquery())) or 0
        pages = max(1, -(-total // query.page_size))
        page = min(max(1, query.page), pages)
        rows = session.scalars(
            matching.order_by(Case.updated_at.desc(), Case.id)
            .offset((page - 1) * query.page_size)
            .limit(query.page_size)
        ).all()
        return SearchPage(
            hits=[_hit(row) for row in rows],
            total=total,
            page=page,
            pages=pages,
            processes=list(session.scalars(select(Case.process_id).distinct().order_by(Case.process_id))),
            units=[(u.id, u.name_en, u.name_zh) for u in session.scalars(select(Unit).order_by(Unit.id))],
        )


def _filtered(query: Select[Any], search: CaseSearch) -> Select[Any]:
    if search.process:
        query = query.where(Case.process_id == search.process)
    if search.batch.strip():
        text = search.batch.strip()
        query = query.where(
            or_(Case.id == text, func.lower(Case.title).contains(text.lower(), autoescape=True))
        )
    if search.candidate.strip():
        text = search.candidate.strip()
        subject = exists().where(CaseSubject.case_id == Case.id, CaseSubject.subject_id == text)
        query = query.where(or_(subject, Case.data_json.contains(text, autoescape=True)))
    if search.unit:
        scoped = exists().where(HumanTask.case_id == Case.id, HumanTask.unit_id == search.unit)
        # The data is canonical JSON, so a unit named as a value appears exactly as "<id>".
        named = Case.data_json.contains(json.dumps(search.unit), autoescape=True)
        query = query.where(or_(scoped, named))
    if search.date_to:
        query = query.where(Case.started_at < _day_start(search.date_to) + timedelta(days=1))
    if search.date_from:
        query = query.where(Case.updated_at >= _day_start(search.date_from))
    return query


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=timezone.utc)


def _hit(case: Case) -> CaseHit:
    units = json.loads(case.data_json).get("units")
    return CaseHit(
        case_id=case.id,
        process_id=case.process_id,
        title=case.title,
        status=case.status,
        started_at=case.started_at,
        updated_at=case.updated_at,
        units=[u for u in units if isinstance(u, str)] if isinstance(units, list) else [],
        events=case.last_seq,
    )
