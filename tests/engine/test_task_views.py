"""The task page (``engine.task_views``): who gets it, and the forms' ``x-prefill``, ``x-choices`` and
``x-context`` evaluated over the real task data of every user task of the selection process."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from engine import cases
from engine.bpmn.loader import load_process_folder
from engine.bpmn.runtime import CaseRuntime
from engine.definitions import get_definition
from engine.errors import Invalid, NotFound, ScriptError
from engine.forms import validate_form
from engine.store.models import Case, Snapshot
from engine.task_views import TaskDetail, choices, context_items, prefill, task_detail
from tests.conftest import ROOT, Harness

sqlite_only = pytest.mark.parametrize("database", ["sqlite"], indirect=True)

SCENARIOS = ROOT / "processes" / "reserve_selection" / "tests"
PRESENTATION_KEYS = ("x-prefill", "x-choices", "x-context")
UNKNOWN_TASK = "00000000-0000-4000-8000-000000000000"


def _selection_forms() -> set[str]:
    """The form files reserve_selection's user tasks use (the scenarios below drive that process)."""
    bundle = load_process_folder(ROOT / "processes" / "reserve_selection", ROOT / "forms")
    return {info.form_key for info in bundle.user_tasks.values() if info.form_key}


def _forms_with_presentation() -> set[str]:
    out = set()
    for name in _selection_forms():
        if any(
            key in yaml.safe_load((ROOT / "forms" / name).read_text("utf-8")) for key in PRESENTATION_KEYS
        ):
            out.add(name)
    return out


def _spiff_data(harness: Harness, case_id: str, task_id: str) -> dict[str, Any]:
    """The ready task's data in the restored workflow (what ``complete_task`` validates against)."""
    with harness.db.read() as session:
        case = session.get(Case, case_id)
        snap = session.get(Snapshot, case_id)
        assert case is not None and snap is not None
        runtime = CaseRuntime.restore(
            get_definition(session, case.definition_hash).specs, json.loads(snap.state_json)
        )
    return next(dict(t.data) for t in runtime.ready_human_tasks() if t.task_id == task_id)


def _validate(harness: Harness, detail: TaskDetail, values: dict[str, Any]) -> dict[str, Any]:
    return validate_form(
        detail.schema,
        values,
        task_data=_spiff_data(harness, detail.task.case_id, detail.task.id),
        case_subjects=[],
        ref_exists=lambda kind, value: True,
        element_id=detail.task.element_id,
    )


def _check_consistent(detail: TaskDetail) -> None:
    """Choices are [value, label] text pairs, and prefilled values only use offered choices."""
    for path, pairs in detail.choices.items():
        assert pairs, f"{detail.form_key} {path}: no choices"
        assert all(isinstance(v, str) and " · " in label for v, label in pairs)
        offered = {v for v, _ in pairs}
        head, _, rest = path.partition("[]")
        value = detail.values.get(head, [])
        used = [item[rest.lstrip(".")] if rest else item for item in value]
        assert set(used) <= offered, f"{detail.form_key} {path}: prefill uses {used}, offers {offered}"
    for item in detail.context:
        assert " / " in item.label, f"{detail.form_key}: label {item.label!r} is not bilingual"
        if isinstance(item.value, list):
            assert all(isinstance(row, dict) for row in item.value)
            assert all(" / " in key for row in item.value for key in row)


@sqlite_only
@pytest.mark.parametrize("scenario", ["happy_path", "objection_backfill"])
def test_every_presentation_key_evaluates_at_its_task(harness: Harness, scenario: str) -> None:
    """Along a whole scenario, the page of each task about to be completed evaluates without error."""
    harness.scenario = yaml.safe_load((SCENARIOS / f"{scenario}.test.yaml").read_text("utf-8"))
    case_id = harness.start()
    evaluated: set[str] = set()
    for body in harness.steps():
        task = harness.task(case_id, body["task"], **(body.get("match") or {}))
        actor = harness.actor(body["as"])
        detail = task_detail(harness.db, actor, task.id)
        assert detail.task.id == task.id and detail.case_title in ("", "2027 spring", "2027 back-fill")
        assert detail.instructions and " / " in detail.instructions
        assert detail.schema.get("type") == "object" and not detail.has_draft
        _check_consistent(detail)
        if any(key in detail.schema for key in PRESENTATION_KEYS):
            evaluated.add(detail.form_key)
        if "x-context" in detail.schema:
            assert detail.context and all(item.value not in (None, "", []) for item in detail.context)
        data = json.loads(json.dumps(body["data"]))  # this step's own data (a task may come twice)
        cases.complete_task(harness.db, harness.clock, actor, task.id, data)
    expected = _forms_with_presentation() - ({"backfill.schema.yaml"} if scenario == "happy_path" else set())
    assert evaluated == expected


