"""Time of the inbox page with the demo data, per role: p50 and p95 over repeated requests.

Run: ``.venv/bin/python bench/inbox_page.py [--requests 200] [--database URL]``

The whole request goes through the real app (routing, session, engine query, template) with Flask's
test client, so network time is left out; the figure is what the server spends per page.
"""

from __future__ import annotations

import argparse
import atexit
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.clock import ManualClock  # noqa: E402
from engine.demo import DEMO_PASSWORD, USERS, run_batch, run_demo  # noqa: E402
from engine.store.db import Database  # noqa: E402
from webui.app import create_app  # noqa: E402

ROLES_WITH_TASKS = ["li_org", "uc_dongcheng", "uc_xihe", "wang_exam", "sun_jw", "zhou_jisheng", "wu_changwei"]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--database", default=None, help="SQLAlchemy URL (default: a temporary SQLite file)")
    parser.add_argument(
        "--extra-batches",
        type=int,
        default=0,
        help="open this many more batches (3 nominate tasks each) to load the inbox",
    )
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="cadreflow-bench-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    url = args.database or f"sqlite:///{folder}/bench.db"
    db = Database(url)
    run_demo(db, lambda _line: None)
    for number in range(args.extra_batches):
        clock = ManualClock(datetime.now(timezone.utc) - timedelta(days=number % 30))
        run_batch(db, clock, f"Load batch {number} / 负载批次 {number}", "nominate", lambda _line: None)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "VAR_DIR": folder})
    known = {user for user, _name, _role, _unit in USERS}
    load = f"demo data + {args.extra_batches} open batches"
    print(f"Inbox page (GET /), {load}, {args.requests} requests per user")
    print(f"{'user':<15}{'tasks':>7}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    everyone: list[float] = []
    for user in (u for u in ROLES_WITH_TASKS if u in known):
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        client.post("/login", data={"user_id": user, "password": DEMO_PASSWORD, "csrf_token": token})
        tasks = client.get("/api/tasks").get_json()["total"]
        samples = []
        for _ in range(args.requests):
            start = time.perf_counter()
            response = client.get("/")
            samples.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200
        everyone += samples
        print(
            f"{user:<15}{tasks:>7}{statistics.median(samples):>9.1f}{percentile(samples, 0.95):>9.1f}"
            f"{max(samples):>9.1f}"
        )
    print(
        f"{'all':<15}{'':>7}{statistics.median(everyone):>9.1f}{percentile(everyone, 0.95):>9.1f}"
        f"{max(everyone):>9.1f}"
    )


if __name__ == "__main__":
    main()
