"""Migrating running cases: a batch waiting at the exam moves to a version with a changed
``qualification`` rule and completes; a case whose element is gone stays; the migrated log re-executes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import cases, definitions, events
from engine.audit.verify import verify_case
from engine.definitions import deploy_processes
from engine.designer.migration import cases_on_version, migrate_cases, plan_migration
from engine.errors import Forbidden, Invalid
from engine.store.models import HumanTask, ScheduledTimer, Snapshot
from tests.conftest import Harness, make_user
from tests.project_copy import copy_project

DMN = "processes/reserve_selection/qualification.dmn"
BPMN = "processes/reserve_selection/reserve_selection.bpmn"
STRICTER = [("<text>&gt; conditions['max_age']</text>", "<text>&gt;= conditions['max_age']</text>")]


def deploy_edited(
    harness: Harness, tmp_path: Path, edits: dict[str, list[tuple[str, str]]], name: str
) -> str:
    """Deploy reserve_selection with ``edits`` applied as a new version; return its hash."""
    root = copy_project(tmp_path / name, edits)
    rows = deploy_processes(
        harness.db, root / "processes" / "reserve_selection", "dz", harness.clock.now(), name
    )
    return rows[0].hash


def _between(text: str, start: str, end: str) -> str:
    """The only passage of ``text`` from the line holding ``start`` through the end of ``end``."""
    begin = text.rindex("\n", 0, text.index(start)) + 1
    return text[begin : text.index(end, begin) + len(end) + 1]


def without_the_exam() -> list[tuple[str, str]]:
    """Edits removing the ``record_exam_scores`` user task: the flow from the recommendation
    gateway goes straight to ``score_exam`` (SpiffWorkflow cannot align a removed task)."""
    text = (Path(__file__).resolve().parents[2] / BPMN).read_text(encoding="utf-8")
    return [
        ("        <bpmn:flowNodeRef>record_exam_scores</bpmn:flowNodeRef>\n", ""),
        (_between(text, '<bpmn:userTask id="record_exam_scores"', "</bpmn:userTask>"), ""),
        (
            "<bpmn:incoming>flow_record_exam_scores_to_score_exam</bpmn:incoming>",
            "<bpmn:incoming>flow_gw_recommended_to_record_exam_scores</bpmn:incoming>",
        ),
        ('targetRef="record_exam_scores"', 'targetRef="score_exam"'),
        (_between(text, '<bpmn:sequenceFlow id="flow_record_exam_scores_to_score_exam"', "/>"), ""),
        (_between(text, '<bpmndi:BPMNShape id="record_exam_scores_di"', "</bpmndi:BPMNShape>"), ""),
        (
            _between(
                text, '<bpmndi:BPMNEdge id="flow_record_exam_scores_to_score_exam_di"', "</bpmndi:BPMNEdge>"
            ),
            "",
        ),
    ]


def finish(harness: Harness, case_id: str) -> cases.CaseView:
    """Complete the rest of the happy path and let the notice period run out."""
    harness.resume(case_id)
    harness.clock.advance("P8D")
    cases.fire_due_timers(harness.db, harness.clock.now())
    return cases.get_case(harness.db, case_id)


def test_a_batch_at_the_exam_moves_to_a_changed_qualification_rule_and_completes(
    harness: Harness, tmp_path: Path
) -> None:
    designer = make_user(harness.db, "dz", "designer")
    case_id = harness.start()
    harness.drive(case_id, until="record_exam_scores")
    before = cases.get_case(harness.db, case_id)
    exam_task = [t.id for t in before.ready]
    old_hash = before.definition_hash
    target = deploy_edited(harness, tmp_path, {DMN: STRICTER}, "v2")
    assert cases_on_version(harness.db, "reserve_selection", old_hash) == [case_id]

    plan = plan_migration(harness.db, [case_id, "c-nonexistent"], target)
    assert [(c.case_id, c.can_move) for c in plan] == [(case_id, True), ("c-nonexistent", False)]
    assert plan[0].reason == "can move from version 1 to 2" and plan[1].reason == "no such case"
    assert cases.get_case(harness.db, case_id).last_seq == before.last_seq  # the dry run changed nothing

    [result] = migrate_cases(harness.db, harness.clock, designer, [case_id], target, "max age is exclusive")
    assert result.migrated
    after = cases.get_case(harness.db, case_id)
    assert after.definition_hash == target
    assert [t.id for t in after.ready] == exam_task  # the case goes on from where it was
    log = harness.verify_chain(case_id)
    migrated = [e for e in log if e.type == events.CASE_MIGRATED]
    assert len(migrated) == 1 and migrated[0].seq == result.event_seq and migrated[0].actor == designer
    assert json.loads(migrated[0].payload_json) == {
        "from_hash": old_hash,
        "from_version": 1,
        "definition_hash": target,
        "version": 2,
        "why": "max age is exclusive",
    }
    assert events.CASE_MIGRATED in events.INPUT_TYPES
    with harness.db.read() as session:
        assert session.get(Snapshot, case_id).definition_hash == target  # type: ignore[union-attr]

    done = finish(harness, case_id)
    assert done.status == "finished" and done.data["admitted"] == ["a2", "b1"]
    # a case already there is not moved twice
    assert migrate_cases(harness.db, harness.clock, designer, [case_id], target, "again")[0].reason == (
        "the case is finished"
    )


def test_a_case_whose_waiting_element_is_removed_stays_as_it_was(harness: Harness, tmp_path: Path) -> None:
    designer = make_user(harness.db, "dz", "designer")
    at_exam = harness.start()
    harness.drive(at_exam, until="record_exam_scores")
    at_start = harness.start()  # waits at open_batch, which the target keeps
    target = deploy_edited(harness, tmp_path, {BPMN: without_the_exam()}, "no-exam")
    before = cases.get_case(harness.db, at_exam)
    with harness.db.read() as session:
        rows_before = sorted(
            (r.id, r.status) for r in session.scalars(select(HumanTask).where(HumanTask.case_id == at_exam))
        )

    plan = {c.case_id: c for c in plan_migration(harness.db, [at_exam, at_start], target)}
    assert not plan[at_exam].can_move
    assert "record_exam_scores" in plan[at_exam].reason and "removes" in plan[at_exam].reason
    assert plan[at_start].can_move

    results = {
        r.case_id: r
        for r in migrate_cases(harness.db, harness.clock, designer, [at_exam, at_start], target, "no exam")
    }
    assert not results[at_exam].migrated and results[at_exam].reason == plan[at_exam].reason
    assert results[at_start].migrated
    after = cases.get_case(harness.db, at_exam)
    assert (after.definition_hash, after.last_seq) == (before.definition_hash, before.last_seq)
    with harness.db.read() as session:
        rows_after = sorted(
            (r.id, r.status) for r in session.scalars(select(HumanTask).where(HumanTask.case_id == at_exam))
        )
    assert rows_after == rows_before
    # the unmoved case still runs on its old version to the end
    assert finish(harness, at_exam).status == "finished"


def test_migration_needs_a_designer_and_a_reason(harness: Harness, tmp_path: Path) -> None:
    case_id = harness.start()
    target = deploy_edited(harness, tmp_path, {DMN: STRICTER}, "v2")
    clerk = make_user(harness.db, "clerk", "org_department")
    with pytest.raises(Forbidden):
        migrate_cases(harness.db, harness.clock, clerk, [case_id], target, "why not")
    with pytest.raises(Invalid):
        migrate_cases(
            harness.db, harness.clock, make_user(harness.db, "dz", "designer"), [case_id], target, ""
        )


def test_migrated_and_unmigrated_cases_verify_against_their_versions(
    harness: Harness, tmp_path: Path
) -> None:
    """The auditor's verifier re-executes a migrated case across both versions (the case.migrated step
    included) and a case left on the old version against the old one."""
    designer = make_user(harness.db, "dz", "designer")
    moved, stayed = harness.start(), harness.start()
    for case_id in (moved, stayed):
        harness.drive(case_id, until="record_exam_scores")
    target = deploy_edited(harness, tmp_path, {DMN: STRICTER}, "v2")
    migrate_cases(harness.db, harness.clock, designer, [moved], target, "max age is exclusive")
    harness.resume(moved)  # up to the notice-period timer
    with harness.db.read() as session:
        timers = session.scalars(select(ScheduledTimer).where(ScheduledTimer.case_id == moved))
        assert [t.status for t in timers] == ["waiting"]
    reports = {case_id: verify_case(harness.db, case_id) for case_id in (moved, stayed)}
    assert all(report.ok for report in reports.values()), [r.line() for r in reports.values()]
    assert [e.type for e in harness.events(moved)].count(events.CASE_MIGRATED) == 1
    assert harness.case_row(stayed).definition_hash != target == harness.case_row(moved).definition_hash


@pytest.mark.parametrize(
    ("until", "match"),
    [
        ("nominate", {"unit": "u2"}),  # one instance of a parallel multi-instance task done, one ready
        ("democratic_recommendation", {}),  # every instance of a multi-instance task ready
        ("inspect_candidate", {}),
        (None, {}),  # waiting for the notice-period timer
    ],
    ids=["mid-nomination", "recommendation", "inspection", "notice-timer"],
)
def test_cases_move_from_any_waiting_point_and_finish_alike(
    harness: Harness, tmp_path: Path, until: str | None, match: dict[str, str]
) -> None:
    designer = make_user(harness.db, "dz", "designer")
    case_id = harness.start()
    harness.drive(case_id, until=until, **match)
    with harness.db.read() as session:
        timers = [
            (t.key, t.due_at)
            for t in session.scalars(select(ScheduledTimer).where(ScheduledTimer.case_id == case_id))
        ]
    before = [t.id for t in cases.ready_tasks(harness.db, case_id)]
    target = deploy_edited(harness, tmp_path, {DMN: STRICTER}, "v2")
    assert migrate_cases(harness.db, harness.clock, designer, [case_id], target, "stricter")[0].migrated
    assert [t.id for t in cases.ready_tasks(harness.db, case_id)] == before
    with harness.db.read() as session:
        after = [
            (t.key, t.due_at)
            for t in session.scalars(select(ScheduledTimer).where(ScheduledTimer.case_id == case_id))
        ]
    assert after == timers  # a waiting timer keeps its due time
    done = finish(harness, case_id)
    assert (done.status, done.data["admitted"], done.definition_hash) == ("finished", ["a2", "b1"], target)


def test_a_multi_instance_task_restored_on_freshly_parsed_specs_still_finishes(harness: Harness) -> None:
    """Instances created before a restart (or a migration) must still complete their activity."""
    case_id = harness.start()
    harness.drive(case_id, until="democratic_recommendation")
    definitions._cache.clear()  # as in a new process: the specs are parsed again
    harness.resume(case_id, until="record_exam_scores")
    assert [t.element_id for t in cases.ready_tasks(harness.db, case_id)] == ["record_exam_scores"]
