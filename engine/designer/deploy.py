"""Deploying a draft: it must validate and its process tests must pass, then it becomes a new version.

The tests run against the draft's own files in a throwaway database (with the latest deployed version
of every other process beside it, since cases throw messages to each other), exactly as
``cadreflow test`` runs them from ``processes/``. A version is identified by its content hash, so
deploying content identical to a stored version creates nothing and says which version it already is.
Running cases are not touched: they stay on the version they started on until migrated.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from engine.bpmn.loader import ProcessBundle
from engine.canonical import canonical_json
from engine.clock import Clock
from engine.definitions import deploy_bundle
from engine.designer.drafts import require_designer, validate_draft_files
from engine.designer.files import Files, deployed_forms, load_bundle, test_files
from engine.errors import Conflict, DefinitionError, Invalid, NotFound
from engine.process_tests import ProcessTestRunner, TestResult
from engine.store.db import Database
from engine.store.models import DefinitionVersion, DesignDraft


@dataclass
class DeployBlocked(Invalid):
    """The draft was not deployed: it has validation problems or a process test failed."""

    problems: list[DefinitionError] = field(default_factory=list)
    results: list[TestResult] = field(default_factory=list)

    # Same code as any refused input (HTTP 422 in the web layer); the problems and results say why.

    def to_dict(self) -> dict[str, Any]:
        """The error shape plus every problem and every test result (PASS and FAIL)."""
        out = super().to_dict()
        out["problems"] = [p.to_dict() for p in self.problems]
        out["results"] = [
            {"name": r.name, "file": r.file, "passed": r.passed, "message": r.message, "line": r.line()}
            for r in self.results
        ]
        return out

    def __str__(self) -> str:
        lines = [self.message]
        lines += [p.location() for p in self.problems]
        lines += [r.line() for r in self.results if not r.passed]
        return "\n".join(lines)


@dataclass(frozen=True)
class DeployResult:
    """What deploying did: the version (new, or the identical one already stored) and the tests run."""

    process_id: str
    version: int
    hash: str
    created: bool
    message: str
    results: list[TestResult]


def _other_bundles(db: Database, process_id: str) -> list[ProcessBundle]:
    """The latest deployed version of every other process, as bundles the test runner deploys."""
    with db.read() as session:
        rows = session.scalars(
            select(DefinitionVersion)
            .where(DefinitionVersion.process_id != process_id)
            .order_by(DefinitionVersion.process_id, DefinitionVersion.version)
        ).all()
        latest = {row.process_id: row for row in rows}
        return [
            ProcessBundle(
                process_id=row.process_id,
                files={p: t.encode("utf-8") for p, t in json.loads(row.files_json).items()},
                content_hash=row.hash,
                user_tasks={},
                forms={},
                process_properties={},
            )
            for row in latest.values()
        ]


def _draft_files(db: Database, process_id: str) -> tuple[Files, Files]:
    with db.read() as session:
        row = session.get(DesignDraft, process_id)
        if row is None:
            raise NotFound(f"no draft of {process_id!r} is open")
        return json.loads(row.files_json), deployed_forms(session)


def run_tests_on_files(db: Database, process_id: str, files: Files, forms: Files) -> list[TestResult]:
    """Run the process tests of a file set against that file set (it must validate)."""
    bundle = load_bundle(process_id, files, forms)
    runner = ProcessTestRunner(bundles=[bundle, *_other_bundles(db, process_id)])
    try:
        results: list[TestResult] = []
        for path, text in test_files(process_id, files).items():
            results.extend(runner.run_text(text, path))
        return results
    finally:
        runner.close()


def run_draft_tests(db: Database, process_id: str) -> list[TestResult]:
    """Run the draft's process tests against the draft's files; one result per scenario.

    Raises :class:`DeployBlocked` (with the problems) when the draft does not validate, since
    nothing can run then.
    """
    files, forms = _draft_files(db, process_id)
    with db.read() as session:
        problems = validate_draft_files(session, process_id, files)
    if problems:
        raise DeployBlocked(f"the draft of {process_id} has {len(problems)} problem(s)", problems=problems)
    return run_tests_on_files(db, process_id, files, forms)


def deploy_draft(db: Database, clock: Clock, user: str, process_id: str, why: str) -> DeployResult:
    """Validate the draft, run its tests, and store it as a new version deployed by ``user`` for ``why``.

    Raises :class:`DeployBlocked` (problems or failed results), :class:`Invalid` (no reason given),
    :class:`Conflict` (the draft changed while its tests ran). On success the draft is closed; when
    the content equals a stored version nothing new is stored and ``created`` is False.
    """
    why = (why or "").strip()
    if not why:
        raise Invalid("say why this version is deployed", fields={"why": "required"})
    with db.read() as session:
        require_designer(session, user)
    files, forms = _draft_files(db, process_id)
    with db.read() as session:
        problems = validate_draft_files(session, process_id, files)
    if problems:
        raise DeployBlocked(
            f"not deployed: the draft of {process_id} has {len(problems)} problem(s)", problems=problems
        )
    results = run_tests_on_files(db, process_id, files, forms)
    failed = [r for r in results if not r.passed]
    if failed:
        raise DeployBlocked(
            f"not deployed: {len(failed)} of {len(results)} process test(s) of {process_id} failed",
            results=results,
        )
    bundle = load_bundle(process_id, files, forms)
    with db.write() as session:
        draft = session.get(DesignDraft, process_id, with_for_update=True)
        if draft is None or draft.files_json != canonical_json(files):
            raise Conflict(f"the draft of {process_id} changed while its tests ran; deploy again")
        existing = session.get(DefinitionVersion, bundle.content_hash)
        row = existing or deploy_bundle(session, bundle, user, clock.now(), why)
        session.delete(draft)
        if existing is not None:
            message = (
                f"nothing deployed: the draft is identical to {process_id} version {existing.version} "
                f"({existing.hash[:12]})"
            )
        else:
            message = f"deployed {process_id} version {row.version} ({row.hash[:12]})"
        return DeployResult(process_id, row.version, row.hash, existing is None, message, results)
