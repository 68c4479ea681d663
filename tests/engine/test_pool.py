"""The pool: members joined by admission, each with their file's latest record; a finished file
(used, removed, withdrawn) changes their status; the shortlist ranks the active by assessment."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine import cases, messages
from engine.clock import ManualClock
from engine.demo import run_demo
from engine.pool import pool, shortlist
from engine.store.db import Database


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('pool') / 'pool.db'}")
    run_demo(db, lambda _line: None)
    yield db
    db.dispose()


def test_the_demos_admitted_candidates_are_in_the_pool_with_open_files(demo: Database) -> None:
    members = pool(demo)
    assert sorted(m.candidate for m in members) == ["b01", "b03", "d03", "x01"]
    assert all(m.status == "active" and m.case_id and m.year == 1 for m in members)
    files = {m.candidate: cases.get_case(demo, m.case_id) for m in members if m.case_id}
    assert all(view.process_id == "reserve_cadre" and view.status == "running" for view in files.values())
    assert {m.unit for m in pool(demo, unit="bayin")} == {"bayin"}


def test_shortlist_ranks_every_active_cadre_once(demo: Database) -> None:
    ranked = shortlist(demo)
    assert [r["rank"] for r in ranked] == [1, 2, 3, 4]
    assert sorted(r["candidate"] for r in ranked) == ["b01", "b03", "d03", "x01"]
    assert [r["candidate"] for r in shortlist(demo, unit="xihe")] == ["x01"]


def test_a_cadre_leaving_the_pool_changes_their_status(demo: Database) -> None:
    member = next(m for m in pool(demo) if m.candidate == "d03")
    assert member.case_id is not None
    clock = ManualClock(member.admitted_at)
    pairing = next(t for t in cases.get_case(demo, member.case_id).ready if t.element_id == "pair_mentor")
    cases.complete_task(
        demo, clock, "li_org", pairing.id, {"cadre": "d03", "mentor": "he_mentor", "paired_on": "2027-01-05"}
    )
    cases.deliver_message(
        demo,
        clock,
        "li_org",
        member.case_id,
        "cadre_leaves",
        {"key": "d03", "outcome": "withdrawn", "reason": "transferred to another county"},
    )
    messages.deliver_messages(demo, clock)
    assert next(m for m in pool(demo) if m.candidate == "d03").status == "withdrawn"
    assert "d03" not in {r["candidate"] for r in shortlist(demo)}
