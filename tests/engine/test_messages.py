"""Delivering a message to a case that waits for it; a case not waiting for it answers not_found."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import cases, events
from engine.clock import ManualClock
from engine.errors import NotFound
from engine.store.db import Database
from engine.store.models import Event
from tests.project_copy import database_with

PROJECT = Path(__file__).parent / "fixtures" / "messages"


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Database, ManualClock]:
    return database_with(tmp_path, PROJECT / "processes")


def test_a_message_moves_the_case_on_and_its_payload_is_case_data(
    setup: tuple[Database, ManualClock],
) -> None:
    db, clock = setup
    case = cases.start_case(db, clock, "li", "approval")
    assert case.ready == []
    view = cases.deliver_message(db, clock, "li", case.id, "approval_received", {"by": "standing committee"})
    assert [t.element_id for t in view.ready] == ["record"]
    assert view.data["approval"] == {"by": "standing committee"}
    with db.read() as session:
        types = [e.type for e in session.query(Event).filter_by(case_id=case.id).order_by(Event.seq)]
    assert events.MESSAGE_RECEIVED in types and types.index(events.MESSAGE_RECEIVED) < types.index(
        events.TASK_READY
    )


def test_a_message_the_case_does_not_wait_for_is_not_found_and_changes_nothing(
    setup: tuple[Database, ManualClock],
) -> None:
    db, clock = setup
    case = cases.start_case(db, clock, "li", "approval")
    with pytest.raises(NotFound):
        cases.deliver_message(db, clock, "li", case.id, "something_else", {})
    assert cases.get_case(db, case.id).last_seq == case.last_seq
