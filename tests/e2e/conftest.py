"""Browser tests: the real app on a live local server, the demo data, Debian's Chromium via Playwright.

Playwright cannot download its own browsers here; it drives ``/usr/bin/chromium`` (installed by
``scripts/test.sh`` when missing). Without Chromium the tests skip — except under ``CI=true``, where
they fail. Screenshots go to ``tests/e2e/artifacts/`` (git-ignored) for a person to look at.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from engine.clock import Clock, ManualClock
from engine.demo import run_demo
from engine.store.db import Database
from webui.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
DEMO_PASSWORD = "cadreflow-demo"


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing: scripts/test.sh installs it with apt-get install -y chromium"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@dataclass(frozen=True)
class LiveApp:
    """A served app: its base URL, its database (for what a worker would do) and its clock."""

    url: str
    db: Database
    clock: Clock | None


@contextmanager
def serve_demo(folder: Path, clock: Clock | None = None, story: bool = False) -> Iterator[LiveApp]:
    """The app with the demo data in a fresh SQLite file under ``folder``, on a free local port.

    ``clock`` is handed to ``create_app`` (``None``: the wall clock); ``story`` seeds the demo as
    ``cadreflow demo`` does (a cadre followed to an appointment).
    """
    url = f"sqlite:///{folder / 'e2e.db'}"
    db = Database(url)
    run_demo(db, lambda _line: None, story=story)
    app = create_app({"DATABASE_URL": url, "VAR_DIR": str(folder), "SECRET_KEY": "e2e-only"}, clock=clock)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveApp(url=f"http://127.0.0.1:{server.server_port}", db=db, clock=clock)
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app with the demo data as the README's command seeds it, on a free local port (wall clock)."""
    with serve_demo(tmp_path_factory.mktemp("e2e"), story=True) as live:
        yield live.url


@pytest.fixture(scope="module")
def manual_clock_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """A separate app for one module, with its own demo database and an ``engine.clock.ManualClock``.

    The clock starts at the real current time and stands still until the test advances it
    (``live.clock.advance("P7D")``), so timers such as the notice period can fall due in seconds. A
    module that wants ``page`` on this app overrides ``live_server`` to return ``manual_clock_app.url``.
    """
    clock = ManualClock(datetime.now(timezone.utc).replace(microsecond=0))
    with serve_demo(tmp_path_factory.mktemp("e2e-manual-clock"), clock) as live:
        yield live


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def page(browser: Any, live_server: str) -> Iterator[Any]:
    context = browser.new_context(
        base_url=live_server, locale="en-US", viewport={"width": 1400, "height": 900}
    )
    tab = context.new_page()
    try:
        yield tab
    finally:
        context.close()


def sign_in(page: Any, user: str) -> None:
    page.goto("/login")
    page.fill("input[name=user_id]", user)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_load_state("networkidle")


def sign_out(page: Any) -> None:
    """Forget the session (as signing out does) so the next role can sign in on the same tab."""
    page.context.clear_cookies()


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
