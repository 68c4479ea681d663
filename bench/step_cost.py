"""How much one completed task costs, and whether that grows with a case's history.

Run: ``.venv/bin/python bench/step_cost.py [--database URL] [--history 0,200,1000]``

Prints two tables:
1. per task of the demo batch (20 nominees, 3 units): wall time of ``complete_task`` (restore
   snapshot, validate, step SpiffWorkflow, write events, projections and the new snapshot), events
   written and snapshot size;
2. the cost of completing ``open_batch`` after a case has already collected N claim/unclaim events:
   the per-step path reads the snapshot and the case row by key, so this should stay flat.
"""

from __future__ import annotations

import argparse
import atexit
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import cases  # noqa: E402
from engine import demo as demo_module  # noqa: E402
from engine.clock import ManualClock  # noqa: E402
from engine.definitions import deploy_processes  # noqa: E402
from engine.store.db import Database  # noqa: E402
from engine.store.migrate import upgrade  # noqa: E402
from engine.store.models import Snapshot  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _fresh_db(url: str | None) -> Database:
    if url is None:
        folder = tempfile.mkdtemp(prefix="cadreflow-bench-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        url = f"sqlite:///{folder}/bench.db"
    db = Database(url)
    upgrade(db)
    return db


def per_task_table(db: Database) -> None:
    timings: list[tuple[str, float, int, int]] = []
    original = cases.complete_task

    def timed(db_: Database, clock: Any, user: str, task_id: str, data: dict[str, Any]) -> cases.CaseView:
        element = next(
            t.element_id for t in cases.get_case(db_, _case_of(db_, task_id)).ready if t.id == task_id
        )
        before = cases.get_case(db_, _case_of(db_, task_id)).last_seq
        start = time.perf_counter()
        view = original(db_, clock, user, task_id, data)
        elapsed = time.perf_counter() - start
        with db_.read() as session:
            size = len(session.get(Snapshot, view.id).state_json)
        timings.append((element, elapsed * 1000, view.last_seq - before, size))
        return view

    cases.complete_task = timed  # type: ignore[assignment]
    try:
        demo_module.run_demo(db, lambda _line: None)
    finally:
        cases.complete_task = original  # type: ignore[assignment]
    print("Per completed task, demo batch (20 nominees, 3 units, quota 4)")
    print(f"{'task':<28}{'ms':>9}{'events':>8}{'snapshot KB':>13}")
    for element, ms, written, size in timings:
        print(f"{element:<28}{ms:>9.1f}{written:>8}{size / 1024:>13.1f}")
    values = sorted(ms for _, ms, _, _ in timings)
    p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
    print(
        f"{'all ' + str(len(values)) + ' tasks':<28} median {statistics.median(values):.1f} ms, "
        f"p95 {p95:.1f} ms, max {values[-1]:.1f} ms"
    )


def _case_of(db: Database, task_id: str) -> str:
    from engine.store.models import HumanTask

    with db.read() as session:
        return session.get(HumanTask, task_id).case_id


def history_table(url: str | None, sizes: list[int]) -> None:
    print()
    print("Completing open_batch after N earlier claim/unclaim events (history length vs step cost)")
    print(f"{'history events':>15}{'complete ms (median of 5)':>28}")
    for size in sizes:
        samples = []
        for _ in range(5):
            db = _fresh_db(url)
            clock = ManualClock(datetime(2027, 1, 4, tzinfo=timezone.utc))
            deploy_processes(db, ROOT / "processes", "bench", clock.now())
            demo_module.seed_directory(db)
            view = cases.start_case(db, clock, "li_org", "reserve_selection")
            task = view.ready[0]
            for _ in range(size // 2):
                cases.claim_task(db, clock, "li_org", task.id)
                cases.unclaim_task(db, clock, "li_org", task.id)
            data = {
                "batch_name": "bench",
                "quota": 2,
                "units": ["dongcheng"],
                "reference_date": "2027-01-01",
                "conditions": {
                    "max_age": 40,
                    "min_education": "bachelor",
                    "min_service_years": 3,
                    "political_status": "any",
                },
            }
            start = time.perf_counter()
            cases.complete_task(db, clock, "li_org", task.id, data)
            samples.append((time.perf_counter() - start) * 1000)
            db.dispose()
        print(f"{size:>15}{statistics.median(samples):>28.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", default=None, help="SQLAlchemy URL (default: a temporary SQLite file)")
    parser.add_argument("--history", default="0,200,1000,2000")
    args = parser.parse_args()
    per_task_table(_fresh_db(args.database))
    history_table(args.database, [int(x) for x in args.history.split(",")])


if __name__ == "__main__":
    main()
