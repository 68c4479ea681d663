"""Every model of the shared conformance corpus either imports or is refused naming the element.

The corpus lies beside every checkout (``<repo>/../shared/conformance``). Where it is missing the
test fails under ``CI=true`` saying so, and is skipped with that message elsewhere.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.designer.interchange import DRAWING_ONLY, EXECUTABLE, REFUSED, import_into_draft, import_model
from engine.store.db import Database
from tests.conftest import in_ci

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "conformance"
# What each reference model does, checked below (the bpmn.io round trips must behave the same).
EXPECTED = {
    "A.1.0": DRAWING_ONLY,
    "A.2.0": DRAWING_ONLY,
    "A.2.1": DRAWING_ONLY,
    "A.3.0": DRAWING_ONLY,
    "A.4.0": DRAWING_ONLY,
    "A.4.1": DRAWING_ONLY,
    "B.1.0": DRAWING_ONLY,
    "B.2.0": DRAWING_ONLY,
    "C.1.0": REFUSED,
    "C.1.1": REFUSED,
    "C.2.0": DRAWING_ONLY,
    "C.3.0": REFUSED,
    "C.4.0": REFUSED,
    "C.5.0": REFUSED,
    "C.6.0": REFUSED,
    "C.7.0": REFUSED,
    "C.8.0": DRAWING_ONLY,
    "C.8.1": REFUSED,
    "C.9.0": REFUSED,
    "C.9.1": EXECUTABLE,
    "C.9.2": REFUSED,
}
# A refusal names the element: "file:line: bpmn:tag id: message".
NAMED = re.compile(r"^[^:]+\.bpmn:\d+: bpmn:[A-Za-z]+ [^ :]+: .+")


def corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        message = f"the conformance corpus is missing: expected it at {CORPUS}"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return sorted(CORPUS.rglob("*.bpmn"))


def test_every_conformance_model_imports_or_is_refused_naming_the_element() -> None:
    files = corpus_files()
    assert len(files) == 42, f"expected the 42 models of MANIFEST.tsv, found {len(files)}"
    seen = {}
    for path in files:
        report = import_model(path.read_bytes(), str(path.relative_to(CORPUS)))
        model = path.name.removesuffix(".bpmn").removesuffix("-roundtrip")
        seen[str(path.relative_to(CORPUS))] = report.status
        assert report.status == EXPECTED[model], (path.name, report.messages)
        assert report.messages, path.name
        if report.status == REFUSED:
            assert NAMED.match(report.messages[0]), report.messages[0]
        elif report.status == DRAWING_ONLY:
            assert "nothing to run" in report.messages[0] and report.processes == []
        else:
            assert report.processes and not report.problems
    assert len(seen) == 42


def test_a_model_made_elsewhere_that_spiffworkflow_runs_is_executable() -> None:
    path = next(p for p in corpus_files() if p.name == "C.9.1.bpmn")
    report = import_model(path.read_bytes(), path.name)
    assert (report.status, report.processes) == (EXECUTABLE, ["requestDocument_en"])


def test_cadreflows_own_processes_import_as_executable() -> None:
    for path in sorted((ROOT / "processes").glob("*/*.bpmn")):
        decisions = {d.name: d.read_bytes() for d in path.parent.glob("*.dmn")}
        report = import_model(path.read_bytes(), path.name, decisions)
        assert report.status == EXECUTABLE, (path.name, report.messages)


def test_not_xml_and_not_bpmn_are_refused() -> None:
    assert import_model(b"<oops", "x.bpmn").status == REFUSED
    entity = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'
    assert import_model(entity, "e.bpmn").status == REFUSED
    other = import_model(b"<root/>", "r.bpmn")
    assert other.status == REFUSED and "not a BPMN 2.0 file" in other.messages[0]


def test_a_decision_the_model_calls_must_come_with_it() -> None:
    path = ROOT / "processes" / "pool_adjustment" / "pool_adjustment.bpmn"
    report = import_model(path.read_bytes(), path.name)
    assert report.status == REFUSED
    assert (
        "bpmn:businessRuleTask propose_adjustment" in report.messages[0]
        and "adjustment_reasons" in report.messages[0]
    )


def test_an_executable_model_from_elsewhere_becomes_a_draft_showing_what_it_still_needs(
    deployed: Database, designer: str
) -> None:
    path = next(p for p in corpus_files() if p.name == "C.9.1.bpmn")
    report, saved = import_into_draft(deployed, designer, path.read_bytes(), path.name)
    assert report.status == EXECUTABLE and saved is not None
    assert list(saved.draft.files) == ["processes/requestDocument_en/C.9.1.bpmn"]
    assert saved.problems and all(p.file == "processes/requestDocument_en/C.9.1.bpmn" for p in saved.problems)
    assert {p.rule for p in saved.problems} >= {"lane-role", "form-exists"}
    drawing = next(p for p in corpus_files() if p.name == "A.1.0.bpmn")
    assert import_into_draft(deployed, designer, drawing.read_bytes(), drawing.name)[1] is None
