"""Time of the auditor's pages on the demo's finished batch: p50 and p95 over repeated requests.

Run: ``.venv/bin/python bench/audit_pages.py [--requests 20]``

The as-of view and diffs re-execute the case's log up to the event asked for, so their time grows
with the event number; the table shows them early, in the middle and at the end of the batch's log,
next to the pages that only read the projections (search, the record) and to a full verification.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select  # noqa: E402

from bench.inbox_page import percentile  # noqa: E402
from engine.demo import DEMO_PASSWORD, run_demo  # noqa: E402
from engine.store.db import Database  # noqa: E402
from engine.store.models import Case  # noqa: E402
from webui.app import create_app  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="cadreflow-bench-audit-"))
    try:
        url = f"sqlite:///{folder / 'bench.db'}"
        seed = Database(url)
        case_id = run_demo(seed, lambda _line: None)
        with seed.read() as session:
            last = session.scalar(select(Case.last_seq).where(Case.id == case_id)) or 1
        seed.dispose()
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "VAR_DIR": str(folder)})
        client = app.test_client()
        login = client.get("/login").get_data(as_text=True)
        token = login.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        client.post("/login", data={"user_id": "ma_audit", "password": DEMO_PASSWORD, "csrf_token": token})
        audit = client.get("/audit").get_data(as_text=True)  # signing in starts a new session and token
        token = audit.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        pages = [
            ("search, all cases", "GET", "/audit"),
            ("record and explanations", "GET", f"/audit/cases/{case_id}"),
            ("as of event 4", "GET", f"/audit/cases/{case_id}/at/4"),
            (f"as of event {last // 2}", "GET", f"/audit/cases/{case_id}/at/{last // 2}"),
            (f"as of event {last}", "GET", f"/audit/cases/{case_id}/at/{last}"),
            (f"diff 1 to {last}", "GET", f"/audit/cases/{case_id}/diff?from=1&to={last}"),
            ("verify", "POST", f"/audit/cases/{case_id}/verify"),
            ("candidates.xlsx", "GET", f"/audit/cases/{case_id}/candidates.xlsx"),
            ("bundle.zip", "GET", f"/audit/cases/{case_id}/bundle.zip"),
        ]
        print(f"demo finished batch {case_id}: {last} events; {args.requests} requests per page")
        print(f"{'page':<28} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8}")
        for label, method, path in pages:
            times = []
            for _ in range(args.requests):
                started = time.perf_counter()
                if method == "POST":
                    response = client.post(path, data={"csrf_token": token})
                else:
                    response = client.get(path)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (path, response.status_code)
            print(
                f"{label:<28} {percentile(times, 0.5):>8.1f} {percentile(times, 0.95):>8.1f} "
                f"{statistics.mean(times):>8.1f}"
            )
        app.extensions["cadreflow"].db.dispose()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
