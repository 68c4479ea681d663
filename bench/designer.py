"""What the designer's actions cost with the shipped processes: save (validation), the draft's process
tests, deploy, diff, the migration dry run and migration per case, and opening the conformance corpus.

Run: ``.venv/bin/python bench/designer.py [--cases 10] [--database URL]``

Each action runs as the web designer calls it (the engine functions, real SQLite unless ``--database``
names another database); the table prints wall-clock seconds, total and per item.
"""

from __future__ import annotations

import argparse
import atexit
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine import cases  # noqa: E402
from engine.clock import ManualClock  # noqa: E402
from engine.definitions import deploy_bundle, load_bundles  # noqa: E402
from engine.designer import drafts  # noqa: E402
from engine.designer.deploy import deploy_draft, run_draft_tests  # noqa: E402
from engine.designer.interchange import import_model  # noqa: E402
from engine.designer.migration import migrate_cases, plan_migration  # noqa: E402
from engine.designer.versions import diff_versions  # noqa: E402
from engine.directory import ensure_unit, ensure_user, grant  # noqa: E402
from engine.store.db import Database  # noqa: E402
from engine.store.migrate import upgrade  # noqa: E402

PROCESS = "reserve_selection"
DMN = f"processes/{PROCESS}/qualification.dmn"


def timed(rows: list[tuple[str, int, float]], label: str, count: int, action: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    result = action()
    rows.append((label, count, time.perf_counter() - started))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=10, help="open batches waiting at the exam to migrate")
    parser.add_argument("--database", default=None, help="SQLAlchemy URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="cadreflow-bench-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    db = Database(args.database or f"sqlite:///{folder}/bench.db")
    upgrade(db)
    clock = ManualClock(datetime(2027, 1, 4, tzinfo=timezone.utc))
    with db.write() as session:
        for bundle in load_bundles(ROOT / "processes"):
            deploy_bundle(session, bundle, "bench", clock.now())
        for unit in ("u1", "u2"):
            ensure_unit(session, unit)
        ensure_user(session, "dz")
        grant(session, "dz", "designer")

    from tests.conftest import Harness  # the happy path's form data, as the tests drive it

    harness = Harness(db, clock)
    open_cases = []
    for _ in range(args.cases):
        case_id = harness.start()
        harness.drive(case_id, until="record_exam_scores")
        open_cases.append(case_id)

    rows: list[tuple[str, int, float]] = []
    files = dict(drafts.open_draft(db, "dz", PROCESS, project_root=ROOT).files)
    files[DMN] = files[DMN].replace("Older than the maximum age", "Above the maximum age")
    tests = sum(1 for p in files if p.endswith(".test.yaml"))
    saved = timed(rows, "save draft (validate)", 1, lambda: drafts.save_draft(db, "dz", PROCESS, files))
    assert not saved.problems, saved.problems
    results = timed(rows, "run the draft's process tests", tests, lambda: run_draft_tests(db, PROCESS))
    assert all(r.passed for r in results)
    deployed = timed(
        rows, "deploy (validate, tests, store)", 1, lambda: deploy_draft(db, clock, "dz", PROCESS, "bench")
    )
    timed(rows, "diff version 1 -> 2", 1, lambda: diff_versions(db, PROCESS, 1, 2))
    plan = timed(
        rows, "migration dry run", len(open_cases), lambda: plan_migration(db, open_cases, deployed.hash)
    )
    assert all(c.can_move for c in plan)
    moved = timed(
        rows,
        "migrate (one event per case)",
        len(open_cases),
        lambda: migrate_cases(db, clock, "dz", open_cases, deployed.hash, "bench"),
    )
    assert all(r.migrated for r in moved)
    assert all(cases.get_case(db, c).definition_hash == deployed.hash for c in open_cases)
    corpus = sorted((ROOT.parent / "shared" / "conformance").rglob("*.bpmn"))
    timed(
        rows,
        "import_model over the corpus",
        len(corpus),
        lambda: [import_model(p.read_bytes(), p.name) for p in corpus],
    )

    print(
        f"Designer actions on {PROCESS} ({tests} process tests, {args.cases} batches at the exam), "
        f"{db.url.split(':')[0]}"
    )
    print(f"{'action':<34}{'items':>7}{'total s':>10}{'per item ms':>13}")
    for label, count, seconds in rows:
        print(f"{label:<34}{count:>7}{seconds:>10.2f}{seconds / max(count, 1) * 1000:>13.1f}")
    db.dispose()


if __name__ == "__main__":
    main()
