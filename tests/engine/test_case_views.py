"""The case page (``engine.case_views``): who may view a case and how much of it, the diagram's
completed and active elements, the readable timeline, and where each candidate stands."""

from __future__ import annotations

import pytest
import yaml

from engine import cases
from engine.case_views import BATCH_SETTINGS, CaseDetail, case_detail, may_view_case
from engine.directory import load_actor
from engine.errors import NotFound
from engine.store.models import Case
from tests.conftest import ROOT, Harness

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)

WHOLE_BATCH_ROLES = (
    "org_department",
    "party_committee",
    "auditor",
    "exam_office",
    "inspection_team",
    "discipline_inspection",
    "family_planning",
)




def _stages(detail: CaseDetail) -> dict[str, tuple[str, str]]:
    return {c.id: (c.stage, c.outcome) for c in detail.candidates}


def test_whole_batch_roles_see_everything_and_the_diagram_state(harness: Harness) -> None:
    case_id = harness.start()
    harness.drive(case_id, until="inspect_candidate")
    for role in WHOLE_BATCH_ROLES:
        detail = case_detail(harness.db, harness.user(f"{role}-viewer", role), case_id)
        assert detail.restricted_to_units is None and len(detail.candidates) == 5, role

    detail = case_detail(harness.db, "li", case_id)
    assert detail.case.title == "2027 spring" and "screening" in detail.case.data
    assert '<bpmn:process id="reserve_selection"' in detail.bpmn_xml
    assert detail.completed[:3] == ["start", "open_batch", "prepare_batch"]
    assert {
        "nominate",
        "collect_nominees",
        "check_conditions",
        "record_exam_scores",
        "rank_and_eliminate",
    } <= set(detail.completed)
    assert "inspect_candidate" not in detail.completed and len(detail.completed) == len(set(detail.completed))
    assert detail.active == ["inspect_candidate"]
    assert len(detail.case.ready) == 3

    summaries = [e.summary for e in detail.timeline]
    assert [e.seq for e in detail.timeline] == list(range(1, len(detail.timeline) + 1))
    assert summaries[0] == "li started the case (reserve_selection v1)"
    assert "li completed open_batch" in summaries
    assert "unit_committee@u2 completed nominate (u2)" in summaries
    assert "engine: inspect_candidate (b1) ready for inspection_team" in summaries
    assert "engine: collect_nominees done (ScriptTask)" in summaries

    assert _stages(detail) == {
        "a1": ("inspection", "in_progress"),
        "a2": ("inspection", "in_progress"),
        "a3": ("qualification", "dropped"),
        "b1": ("inspection", "in_progress"),
        "b2": ("qualification", "dropped"),
    }
    b2 = next(c for c in detail.candidates if c.id == "b2")
    assert (b2.name, b2.unit, b2.reason) == (
        "Bai Er",
        "u2",
        "conditions not met: age 47 above the maximum 40",
    )


def test_candidates_move_through_the_stages_to_admission(harness: Harness) -> None:
    case_id = harness.start()
    harness.drive(case_id, until="democratic_recommendation")
    assert {s for s, _ in _stages(case_detail(harness.db, "li", case_id)).values()} == {
        "recommendation",
        "qualification",
    }
    seen = {}
    for until in ("record_exam_scores", "propose_candidates", "discipline_opinion", "committee_decision"):
        harness.resume(case_id, until)
        seen[until] = _stages(case_detail(harness.db, "li", case_id))
    assert seen["record_exam_scores"]["a1"] == ("exam", "in_progress")
    assert seen["propose_candidates"]["a1"] == ("proposal", "in_progress")
    assert seen["discipline_opinion"]["a2"] == ("opinions", "in_progress")
    assert seen["committee_decision"]["a2"] == ("committee", "in_progress")
    assert seen["committee_decision"]["a1"] == ("proposal", "dropped")

    harness.resume(case_id)
    waiting = case_detail(harness.db, "li", case_id)
    assert waiting.active == ["publication"]
    assert _stages(waiting)["b1"] == ("notice", "in_progress")
    assert any(e.summary.startswith("engine: timer publication due 2027-") for e in waiting.timeline)

    harness.clock.advance("P8D")
    assert cases.fire_due_timers(harness.db, harness.clock.now()) == 1
    done = case_detail(harness.db, "li", case_id)
    assert done.case.status == "finished" and done.active == []
    assert {"publication", "admit", "end_admitted"} <= set(done.completed)
    assert _stages(done) == {
        "a1": ("proposal", "dropped"),
        "a2": ("admitted", "admitted"),
        "a3": ("qualification", "dropped"),
        "b1": ("admitted", "admitted"),
        "b2": ("qualification", "dropped"),
    }
    assert done.timeline[-1].summary == "engine: case finished, 2 admitted: a2, b1"
    assert any(e.summary.startswith("clock: timer publication fired") for e in done.timeline)


