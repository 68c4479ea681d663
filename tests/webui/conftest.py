"""Shared fixtures of the page tests: the demo data seeded once per module, a fresh copy per test.

``run_demo`` takes a couple of seconds, so each test module seeds one SQLite file (``demo_db_file``)
and every test gets its own copy of it (``web_app``): tests that claim or complete tasks cannot
disturb each other. ``sign_in`` signs a test client in through the real login form.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.demo import DEMO_PASSWORD, run_demo
from engine.store.db import Database
from webui.app import create_app


@pytest.fixture(scope="module")
def demo_db_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with the demo's directory and four batches (seeded once per test module)."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    db = Database(f"sqlite:///{path}")
    try:
        run_demo(db, lambda _line: None)
    finally:
        db.dispose()  # checkpoints the WAL: the file alone holds everything
    return path


@pytest.fixture
def make_web_app(demo_db_file: Path, tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """``make_web_app(PAGE_SIZE=2)``: the app over this test's own copy of the demo database."""
    apps: list[Flask] = []

    def make(**config: Any) -> Flask:
        path = tmp_path / "cadreflow.db"
        if not path.exists():
            shutil.copyfile(demo_db_file, path)
        settings = {"DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": "t", "VAR_DIR": str(tmp_path)}
        app = create_app({**settings, "TESTING": True, **config})
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["cadreflow"].db.dispose()


@pytest.fixture
def web_app(make_web_app: Callable[..., Flask]) -> Flask:
    """The app over this test's copy of the demo database, default configuration."""
    return make_web_app()


def csrf_from(html: str) -> str:
    """The CSRF token of the first form on a page."""
    return html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def sign_in(app: Flask, user: str, password: str = DEMO_PASSWORD) -> FlaskClient:
    """A test client signed in as ``user`` through the login form."""
    client = app.test_client()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"user_id": user, "password": password, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def submitted_fields(form: Any, **overrides: str) -> list[tuple[str, str]]:
    """What a browser sends for the lxml ``form``: enabled named controls, checked boxes, the selected
    options; ``overrides`` replace the value of the controls of those names."""
    pairs: list[tuple[str, str]] = []
    for control in form.iter("input", "select", "textarea"):
        name = control.get("name")
        if not name or control.get("disabled") is not None or _in_disabled_fieldset(control):
            continue
        if control.tag == "input" and control.get("type") in ("submit", "button"):
            continue
        if control.tag == "input" and control.get("type") in ("checkbox", "radio"):
            if control.get("checked") is None:
                continue
            value = control.get("value", "on")
        elif control.tag == "select":
            chosen = [
                o.get("value", o.text or "") for o in control.iter("option") if o.get("selected") is not None
            ]
            value = chosen[-1] if chosen else ""
        elif control.tag == "textarea":
            value = control.text or ""
        else:
            value = control.get("value", "")
        pairs.append((name, overrides.get(name, value)))
    return pairs


def _in_disabled_fieldset(control: Any) -> bool:
    return any(a.tag == "fieldset" and a.get("disabled") is not None for a in control.iterancestors())


_SIMPLE = re.compile(r"([a-zA-Z][\w-]*|\*)?((?:[#.][\w-]+|\[[\w-]+\])*)$")


def select(element: Any, css: str) -> list[Any]:
    """The elements under ``element`` matching a simple CSS selector — tags, ``#id``, ``.class``,
    ``[attr]`` and the descendant combinator — without the optional ``cssselect`` package."""
    steps = []
    for part in css.split():
        match = _SIMPLE.match(part)
        assert match, f"unsupported selector {part!r}"
        tests = []
        for kind, name in re.findall(r"([#.\[])([\w-]+)\]?", match.group(2)):
            if kind == "#":
                tests.append(f"@id='{name}'")
            elif kind == ".":
                tests.append(f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')")
            else:
                tests.append(f"@{name}")
        steps.append((match.group(1) or "*") + "".join(f"[{t}]" for t in tests))
    return list(element.xpath(".//" + "//".join(steps)))
