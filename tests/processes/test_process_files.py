"""Every process test file beside the processes runs here too, one pytest test per scenario file.

The same runner as ``cadreflow test processes/``: a throwaway SQLite database per scenario, the
project's processes deployed into it, the manual clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.process_tests import ProcessTestRunner, collect

ROOT = Path(__file__).resolve().parents[2]
FILES = collect([ROOT / "processes"])


@pytest.fixture(scope="module")
def runner() -> Iterator[ProcessTestRunner]:
    process_runner = ProcessTestRunner(ROOT)
    yield process_runner
    process_runner.close()


def test_there_are_process_tests_for_every_process() -> None:
    processes = {p.name for p in (ROOT / "processes").iterdir() if any(p.glob("*.bpmn"))}
    tested = {f.relative_to(ROOT / "processes").parts[0] for f in FILES}
    assert processes and processes <= tested, f"processes without tests: {sorted(processes - tested)}"


@pytest.mark.parametrize("path", FILES, ids=[str(f.relative_to(ROOT / "processes")) for f in FILES])
def test_process_file(runner: ProcessTestRunner, path: Path) -> None:
    results = list(runner.run_file(path))
    assert results, f"{path} holds no test"
    failures = [r.line() for r in results if not r.passed]
    assert not failures, "\n".join(failures)
