"""The demo database (seeded once per module, as the page tests do) and helpers to find its cases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.store.db import Database
from engine.store.models import Case
from tests.webui.conftest import demo_db_file  # noqa: F401  (the fixture, shared with the page tests)


@pytest.fixture
def demo_db(demo_db_file: Path) -> Iterator[Database]:  # noqa: F811
    db = Database(f"sqlite:///{demo_db_file}")
    try:
        yield db
    finally:
        db.dispose()


def finished_batch(db: Database) -> str:
    with db.read() as session:
        return str(
            session.scalar(
                select(Case.id).where(Case.process_id == "reserve_selection", Case.status == "finished")
            )
        )


def batch_waiting_at(db: Database, title_part: str) -> str:
    with db.read() as session:
        return str(session.scalar(select(Case.id).where(Case.title.contains(title_part))))