@sqlite_only
def test_prefilled_forms_can_be_completed_as_they_are(harness: Harness) -> None:
    """The exam form, the proposal, both opinions and the decisions validate (or complete) exactly as
    prefilled; the decision form still needs the meeting's date and minute reference, which no data
    holds (they are facts of the meeting), so only those two fields are reported missing."""
    case_id = harness.start()
    harness.drive(case_id, until="record_exam_scores")
    exam = task_detail(
        harness.db, harness.actor("exam_office"), harness.task(case_id, "record_exam_scores").id
    )
    assert exam.values == {"scores": [{"candidate": c, "score": None} for c in ("a1", "a2", "b1")]}
    assert _validate(harness, exam, exam.values)["scores"] == exam.values["scores"]
    harness.complete(case_id, "record_exam_scores")
    for element_id, match in (
        ("inspect_candidate", "a1"),
        ("inspect_candidate", "a2"),
        ("inspect_candidate", "b1"),
    ):
        harness.complete(case_id, element_id, candidate=match)

    li = harness.actor("li")
    propose = task_detail(harness.db, li, harness.task(case_id, "propose_candidates").id)
    assert propose.values == {"proposed": ["a2", "b1"]}
    cases.complete_task(harness.db, harness.clock, li, propose.task.id, propose.values)
    for element_id, role in (
        ("discipline_opinion", "discipline_inspection"),
        ("family_planning_opinion", "family_planning"),
    ):
        detail = task_detail(harness.db, harness.actor(role), harness.task(case_id, element_id).id)
        assert detail.values == {
            "opinions": [
                {"candidate": "a2", "opinion": "no_objection"},
                {"candidate": "b1", "opinion": "no_objection"},
            ]
        }
        cases.complete_task(harness.db, harness.clock, harness.actor(role), detail.task.id, detail.values)

    chair = harness.actor("party_committee")
    decision = task_detail(harness.db, chair, harness.task(case_id, "committee_decision").id)
    assert decision.values == {
        "decisions": [{"candidate": "a2", "decision": "approve"}, {"candidate": "b1", "decision": "approve"}]
    }
    with pytest.raises(Invalid) as raised:
        _validate(harness, decision, decision.values)
    assert set(raised.value.fields) == {"meeting_date"}
    with pytest.raises(Invalid) as raised:
        _validate(harness, decision, {**decision.values, "meeting_date": "2027-02-20"})
    assert set(raised.value.fields) == {"minute_ref"}
    values = {**decision.values, "meeting_date": "2027-02-20", "minute_ref": "SC-2027-07"}
    cases.complete_task(harness.db, harness.clock, chair, decision.task.id, values)
    harness.clock.advance("P8D")
    assert cases.fire_due_timers(harness.db, harness.clock.now()) == 1
    assert cases.get_case(harness.db, case_id).data["admitted"] == ["a2", "b1"]


@sqlite_only
def test_what_each_role_sees_about_the_candidates(harness: Harness) -> None:
    case_id = harness.start()
    harness.drive(case_id, until="democratic_recommendation")
    u2 = task_detail(
        harness.db, "unit_committee@u2", harness.task(case_id, "democratic_recommendation", unit="u2").id
    )
    assert u2.values == {"votes": [{"candidate": "b1", "votes": 0}]}
    assert u2.choices == {"votes[].candidate": [("b1", "b1 · Bai Yi (u2)")]}
    nominees = u2.context[0]
    assert nominees.label == "Qualified nominees of your unit / 本单位合格人选"
    assert nominees.value == [
        {
            "Candidate / 人选": "b1",
            "Name / 姓名": "Bai Yi",
            "Age / 年龄": 38,
            "Education / 学历": "bachelor",
            "Years of service / 工作年限": 10,
        }
    ]
    assert u2.context[1].value == "50%"

    harness.resume(case_id, until="inspect_candidate")
    inspect = task_detail(
        harness.db,
        harness.actor("inspection_team"),
        harness.task(case_id, "inspect_candidate", candidate="b1").id,
    )
    seen = {item.label: item.value for item in inspect.context}
    assert seen["Candidate / 人选"] == "b1 · Bai Yi (u2)"
    assert seen["Exam score / 考试成绩"] == 90
    assert seen["Exam rank / 考试排名"] == "1 of 3"
    assert seen["Recommendation rate / 推荐率"] == "8 of 10 participants (80.0%)"
    assert inspect.values == {} and inspect.choices == {}

    harness.resume(case_id, until="propose_candidates")
    propose = task_detail(harness.db, harness.actor("li"), harness.task(case_id, "propose_candidates").id)
    table = propose.context[0].value
    assert isinstance(table, list)
    assert [
        (
            r["Candidate / 人选"],
            r["Composite score / 综合得分"],
            r["Rating / 考察等次"],
            r["Pre-selected / 预选"],
        )
        for r in table
    ] == [("a2", 89.25, "excellent", True), ("b1", 87.5, "competent", True), ("a1", 85.0, "competent", False)]
    assert [item.value for item in propose.context[1:]] == ["a2, b1", 2]
    assert propose.choices["proposed[]"] == [
        ("a2", "a2 · An Er (u1)"),
        ("b1", "b1 · Bai Yi (u2)"),
        ("a1", "a1 · An Yi (u1)"),
    ]
    propose.schema["title"] = "changed by a caller"  # a copy: the deployed definition is untouched
    assert task_detail(harness.db, "li", propose.task.id).schema["title"].startswith("Study and propose")


