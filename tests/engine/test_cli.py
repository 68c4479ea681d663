"""The command line: clear lines and exit codes, never a traceback; broken definitions write nothing."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from click.testing import CliRunner

from engine.cli import main
from engine.store.db import Database
from engine.store.models import DefinitionVersion
from tests.project_copy import copy_project

ROOT = Path(__file__).resolve().parents[2]
BPMN = "processes/reserve_selection/reserve_selection.bpmn"
LOCATION = re.compile(r"^.+\.(bpmn|dmn|yaml):\d*: [\w-]+: .+$")


def _broken_project(tmp_path: Path) -> Path:
    return copy_project(
        tmp_path,
        {
            BPMN: [
                ("<bpmn:script>exam_ranking", "<bpmn:script>x = = 1\nexam_ranking"),
                ('targetRef="prepare_batch"', 'targetRef="no_such_task"'),
            ]
        },
    )


def test_validate_the_shipped_processes_exits_zero() -> None:
    result = CliRunner().invoke(main, ["validate", str(ROOT / "processes")])
    assert result.exit_code == 0, result.output
    assert "ok" in result.output


def test_validate_a_broken_process_prints_locations_and_exits_one(tmp_path: Path) -> None:
    root = _broken_project(tmp_path)
    result = CliRunner().invoke(main, ["validate", str(root / "processes")])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line and "problem(s)" not in line]
    assert lines and all(LOCATION.match(line) for line in lines), result.output
    assert "Traceback" not in result.output
    assert any("no_such_task" in line for line in lines), result.output


def test_deploy_of_a_broken_process_writes_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    runner = CliRunner()
    assert runner.invoke(main, ["--database", url, "init"]).exit_code == 0
    result = runner.invoke(main, ["--database", url, "deploy", str(_broken_project(tmp_path) / "processes")])
    assert result.exit_code == 1
    assert "Traceback" not in result.output and "error (invalid)" in result.output
    with Database(url).read() as session:
        assert session.query(DefinitionVersion).count() == 0


def test_deploy_twice_stores_one_version(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    runner = CliRunner()
    assert runner.invoke(main, ["--database", url, "init"]).exit_code == 0
    first = runner.invoke(main, ["--database", url, "deploy", str(ROOT / "processes")])
    second = runner.invoke(main, ["--database", url, "deploy", str(ROOT / "processes")])
    assert first.exit_code == second.exit_code == 0
    assert first.output == second.output and "reserve_selection version 1" in first.output


def test_test_command_prints_one_line_per_test_and_totals() -> None:
    result = CliRunner().invoke(
        main, ["test", str(ROOT / "processes" / "reserve_selection" / "tests" / "happy_path.test.yaml")]
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].startswith("PASS ")
    assert result.output.splitlines()[-1] == "1 passed, 0 failed"


def test_test_command_exits_non_zero_on_a_failing_test(tmp_path: Path) -> None:
    failing = tmp_path / "processes" / "x" / "wrong.test.yaml"
    failing.parent.mkdir(parents=True)
    (tmp_path / "forms").mkdir()
    failing.write_text(
        "name: expects the impossible\nprocess: reserve_selection\nsteps:\n"
        "  - start: {as: org_department}\n  - expect: {ready: [committee_decision]}\n"
    )
    shutil.copytree(
        ROOT / "processes" / "reserve_selection",
        tmp_path / "processes" / "reserve_selection",
        ignore=shutil.ignore_patterns("tests"),
    )
    shutil.rmtree(tmp_path / "forms")
    shutil.copytree(ROOT / "forms", tmp_path / "forms")
    result = CliRunner().invoke(main, ["test", str(failing)])
    assert result.exit_code == 1
    assert result.output.splitlines()[0].startswith("FAIL expects the impossible: step 2 (expect): ready:")
    assert result.output.splitlines()[-1] == "0 passed, 1 failed"


def test_a_form_referring_to_an_unknown_kind_of_entry_is_refused_at_its_line(tmp_path: Path) -> None:
    root = copy_project(
        tmp_path, {"forms/supervision_triage.schema.yaml": [("x-ref: cadre", "x-ref: person")]}
    )
    result = CliRunner().invoke(main, ["validate", str(root / "processes")])
    assert result.exit_code == 1
    assert "supervision_triage.schema.yaml:22:" in result.output and "x-ref 'person'" in result.output
