"""The web inbox: a person's ready tasks, filtered, searched, sorted, paged and counted per facet.

Everything is read from the ``human_tasks`` projection joined with ``cases`` (never from snapshots),
with the same rules as :func:`engine.authz.check_may_act`, expressed as SQL:

* the task's lane role is one of the person's roles — for unit-scoped roles, in one of their units;
* the person is not a subject of the case (a candidate never sees tasks of their own batch);
* the person did not complete a task the task's ``excludeCompletersOf`` names (separation of duties);
* the task is unclaimed or claimed by the person.

Facet counts follow the usual faceted-search rule: the count for a value of one facet is computed
with every *other* filter applied, so each count says how many items choosing that value would show.

Search matches the case title and the candidate a task is about (id or name), case-insensitively.
Candidate names are not in the projection: they are read from the ``screening`` of the case data
(``cases.data_json``), only for cases that have candidate tasks the person may act on.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, exists, false, func, or_, select
from sqlalchemy.orm import Session

from engine.cases import TaskView, task_view
from engine.definitions import get_definition
from engine.directory import Actor, load_actor
from engine.errors import Invalid
from engine.roles import ROLES
from engine.store.db import Database
from engine.store.models import Case, CaseActor, CaseSubject, HumanTask, Unit

VIEWS = ("all", "mine", "available")
SORTS = ("due", "-due", "created")
FACETS = ("view", "process", "task", "unit", "batch")
MAX_PAGE_SIZE = 200
SUBJECT_KEYS = ("candidate",)  # input keys naming the person a task is about (``subjectKey``)


@dataclass(frozen=True)
class InboxFilters:
    """What the inbox page asks for. ``None`` means "any"."""

    view: str = "all"  # all | mine (claimed by me) | available (unclaimed)
    process: str | None = None  # process id
    task: str | None = None  # BPMN element id
    unit: str | None = None  # unit id ("" = tasks without a unit)
    batch: str | None = None  # case id
    search: str | None = None  # case title, or id/name of the candidate a task is about
    sort: str = "due"  # due (soonest first) | -due (latest first) | created (oldest first)
    page: int = 1
    page_size: int = 20


@dataclass(frozen=True)
class InboxItem(TaskView):
    case_title: str
    overdue: bool  # due before ``now``
    about: str  # e.g. "An Yi (a1)" or the unit's name; "" when the task is about the whole case


@dataclass(frozen=True)
class InboxPage:
    items: list[InboxItem]
    total: int
    page: int
    pages: int
    counts: dict[str, dict[str, int]]  # facet -> value -> number of items
    # Display names for facet values the page cannot know by itself: case titles ("batch"), unit
    # names ("unit") and task names ("task"). Keys are the values used in ``counts``.
    labels: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class DoneItem(TaskView):
    case_title: str
    about: str
    completed_at: datetime | None


@dataclass(frozen=True)
class DonePage:
    items: list[DoneItem]
    total: int
    page: int
    pages: int


# ------------------------------------------------------------------------------------------------
# Services


def inbox_page(db: Database, user_id: str, filters: InboxFilters, now: datetime) -> InboxPage:
    """One page of ``user_id``'s inbox, with facet counts.

    Raises:
        NotFound: no active user ``user_id``.
        Invalid: an unknown view or sort, or a page / page size out of range.
    """
    _check_filters(filters)
    with db.read() as session:
        actor = load_actor(session, user_id)
        may_act = _may_act(session, actor)
        search = _search_condition(session, may_act, filters) if _search_text(filters) else None
        conditions = _filter_conditions(actor.user_id, filters, search)

        def where(*skip: str) -> list[ColumnElement[bool]]:
            return [may_act, *(cond for name, cond in conditions.items() if name not in skip)]

        total = _count(session, where())
        pages = max(1, math.ceil(total / filters.page_size))
        page = min(filters.page, pages)
        query = (
            _base()
            .add_columns(Case.title)
            .where(*where())
            .order_by(*_order(filters.sort))
            .limit(filters.page_size)
            .offset((page - 1) * filters.page_size)
        )
        rows = [(row, title) for row, title in session.execute(query)]
        abouts = _abouts(session, [row for row, _ in rows])
        items = [
            InboxItem(
                **vars(task_view(row)),
                case_title=title,
                overdue=row.due_at is not None and row.due_at < now,
                about=abouts.get(row.id, ""),
            )
            for row, title in rows
        ]
        counts = _facet_counts(session, actor.user_id, where)
        return InboxPage(
            items=items,
            total=total,
            page=page,
            pages=pages,
            counts=counts,
            labels=_labels(session, counts),
        )


def done_tasks(db: Database, user_id: str, page: int = 1, page_size: int = 20) -> DonePage:
    """The tasks ``user_id`` completed, newest first."""
    _check_paging(page, page_size)
    with db.read() as session:
        load_actor(session, user_id)
        mine = and_(HumanTask.completed_by == user_id, HumanTask.status == "completed")
        total = int(session.scalar(select(func.count()).select_from(HumanTask).where(mine)) or 0)
        pages = max(1, math.ceil(total / page_size))
        page = min(page, pages)
        query = (
            _base()
            .add_columns(Case.title)
            .where(mine)
            .order_by(HumanTask.completed_at.desc(), HumanTask.id)
            .limit(page_size)
            .offset((page - 1) * page_size)
        )
        rows = [(row, title) for row, title in session.execute(query)]
        abouts = _abouts(session, [row for row, _ in rows])
        items = [
            DoneItem(
                **vars(task_view(row)),
                case_title=title,
                about=abouts.get(row.id, ""),
                completed_at=row.completed_at,
            )
            for row, title in rows
        ]
        return DonePage(items=items, total=total, page=page, pages=pages)


# ------------------------------------------------------------------------------------------------
# Who may act, as SQL


def _base() -> Select[Any]:
    return select(HumanTask).join(Case, Case.id == HumanTask.case_id)


def _may_act(session: Session, actor: Actor) -> ColumnElement[bool]:
    """Ready tasks ``actor`` may claim or complete (the rules of ``check_may_act``)."""
    by_role: list[ColumnElement[bool]] = []
    for role in sorted(actor.roles()):
        spec = ROLES.get(role)
        if spec is not None and spec.unit_scoped:
            units = sorted(g.unit_id for g in actor.grants if g.role == role)
            by_role.append(and_(HumanTask.role == role, HumanTask.unit_id.in_(units)))
        else:
            by_role.append(HumanTask.role == role)
    if not by_role:
        return false()
    allowed = and_(HumanTask.status == "ready", or_(*by_role))
    subject = exists().where(
        CaseSubject.case_id == HumanTask.case_id, CaseSubject.subject_id == actor.user_id
    )
    conditions = [
        allowed,
        or_(HumanTask.assignee.is_(None), HumanTask.assignee == actor.user_id),
        ~subject,
    ]
    excluded = _excluded_pairs(session, allowed)
    if excluded:
        completed_excluded = exists().where(
            CaseActor.case_id == HumanTask.case_id,
            CaseActor.user_id == actor.user_id,
            or_(
                *(
                    and_(Case.definition_hash == h, HumanTask.element_id == e, CaseActor.element_id == other)
                    for h, e, other in excluded
                )
            ),
        )
        conditions.append(~completed_excluded)
    return and_(*conditions)


def _excluded_pairs(session: Session, allowed: ColumnElement[bool]) -> list[tuple[str, str, str]]:
    """(definition, task, other task) for every ``excludeCompletersOf`` among the tasks in question."""
    hashes = session.scalars(
        select(Case.definition_hash).distinct().join(HumanTask, HumanTask.case_id == Case.id).where(allowed)
    ).all()
    out = []
    for definition_hash in sorted(hashes):
        for element_id, info in sorted(get_definition(session, definition_hash).user_tasks.items()):
            for other in (info.properties.get("excludeCompletersOf") or "").split(","):
                if other.strip():
                    out.append((definition_hash, element_id, other.strip()))
    return out


# ------------------------------------------------------------------------------------------------
# Filters, search, order, counts


def _filter_conditions(
    user_id: str, filters: InboxFilters, search: ColumnElement[bool] | None
) -> dict[str, ColumnElement[bool]]:
    """One condition per facet in use (keyed by facet, so counts can leave their own out)."""
    out: dict[str, ColumnElement[bool]] = {}
    if filters.view == "mine":
        out["view"] = HumanTask.assignee == user_id
    elif filters.view == "available":
        out["view"] = HumanTask.assignee.is_(None)
    if filters.process is not None:
        out["process"] = HumanTask.process_id == filters.process
    if filters.task is not None:
        out["task"] = HumanTask.element_id == filters.task
    if filters.unit is not None:
        out["unit"] = HumanTask.unit_id == filters.unit
    if filters.batch is not None:
        out["batch"] = HumanTask.case_id == filters.batch
    if search is not None:
        out["search"] = search
    return out


def _search_text(filters: InboxFilters) -> str:
    return (filters.search or "").strip().casefold()


def _search_condition(
    session: Session, may_act: ColumnElement[bool], filters: InboxFilters
) -> ColumnElement[bool]:
    """Case title contains the text, or the task is about a candidate whose id or name contains it."""
    text = _search_text(filters)
    title = func.lower(Case.title).contains(text, autoescape=True)
    # The distinct "about" inputs of tasks the person may act on that name a candidate: few rows.
    inputs = (
        session.execute(
            _base()
            .with_only_columns(HumanTask.case_id, HumanTask.input_json)
            .distinct()
            .where(
                may_act,
                or_(*(HumanTask.input_json.contains(f'"{key}":', autoescape=True) for key in SUBJECT_KEYS)),
            )
        )

        .all()
    )
    names = _candidate_names(session, {case_id for case_id, _ in inputs})
    matched: dict[str, list[str]] = {}
    for case_id, input_json in inputs:
        candidate = _subject(json.loads(input_json))
        name = names.get(case_id, {}).get(candidate or "", "")
        if candidate and (text in candidate.casefold() or text in name.casefold()):
            matched.setdefault(case_id, []).append(input_json)
    about = [
        and_(HumanTask.case_id == case_id, HumanTask.input_json.in_(sorted(jsons)))
        for case_id, jsons in sorted(matched.items())
    ]
    return or_(title, *about)


def _order(sort: str) -> list[Any]:
    no_due = HumanTask.due_at.is_(None)  # tasks without a due date come last either way
    # Ties (the tasks of one multi-instance step share their times) in a stable, readable order.
    ties = [HumanTask.case_id, HumanTask.element_id, HumanTask.unit_id, HumanTask.input_json, HumanTask.id]
    if sort == "-due":
        return [no_due, HumanTask.due_at.desc(), HumanTask.created_at, *ties]
    if sort == "created":
        return [HumanTask.created_at, *ties]
    return [no_due, HumanTask.due_at, HumanTask.created_at, *ties]


def _count(session: Session, where: list[ColumnElement[bool]]) -> int:
    query = select(func.count()).select_from(HumanTask).join(Case, Case.id == HumanTask.case_id).where(*where)
    return int(session.scalar(query) or 0)


def _facet_counts(session: Session, user_id: str, where: Any) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    mine = func.sum(case((HumanTask.assignee == user_id, 1), else_=0))
    query = (
        select(func.count(), mine)
        .select_from(HumanTask)
        .join(Case, Case.id == HumanTask.case_id)
        .where(*where("view"))
    )
    all_count, mine_count = session.execute(query).one()
    counts["view"] = {
        "all": int(all_count or 0),
        "mine": int(mine_count or 0),
        "available": int(all_count or 0) - int(mine_count or 0),
    }
    for facet, column in (
        ("process", HumanTask.process_id),
        ("task", HumanTask.element_id),
        ("unit", HumanTask.unit_id),
        ("batch", HumanTask.case_id),
    ):
        grouped = (
            select(column, func.count())
            .select_from(HumanTask)
            .join(Case, Case.id == HumanTask.case_id)
            .where(*where(facet))
            .group_by(column)
        )
        counts[facet] = {str(value): int(n) for value, n in sorted(session.execute(grouped))}
    return counts


def _labels(session: Session, counts: dict[str, dict[str, int]]) -> dict[str, dict[str, str]]:
    labels: dict[str, dict[str, str]] = {"batch": {}, "unit": {}, "task": {}}
    if counts["batch"]:
        rows = session.execute(select(Case.id, Case.title).where(Case.id.in_(sorted(counts["batch"]))))
        labels["batch"] = {case_id: title or case_id for case_id, title in rows}
    labels["unit"] = _unit_names(session, counts["unit"])
    if counts["task"]:
        rows = session.execute(
            select(HumanTask.element_id, HumanTask.name)
            .where(HumanTask.element_id.in_(sorted(counts["task"])), HumanTask.status == "ready")
            .distinct()
        )
        labels["task"] = {element_id: name for element_id, name in sorted(rows)}
    return labels


# ------------------------------------------------------------------------------------------------
# What a task is about


def _subject(about: dict[str, Any]) -> str | None:
    for key in SUBJECT_KEYS:
        if isinstance(about.get(key), str):
            return str(about[key])
    return None


def _candidate_names(session: Session, case_ids: Iterable[str]) -> dict[str, dict[str, str]]:
    """``{case: {candidate id: name}}`` from each case's ``screening`` (case rows only, no snapshots)."""
    out: dict[str, dict[str, str]] = {}
    ids = sorted(set(case_ids))
    if not ids:
        return out
    for case_id, data_json in session.execute(
        select(Case.id, Case.data_json).where(Case.id.in_(ids))
    ):
        screening = json.loads(data_json).get("screening")
        names: dict[str, str] = {}
        if isinstance(screening, dict):
            for candidate, record in screening.items():
                if isinstance(record, dict) and isinstance(record.get("name"), str):
                    names[str(candidate)] = record["name"]
        out[case_id] = names
    return out


