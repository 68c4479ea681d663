"""A demo database (``cadreflow demo``: four batches, a cadre followed through a year, a vacancy),
recorded once per session and copied for each test that alters it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.demo import run_demo
from engine.store.db import Database


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("audit-demo") / "demo.db"
    db = Database(f"sqlite:///{path}")
    try:
        run_demo(db, lambda _line: None, story=True)
    finally:
        db.dispose()
    return path


@pytest.fixture
def demo_db(demo_template: Path, tmp_path: Path) -> Iterator[Database]:
    """A private copy of the demo database."""
    path = tmp_path / "demo.db"
    shutil.copyfile(demo_template, path)
    db = Database(f"sqlite:///{path}")
    try:
        yield db
    finally:
        db.dispose()
