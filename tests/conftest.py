"""Shared fixtures: one migrated database per test on SQLite and on PostgreSQL, a manual clock, the
project's processes deployed, and a small harness that drives ``reserve_selection`` through the
service layer with the form data of its happy-path scenario.

PostgreSQL comes from ``CADREFLOW_TEST_PG_URL`` (default ``postgres@127.0.0.1:5432``): a fresh database
``cadreflow_test_<random>`` is created for the session, migrated once, emptied before each test and
dropped at the end. When the server cannot be reached the PostgreSQL tests are skipped locally but
*fail* under ``CI=true``, and a CI run in which no PostgreSQL test ran fails as a whole: CI must never
go green on SQLite alone (DESIGN.md §4: "one test suite runs against both").
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError

from engine import cases
from engine.bpmn.loader import ProcessBundle
from engine.canonical import GENESIS_HASH, canonical_json, event_hash
from engine.clock import ManualClock
from engine.definitions import deploy_bundle, load_bundles
from engine.directory import ensure_unit, ensure_user, grant
from engine.events import event_body
from engine.roles import ROLES
from engine.store.db import Database
from engine.store.migrate import upgrade
from engine.store.models import Base, Case, Event

ROOT = Path(__file__).resolve().parent.parent
HAPPY_PATH = ROOT / "processes" / "reserve_selection" / "tests" / "happy_path.test.yaml"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
START = datetime(2027, 1, 4, tzinfo=timezone.utc)
UNITS = ("u1", "u2")


def in_ci() -> bool:
    """True when running under CI (``CI=true``): PostgreSQL is then mandatory."""
    return os.environ.get("CI", "").strip().lower() == "true"


# ------------------------------------------------------------------------------------------------
# "CI never passes without PostgreSQL": count PostgreSQL tests that really ran.

_postgres_ran = 0


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Count PostgreSQL-marked tests whose body ran (passed or failed, not skipped)."""
    global _postgres_ran
    if report.when == "call" and "postgres" in report.keywords and report.outcome in ("passed", "failed"):
        _postgres_ran += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under ``CI=true``, a run in which no PostgreSQL test ran is a failed run."""
    nothing_ran = _postgres_ran == 0 and session.testscollected > 0
    if in_ci() and nothing_ran and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Say why the run failed when CI ran without PostgreSQL, and how many PostgreSQL tests ran."""
    if not in_ci():
        return
    if _postgres_ran == 0:
        terminalreporter.write_line(
            "CI=true but no test marked `postgres` ran: the run fails. Start PostgreSQL on 127.0.0.1:5432 "
            "(or set CADREFLOW_TEST_PG_URL) and do not deselect the PostgreSQL tests.",
            red=True, bold=True,
        )
    else:
        terminalreporter.write_line(f"PostgreSQL tests run: {_postgres_ran}")


# ------------------------------------------------------------------------------------------------
# Databases


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """URL of a fresh PostgreSQL database for this session; dropped (connections ended) at the end."""
    admin_url = make_url(os.environ.get("CADREFLOW_TEST_PG_URL") or DEFAULT_PG_URL)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    name = f"cadreflow_test_{secrets.token_hex(6)}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except OperationalError as err:
        admin.dispose()
        reason = (f"PostgreSQL is unreachable at {admin_url.render_as_string(hide_password=True)}: "
                  f"{str(err.orig).strip().splitlines()[0] if err.orig else err}")
        if in_ci():
            pytest.fail(f"{reason}. CI=true requires PostgreSQL: start it on 127.0.0.1:5432 or set "
                        "CADREFLOW_TEST_PG_URL.", pytrace=False)
        pytest.skip(f"{reason} (set CADREFLOW_TEST_PG_URL or start PostgreSQL to run these)")
    url: URL = admin_url.set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE datname = :name AND pid <> pg_backend_pid()"),
                {"name": name},
            )
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(scope="session")
def pg_migrated(pg_url: str) -> str:
    """The session's PostgreSQL database, migrated once to the head revision."""
    db = Database(pg_url)
    try:
        upgrade(db)
    finally:
        db.dispose()
    return pg_url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file; each test gets a copy (migrating per test would cost ~0.1 s each)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    db = Database(f"sqlite:///{path}")
    try:
        upgrade(db)
    finally:
        db.dispose()
    return path


