"""How long verification takes: per event and in total, for the demo's cases and a ~1,000-event case.

Run: ``.venv/bin/python bench/audit_verify.py [--events 1000]``

Prints two tables (SQLite under a temporary folder):
1. every case of ``cadreflow demo``: events, verification time (chain + re-execution + snapshot), ms/event;
2. one reserve cadre driven through simulated years (talks every quarter, supervision, the course, the
   assessment; one workflow instance per year) until its log holds at least ``--events`` events:
   the chain check alone, the whole verification from the database, and the offline bundle check.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import cases  # noqa: E402
from engine.audit.bundle import export_case, verify_bundle  # noqa: E402
from engine.audit.chain import check_chain  # noqa: E402
from engine.audit.record import load_record  # noqa: E402
from engine.audit.verify import verify_all, verify_case  # noqa: E402
from engine.clock import ManualClock  # noqa: E402
from engine.definitions import deploy_processes  # noqa: E402
from engine.demo import MENTORS, _work_the_year, run_demo, seed_directory  # noqa: E402
from engine.store.db import Database  # noqa: E402
from engine.store.migrate import upgrade  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def demo_table(folder: Path) -> None:
    db = Database(f"sqlite:///{folder / 'demo.db'}")
    run_demo(db, lambda _line: None, story=True)
    reports = verify_all(db)
    with db.read() as session:
        from engine.store.models import Case

        processes = {c.id: c.process_id for c in session.query(Case)}
    print("1. The demo database (`cadreflow demo`), `audit verify --all`")
    print(f"   {'case':<16} {'process':<18} {'events':>7} {'verify s':>9} {'ms/event':>9}  result")
    for r in reports:
        print(
            f"   {r.case_id:<16} {processes[r.case_id]:<18} {r.events:>7} {r.seconds:>9.3f} "
            f"{r.seconds / r.events * 1000:>9.2f}  {'OK' if r.ok else 'FAIL'}"
        )
    total_events = sum(r.events for r in reports)
    total_seconds = sum(r.seconds for r in reports)
    print(
        f"   {'all':<16} {'':<18} {total_events:>7} {total_seconds:>9.3f} "
        f"{total_seconds / total_events * 1000:>9.2f}"
    )
    db.dispose()


def long_case(folder: Path, at_least: int) -> None:
    db = Database(f"sqlite:///{folder / 'cadre.db'}")
    upgrade(db)
    clock = ManualClock(datetime(2027, 1, 4, tzinfo=timezone.utc))
    deploy_processes(db, ROOT / "processes", "bench", clock.now())
    seed_directory(db)
    unit = "dongcheng"
    admission = {"key": "cadre:s1", "candidate": "s1", "name": "Sun Yi", "unit": unit}
    case_id = cases.start_case(
        db, clock, "li_org", "reserve_cadre", {"name": "cadre_admitted", "data": admission}
    ).id
    pairing = cases.get_case(db, case_id).ready[0]
    cases.complete_task(
        db, clock, "li_org", pairing.id, {"cadre": "s1", "mentor": MENTORS[unit], "paired_on": "2027-01-05"}
    )
    years = 0
    while cases.get_case(db, case_id).last_seq < at_least:  # the demo's year of work, year after year
        years += 1
        for _quarter in range(4):
            clock.advance("P3M")
            cases.fire_due_timers(db, clock.now())
            _work_the_year(db, clock, case_id, unit)
        _work_the_year(db, clock, case_id, unit)
        _work_the_year(db, clock, case_id, unit)

    record = load_record(db, case_id)
    started = time.perf_counter()
    problem = check_chain(record)
    chain_seconds = time.perf_counter() - started
    report = verify_case(db, case_id)
    bundle = folder / "cadre.zip"
    export_case(db, case_id, bundle, exported_by="bench")
    offline = verify_bundle(bundle)
    n = report.events
    print()
    print(f"2. One reserve cadre over {years} simulated years: {n} events, one chain")
    print(f"   {'check':<44} {'seconds':>8} {'ms/event':>9}  result")
    rows = [
        ("hash chain and head only", chain_seconds, problem is None),
        ("verify from the database (chain+re-exec+snap)", report.seconds, report.ok),
        ("verify-bundle offline", offline.seconds, offline.ok),
    ]
    for label, seconds, ok in rows:
        print(f"   {label:<44} {seconds:>8.3f} {seconds / n * 1000:>9.2f}  {'OK' if ok else 'FAIL'}")
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000, help="Grow the long case to at least this many.")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="cadreflow-audit-bench-"))
    try:
        demo_table(folder)
        long_case(folder, args.events)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
