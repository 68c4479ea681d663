"""Recorded event logs, checked in as bundles (``make_golden.py``), re-verified offline on every run.

If a change to the engine or the definitions' semantics breaks re-execution of cases recorded by an
earlier version, these fail: a recorded case must keep proving its outcome.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from engine.audit.bundle import EVENTS, verify_bundle
from engine.errors import Invalid
from engine.events import INPUT_TYPES

GOLDEN = Path(__file__).resolve().parent / "golden"
RECORDED = sorted(p for p in GOLDEN.glob("*.zip") if not p.name.startswith("divergent"))


def _events(bundle: Path) -> list[dict[str, object]]:
    with zipfile.ZipFile(bundle) as archive:
        return [json.loads(line) for line in archive.read(EVENTS).decode("utf-8").splitlines()]


def test_the_golden_set_covers_timers_messages_and_cycles() -> None:
    names = {p.stem for p in RECORDED}
    assert {"selection_finished", "timely_supplement", "reserve_cadre_cycle"} <= names
    types = {str(e["type"]) for p in RECORDED for e in _events(p)}
    assert {"timer.fired", "message.sent", "message.delivered", "message.received", "cycle.started"} <= types


@pytest.mark.parametrize("bundle", RECORDED, ids=lambda p: p.stem)
def test_a_recorded_case_re_executes_to_the_same_log(bundle: Path) -> None:
    report = verify_bundle(bundle)
    assert report.ok, report.line()
    assert report.events == len(_events(bundle))


def test_a_divergent_log_with_a_sound_chain_fails_naming_the_event() -> None:
    """One input changed (a committee decision) and every hash after it recomputed consistently."""
    changed = json.loads((GOLDEN / "divergent_selection.json").read_text("utf-8"))["changed_seq"]
    events = _events(GOLDEN / "divergent_selection.zip")
    report = verify_bundle(GOLDEN / "divergent_selection.zip")

    assert not report.ok
    assert report.divergence is not None
    # The changed input itself re-executes (its data is valid); the first consequence that differs is
    # named — here one announcement fewer when the admissions are published a week later.
    assert report.divergence.seq > changed
    assert report.divergence.event_type == events[report.divergence.seq - 1]["type"]
    assert report.divergence.event_type not in INPUT_TYPES
    assert report.divergence.field.startswith(("type", "payload"))
    assert report.line().startswith(f"FAIL {report.case_id}: event {report.divergence.seq} (")


def test_a_bundle_with_an_altered_file_fails_on_its_digest(tmp_path: Path) -> None:
    source = GOLDEN / "timely_supplement.zip"
    target = tmp_path / "altered.zip"
    with zipfile.ZipFile(source) as archive, zipfile.ZipFile(target, "w") as out:
        for name in archive.namelist():
            data = archive.read(name)
            if name.endswith(".bpmn"):
                data = data.replace(b"</bpmn:definitions>", b"<!-- edited --></bpmn:definitions>")
            out.writestr(name, data)

    report = verify_bundle(target)
    assert not report.ok and report.divergence is not None
    assert report.divergence.field.startswith("file:definitions/")


def test_a_file_that_is_no_bundle_is_a_typed_error(tmp_path: Path) -> None:
    path = tmp_path / "not.zip"
    path.write_text("hello", encoding="utf-8")
    with pytest.raises(Invalid):
        verify_bundle(path)
