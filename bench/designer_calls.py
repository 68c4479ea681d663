"""Time of the designer's calls on reserve_selection with the demo data: p50 and max over repeats.

Run: ``.venv/bin/python bench/designer_calls.py [--repeats 5]``

Each call goes through the real app (routing, session, CSRF, engine, template or JSON) with Flask's
test client, so network and browser time are left out: the editor page, saving the draft (which
validates it), the form preview, the versions page with a diff, and running the process tests
(``--repeats`` applies to all but the tests, which run twice).
"""

from __future__ import annotations

import argparse
import atexit
import json
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.demo import DEMO_PASSWORD, run_demo  # noqa: E402
from engine.store.db import Database  # noqa: E402
from webui.app import create_app  # noqa: E402

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
FILES = re.compile(r'<script type="application/json" id="draft-files">(.*?)</script>', re.S)


def timed(call: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """(p50, max) in milliseconds; each answer must be a success."""
    spent = []
    for _ in range(repeats):
        start = time.perf_counter()
        response = call()
        spent.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return statistics.median(spent), max(spent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="cadreflow-bench-"))
    atexit.register(shutil.rmtree, folder, True)
    url = f"sqlite:///{folder / 'bench.db'}"
    run_demo(Database(url), lambda _line: None)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "VAR_DIR": str(folder)})
    client = app.test_client()
    token = TOKEN.search(client.get("/login").get_data(as_text=True))
    assert token is not None
    client.post(
        "/login", data={"user_id": "gao_design", "password": DEMO_PASSWORD, "csrf_token": token.group(1)}
    )
    page = client.get("/designer/reserve_selection/edit").get_data(as_text=True)
    found = FILES.search(page)
    assert found is not None
    files = json.loads(found.group(1))
    csrf = {"X-CSRF-Token": TOKEN.search(page).group(1)}  # type: ignore[union-attr]
    form = files["forms/open_batch.schema.yaml"]

    # A second version, so the versions page has a diff to show.
    bpmn = "processes/reserve_selection/reserve_selection.bpmn"
    changed = dict(files, **{bpmn: files[bpmn].replace("Open batch / 开启批次", "Open the batch / 开启批次")})
    deployed = client.post(
        "/designer/api/reserve_selection/deploy", json={"files": changed, "why": "bench"}, headers=csrf
    )
    assert deployed.status_code == 200, deployed.get_data(as_text=True)[:300]

    rows = [
        (
            "editor page (opens the draft)",
            lambda: client.get("/designer/reserve_selection/edit"),
            args.repeats,
        ),
        (
            "save draft (validates every file)",
            lambda: client.post("/designer/api/reserve_selection/draft", json={"files": files}, headers=csrf),
            args.repeats,
        ),
        (
            "form preview (open_batch)",
            lambda: client.post("/designer/api/form-preview", json={"yaml": form}, headers=csrf),
            args.repeats,
        ),
        (
            "versions page with the v1→v2 diff",
            lambda: client.get("/designer/reserve_selection/versions"),
            args.repeats,
        ),
        ("migration page", lambda: client.get("/designer/reserve_selection/migrate"), args.repeats),
        (
            f"run the {sum(p.endswith('.test.yaml') for p in files)} process tests",
            lambda: client.post("/designer/api/reserve_selection/tests", json={"files": files}, headers=csrf),
            2,
        ),
    ]
    print(f"{'call':45} {'p50 ms':>9} {'max ms':>9}")
    for name, call, repeats in rows:
        p50, worst = timed(call, repeats)
        print(f"{name:45} {p50:9.1f} {worst:9.1f}")


if __name__ == "__main__":
    main()
