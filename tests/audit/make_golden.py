"""Record the golden audit bundles under ``tests/audit/golden/`` (run by hand; the files are checked in).

    .venv/bin/python -m tests.audit.make_golden

Records, through the real services on a throwaway SQLite database:
- ``selection_finished.zip``: the demo's finished selection batch (timers, a message sent and delivered);
- ``reserve_cadre_cycle.zip``: the demo's followed cadre (a second yearly cycle, a message received);
- ``preferred_use.zip``: the demo's vacancy that appointed that cadre;
- ``timely_supplement.zip``: the process test ``admitted_open_selection`` of timely_supplement;
- ``divergent_selection.zip``: the finished batch with one input changed (the committee's decision) and
  every later hash, the head and the digests recomputed: the chain is fine, re-execution must diverge.
  ``divergent_selection.json`` names the changed event.

Re-recording changes the files (new case ids and times); the tests only need them to verify.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import yaml

from engine.audit.bundle import EVENTS, MANIFEST, export_case
from engine.canonical import canonical_json, event_hash
from engine.definitions import load_bundles
from engine.demo import run_demo
from engine.process_tests import Scenario
from engine.store.db import Database
from engine.store.migrate import upgrade

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "golden"
SUPPLEMENT = ROOT / "processes" / "timely_supplement" / "tests" / "admitted_open_selection.test.yaml"
WHEN = "2027-03-01T00:00:00.000000Z"


def main() -> None:
    GOLDEN.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="cadreflow-golden-"))
    try:
        demo = Database(f"sqlite:///{work / 'demo.db'}")
        run_demo(demo, lambda _line: None, story=True)
        picks = {
            "selection_finished": first_case(demo, "reserve_selection", "finished"),
            "reserve_cadre_cycle": first_case(demo, "reserve_cadre", "finished"),
            "preferred_use": first_case(demo, "preferred_use", "finished"),
        }
        for name, case_id in picks.items():
            export_case(demo, case_id, GOLDEN / f"{name}.zip", exported_by="make_golden")
        demo.dispose()

        scenario_db = Database(f"sqlite:///{work / 'scenario.db'}")
        upgrade(scenario_db)
        test = yaml.safe_load(SUPPLEMENT.read_text(encoding="utf-8"))
        scenario = Scenario(scenario_db, test, load_bundles(ROOT / "processes"))
        scenario.run()
        export_case(
            scenario_db, scenario.case_id or "", GOLDEN / "timely_supplement.zip", exported_by="make_golden"
        )
        scenario_db.dispose()

        changed = make_divergent(GOLDEN / "selection_finished.zip", GOLDEN / "divergent_selection.zip")
        (GOLDEN / "divergent_selection.json").write_text(
            json.dumps(
                {
                    "changed_seq": changed,
                    "changed": "committee_decision: the first candidate approve -> reject",
                },
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for path in sorted(GOLDEN.iterdir()):
        print(f"{path.name:32} {path.stat().st_size:>8} bytes")


def first_case(db: Database, process_id: str, status: str) -> str:
    """The oldest case of ``process_id`` with ``status``."""
    from sqlalchemy import select

    from engine.store.models import Case

    with db.read() as session:
        found = session.scalars(
            select(Case.id)
            .where(Case.process_id == process_id, Case.status == status)
            .order_by(Case.started_at)
        ).first()
    if found is None:
        raise LookupError(f"no {status} {process_id} case")
    return found


def make_divergent(source: Path, target: Path) -> int:
    """Copy ``source`` with the committee's decision turned into a rejection, re-hashed consistently."""
    with zipfile.ZipFile(source) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    manifest: dict[str, Any] = json.loads(contents[MANIFEST])
    rows = [json.loads(line) for line in contents[EVENTS].decode("utf-8").splitlines()]
    changed = 0
    for row in rows:
        if row["type"] == "task.completed" and row["payload"]["element_id"] == "committee_decision":
            row["payload"]["data"]["decisions"][0]["decision"] = "reject"
            changed = row["seq"]
            break
    if not changed:
        raise SystemExit("the recorded batch has no committee_decision")
    prev = rows[0]["prev_hash"]
    for row in rows:
        body = {k: row[k] for k in ("case_id", "seq", "type", "schema", "at", "actor", "payload")}
        row["prev_hash"], row["hash"] = prev, event_hash(prev, body)
        prev = row["hash"]
    contents[EVENTS] = "".join(canonical_json(row) + "\n" for row in rows).encode("utf-8")
    manifest["head"] = {"seq": rows[-1]["seq"], "hash": prev}
    manifest["sha256"][EVENTS] = hashlib.sha256(contents[EVENTS]).hexdigest()
    contents[MANIFEST] = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in contents.items():
            archive.writestr(name, data)
    return changed


if __name__ == "__main__":
    main()
