"""Throwaway projects and databases for tests: a copy of the processes and forms (optionally
edited, to see what a designer's change does), or a database with fixture processes deployed."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

from engine.clock import ManualClock
from engine.definitions import deploy_processes
from engine.directory import ensure_user, grant
from engine.store.db import Database
from engine.store.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]


def copy_project(tmp_path: Path, edits: dict[str, list[tuple[str, str]]] | None = None) -> Path:
    """Copy ``processes/`` (without process tests) and ``forms/`` under ``tmp_path``; apply ``edits``.

    ``edits`` maps a path relative to the project root to (old, new) replacements, each applied once;
    an ``old`` text that is not in the file fails loudly, so a test cannot silently edit nothing.
    """
    root = tmp_path / "project"
    shutil.copytree(ROOT / "processes", root / "processes", ignore=shutil.ignore_patterns("tests"))
    shutil.copytree(ROOT / "forms", root / "forms")
    for relative, replacements in (edits or {}).items():
        path = root / relative
        text = path.read_text(encoding="utf-8")
        for old, new in replacements:
            if old not in text:
                raise AssertionError(f"{relative} does not contain {old!r}")
            text = text.replace(old, new, 1)
        path.write_text(text, encoding="utf-8")
    return root


def database_with(folder: Path, processes: Path) -> tuple[Database, ManualClock]:
    """A migrated SQLite file under ``folder`` with ``processes`` deployed and ``li`` of the
    organization department, and the test clock at 2027-01-04 (tests on fixture processes)."""
    db = Database(f"sqlite:///{folder / 'cadreflow.db'}")
    upgrade(db)
    clock = ManualClock(datetime(2027, 1, 4, tzinfo=timezone.utc))
    deploy_processes(db, processes, "test", clock.now())
    with db.write() as session:
        ensure_user(session, "li")
        grant(session, "li", "org_department")
    return db, clock
