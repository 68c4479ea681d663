"""A designer's script that loops forever, imports os or walks to object subclasses fails the step
with a clear error while the case stays exactly as it was — also when the step runs in a worker
thread, as web requests do."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest

from engine import cases
from engine.clock import ManualClock
from engine.errors import CadreflowError, DefinitionErrors, ScriptError, ScriptTimeout
from engine.store.db import Database
from engine.store.models import DefinitionVersion, Snapshot
from tests.project_copy import database_with

FIXTURES = Path(__file__).parent / "fixtures" / "loader"
GOOD_SCRIPT = "quota = 3\ntotal = quota * 2"


def _setup(tmp_path: Path, script: str) -> tuple[Database, ManualClock, str]:
    root = tmp_path / "project"
    shutil.copytree(FIXTURES / "forms", root / "forms")
    folder = root / "processes" / "demo"
    folder.mkdir(parents=True)
    bpmn = (FIXTURES / "demo" / "demo.bpmn").read_text(encoding="utf-8")
    assert GOOD_SCRIPT in bpmn
    (folder / "demo.bpmn").write_text(bpmn.replace(GOOD_SCRIPT, script), encoding="utf-8")
    db, clock = database_with(tmp_path, root / "processes")
    case = cases.start_case(db, clock, "li", "demo")
    return db, clock, case.id


def _state(db: Database, case_id: str) -> tuple[int, str, list[str]]:
    view = cases.get_case(db, case_id)
    with db.read() as session:
        snapshot = session.get(Snapshot, case_id)
        assert snapshot is not None
        return view.last_seq, snapshot.state_hash, [t.id for t in view.ready]


@pytest.mark.parametrize(
    ("script", "error", "words"),
    [
        # Each still assigns `total`, which the gateway after it reads (lint rule read-before-write).
        ("while True:\n    pass\ntotal = 0", ScriptTimeout, "budget"),
        ("total = open('/etc/passwd').read()", ScriptError, "open"),
        ("total = [1][5]", ScriptError, "IndexError"),
    ],
    ids=["endless-loop", "file-access", "runtime-error"],
)
def test_hostile_script_fails_the_step_and_leaves_the_case_intact(
    tmp_path: Path, script: str, error: type[CadreflowError], words: str
) -> None:
    db, clock, case_id = _setup(tmp_path, script)
    before = _state(db, case_id)
    task_id = before[2][0]
    outcome: list[BaseException] = []

    def complete() -> None:  # in a worker thread, like a web request
        try:
            cases.complete_task(db, clock, "li", task_id, {"year": 2027, "quota": 2})
        except BaseException as err:  # noqa: BLE001 - handed to the test thread
            outcome.append(err)

    worker = threading.Thread(target=complete)
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], error), outcome
    assert words in str(outcome[0])
    assert outcome[0].element_id == "compute"
    assert _state(db, case_id) == before


@pytest.mark.parametrize(
    ("script", "words"),
    [
        ("x = __import__('os').system('true')", "__import__"),
        ("x = ().__class__.__base__.__subclasses__()", "is refused"),
        ("import os", "import"),
    ],
    ids=["import-os", "subclasses-walk", "import-statement"],
)
def test_scripts_the_sandbox_cannot_compile_are_refused_at_deploy(
    tmp_path: Path, script: str, words: str
) -> None:
    with pytest.raises(DefinitionErrors) as caught:
        _setup(tmp_path, script)
    assert words in str(caught.value)
    assert ": compute: " in str(caught.value)
    db = Database(f"sqlite:///{tmp_path / 'cadreflow.db'}")
    with db.read() as session:
        assert session.query(DefinitionVersion).count() == 0


def test_the_same_definition_with_a_good_script_completes(tmp_path: Path) -> None:
    db, clock, case_id = _setup(tmp_path, GOOD_SCRIPT)
    task_id = cases.get_case(db, case_id).ready[0].id
    view = cases.complete_task(db, clock, "li", task_id, {"year": 2027, "quota": 2})
    assert view.data["total"] == 6
    assert [t.element_id for t in view.ready] == ["review_batch"]
    with db.read() as session:
        assert json.loads(session.get(Snapshot, case_id).state_json)["completed"] is False