@sqlite_only
def test_only_people_who_may_act_get_the_page(harness: Harness) -> None:
    case_id = harness.start()
    harness.drive(case_id, until="nominate")
    task = harness.task(case_id, "nominate", unit="u1")
    for user in (
        harness.user("cat", "unit_committee@u2"),
        harness.user("dan", "org_department"),
        harness.user("nobody"),
    ):
        with pytest.raises(NotFound) as raised:
            task_detail(harness.db, user, task.id)
        assert raised.value.message == f"no task {task.id}"
    with pytest.raises(NotFound):
        task_detail(harness.db, "unit_committee@u1", UNKNOWN_TASK)

    ann, bob = harness.user("ann", "unit_committee@u1"), harness.user("bob", "unit_committee@u1")
    first = task_detail(harness.db, ann, task.id)
    assert (first.claimed_by, first.may_claim, first.may_unclaim) == (None, True, False)
    cases.claim_task(harness.db, harness.clock, ann, task.id)
    mine = task_detail(harness.db, ann, task.id)
    assert (mine.claimed_by, mine.may_claim, mine.may_unclaim) == (ann, False, True)
    theirs = task_detail(harness.db, bob, task.id)
    assert (theirs.claimed_by, theirs.may_claim, theirs.may_unclaim) == (ann, False, False)


@sqlite_only
def test_a_subject_and_a_completed_task_are_not_found(harness: Harness) -> None:
    case_id = harness.start()
    harness.drive(case_id, until="inspect_candidate")
    task = harness.task(case_id, "inspect_candidate", candidate="a1")
    with pytest.raises(NotFound):
        task_detail(harness.db, harness.user("a2", "inspection_team"), task.id)  # a candidate of the batch
    harness.complete(case_id, "inspect_candidate", candidate="a1")
    with pytest.raises(NotFound) as raised:
        task_detail(harness.db, "inspection_team", task.id)
    assert "no longer ready" in raised.value.message


def test_broken_expressions_are_script_errors_naming_form_and_key() -> None:
    data = {"remaining": [{"id": "c1"}]}
    assert prefill({}, data) == {} and choices({}, data) == {} and context_items({}, data) == []
    cases_ = [
        (lambda: prefill({"x-prefill": "1 / 0"}, data, "f.schema.yaml"), "f.schema.yaml x-prefill"),
        (lambda: prefill({"x-prefill": "[1]"}, data, "f.schema.yaml"), "must give an object"),
        (lambda: prefill({"x-prefill": "__import__('os')"}, data, "f.schema.yaml"), "x-prefill"),
        (lambda: choices({"x-choices": {"a[]": "remaining"}}, data, "f.schema.yaml"), "x-choices.a[]"),
        (lambda: choices({"x-choices": {"a[]": "missing_name"}}, data, "f.schema.yaml"), "x-choices.a[]"),
        (
            lambda: context_items({"x-context": [{"label": "L / 标签"}]}, data, "f.schema.yaml"),
            "x-context[0]",
        ),
        (
            lambda: context_items(
                {"x-context": [{"label": "L", "value": "{'a': 1}"}]}, data, "f.schema.yaml"
            ),
            "list of rows",
        ),
    ]
    for call, text in cases_:
        with pytest.raises(ScriptError) as raised:
            call()
        assert text in raised.value.message, raised.value.message
    assert choices({"x-choices": {"a[]": "[(c['id'], 'C ' + c['id']) for c in remaining]"}}, data) == {
        "a[]": [("c1", "C c1")]
    }


def test_forms_folder_matches_what_the_test_covers() -> None:
    """Every form of the selection has presentation keys (open_batch: the quota a batch opened by the
    pool adjustment comes with)."""
    assert _forms_with_presentation() == _selection_forms()
