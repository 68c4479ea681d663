"""Search, explanations, exports and diffs on SQLite and PostgreSQL alike (the demo seeded into each)."""

from __future__ import annotations

from engine.audit.batch_export import batch_table
from engine.audit.diff import diff_events
from engine.audit.explain import explain_case
from engine.audit.search import CaseSearch, search_cases
from engine.demo import run_demo
from engine.store.db import Database


def test_the_audit_reads_work_on_every_backend(database: Database) -> None:
    finished = run_demo(database, lambda _line: None)
    hits = search_cases(database, "ma_audit", CaseSearch(candidate="巴特尔", process="reserve_selection"))
    assert finished in {h.case_id for h in hits.hits} and hits.total == 3  # not the fourth, just opened
    first = search_cases(database, "ma_audit", CaseSearch(batch="FIRST"))
    assert {h.case_id for h in first.hits} == {finished}
    assert search_cases(database, "ma_audit", CaseSearch(unit="bayin", candidate="100%_")).total == 0

    explanation = explain_case(database, finished)
    outcomes = {n.candidate: (n.outcome, n.rule) for n in explanation.nominees}
    assert outcomes["d06"] == ("dropped", "recommendation") and outcomes["x01"] == ("admitted", "admitted")
    assert len(batch_table(database, finished).rows) == 20

    step = diff_events(database, finished, 1, 4)  # open_batch completed at event 4
    assert {c.path for c in step.changes} >= {"quota", "units", "batch_name"}
    assert step.before.active_elements == ["open_batch"] and "open_batch" not in step.after.active_elements
