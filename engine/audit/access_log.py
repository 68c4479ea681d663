"""Auditors are audited: every view, as-of view, diff, verification and export is logged.

The web pages record in the same request that reads the case; the command line records its own
verifications and exports as ``cli:<login name>``.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import Invalid
from engine.store.db import Database
from engine.store.models import AuditAccess

ACTIONS = ("view", "as_of", "diff", "verify", "export", "export_batch")


@dataclass(frozen=True)
class AccessEntry:
    id: int
    at: datetime
    actor: str
    action: str
    case_id: str | None
    detail: str


def record_access(
    session: Session, actor: str, action: str, case_id: str | None, detail: str, at: datetime
) -> None:
    """Log one access in ``session``'s unit of work (so it commits with whatever else it does)."""
    if action not in ACTIONS:
        raise Invalid(f"unknown audit action {action!r}", fields={"action": f"one of {', '.join(ACTIONS)}"})
    session.add(AuditAccess(at=at, actor=actor, action=action, case_id=case_id, detail=detail[:2000]))


def log_access(db: Database, actor: str, action: str, case_id: str | None, detail: str, at: datetime) -> None:
    """:func:`record_access` in a transaction of its own."""
    with db.write() as session:
        record_access(session, actor, action, case_id, detail, at)


def recent_access(
    db: Database,
    limit: int = 100,
    case_id: str | None = None,
    actor: str | None = None,
    action: str | None = None,
) -> list[AccessEntry]:
    """The newest accesses first, optionally only of one case, by one actor or of one kind."""
    query = select(AuditAccess)
    if case_id is not None:
        query = query.where(AuditAccess.case_id == case_id)
    if actor is not None:
        query = query.where(AuditAccess.actor == actor)
    if action is not None:
        query = query.where(AuditAccess.action == action)
    with db.read() as session:
        rows = session.scalars(query.order_by(AuditAccess.at.desc(), AuditAccess.id.desc()).limit(limit))
        return [AccessEntry(r.id, r.at, r.actor, r.action, r.case_id, r.detail) for r in rows]


def cli_actor() -> str:
    """Who runs the command line, as the access log names them."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "unknown"
    return f"cli:{name}"
