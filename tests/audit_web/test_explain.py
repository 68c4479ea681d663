"""Explanations of the demo's batches, checked against the demo's inputs (engine/demo.py)."""

from __future__ import annotations

from engine.audit.explain import explain_case
from engine.demo import PARTICIPANTS, SCORES, VOTES
from engine.store.db import Database
from tests.audit_web.conftest import batch_waiting_at, finished_batch


def test_every_nominee_of_the_finished_batch_is_explained_with_the_figures(demo_db: Database) -> None:
    explanation = explain_case(demo_db, finished_batch(demo_db))
    by_id = {n.candidate: n for n in explanation.nominees}
    assert len(by_id) == 20
    assert sorted(c for c, n in by_id.items() if n.outcome == "admitted") == ["b01", "b03", "d03", "x01"]

    d06 = by_id["d06"]  # 12 of 30 below 0.5
    assert (d06.stage, d06.rule) == ("recommendation", "recommendation")
    assert d06.figures == {"votes": VOTES["d06"], "participants": PARTICIPANTS["dongcheng"], "threshold": 0.5}
    assert d06.decided is not None and d06.decided.actor == "uc_dongcheng"

    x05 = by_id["x05"]
    assert x05.figures == {"score": SCORES["x05"], "pass_mark": 60} and x05.rule == "exam_below_pass"
    assert x05.decided is not None and x05.decided.actor == "wang_exam"

    x02 = by_id["x02"]
    assert x02.rule == "ratio_elimination"
    assert x02.figures["rank"] == 7 and x02.figures["ranked"] == 12
    assert (x02.figures["list_size"], x02.figures["quota"]) == (6, 4)
    assert "rank 7 of 12" in x02.reason

    d01 = by_id["d01"]  # the objection, and who raised it
    assert d01.rule == "objection" and d01.figures["round"] == 1
    assert d01.figures["body"] == "discipline_inspection" and "petition" in d01.figures["objection"]
    assert d01.decided is not None and d01.decided.actor == "sun_jw"

    d07 = by_id["d07"]
    assert d07.rule == "committee_opinion" and d07.figures["committee_reason"]
    x07 = by_id["x07"]
    assert x07.rule == "conditions" and x07.figures["failed"] == ["max_age"] and x07.figures["age"] == 48

    x04 = by_id["x04"]
    assert x04.figures == {"rating": "incompetent"} and x04.decided is not None
    assert x04.decided.actor == "zhao_insp"

    b01 = by_id["b01"]  # admitted: the committee's minute
    assert b01.rule == "admitted" and b01.figures["minute_ref"] and b01.figures["decision"] == "approve"
    assert b01.decided is not None and b01.decided.actor == "wu_changwei"
    assert explanation.tasks == [] and explanation.timers == [] and explanation.messages == []


def test_a_waiting_batch_says_which_task_for_which_role_since_when(demo_db: Database) -> None:
    explanation = explain_case(demo_db, batch_waiting_at(demo_db, "third batch"))
    assert [(t.element_id, t.role, t.unit_id) for t in explanation.tasks] == [
        ("record_exam_scores", "exam_office", "")
    ]
    assert explanation.tasks[0].created_at is not None
    in_running = [n for n in explanation.nominees if n.outcome == "in_progress"]
    assert in_running and all(n.rule == "in_progress" and n.decided is None for n in in_running)
    assert all(n.stage == "exam" for n in in_running)


def test_a_cadre_file_waits_for_its_message(demo_db: Database) -> None:
    from sqlalchemy import select

    from engine.store.models import Case

    with demo_db.read() as session:
        case_id = session.scalar(
            select(Case.id).where(Case.process_id == "reserve_cadre", Case.status == "running")
        )
    explanation = explain_case(demo_db, str(case_id))
    assert explanation.nominees == []
    assert "cadre_leaves" in explanation.messages
