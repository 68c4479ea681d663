"""Migrating running cases to another deployed version of their process.

:func:`plan_migration` is the dry run: for each case it says whether it can move and, if not, why
(not found, finished, another process, already on the target, or what
:func:`engine.bpmn.migration.migration_problems` finds). :func:`migrate_cases` moves the cases that
can, each in its own transaction: one ``case.migrated`` input event (from/to hashes and versions,
who and why), the instance moved by :func:`engine.bpmn.migration.migrate_runtime`, and the
projections (inbox rows, timers, snapshot) brought up to date by the normal ``after_step``. Cases
that cannot move are not touched and are reported with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import events
from engine.bpmn.migration import migrate_runtime, migration_problems
from engine.cases import after_step, append_input, lock_case, restore
from engine.clock import Clock
from engine.definitions import Definition, get_definition
from engine.designer.drafts import require_designer
from engine.errors import CadreflowError, Conflict, Invalid, NotFound
from engine.store.db import Database
from engine.store.models import Case, DefinitionVersion, HumanTask


@dataclass(frozen=True)
class MigrationCheck:
    """Whether one case can move to the target version, and why not."""

    case_id: str
    can_move: bool
    reason: str
    from_version: int | None = None


@dataclass(frozen=True)
class MigrationResult:
    """What :func:`migrate_cases` did to one case."""

    case_id: str
    migrated: bool
    reason: str
    event_seq: int | None = None


def _target(session: Session, target_hash: str) -> DefinitionVersion:
    row = session.get(DefinitionVersion, target_hash)
    if row is None:
        raise NotFound(f"no deployed version {target_hash}")
    return row


def _version(session: Session, definition_hash: str) -> int | None:
    # Read from this database: the in-process definition cache is keyed by content hash and may have
    # been filled by a process-test database that numbered the same content differently.
    row = session.get(DefinitionVersion, definition_hash)
    return row.version if row is not None else None


def _check(session: Session, case: Case | None, case_id: str, target: Definition) -> MigrationCheck:
    if case is None:
        return MigrationCheck(case_id, False, "no such case")
    version, target_version = _version(session, case.definition_hash), _version(session, target.hash)
    if case.process_id != target.process_id:
        return MigrationCheck(
            case_id, False, f"the case runs {case.process_id}, not {target.process_id}", version
        )
    if case.status != "running":
        return MigrationCheck(case_id, False, f"the case is {case.status}", version)
    if case.definition_hash == target.hash:
        return MigrationCheck(case_id, False, f"the case is already on version {target_version}", version)
    runtime = restore(session, case, get_definition(session, case.definition_hash))
    reasons = migration_problems(runtime, target.specs)
    if reasons:
        return MigrationCheck(case_id, False, "; ".join(reasons), version)
    return MigrationCheck(case_id, True, f"can move from version {version} to {target_version}", version)


def cases_on_version(db: Database, process_id: str, version_hash: str) -> list[str]:
    """The running cases pinned to one version (for ``--all-on``)."""
    with db.read() as session:
        return list(
            session.scalars(
                select(Case.id)
                .where(
                    Case.process_id == process_id,
                    Case.definition_hash == version_hash,
                    Case.status == "running",
                )
                .order_by(Case.started_at, Case.id)
            )
        )


def plan_migration(db: Database, case_ids: list[str], target_hash: str) -> list[MigrationCheck]:
    """Dry run: for every case, whether it can move to version ``target_hash`` and why not.

    Changes nothing."""
    with db.read() as session:
        target = get_definition(session, _target(session, target_hash).hash)
        return [_check(session, session.get(Case, cid), cid, target) for cid in dict.fromkeys(case_ids)]


def _refresh_ready_rows(session: Session, case: Case, target: Definition) -> None:
    """Ready inbox rows keep their task ids across a migration; name, role and form follow the target."""
    for row in session.scalars(
        select(HumanTask).where(HumanTask.case_id == case.id, HumanTask.status == "ready")
    ):
        info = target.user_tasks.get(row.element_id)
        if info is not None:
            row.name, row.role, row.form_key = info.name, info.lane or row.role, info.form_key or row.form_key


def migrate_cases(
    db: Database, clock: Clock, user: str, case_ids: list[str], target_hash: str, why: str
) -> list[MigrationResult]:
    """Move every case that can to version ``target_hash``, one transaction and one event per case.

    Cases that cannot move stay exactly as they were and come back with ``migrated=False`` and the
    reason. Raises :class:`Invalid` without a reason for the migration, :class:`Forbidden` unless the
    user is a designer.
    """
    why = (why or "").strip()
    if not why:
        raise Invalid("say why the cases are migrated", fields={"why": "required"})
    with db.read() as session:
        require_designer(session, user)
        _target(session, target_hash)
    results: list[MigrationResult] = []
    for case_id in dict.fromkeys(case_ids):
        try:
            results.append(_migrate_one(db, clock, user, case_id, target_hash, why))
        except CadreflowError as err:  # e.g. the case changed meanwhile; it stays as it was
            results.append(MigrationResult(case_id, False, err.message))
    return results


def _migrate_one(
    db: Database, clock: Clock, user: str, case_id: str, target_hash: str, why: str
) -> MigrationResult:
    with db.write() as session:
        case = session.get(Case, case_id)
        if case is not None:
            case = lock_case(session, case_id)
        target = get_definition(session, target_hash)
        check = _check(session, case, case_id, target)
        if not check.can_move or case is None:
            return MigrationResult(case_id, False, check.reason)
        payload = {
            "from_hash": case.definition_hash,
            "from_version": _version(session, case.definition_hash),
            "definition_hash": target.hash,
            "version": _version(session, target.hash),
            "why": why,
        }
        seq = migrate_in_session(session, case, target, user, max(clock.now(), case.updated_at), payload)
        return MigrationResult(case_id, True, check.reason, seq)


def migrate_in_session(
    session: Session, case: Case, target: Definition, actor: str, at: datetime, payload: dict[str, Any]
) -> int:
    """Apply one ``case.migrated`` event to a locked case; return the event's seq.

    This is the step both the live migration and re-execution of a log run: it appends the input
    event with ``payload`` (``from_hash``, ``from_version``, ``definition_hash`` — the target —,
    ``version``, ``why``), moves the restored instance with
    :func:`engine.bpmn.migration.migrate_runtime` (time ``at``, seed ``<case>/<seq>``), pins the case
    to the target and brings the projections up to date through ``after_step``.
    """
    if payload.get("from_hash") != case.definition_hash or payload.get("definition_hash") != target.hash:
        raise Conflict(
            f"the case runs {case.definition_hash[:12]}, not the migration's source "
            f"{str(payload.get('from_hash'))[:12]}",
            case_id=case.id,
        )
    runtime = restore(session, case, get_definition(session, case.definition_hash))
    seed = append_input(session, case, events.CASE_MIGRATED, at, actor, payload)
    seq = case.last_seq
    moved, outcome = migrate_runtime(runtime, target.specs, at, seed)
    case.definition_hash = target.hash
    _refresh_ready_rows(session, case, target)
    after_step(session, case, target, moved, outcome, at)
    return seq


def resolve_target(db: Database, ref: str, process_id: str | None, case_ids: list[str]) -> tuple[str, str]:
    """(process id, version hash) for a ``--to`` given as a hash (prefix) or as a version number.

    A number needs the process: given, or the process of the first case named.
    """
    from engine.designer.versions import version_row

    with db.read() as session:
        if process_id is None and case_ids:
            case = session.get(Case, case_ids[0])
            process_id = case.process_id if case is not None else None
        if process_id is None:
            rows = session.scalars(
                select(DefinitionVersion).where(DefinitionVersion.hash.startswith(ref))
            ).all()
            if len(rows) != 1 or len(ref) < 6:
                raise Invalid(f"no single version with hash {ref}; give --process", fields={"to": ref})
            return rows[0].process_id, rows[0].hash
        row = version_row(session, process_id, ref)
        return row.process_id, row.hash
