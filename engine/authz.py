"""Who may act on a human task: lane role, unit scope, and separation of duties.

Checked on every claim and completion, in the engine, so the web inbox, the API, process tests and the
CLI all get the same answer. The rules (domain.md "Roles", selection-contract.md "Acting about oneself"):

* the actor holds the task's lane role — for unit-scoped roles, in the task's unit;
* nobody acts on a case that is about them (its subjects, e.g. every nominee of a batch, from the
  moment they are nominated and also after they drop out);
* a task may name, in its ``excludeCompletersOf`` property, other tasks whose completers may not
  complete it (the exam-score recorder neither proposes the list nor decides on it).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.directory import Actor
from engine.errors import Forbidden
from engine.roles import ROLES
from engine.store.models import CaseActor, CaseSubject, HumanTask


def case_subjects(session: Session, case_id: str) -> list[str]:
    return list(session.scalars(select(CaseSubject.subject_id).where(CaseSubject.case_id == case_id)))


def is_subject(session: Session, case_id: str, user_id: str) -> bool:
    return session.get(CaseSubject, (case_id, user_id)) is not None


def check_may_act(session: Session, actor: Actor, task: HumanTask, properties: dict[str, str]) -> None:
    """Raise :class:`Forbidden` unless ``actor`` may claim or complete ``task``."""
    role = ROLES.get(task.role)
    scoped = role is not None and role.unit_scoped
    if scoped and not actor.has_role(task.role, task.unit_id):
        raise Forbidden(
            f"this task needs the role {task.role} in unit {task.unit_id or '(none)'}",
            case_id=task.case_id,
            task=task.id,
            element_id=task.element_id,
        )
    if not scoped and not actor.has_role(task.role):
        raise Forbidden(
            f"this task needs the role {task.role}",
            case_id=task.case_id,
            task=task.id,
            element_id=task.element_id,
        )
    if is_subject(session, task.case_id, actor.user_id):
        raise Forbidden(
            "you are a candidate of this case and may not act on any of its tasks",
            case_id=task.case_id,
            task=task.id,
            element_id=task.element_id,
        )
    for other in _names(properties.get("excludeCompletersOf", "")):
        if session.get(CaseActor, (task.case_id, other, actor.user_id)) is not None:
            raise Forbidden(
                f"you completed {other} in this case, so you may not complete {task.element_id}",
                case_id=task.case_id,
                task=task.id,
                element_id=task.element_id,
            )


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def subjects_in(data: dict[str, object], path: str) -> list[str]:
    """Values at a ``subjectsPath`` such as ``nominees[].id`` (a list of records) or ``candidate``."""
    if not path:
        return []
    head, _, rest = path.partition("[].")
    value = data.get(head)
    if not rest:
        return [str(value)] if isinstance(value, str) else []
    if not isinstance(value, list):
        return []
    return [str(item[rest]) for item in value if isinstance(item, dict) and isinstance(item.get(rest), str)]
