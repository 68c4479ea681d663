"""Drafts: a designer's unfinished work on a process, kept apart from what is deployed.

There is one draft per process. Opening a process starts a draft from its latest deployed version
(or returns the draft already open); saving stores the files and returns every validation problem,
but never refuses to save (half-done work must survive); deploying (``engine.designer.deploy``) is
what requires a clean draft. Running cases never see a draft.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.canonical import canonical_json
from engine.clock import Clock, SystemClock
from engine.designer.files import (
    TESTS_DIR,
    Files,
    check_paths,
    deployed_forms,
    process_dir,
    validate_files,
    version_files,
)
from engine.directory import load_actor
from engine.errors import Conflict, DefinitionError, Forbidden, Invalid, NotFound
from engine.store.db import Database
from engine.store.models import DefinitionVersion, DesignDraft

DESIGN_ROLES = ("designer", "admin")
# A BPMN process id that is also a safe folder name (models from other modelers use Process_1 etc.).
_PROCESS_ID_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,127}")


@dataclass(frozen=True)
class Draft:
    """A draft as callers see it."""

    process_id: str
    files: Files
    base_hash: str | None  # the deployed version it was opened from (None: a new process)
    created_by: str
    created_at: datetime
    saved_by: str
    saved_at: datetime
    revision: str  # changes with the content: an editor sends back the one it loaded


@dataclass(frozen=True)
class SavedDraft:
    """The draft as saved and the problems validation found in it (empty: it would deploy)."""

    draft: Draft
    problems: list[DefinitionError]


def require_designer(session: Session, user_id: str) -> None:
    """Raise :class:`Forbidden` unless ``user_id`` holds the designer (or admin) role."""
    actor = load_actor(session, user_id)
    if not any(actor.has_role(role) for role in DESIGN_ROLES):
        raise Forbidden("changing process definitions needs the designer role")


def check_process_id(process_id: str) -> None:
    """Raise :class:`Invalid` unless ``process_id`` is letters, digits, ``_`` and ``-``."""
    if not _PROCESS_ID_RE.fullmatch(process_id):
        raise Invalid(
            "a process id is letters, digits, _ and - (starting with a letter or _)",
            fields={"process_id": process_id},
        )


def _view(row: DesignDraft) -> Draft:
    return Draft(
        process_id=row.process_id,
        files=json.loads(row.files_json),
        base_hash=row.base_hash,
        created_by=row.created_by,
        created_at=row.created_at,
        saved_by=row.saved_by,
        saved_at=row.saved_at,
        revision=_revision(row.files_json),
    )


def _revision(files_json: str) -> str:
    return hashlib.sha256(files_json.encode("utf-8")).hexdigest()[:16]


def _project_tests(process_id: str, project_root: Path | None) -> Files:
    """Process tests of ``processes/<id>/tests/`` on disk, for versions deployed without them."""
    if project_root is None:
        return {}
    folder = project_root / process_dir(process_id) / TESTS_DIR
    if not folder.is_dir():
        return {}
    return {
        f"{process_dir(process_id)}/{TESTS_DIR}/{p.name}": p.read_text(encoding="utf-8")
        for p in sorted(folder.glob("*.test.yaml"))
    }


def _latest(session: Session, process_id: str) -> DefinitionVersion | None:
    return session.scalars(
        select(DefinitionVersion)
        .where(DefinitionVersion.process_id == process_id)
        .order_by(DefinitionVersion.version.desc())
        .limit(1)
    ).first()


def open_draft(
    db: Database,
    user: str,
    process_id: str,
    clock: Clock | None = None,
    project_root: Path | None = None,
) -> Draft:
    """The draft of ``process_id``: the one already open, else a new one from the latest version.

    A version deployed with ``cadreflow deploy`` holds no process tests; they are then taken from
    ``project_root``'s ``processes/<id>/tests/`` when given.
    """
    now = (clock or SystemClock()).now()
    with db.write() as session:
        require_designer(session, user)
        row = session.get(DesignDraft, process_id)
        if row is not None:
            return _view(row)
        latest = _latest(session, process_id)
        if latest is None:
            raise NotFound(f"process {process_id!r} is not deployed and has no draft")
        files = version_files(latest)
        if not any(p.startswith(f"{process_dir(process_id)}/{TESTS_DIR}/") for p in files):
            files.update(_project_tests(process_id, project_root))
        row = DesignDraft(
            process_id=process_id,
            files_json=canonical_json(files),
            base_hash=latest.hash,
            created_by=user,
            created_at=now,
            saved_by=user,
            saved_at=now,
        )
        session.add(row)
        session.flush()
        return _view(row)


def get_draft(db: Database, process_id: str) -> Draft:
    """The open draft of ``process_id`` (:class:`NotFound` if there is none)."""
    with db.read() as session:
        row = session.get(DesignDraft, process_id)
        if row is None:
            raise NotFound(f"no draft of {process_id!r} is open")
        return _view(row)


def validate_draft_files(session: Session, process_id: str, files: Files) -> list[DefinitionError]:
    """The validation problems of a draft's files; forms of deployed processes count as present."""
    return validate_files(process_id, files, deployed_forms(session))