def _empty_tables(url: str) -> None:
    """Delete every row of the application's tables (the schema and ``alembic_version`` stay)."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            names = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
            conn.exec_driver_sql(f"TRUNCATE TABLE {names} RESTART IDENTITY CASCADE")
    finally:
        engine.dispose()


@pytest.fixture(params=[
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty :class:`Database` on the backend named by the parameter."""
    if request.param == "sqlite":
        path = tmp_path / "cadreflow.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        db = Database(f"sqlite:///{path}")
    else:
        url = request.getfixturevalue("pg_migrated")
        _empty_tables(url)
        db = Database(url)
    try:
        yield db
    finally:
        db.dispose()


# ------------------------------------------------------------------------------------------------
# Clock, deployment, people


@pytest.fixture
def clock() -> ManualClock:
    """The engine's clock, standing at 2027-01-04T00:00:00Z until a test advances it."""
    return ManualClock(START)


@pytest.fixture(scope="session")
def bundles() -> list[ProcessBundle]:
    """The project's ``processes/`` bundles, loaded (and validated) once per session."""
    return load_bundles(ROOT / "processes")


@pytest.fixture
def deployed(database: Database, clock: ManualClock, bundles: list[ProcessBundle]) -> Database:
    """``database`` with every process deployed and the units ``u1`` and ``u2`` created."""
    with database.write() as session:
        for bundle in bundles:
            deploy_bundle(session, bundle, "test", clock.now())
        for unit in UNITS:
            ensure_unit(session, unit)
    return database


def make_user(db: Database, user_id: str, *roles: str) -> str:
    """Create ``user_id`` (idempotent) with ``roles`` written as ``role`` or ``role@unit``."""
    with db.write() as session:
        ensure_user(session, user_id)
        for role in roles:
            role_id, _, unit = role.partition("@")
            if unit:
                ensure_unit(session, unit)
            grant(session, user_id, role_id, unit or None)
    return user_id


@pytest.fixture
def add_user(deployed: Database) -> Callable[..., str]:
    """``add_user("ann", "unit_committee@u1", ...)``: a user with roles in the deployed test database."""

    def add(user_id: str, *roles: str) -> str:
        return make_user(deployed, user_id, *roles)

    return add


# ------------------------------------------------------------------------------------------------
# The harness