def test_a_unit_committee_sees_only_its_units_part(harness: Harness) -> None:
    case_id = harness.start()
    harness.resume(case_id)
    u2 = harness.user("cat", "unit_committee@u2")
    detail = case_detail(harness.db, u2, case_id)
    assert detail.restricted_to_units == ["u2"]
    assert [(c.id, c.unit) for c in detail.candidates] == [("b1", "u2"), ("b2", "u2")]
    assert set(detail.case.data) <= set(BATCH_SETTINGS) and detail.case.data["units"] == ["u1", "u2"]
    summaries = [e.summary for e in detail.timeline]
    assert "unit_committee@u2 completed nominate (u2)" in summaries
    assert "inspection_team completed inspect_candidate (b1)" in summaries
    for other in ("(u1)", "(a1)", "(a2)", "(a3)"):
        assert not any(other in s for s in summaries), other
    full = case_detail(harness.db, "li", case_id)
    assert len(detail.timeline) < len(full.timeline)

    both = harness.user("dee", "unit_committee@u1", "unit_committee@u2")
    assert {c.id for c in case_detail(harness.db, both, case_id).candidates} == {"a1", "a2", "a3", "b1", "b2"}


def test_subjects_outsiders_and_other_units_get_not_found(harness: Harness) -> None:
    case_id = harness.start()
    harness.drive(case_id, until="democratic_recommendation")
    # a3 was nominated (and dropped) in this batch: still a subject, whatever roles they hold.
    subject = harness.user("a3", "org_department", "auditor")
    outsiders = [
        subject,
        harness.user("nobody"),
        harness.user("u3-committee", "unit_committee@u3"),
        harness.user("designer", "designer"),
        harness.user("school", "party_school"),
    ]
    for user in outsiders:
        with pytest.raises(NotFound) as raised:
            case_detail(harness.db, user, case_id)
        assert raised.value.message == f"no case {case_id}"
    with pytest.raises(NotFound):
        case_detail(harness.db, "li", "c-000000000000")
    with pytest.raises(NotFound):
        case_detail(harness.db, "ghost", case_id)
    with harness.db.read() as session:
        case = session.get(Case, case_id)
        assert case is not None
        assert may_view_case(session, load_actor(session, "li"), case)
        assert may_view_case(session, load_actor(session, "unit_committee@u1"), case)
        assert not may_view_case(session, load_actor(session, subject), case)


def test_a_new_case_before_its_units_are_known(harness: Harness) -> None:
    case_id = harness.start()
    detail = case_detail(harness.db, "li", case_id)
    assert detail.completed == ["start"] and detail.active == ["open_batch"] and detail.candidates == []
    with pytest.raises(NotFound):  # no units yet: no unit committee can see it
        case_detail(harness.db, harness.user("ann", "unit_committee@u1"), case_id)


def test_backfilled_candidates_are_in_the_opinion_stage(harness: Harness) -> None:
    harness.scenario = yaml.safe_load(
        (ROOT / "processes/reserve_selection/tests/objection_backfill.test.yaml").read_text("utf-8")
    )
    case_id = harness.start()
    steps = harness.steps()
    backfill = next(i for i, s in enumerate(steps) if s["task"] == "backfill")
    for body in steps[: backfill + 1]:
        task = harness.task(case_id, body["task"], **(body.get("match") or {}))
        cases.complete_task(harness.db, harness.clock, harness.actor(body["as"]), task.id, body["data"])
    assert _stages(case_detail(harness.db, "li", case_id)) == {
        "o1": ("objection", "dropped"),
        "o2": ("opinions", "in_progress"),
        "o3": ("opinions", "in_progress"),
    }
