"""Versions: the list, a semantic diff that counts DMN rule changes, export back to files, and the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.bpmn.loader import load_process_folder
from engine.cli import main
from engine.definitions import deploy_processes
from engine.designer.versions import diff_versions, export_version, list_versions
from engine.errors import NotFound
from engine.store.db import Database
from tests.conftest import Harness, make_user
from tests.project_copy import copy_project

DMN = "processes/reserve_selection/qualification.dmn"
BPMN = "processes/reserve_selection/reserve_selection.bpmn"
# The exam task's deadline (the first dueIn after its form, so not the nomination's).
EXAM_FORM = 'value="record_exam_scores.schema.yaml" />\n'
EXAM_DUE = '          <spiffworkflow:property name="dueIn" value="'
EDITS = {
    DMN: [("<text>&gt; conditions['max_age']</text>", "<text>&gt;= conditions['max_age']</text>")],
    BPMN: [(f'{EXAM_FORM}{EXAM_DUE}P10D" />', f'{EXAM_FORM}{EXAM_DUE}P14D" />')],
}


@pytest.fixture
def two_versions(harness: Harness, tmp_path: Path) -> Harness:
    """reserve_selection at version 1 (shipped) and 2 (stricter age rule, longer exam deadline)."""
    root = copy_project(tmp_path, EDITS)
    deploy_processes(
        harness.db, root / "processes" / "reserve_selection", "dz", harness.clock.now(), "stricter"
    )
    return harness


def test_list_versions_newest_first_with_running_cases(two_versions: Harness) -> None:
    two_versions.start()
    listed = list_versions(two_versions.db, "reserve_selection")
    assert [(v.version, v.deployed_by, v.note, v.running_cases) for v in listed] == [
        (2, "dz", "stricter", 1),
        (1, "test", "", 0),
    ]
    with pytest.raises(NotFound):
        list_versions(two_versions.db, "no_such_process")


def test_diff_names_the_changed_rule_its_decision_the_task_calling_it_and_the_changed_task(
    two_versions: Harness,
) -> None:
    diff = diff_versions(two_versions.db, "reserve_selection", 1, 2)
    changed = {c.element_id: c for c in diff.changed}
    assert set(changed) == {"rule_max_age", "qualification", "check_conditions", "record_exam_scores"}
    assert changed["rule_max_age"].kind == "rule"
    assert any(
        "> conditions['max_age']" in d
        and ">= conditions['max_age']" in " ".join(changed["rule_max_age"].details)
        for d in changed["rule_max_age"].details
    )
    assert changed["qualification"].details == ["rule rule_max_age changed"]
    assert changed["check_conditions"].details == ["decision qualification changed"]
    assert any("P14D" in d for d in changed["record_exam_scores"].details)
    assert diff.added == [] and diff.removed == []
    assert diff.files_changed == sorted([DMN, BPMN])
    assert diff.highlight()["b"]["changed"] == sorted(changed)
    # the same version compared with itself: nothing; by hash prefix as well as by number
    same = diff_versions(two_versions.db, "reserve_selection", 2, diff.b_hash[:12])
    assert same.empty


def test_diff_reports_added_and_removed_elements(harness: Harness, tmp_path: Path) -> None:
    root = copy_project(tmp_path, {DMN: [('<rule id="rule_max_age">', '<rule id="rule_age_limit">')]})
    deploy_processes(harness.db, root / "processes" / "reserve_selection", "dz", harness.clock.now())
    diff = diff_versions(harness.db, "reserve_selection", 1, 2)
    assert [(c.element_id, c.kind) for c in diff.added] == [("rule_age_limit", "rule")]
    assert [(c.element_id, c.kind) for c in diff.removed] == [("rule_max_age", "rule")]
    assert {c.element_id for c in diff.changed} == {"qualification", "check_conditions"}
    assert diff.highlight() == {
        "a": {"removed": ["rule_max_age"], "changed": ["check_conditions", "qualification"]},
        "b": {"added": ["rule_age_limit"], "changed": ["check_conditions", "qualification"]},
    }


def test_export_writes_a_folder_that_loads_to_the_same_version(two_versions: Harness, tmp_path: Path) -> None:
    out = tmp_path / "exported"
    written = export_version(two_versions.db, "reserve_selection", 2, out)
    assert out / DMN in written and out / "forms" / "record_exam_scores.schema.yaml" in written
    bundle = load_process_folder(out / "processes" / "reserve_selection", out / "forms")
    assert bundle.content_hash == list_versions(two_versions.db, "reserve_selection")[0].hash


# The CLI opens its own connections per command and leaves them to the process exit: SQLite only.
@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_cli_versions_diff_export_and_migrate(two_versions: Harness, tmp_path: Path) -> None:
    db: Database = two_versions.db
    case_id = two_versions.start()
    make_user(db, "dz", "designer")
    runner = CliRunner()
    env = {"CADREFLOW_DATABASE_URL": db.url}

    listed = runner.invoke(main, ["versions", "reserve_selection"], env=env)
    assert listed.exit_code == 0 and listed.output.splitlines()[0].split()[0] == "2"

    diffed = runner.invoke(main, ["diff", "reserve_selection", "1", "2"], env=env)
    assert diffed.exit_code == 0
    assert "~ rule rule_max_age (processes/reserve_selection/qualification.dmn)" in diffed.output

    exported = runner.invoke(main, ["export", "reserve_selection", "1", "-o", str(tmp_path / "x")], env=env)
    assert exported.exit_code == 0 and (tmp_path / "x" / BPMN).is_file()

    dry = runner.invoke(
        main,
        ["migrate", "--to", "1", "--process", "reserve_selection", "--all-on", "2", "--dry-run"],
        env=env,
    )
    assert dry.exit_code == 0 and f"CAN MOVE  {case_id}: can move from version 2 to 1" in dry.output

    refused = runner.invoke(main, ["migrate", "--to", "1", case_id, "--as", "dz"], env=env)
    assert refused.exit_code == 1 and "say why" in refused.output

    moved = runner.invoke(main, ["migrate", "--to", "1", case_id, "--as", "dz", "--why", "back"], env=env)
    assert moved.exit_code == 0 and f"MOVED  {case_id}" in moved.output

    root = copy_project(tmp_path / "v3", {DMN: [("Older than the maximum age", "Above the maximum age")]})
    deployed = runner.invoke(
        main,
        ["deploy", str(root / "processes" / "reserve_selection"), "--as", "dz", "--why", "wording"],
        env=env,
    )
    assert deployed.exit_code == 0 and deployed.output.startswith("reserve_selection version 3 ")
    assert list_versions(db, "reserve_selection")[0].note == "wording"

    missing = runner.invoke(main, ["diff", "reserve_selection", "1", "9"], env=env)
    assert (
        missing.exit_code == 1 and "has no version 9" in missing.output and "Traceback" not in missing.output
    )
