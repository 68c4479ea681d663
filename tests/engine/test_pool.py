"""The pool: members joined by admission, each with their file's latest record; a finished file
(used, removed, withdrawn) changes their status; the shortlist ranks the active by assessment."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
from sqlalchemy import select

from engine import cases, messages
from engine.cadre_records import FINDING_MESSAGE as FINDING
from engine.cadre_records import cadre_years, period_record
from engine.clock import ManualClock
from engine.demo import run_demo
from engine.pool import open_adjustment, pool, shortlist
from engine.store.db import Database
from engine.store.models import Case, Event
from engine.task_views import task_detail


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


def test_an_adjustment_below_target_opens_a_batch_with_the_missing_quota(tmp_path: Any) -> None:
    db = Database(f"sqlite:///{tmp_path / 'adjust.db'}")
    run_demo(db, lambda _line: None)
    clock = ManualClock(datetime(2027, 6, 1, tzinfo=timezone.utc))
    view = open_adjustment(db, clock, "li_org", target=7)  # 4 in the pool: 3 missing
    review = next(t for t in view.ready if t.element_id == "review_proposal")
    values = task_detail(db, "li_org", review.id).values
    view = cases.complete_task(db, clock, "li_org", review.id, values)
    decision = next(t for t in view.ready if t.element_id == "adjustment_decision")
    view = cases.complete_task(
        db, clock, "wu_changwei", decision.id, {"meeting_date": "2027-06-01", "minute_ref": "SC-2027-20"}
    )
    assert view.status == "finished" and view.data["new_batch_quota"] == 3
    assert messages.deliver_messages(db, clock) >= 1
    with db.read() as session:
        opened = session.scalars(
            select(Case).where(Case.process_id == "reserve_selection", Case.started_by == "system:message")
        ).all()
        opened_id = opened[0].id if len(opened) == 1 else None
    assert opened_id is not None
    batch = cases.get_case(db, opened_id)
    assert [t.element_id for t in batch.ready] == ["open_batch"]
    assert task_detail(db, "li_org", batch.ready[0].id).values == {"quota": 3}


def test_the_adjustment_compiles_the_period_since_the_last_one_and_keeps_its_target(tmp_path: Any) -> None:
    db = Database(f"sqlite:///{tmp_path / 'period.db'}")
    run_demo(db, lambda _line: None)
    first = open_adjustment(db, ManualClock(datetime(2027, 6, 1, tzinfo=timezone.utc)), "li_org", target=6)
    records = first.data["cadre_records"]
    assert sorted(records) == ["b01", "b03", "d03", "x01"] and first.data["period_start"] == ""
    assert all(r["ratings_in_period"] == [] and r["best_rating_in_period"] == "" for r in records.values())
    # Opened again later without a target: the period starts at the first one, the target is kept.
    second = open_adjustment(db, ManualClock(datetime(2029, 6, 1, tzinfo=timezone.utc)), "li_org")
    assert second.data["period_start"] == "2027-06-01" and second.data["target"] == 6


def test_a_period_record_counts_only_what_was_recorded_in_the_period() -> None:
    def row(seq: int, at: datetime, type_: str, payload: dict[str, Any]) -> Event:
        return Event(case_id="k", seq=seq, type=type_, at=at, payload_json=json.dumps(payload))

    def day(month: int) -> datetime:
        return datetime(2028, month, 1, tzinfo=timezone.utc)

    def assessed(rating: str, potential: str) -> dict[str, Any]:
        return {"element_id": "confirm_assessment", "data": {"rating": rating, "potential": potential}}

    def finding(kind: str) -> dict[str, Any]:
        return {"name": FINDING, "data": {"finding": kind}}

    log = [
        row(1, day(1), "case.started", {}),
        row(2, day(2), "task.completed", assessed("incompetent", "low")),
        row(3, day(3), "message.received", finding("substantiated")),
        row(4, day(5), "cycle.started", {}),
        row(5, day(6), "task.completed", assessed("basically_competent", "high")),
        row(6, day(7), "task.completed", assessed("competent", "medium")),
        row(7, day(8), "message.received", finding("unsubstantiated")),
        row(8, day(9), "task.completed", {"element_id": "review_placement", "data": {}}),
    ]
    record = period_record(log, since=day(4))
    assert record.ratings == ("basically_competent", "competent") and record.best_rating == "competent"
    assert (record.latest_potential, record.findings, record.findings_substantiated) == ("medium", 1, 0)
    assert record.placements_reviewed == 1
    years = cadre_years(log)
    assert [len(y.findings) for y in years] == [1, 1] and years[1].assessment == {
        "rating": "competent", "potential": "medium", "at": day(7)
    }
