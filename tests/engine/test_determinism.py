"""Same inputs, same ids and times → byte-identical snapshots, with or without save/restore between
steps, and in another process (different hash seed). This is what makes re-execution possible."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml

from engine.bpmn.loader import load_process_folder, parse_specs
from engine.bpmn.runtime import CaseRuntime, Specs
from engine.canonical import content_hash

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2027, 1, 4, tzinfo=timezone.utc)


def _specs() -> Specs:
    bundle = load_process_folder(ROOT / "processes" / "reserve_selection", ROOT / "forms")
    spec, subs = parse_specs(bundle.files)
    return Specs(bundle.content_hash, bundle.process_id, spec, subs)


def _inputs() -> list[dict[str, Any]]:
    test = yaml.safe_load((ROOT / "processes/reserve_selection/tests/happy_path.test.yaml").read_text())
    return [step["complete"] for step in test["steps"] if "complete" in step]


def _defaults(element: str, data: dict[str, Any]) -> dict[str, Any]:
    if element == "open_batch":  # what the form layer fills in before the workflow sees the data
        return {
            "recommendation_threshold": 0.5,
            "pass_mark": 60,
            "weights": {"exam": 0.5, "inspection": 0.5},
            "notice_period": "P7D",
            **data,
        }
    if element in ("democratic_recommendation", "inspect_candidate"):
        key = "recommendation" if element == "democratic_recommendation" else "inspection"
        return {**data, key: dict(data)}
    return data


def run(save_restore: bool) -> list[str]:
    specs = _specs()
    now = START
    runtime, _ = CaseRuntime.start(specs, now, "case/1")
    snapshots = [json.dumps(runtime.snapshot())]
    for seq, step in enumerate(_inputs(), start=2):
        if save_restore:
            runtime = CaseRuntime.restore(specs, json.loads(snapshots[-1]))
        match = step.get("match") or {}
        task = next(
            t
            for t in runtime.ready_human_tasks()
            if t.element_id == step["task"] and all(t.data.get(k) == v for k, v in match.items())
        )
        now += timedelta(hours=1)
        runtime.complete(task.task_id, _defaults(step["task"], step["data"]), now, f"case/{seq}")
        snapshots.append(json.dumps(runtime.snapshot()))
    runtime.fire_timers(now + timedelta(days=7), "case/timer")
    snapshots.append(json.dumps(runtime.snapshot()))
    assert runtime.finished and runtime.case_data()["admitted"] == ["a2", "b1"]
    return snapshots


def test_save_and_restore_between_steps_changes_nothing() -> None:
    # Restoring rebuilds task data from parent deltas, so key *order* may differ from the live object;
    # the content (what snapshots are hashed over, canonical JSON) must not.
    restored = [content_hash(json.loads(s)) for s in run(save_restore=True)]
    live = [content_hash(json.loads(s)) for s in run(save_restore=False)]
    assert restored == live


def test_another_process_produces_the_same_bytes() -> None:
    here = run(save_restore=True)
    code = "import json, tests.engine.test_determinism as t; print(json.dumps(t.run(True)))"
    env = dict(os.environ, PYTHONHASHSEED="12345")
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == here
