"""How late timers fire: a worker with the real clock against timers falling due over a few seconds.

Run: ``.venv/bin/python bench/timer_lateness.py [--timers 200] [--spread 8] [--workers 1] [--database URL]``

Cases of a one-timer process (``tests/engine/fixtures/timers``) are started so that their timers fall
due evenly over ``--spread`` seconds from now; worker threads poll with the default interval (0.5 s)
and the table prints lateness = fired_at − due_at.
"""

from __future__ import annotations

import argparse
import atexit
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select  # noqa: E402

from engine import cases  # noqa: E402
from engine.clock import ManualClock, SystemClock  # noqa: E402
from engine.definitions import deploy_processes  # noqa: E402
from engine.directory import ensure_user, grant  # noqa: E402
from engine.store.db import Database  # noqa: E402
from engine.store.migrate import upgrade  # noqa: E402
from engine.store.models import ScheduledTimer  # noqa: E402
from engine.worker import run_worker  # noqa: E402

PROCESSES = Path(__file__).resolve().parents[1] / "tests" / "engine" / "fixtures" / "timers" / "processes"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--timers", type=int, default=200)
    parser.add_argument("--spread", type=float, default=8.0, help="seconds over which the timers fall due")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--database", default=None)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="cadreflow-bench-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    db = Database(args.database or f"sqlite:///{folder}/bench.db")
    upgrade(db)
    deploy_processes(db, PROCESSES, "bench", datetime.now(timezone.utc))
    with db.write() as session:
        ensure_user(session, "li")
        grant(session, "li", "org_department")
    start = datetime.now(timezone.utc) + timedelta(seconds=2)
    for number in range(args.timers):
        due = start + timedelta(seconds=args.spread * number / args.timers)
        cases.start_case(db, ManualClock(due - timedelta(hours=1)), "li", "reminder")  # timer: "PT1H"

    stop = threading.Event()
    clock = SystemClock()

    def work() -> None:
        while not stop.is_set():
            if not run_worker(db, clock, once=True):
                time.sleep(args.interval)

    threads = [threading.Thread(target=work) for _ in range(args.workers)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + args.spread + 30
    while time.monotonic() < deadline:
        with db.read() as session:
            waiting = select(ScheduledTimer.key).where(ScheduledTimer.status == "waiting").limit(1)
            left = session.scalar(waiting)
        if left is None:
            break
        time.sleep(0.2)
    stop.set()
    for thread in threads:
        thread.join()
    with db.read() as session:
        rows = session.execute(select(ScheduledTimer.due_at, ScheduledTimer.fired_at)).all()
    late = sorted((fired - due).total_seconds() * 1000 for due, fired in rows if fired is not None)
    backend = "PostgreSQL" if not db.is_sqlite else "SQLite"
    print(f"Timer lateness, {backend}, {len(late)}/{len(rows)} fired, {args.workers} worker(s), "
          f"poll interval {args.interval}s, due over {args.spread}s")
    print(f"{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'min ms':>9}")
    p95 = late[min(len(late) - 1, int(round(0.95 * (len(late) - 1))))]
    print(f"{statistics.median(late):>9.0f}{p95:>9.0f}{late[-1]:>9.0f}{late[0]:>9.0f}")


if __name__ == "__main__":
    main()
