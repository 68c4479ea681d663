"""Process tests: YAML scenario files that drive one case through the service layer (selection-contract.md).

Each test runs in a throwaway SQLite database (a copy of one migrated template per run) with the
project's ``processes/`` deployed into it and a :class:`ManualClock` starting at 2027-01-04T00:00:00Z
(or the file's ``clock:``). Steps call exactly the services the web inbox calls — never SpiffWorkflow
or the tables — so a passing test says the product behaves, not just the diagram.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from engine import cases, messages
from engine.bpmn.loader import ProcessBundle
from engine.cadre_records import CADRE_PROCESS
from engine.canonical import parse_time
from engine.clock import ManualClock
from engine.definitions import deploy_bundle, find_project_root, load_bundles
from engine.directory import ensure_unit, ensure_user, grant
from engine.errors import CadreflowError, NotFound
from engine.roles import ROLES
from engine.store.db import Database
from engine.store.migrate import upgrade

DEFAULT_CLOCK = datetime(2027, 1, 4, tzinfo=timezone.utc)
CADRE_ADMITTED = "cadre_admitted"  # the message that opens a cadre's file
STEP_KINDS = ("start", "complete", "claim", "advance", "message", "expect", "expect_error")


class ScenarioFailure(Exception):
    """A step did not do what the test expected (the message says what differed)."""


@dataclass(frozen=True)
class TestResult:
    name: str
    file: str
    passed: bool
    message: str = ""

    def line(self) -> str:
        return f"PASS {self.name}" if self.passed else f"FAIL {self.name}: {self.message}"


def collect(paths: list[Path]) -> list[Path]:
    """Every file given, and every ``*.test.yaml`` below a folder given, in a stable order."""
    out: list[Path] = []
    for path in paths:
        out.extend(sorted(path.rglob("*.test.yaml")) if path.is_dir() else [path])
    return out


class ProcessTestRunner:
    """Runs scenario files; migrates one template database and loads the processes once per run.

    The processes come from ``project_root``'s ``processes/`` or, for a designer's draft that exists
    only in the database, from ``bundles`` already loaded from an in-memory file set.
    """

    def __init__(self, project_root: Path | None = None, bundles: list[ProcessBundle] | None = None) -> None:
        if (project_root is None) == (bundles is None):
            raise ValueError("give the project root or the bundles, not both")
        self.root = project_root
        self._workdir = Path(tempfile.mkdtemp(prefix="cadreflow-test-"))
        self._template = self._workdir / "template.db"
        template_db = Database(f"sqlite:///{self._template}")
        upgrade(template_db)
        template_db.dispose()
        self._bundles: list[ProcessBundle] = (
            bundles if bundles is not None else load_bundles(Path(str(project_root)) / "processes")
        )
        self._count = 0

    def close(self) -> None:
        shutil.rmtree(self._workdir, ignore_errors=True)

    def run_file(self, path: Path) -> Iterator[TestResult]:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            yield TestResult(path.name, str(path), False, f"cannot read the test file: {err}")
            return
        yield from self.run_text(text, str(path))

    def run_text(self, text: str, file: str) -> Iterator[TestResult]:
        """Run the scenarios of one test file given as text (``file`` names it in the results)."""
        fallback = Path(file).name
        try:
            documents = [d for d in yaml.safe_load_all(text) if d is not None]
        except yaml.YAMLError as err:
            yield TestResult(fallback, file, False, f"cannot read the test file: {err}")
            return
        for document in documents:
            name = str(document.get("name", fallback)) if isinstance(document, dict) else fallback
            try:
                self._run(document)
            except ScenarioFailure as failure:
                yield TestResult(name, file, False, str(failure))
            except CadreflowError as err:
                yield TestResult(name, file, False, f"unexpected {err.code}: {err}")
            else:
                yield TestResult(name, file, True)

    # ------------------------------------------------------------------------------------------
    def _run(self, test: Any) -> None:
        if not isinstance(test, dict) or not isinstance(test.get("steps"), list):
            raise ScenarioFailure("a test needs a `steps:` list")
        self._count += 1
        db_path = self._workdir / f"case{self._count}.db"
        shutil.copyfile(self._template, db_path)
        db = Database(f"sqlite:///{db_path}")
        try:
            Scenario(db, test, self._bundles).run()
        finally:
            db.dispose()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db_path}{suffix}").unlink(missing_ok=True)


class Scenario:
    """One test: its users, clock, case and steps."""

    def __init__(self, db: Database, test: dict[str, Any], bundles: list[ProcessBundle]) -> None:
        self.db = db
        self.test = test
        self.process = str(test.get("process", ""))
        clock_text = test.get("clock")
        self.clock = ManualClock(parse_time(str(clock_text)) if clock_text else DEFAULT_CLOCK)
        self.users: dict[str, Any] = dict(test.get("users") or {})
        self.case_id: str | None = None
        with db.write() as session:
            for bundle in bundles:
                deploy_bundle(session, bundle, "process-test", self.clock.now())
            for unit in self._units_named():
                ensure_unit(session, unit)
            for user_id, spec in self.users.items():
                ensure_user(session, str(user_id))
                for role in (spec or {}).get("roles", []):
                    role_id, _, unit = str(role).partition("@")
                    if unit:
                        ensure_unit(session, unit)
                    grant(session, str(user_id), role_id, unit or None)
        self._open_cadre_files(test.get("cadres") or [])

    def _open_cadre_files(self, cadres: list[Any]) -> None:
        """``cadres:`` — reserve cadres already in the pool: their files are opened the way admission
        opens them (a ``reserve_cadre`` case started by the ``cadre_admitted`` message)."""
        for cadre in cadres:
            if not isinstance(cadre, dict) or not isinstance(cadre.get("candidate"), str):
                raise ScenarioFailure("each of `cadres:` is a map with candidate, name and unit")
            unit = str(cadre.get("unit", ""))
            with self.db.write() as session:
                ensure_unit(session, unit)
            payload = {
                "key": cadre["candidate"],
                "candidate": cadre["candidate"],
                "name": str(cadre.get("name", cadre["candidate"])),
                "unit": unit,
                "subjects": [cadre["candidate"]],
            }
            message = {"name": CADRE_ADMITTED, "data": payload}
            cases.start_case(self.db, self.clock, self.actor("org_department"), CADRE_PROCESS, message)

    def _units_named(self) -> list[str]:
        units = [str(u) for u in self.test.get("units") or []]
        for step in self.test["steps"]:
            for action in _actions(step):
                actor = str(action.get("as", ""))
                if "@" in actor and actor not in self.users:
                    units.append(actor.partition("@")[2])
                match = action.get("match") or {}
                if isinstance(match, dict) and "unit" in match:
                    units.append(str(match["unit"]))
        return list(dict.fromkeys(units))

    def actor(self, name: Any) -> str:
        """Resolve ``as:`` — a listed user, ``role@unit`` or ``role`` (a user with that very id)."""
        name = str(name)
        if name in self.users:
            return name
        role, _, unit = name.partition("@")
        if role not in ROLES:
            raise ScenarioFailure(f"`as: {name}` is neither a listed user nor a role")
        with self.db.write() as session:
            ensure_user(session, name)
            grant(session, name, role, unit or None)
        return name

    def run(self) -> None:
        for index, step in enumerate(self.test["steps"], start=1):
            if not isinstance(step, dict) or len(step) != 1:
                raise ScenarioFailure(f"step {index}: a step is a map with one of {', '.join(STEP_KINDS)}")
            kind, body = next(iter(step.items()))
            handler: Callable[[Any], None] | None = getattr(self, f"step_{kind}", None)
            if handler is None:
                raise ScenarioFailure(f"step {index}: unknown step {kind!r}")
            try:
                handler(body)
                # Messages between cases go out before the next step, as every automatic step does.
                messages.deliver_messages(self.db, self.clock)
            except ScenarioFailure as failure:
                raise ScenarioFailure(f"step {index} ({kind}): {failure}") from None
            except CadreflowError as err:
                raise ScenarioFailure(f"step {index} ({kind}): unexpected {err.code}: {err}") from None

    # -- steps ----------------------------------------------------------------------------------
    def step_start(self, body: dict[str, Any]) -> None:
        process = str(body.get("process", self.process))
        actor = self.actor(body.get("as"))
        self.case_id = cases.start_case(self.db, self.clock, actor, process, body.get("message")).id

    def _case(self) -> str:
        if self.case_id is None:
            raise ScenarioFailure("no case started yet (add a `start` step first)")
        return self.case_id

    def _resolve(self, body: dict[str, Any]) -> cases.TaskView:
        element = body.get("task")
        match = body.get("match") or {}
        candidates = [
            t
            for t in cases.ready_tasks(self.db, self._case())
            if t.element_id == element and all(t.input.get(k) == v for k, v in match.items())
        ]
        if not candidates:
            raise NotFound(f"no ready {element} matches {match or '(any)'}", case_id=self.case_id)
        return candidates[0]

    def step_complete(self, body: dict[str, Any]) -> None:
        task = self._resolve(body)
        cases.complete_task(self.db, self.clock, self.actor(body.get("as")), task.id, body.get("data") or {})

    def step_claim(self, body: dict[str, Any]) -> None:
        task = self._resolve(body)
        cases.claim_task(self.db, self.clock, self.actor(body.get("as")), task.id)

    def step_advance(self, body: Any) -> None:
        self.clock.advance(str(body))
        cases.fire_due_timers(self.db, self.clock.now())

    def step_message(self, body: dict[str, Any]) -> None:
        cases.deliver_message(
            self.db, self.clock, "process-test", self._case(), str(body.get("name")), body.get("data") or {}
        )

    def step_expect(self, body: dict[str, Any]) -> None:
        view = cases.get_case(self.db, self._case())
        problems = []
        if "ready" in body:
            want, got = set(body["ready"] or []), {t.element_id for t in view.ready}
            if want != got:
                problems.append(f"ready: expected {sorted(want)}, got {sorted(got)}")
        if "finished" in body:
            finished = view.status == "finished"
            if bool(body["finished"]) != finished:
                problems.append(f"finished: expected {body['finished']}, got {finished}")
        if "data" in body:
            problems.extend(
                f"data{path}: {why}" for path, why in data_mismatches(body["data"], view.data, "")
            )
        if "dropped_stages" in body:
            stages = {
                d.get("candidate"): d.get("stage")
                for d in view.data.get("dropped", [])
                if isinstance(d, dict)
            }
            for candidate, stage in (body["dropped_stages"] or {}).items():
                if stages.get(candidate) != stage:
                    problems.append(
                        f"dropped_stages: {candidate} expected {stage}, got {stages.get(candidate)}"
                    )
        if problems:
            raise ScenarioFailure("; ".join(problems))

    def step_expect_error(self, body: dict[str, Any]) -> None:
        expected = str(body.get("error"))
        actions = [(k, v) for k, v in body.items() if k != "error"]
        if len(actions) != 1:
            raise ScenarioFailure("expect_error takes one action and `error:`")
        kind, action = actions[0]
        before = self._state()
        try:
            getattr(self, f"step_{kind}")(action)
        except CadreflowError as err:
            if err.code != expected:
                raise ScenarioFailure(f"expected error {expected}, got {err.code}: {err}") from None
        else:
            raise ScenarioFailure(f"expected error {expected}, but {kind} succeeded")
        if self.case_id is not None and self._state() != before:
            raise ScenarioFailure(f"the failed {kind} changed the case")

    def _state(self) -> tuple[Any, ...] | None:
        if self.case_id is None:
            return None
        view = cases.get_case(self.db, self.case_id)
        return view.last_seq, sorted((t.id, t.assignee) for t in view.ready)


def _actions(step: Any) -> Iterator[dict[str, Any]]:
    if not isinstance(step, dict):
        return
    for kind, body in step.items():
        if kind == "expect_error" and isinstance(body, dict):
            for key, inner in body.items():
                if key != "error" and isinstance(inner, dict):
                    yield inner
        elif isinstance(body, dict):
            yield body


def data_mismatches(want: Any, got: Any, path: str) -> Iterator[tuple[str, str]]:
    """Dicts match by the keys given; lists only a list of the same length, element by element."""
    if isinstance(want, dict):
        if not isinstance(got, dict):
            yield path, f"expected a map, got {got!r}"
            return
        for key, value in want.items():
            if key not in got:
                yield f"{path}.{key}", "missing"
            else:
                yield from data_mismatches(value, got[key], f"{path}.{key}")
    elif isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            yield path, f"expected {want!r}, got {got!r}"
            return
        for index, (w, g) in enumerate(zip(want, got, strict=True)):
            yield from data_mismatches(w, g, f"{path}[{index}]")
    elif want != got:
        yield path, f"expected {want!r}, got {got!r}"


def run_paths(paths: list[Path], emit: Callable[[str], None]) -> tuple[int, int]:
    """Run every test under ``paths``, print one line each and the totals; return (passed, failed)."""
    files = collect(paths)
    if not files:
        emit("0 passed, 0 failed")
        return 0, 0
    runner = ProcessTestRunner(find_project_root(files[0].parent))
    passed = failed = 0
    try:
        for path in files:
            for result in runner.run_file(path):
                emit(result.line())
                passed += result.passed
                failed += not result.passed
    finally:
        runner.close()
    emit(f"{passed} passed, {failed} failed")
    return passed, failed
