"""Drafts: a person's unfinished form for a ready task, kept between visits to the task page.

A draft is not an input of the workflow: it is not validated (it may be half filled in), it is not an
event, and nothing but the person who saved it sees it. Only someone who may act on the task can save
one, so drafts cannot be used to probe for tasks. When the task is completed its drafts are deleted in
the same transaction (:func:`delete_drafts`, called by ``engine.cases.complete_task``).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from engine.authz import check_may_act
from engine.canonical import canonical_json
from engine.clock import Clock
from engine.definitions import get_definition
from engine.directory import load_actor
from engine.errors import Conflict, Forbidden, Invalid, NotFound
from engine.store.db import Database
from engine.store.models import Case, HumanTask, TaskDraft

MAX_DRAFT_BYTES = 512 * 1024  # a form, not a document store: large files live in their own table


def save_draft(db: Database, clock: Clock, user_id: str, task_id: str, data: dict[str, Any]) -> None:
    """Store ``data`` as ``user_id``'s draft of the ready task ``task_id`` (replacing an earlier one).

    Raises:
        NotFound: no such task, or the user may not act on it (its existence is not revealed).
        Conflict: the task is no longer ready, or someone else has claimed it.
        Invalid: ``data`` is not a JSON object, or it is too large.
    """
    text = _draft_text(data)
    with db.write() as session:
        row = visible_task(session, user_id, task_id)
        if row.status != "ready":
            raise Conflict(
                f"this task is already {row.status}; the draft was not saved",
                case_id=row.case_id,
                task=task_id,
                element_id=row.element_id,
            )
        if row.assignee not in (None, user_id):
            raise Conflict(
                f"claimed by {row.assignee}; the draft was not saved",
                case_id=row.case_id,
                task=task_id,
                element_id=row.element_id,
            )
        draft = session.get(TaskDraft, (task_id, user_id))
        if draft is None:
            draft = TaskDraft(task_id=task_id, user_id=user_id)
            session.add(draft)
        draft.data_json = text
        draft.saved_at = clock.now()


def get_draft(db: Database, user_id: str, task_id: str) -> dict[str, Any] | None:
    """``user_id``'s own draft of ``task_id``, or None (also for tasks they cannot see)."""
    with db.read() as session:
        return load_draft(session, user_id, task_id)


def load_draft(session: Session, user_id: str, task_id: str) -> dict[str, Any] | None:
    """:func:`get_draft` inside an open unit of work."""
    draft = session.get(TaskDraft, (task_id, user_id))
    if draft is None:
        return None
    value: dict[str, Any] = json.loads(draft.data_json)
    return value


def delete_drafts(session: Session, task_id: str) -> int:
    """Delete every draft of ``task_id`` (everyone's); return how many there were.

    Call it in the transaction that completes (or cancels) the task, so a completed task never
    leaves a draft behind and a draft never outlives its task.
    """
    result = session.execute(delete(TaskDraft).where(TaskDraft.task_id == task_id))
    return int(getattr(result, "rowcount", 0) or 0)


def visible_task(session: Session, user_id: str, task_id: str) -> HumanTask:
    """The task row if ``user_id`` may act on it; otherwise :class:`NotFound`, whatever the reason.

    The web pages use this so that a task one may not act on looks exactly like a task that does not
    exist (ids of tasks about other units' candidates must not be confirmable by guessing).
    """
    row = session.get(HumanTask, task_id)
    if row is None:
        raise NotFound(f"no task {task_id}", task=task_id)
    actor = load_actor(session, user_id)
    case = session.get(Case, row.case_id)
    properties: dict[str, str] = {}
    if case is not None:
        info = get_definition(session, case.definition_hash).user_tasks.get(row.element_id)
        properties = dict(info.properties) if info else {}
    try:
        check_may_act(session, actor, row, properties)
    except Forbidden as err:
        raise NotFound(f"no task {task_id}", task=task_id) from err
    return row


def _draft_text(data: Any) -> str:
    if not isinstance(data, dict):
        raise Invalid("a draft must be an object of fields", fields={"(form)": "not an object"})
    try:
        text = canonical_json(data)
    except (TypeError, ValueError) as err:
        raise Invalid(f"a draft must be plain JSON data: {err}", fields={"(form)": "not JSON"}) from err
    if len(text.encode("utf-8")) > MAX_DRAFT_BYTES:
        raise Invalid(
            f"the draft is larger than {MAX_DRAFT_BYTES // 1024} KiB; attach large documents instead",
            fields={"(form)": "too large"},
        )
    return text
