"""Long-running cases run one workflow instance per cycle: the next instance starts with the carried
summary, the live state stays the same size year after year, and the log stays one chain."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import cases, events
from engine.canonical import GENESIS_HASH, event_hash
from engine.clock import ManualClock
from engine.errors import Invalid
from engine.events import event_body
from engine.store.db import Database
from engine.store.models import Event, Snapshot
from tests.project_copy import database_with

PROCESSES = Path(__file__).parent / "fixtures" / "cycles" / "processes"


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Database, ManualClock]:
    return database_with(tmp_path, PROCESSES)


def _snapshot_size(db: Database, case_id: str) -> tuple[int, int]:
    with db.read() as session:
        snap = session.get(Snapshot, case_id)
        assert snap is not None
        return len(json.loads(snap.state_json)["tasks"]), len(snap.state_json)


def test_three_years_each_a_new_instance_with_the_carried_summary(
    setup: tuple[Database, ManualClock],
) -> None:
    db, clock = setup
    view = cases.start_case(db, clock, "li", "yearly", {"name": "begin", "data": {"key": "cadre-1"}})
    sizes = []
    for year in (1, 2, 3):
        assert view.data["year"] == year and [t.element_id for t in view.ready] == ["record"]
        sizes.append(_snapshot_size(db, view.id))
        clock.advance("P1Y")
        view = cases.complete_task(db, clock, "li", view.ready[0].id, {"note": f"year {year}"})
    assert view.status == "finished"
    assert view.data["outcome"] == "done" and view.data["history"] == {
        "key": "cadre-1",
        "year": 4,
        "count": 3,
        "last_note": "year 3",
    }
    # the live state of year 3 is the size of year 1's: nothing of the earlier years is kept in it
    (tasks1, bytes1), (_tasks2, _bytes2), (tasks3, bytes3) = sizes
    assert tasks3 == tasks1 and abs(bytes3 - bytes1) <= bytes1 * 0.1

    with db.read() as session:
        log = list(session.scalars(select(Event).where(Event.case_id == view.id).order_by(Event.seq)))
        cycles = [json.loads(e.payload_json) for e in log if e.type == events.CYCLE_STARTED]
        chain_ok, previous = True, GENESIS_HASH
        for event in log:
            body = event_body(
                event.case_id, event.seq, event.type, event.at, event.actor, json.loads(event.payload_json)
            )
            chain_ok &= event.prev_hash == previous and event.hash == event_hash(previous, body)
            previous = event.hash
        seqs = [e.seq for e in log]
    assert [c["cycle"] for c in cycles] == [2, 3] and cycles[0]["data"]["count"] == 1
    assert chain_ok and seqs == list(range(1, len(seqs) + 1))


def test_starting_by_hand_needs_the_start_message(setup: tuple[Database, ManualClock]) -> None:
    db, clock = setup
    with pytest.raises(Invalid):
        cases.start_case(db, clock, "li", "yearly", {"name": "other", "data": {}})