def save_draft(
    db: Database,
    user: str,
    process_id: str,
    files: Files,
    clock: Clock | None = None,
    expected_revision: str | None = None,
) -> SavedDraft:
    """Replace the draft's files (creating the draft if needed) and return the problems found.

    Saving is never refused for validation problems; only paths outside the process's folder and
    ``forms/`` are (:class:`Invalid`), because a draft may not overwrite another process. With
    ``expected_revision`` (the revision the editor loaded) a draft someone else has saved since is
    not overwritten (:class:`Conflict`): two designers on one draft would otherwise lose work silently.
    """
    check_process_id(process_id)
    check_paths(process_id, files)
    now = (clock or SystemClock()).now()
    with db.write() as session:
        require_designer(session, user)
        row = session.get(DesignDraft, process_id)
        if row is not None and expected_revision not in (None, _revision(row.files_json)):
            raise Conflict(
                f"{row.saved_by} saved this draft at {row.saved_at:%Y-%m-%d %H:%M} UTC since you opened it; "
                "reload the editor to see their changes (yours are not saved)"
            )
        if row is None:
            latest = _latest(session, process_id)
            row = DesignDraft(
                process_id=process_id,
                base_hash=latest.hash if latest is not None else None,
                created_by=user,
                created_at=now,
            )
            session.add(row)
        row.files_json = canonical_json(dict(sorted(files.items())))
        row.saved_by, row.saved_at = user, now
        session.flush()
        problems = validate_draft_files(session, process_id, files)
        return SavedDraft(_view(row), problems)


def discard_draft(db: Database, user: str, process_id: str) -> None:
    """Drop the draft of ``process_id``; deployed versions are untouched."""
    with db.write() as session:
        require_designer(session, user)
        row = session.get(DesignDraft, process_id)
        if row is None:
            raise NotFound(f"no draft of {process_id!r} is open")
        session.delete(row)


def list_drafts(db: Database) -> list[Draft]:
    """Every open draft, by process id."""
    with db.read() as session:
        return [_view(r) for r in session.scalars(select(DesignDraft).order_by(DesignDraft.process_id))]


def new_process_from_template(
    db: Database, user: str, process_id: str, name: str, clock: Clock | None = None
) -> SavedDraft:
    """A draft of a new process: start, one user task in the ``org_department`` lane, end, its form
    and one process test that passes. ``name`` is the process's label (``English / 中文``)."""
    from engine.designer.template import template_files

    check_process_id(process_id)
    if not name.strip():
        raise Invalid("a new process needs a name", fields={"name": "empty"})
    with db.read() as session:
        require_designer(session, user)
        if _latest(session, process_id) is not None or session.get(DesignDraft, process_id) is not None:
            raise Conflict(f"process {process_id!r} already exists; open it instead")
    return save_draft(db, user, process_id, template_files(process_id, name), clock)