def _unit_names(session: Session, unit_ids: Iterable[str]) -> dict[str, str]:
    ids = sorted({u for u in unit_ids if u})
    if not ids:
        return {}
    rows = session.scalars(select(Unit).where(Unit.id.in_(ids))).all()
    names = {u.id: u.name_en if u.name_zh in ("", u.name_en) else f"{u.name_en} / {u.name_zh}" for u in rows}
    return {u: names.get(u, u) for u in ids}


def _abouts(session: Session, rows: list[HumanTask]) -> dict[str, str]:
    """``{task id: text}`` saying whom or what each task is about: a candidate's name, else a unit."""
    inputs = {row.id: json.loads(row.input_json) for row in rows}
    with_subject = {row.case_id for row in rows if _subject(inputs[row.id])}
    names = _candidate_names(session, with_subject)
    units = _unit_names(session, (row.unit_id for row in rows))
    out: dict[str, str] = {}
    for row in rows:
        candidate = _subject(inputs[row.id])
        if candidate:
            name = names.get(row.case_id, {}).get(candidate)
            out[row.id] = f"{name} ({candidate})" if name else candidate
        elif row.unit_id:
            out[row.id] = units.get(row.unit_id, row.unit_id)
    return out


# ------------------------------------------------------------------------------------------------
# Checks


def _check_filters(filters: InboxFilters) -> None:
    fields: dict[str, str] = {}
    if filters.view not in VIEWS:
        fields["view"] = f"one of {', '.join(VIEWS)}"
    if filters.sort not in SORTS:
        fields["sort"] = f"one of {', '.join(SORTS)}"
    if fields:
        raise Invalid("the inbox filters are invalid", fields=fields)
    _check_paging(filters.page, filters.page_size)


def _check_paging(page: int, page_size: int) -> None:
    fields: dict[str, str] = {}
    if not isinstance(page, int) or page < 1:
        fields["page"] = "a whole number from 1"
    if not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
        fields["page_size"] = f"a whole number from 1 to {MAX_PAGE_SIZE}"
    if fields:
        raise Invalid("the page asked for is invalid", fields=fields)