@dataclass
class Harness:
    """Drives ``reserve_selection`` cases through the services, with the happy path's form data.

    ``as`` names resolve like in process tests: a user listed in the scenario (``li``), or
    ``role@unit`` / ``role`` meaning a user of that very id holding that role.
    """

    db: Database
    clock: ManualClock
    scenario: dict[str, Any] = field(default_factory=lambda: yaml.safe_load(HAPPY_PATH.read_text("utf-8")))

    # -- people ---------------------------------------------------------------------------------
    def user(self, user_id: str, *roles: str) -> str:
        """Create a user with roles (``role`` or ``role@unit``); return its id."""
        return make_user(self.db, user_id, *roles)

    def actor(self, name: str) -> str:
        """Resolve a scenario's ``as:`` to a user id, creating it on first use."""
        listed = self.scenario.get("users") or {}
        if name in listed:
            return self.user(name, *[str(r) for r in (listed[name] or {}).get("roles", [])])
        role = name.partition("@")[0]
        assert role in ROLES, f"`as: {name}` is neither a scenario user nor a role"
        return self.user(name, name)

    # -- the happy path's steps -------------------------------------------------------------------
    def steps(self) -> list[dict[str, Any]]:
        """The ``complete`` steps of the happy path, in order."""
        return [step["complete"] for step in self.scenario["steps"] if "complete" in step]

    def step(self, element_id: str, **match: str) -> dict[str, Any]:
        """The happy path's ``complete`` step for ``element_id`` (and ``match``, e.g. ``unit="u1"``)."""
        for body in self.steps():
            step_match = body.get("match") or {}
            if body["task"] == element_id and all(step_match.get(k) == v for k, v in match.items()):
                return body
        raise AssertionError(f"the happy path has no step completing {element_id} {match}")

    def data(self, element_id: str, **match: str) -> dict[str, Any]:
        """A deep copy of the valid form data the happy path submits for that task."""
        result: dict[str, Any] = json.loads(json.dumps(self.step(element_id, **match)["data"]))
        return result

    def start(self) -> str:
        """Start a case as the scenario's starter (``li``, org_department); return its id."""
        start = next(step["start"] for step in self.scenario["steps"] if "start" in step)
        return cases.start_case(self.db, self.clock, self.actor(start["as"]), "reserve_selection").id

    def task(self, case_id: str, element_id: str, **match: str) -> cases.TaskView:
        """The ready task ``element_id`` whose input matches ``match``."""
        found = [t for t in cases.ready_tasks(self.db, case_id)
                 if t.element_id == element_id and all(t.input.get(k) == v for k, v in match.items())]
        assert found, f"no ready {element_id} {match} in case {case_id}"
        return found[0]

    def complete(self, case_id: str, element_id: str, **match: str) -> cases.CaseView:
        """Complete a ready task with the happy path's data, as the happy path's actor."""
        body = self.step(element_id, **match)
        task = self.task(case_id, element_id, **(body.get("match") or {}))
        actor = self.actor(body["as"])
        return cases.complete_task(self.db, self.clock, actor, task.id, self.data(element_id, **match))

    def drive(self, case_id: str, until: str | None = None, **match: str) -> None:
        """Play the happy path's completions up to (not including) ``until`` (matching ``match``);
        with no ``until``, play them all (the case then waits for its notice-period timer)."""
        for body in self.steps():
            step_match = body.get("match") or {}
            if body["task"] == until and all(step_match.get(k) == v for k, v in match.items()):
                return
            task = self.task(case_id, body["task"], **step_match)
            data = self.data(body["task"], **step_match)
            cases.complete_task(self.db, self.clock, self.actor(body["as"]), task.id, data)
        assert until is None, f"the happy path never reaches {until} {match}"

    def resume(self, case_id: str, until: str | None = None) -> None:
        """Like :meth:`drive`, but skipping the completions already done (their task is not ready)."""
        for body in self.steps():
            if body["task"] == until:
                return
            match = body.get("match") or {}
            ready = [
                t
                for t in cases.ready_tasks(self.db, case_id)
                if t.element_id == body["task"] and all(t.input.get(k) == v for k, v in match.items())
            ]
            if ready:
                data = self.data(body["task"], **match)
                cases.complete_task(self.db, self.clock, self.actor(body["as"]), ready[0].id, data)
        assert until is None, f"the happy path never reaches {until}"

    # -- the log ----------------------------------------------------------------------------------
    def events(self, case_id: str) -> list[Event]:
        """The case's events in sequence order."""
        with self.db.read() as session:
            rows = list(session.scalars(select(Event).where(Event.case_id == case_id).order_by(Event.seq)))
            session.expunge_all()  # keep the loaded values: the read unit of work expires on rollback
            return rows

    def case_row(self, case_id: str) -> Case:
        with self.db.read() as session:
            case = session.get(Case, case_id)
            assert case is not None, f"no case {case_id}"
            session.expunge(case)
            return case

    def verify_chain(self, case_id: str) -> list[Event]:
        """Assert the case's log verifies exactly as an offline verifier would check it; return it.

        Sequence numbers run 1..n without gaps, every stored payload is canonical JSON, every hash is
        recomputed from the event's body and its predecessor's hash, and the case row's head (last seq
        and hash) names the newest event.
        """
        log = self.events(case_id)
        case = self.case_row(case_id)
        assert [e.seq for e in log] == list(range(1, len(log) + 1)), "sequence numbers have gaps"
        prev = GENESIS_HASH
        for event in log:
            payload = json.loads(event.payload_json)
            assert canonical_json(payload) == event.payload_json, f"event {event.seq}: payload not canonical"
            assert event.prev_hash == prev, f"event {event.seq}: prev_hash does not link to its predecessor"
            body = event_body(event.case_id, event.seq, event.type, event.at, event.actor, payload)
            assert event.schema == body["schema"]
            assert event_hash(prev, body) == event.hash, f"event {event.seq}: hash does not match its body"
            prev = event.hash
        assert case.last_seq == len(log), f"case head says seq {case.last_seq}, log has {len(log)} events"
        assert case.head_hash == prev, "case head hash is not the newest event's hash"
        return log


@pytest.fixture
def harness(deployed: Database, clock: ManualClock) -> Harness:
    """A :class:`Harness` over the deployed test database and the test's clock."""
    return Harness(deployed, clock)
