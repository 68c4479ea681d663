"""Every kind of process re-executes: one process test per process, with the messages it sends.

Each scenario runs through the services (``engine.process_tests.Scenario``) on its own SQLite copy;
then every case it left — the scenario's own and those its messages started or reached — must verify.
(All 57 process tests pass this way; these six cover every process, the back-fill loop, a selection
batch asked for by the pool adjustment, findings and departures sent to a cadre's file.)
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from engine.audit.verify import verify_all
from engine.bpmn.loader import ProcessBundle
from engine.process_tests import Scenario
from engine.store.db import Database

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = [
    "reserve_selection/tests/objection_backfill.test.yaml",
    "timely_supplement/tests/objection_drop.test.yaml",
    "reserve_cadre/tests/findings_and_removal.test.yaml",
    "pool_adjustment/tests/short_of_target.test.yaml",
    "preferred_use/tests/appointed.test.yaml",
    "mass_supervision/tests/referred_to_discipline.test.yaml",
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.split("/")[0])
def test_the_cases_a_process_test_leaves_all_verify(
    scenario: str, sqlite_template: Path, bundles: list[ProcessBundle], tmp_path: Path
) -> None:
    path = tmp_path / "scenario.db"
    shutil.copyfile(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    try:
        for test in yaml.safe_load_all((ROOT / "processes" / scenario).read_text(encoding="utf-8")):
            if test:
                Scenario(db, test, bundles).run()
        reports = verify_all(db)
    finally:
        db.dispose()
    assert reports, "the scenario left no case"
    assert [r.line() for r in reports if not r.ok] == []
