"""``cadreflow audit``: exit codes, the line naming the event, bundles verified without a database,
and the access log of what the command line did."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from engine import events
from engine.audit.access_log import recent_access
from engine.cli import main
from engine.store.db import Database
from engine.store.models import Case, Event
from tests.audit.make_golden import first_case

FAIL_LINE = re.compile(r"^FAIL (c-\w+): event (\d+) \(([\w.()]+)\): .+$", re.MULTILINE)
# Nothing listens here: a command that tried to use this database would fail.
NO_DATABASE = "postgresql+psycopg://nobody@127.0.0.1:1/none"


def _invoke(db: Database, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--database", db.url, "audit", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def _finished_batch(db: Database) -> str:
    return first_case(db, "reserve_selection", "finished")


def test_verify_all_passes_on_the_demo_database(demo_db: Database) -> None:
    code, output = _invoke(demo_db, "verify", "--all")
    assert code == 0, output
    with demo_db.read() as session:
        count = len(session.scalars(select(Case.id)).all())
    assert len(re.findall(r"^OK c-\w+ \(\d+ events\)$", output, re.MULTILINE)) == count
    assert re.search(rf"^{count} of {count} case\(s\) verified, \d+ events in [\d.]+ s", output, re.MULTILINE)
    [entry] = recent_access(demo_db, action="verify")
    assert entry.actor.startswith("cli:") and entry.case_id is None


def test_verify_all_fails_naming_the_event_after_a_row_is_altered(demo_db: Database) -> None:
    case_id = _finished_batch(demo_db)
    with demo_db.write() as session:
        row = session.scalars(
            select(Event)
            .where(Event.case_id == case_id, Event.type == events.TASK_COMPLETED)
            .order_by(Event.seq)
        ).all()[3]
        row.actor = "mallory"
        seq = row.seq

    code, output = _invoke(demo_db, "verify", "--all")
    assert code == 1
    assert FAIL_LINE.findall(output) == [(case_id, str(seq), events.TASK_COMPLETED)]
    assert "Traceback" not in output


def test_verify_named_cases_and_an_unknown_case(demo_db: Database) -> None:
    case_id = _finished_batch(demo_db)
    code, output = _invoke(demo_db, "verify", case_id)
    assert code == 0 and f"OK {case_id} (" in output
    [entry] = recent_access(demo_db, action="verify", case_id=case_id)
    assert entry.detail == "1 case(s), 0 failed"

    code, output = _invoke(demo_db, "verify", "c-nosuchcase")
    assert code == 1 and "error (not_found)" in output and "Traceback" not in output
    code, output = _invoke(demo_db, "verify")
    assert code == 2 and "--all" in output


def test_export_then_verify_the_bundle_without_a_database(demo_db: Database, tmp_path: Path) -> None:
    case_id = _finished_batch(demo_db)
    bundle = tmp_path / "case.zip"
    code, output = _invoke(demo_db, "export", case_id, "-o", str(bundle))
    assert code == 0, output
    assert output.startswith(f"exported {case_id}: ") and "sha256" in output
    [entry] = recent_access(demo_db, action="export")
    assert (entry.case_id, entry.actor[:4]) == (case_id, "cli:")

    result = CliRunner().invoke(main, ["--database", NO_DATABASE, "audit", "verify-bundle", str(bundle)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"OK {case_id} (")


def test_verify_bundle_fails_naming_the_divergent_event() -> None:
    golden = Path(__file__).resolve().parent / "golden" / "divergent_selection.zip"
    result = CliRunner().invoke(main, ["--database", NO_DATABASE, "audit", "verify-bundle", str(golden)])
    assert result.exit_code == 1
    assert len(FAIL_LINE.findall(result.output)) == 1


def test_export_of_an_unknown_case_is_one_clear_line(demo_db: Database, tmp_path: Path) -> None:
    code, output = _invoke(demo_db, "export", "c-nosuchcase", "-o", str(tmp_path / "x.zip"))
    assert code == 1 and output.strip() == "error (not_found): [case c-nosuchcase] no case c-nosuchcase"
    assert not (tmp_path / "x.zip").exists()
