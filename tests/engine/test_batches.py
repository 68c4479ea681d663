"""The batch overview (``engine.batches``): every selection batch, newest first, with its current
stage and the candidate funnel read from the case row."""

from __future__ import annotations

import pytest
import yaml

from engine import cases
from engine.batches import FUNNEL_STEPS, batch_overview, funnel
from engine.errors import Forbidden, NotFound
from tests.conftest import ROOT, Harness

sqlite_only = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


@sqlite_only
def test_overview_newest_first_with_stage_and_funnel(harness: Harness) -> None:
    finished = harness.start()
    harness.drive(finished)
    harness.clock.advance("P1D")
    waiting = harness.start()
    harness.drive(waiting)  # waits for the notice period
    harness.clock.advance("P1D")
    nominating = harness.start()
    harness.drive(nominating, until="nominate")
    harness.complete(nominating, "nominate", unit="u1")
    harness.clock.advance("P1D")
    fresh = harness.start()
    harness.clock.advance("P6D")
    assert cases.fire_due_timers(harness.db, harness.clock.now(), case_id=finished) == 1

    overview = batch_overview(harness.db, harness.user("auditor-1", "auditor"))
    assert [b.case_id for b in overview] == [fresh, nominating, waiting, finished]
    by_id = {b.case_id: b for b in overview}
    assert by_id[finished].status == "finished" and by_id[finished].stage == ["finished"]
    assert by_id[waiting].stage == ["publication"]
    assert by_id[nominating].stage == ["nominate"]  # u2 has not nominated yet
    assert by_id[fresh].stage == ["open_batch"] and by_id[fresh].title == ""
    assert [step for step, _ in by_id[finished].funnel] == list(FUNNEL_STEPS)
    assert by_id[finished].funnel == [
        ("nominated", 5),
        ("qualified", 3),
        ("recommended", 3),
        ("passed_exam", 3),
        ("inspected", 3),
        ("proposed", 2),
        ("approved", 2),
        ("admitted", 2),
    ]
    assert dict(by_id[waiting].funnel)["approved"] == 2 and dict(by_id[waiting].funnel)["admitted"] == 0
    assert all(n == 0 for _, n in by_id[nominating].funnel)
    assert all(n == 0 for _, n in by_id[fresh].funnel)
    assert by_id[finished].started_at < by_id[waiting].started_at


@sqlite_only
def test_backfilled_candidates_count_as_proposed(harness: Harness) -> None:
    harness.scenario = yaml.safe_load(
        (ROOT / "processes/reserve_selection/tests/objection_backfill.test.yaml").read_text("utf-8")
    )
    case_id = harness.start()
    for body in harness.steps():
        task = harness.task(case_id, body["task"], **(body.get("match") or {}))
        cases.complete_task(harness.db, harness.clock, harness.actor(body["as"]), task.id, body["data"])
    [summary] = batch_overview(harness.db, "li")
    assert dict(summary.funnel) == {
        "nominated": 3,
        "qualified": 3,
        "recommended": 3,
        "passed_exam": 3,
        "inspected": 3,
        "proposed": 3,  # o1 and o2 proposed, o3 back-filled after the objection to o1
        "approved": 2,
        "admitted": 0,
    }


@sqlite_only
def test_only_org_department_and_auditors_and_never_about_oneself(harness: Harness) -> None:
    case_id = harness.start()
    harness.drive(case_id, until="democratic_recommendation")
    for user in (
        harness.user("cat", "unit_committee@u1"),
        harness.user("exams", "exam_office"),
        harness.user("nobody"),
    ):
        with pytest.raises(Forbidden):
            batch_overview(harness.db, user)
    with pytest.raises(NotFound):
        batch_overview(harness.db, "ghost")
    assert [b.case_id for b in batch_overview(harness.db, "li")] == [case_id]
    # a1 was nominated in this batch: an org_department member who is its subject does not see it.
    assert batch_overview(harness.db, harness.user("a1", "org_department")) == []


def test_funnel_of_partial_or_odd_data() -> None:
    assert funnel({}) == [(step, 0) for step in FUNNEL_STEPS]
    data = {
        "screening": {"x": {}},
        "proposed": ["x"],
        "backfilled_by_round": {"2": ["y"], "3": ["z"]},
        "qualified": "not a list",
    }
    assert dict(funnel(data)) == {**dict.fromkeys(FUNNEL_STEPS, 0), "nominated": 1, "proposed": 3}
