"""Messages between cases: a thrown message starts a case or reaches the case it is addressed to,
and each link is an event in both cases' logs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engine import cases, events, messages
from engine.authz import is_subject
from engine.clock import ManualClock
from engine.directory import ensure_user, grant
from engine.store.db import Database
from engine.store.models import Case, Event, MessageOutbox
from tests.project_copy import database_with

PROCESSES = Path(__file__).parent / "fixtures" / "links" / "processes"


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Database, ManualClock]:
    return database_with(tmp_path, PROCESSES)


def _log(db: Database, case_id: str) -> list[tuple[str, dict]]:
    with db.read() as session:
        rows = session.scalars(select(Event).where(Event.case_id == case_id).order_by(Event.seq))
        return [(e.type, json.loads(e.payload_json)) for e in rows]


def test_a_thrown_message_starts_a_case_and_a_later_one_reaches_it(
    setup: tuple[Database, ManualClock],
) -> None:
    db, clock = setup
    sender = cases.start_case(db, clock, "li", "sender")
    view = cases.complete_task(db, clock, "li", sender.ready[0].id, {"note": "a1"})
    with db.read() as session:
        assert session.scalars(select(MessageOutbox.status)).all() == ["pending"]  # sent with the step

    assert messages.deliver_messages(db, clock) == 1
    with db.read() as session:
        greeter = session.scalars(select(Case).where(Case.process_id == "greeter")).one()
        greeter_id, key = greeter.id, greeter.correlation_key
    assert key == "k-a1"
    started = _log(db, greeter_id)[0]
    assert started[0] == events.CASE_STARTED
    assert started[1]["message"]["name"] == "hello" and started[1]["message"]["source_case"] == sender.id
    assert cases.get_case(db, greeter_id).data["hello"] == {"key": "k-a1", "note": "a1"}
    sender_log = _log(db, sender.id)
    sent = next(p for t, p in sender_log if t == events.MESSAGE_SENT)
    delivered = next(p for t, p in sender_log if t == events.MESSAGE_DELIVERED)
    assert sent["name"] == "hello" and delivered["targets"] == [greeter_id]

    task = next(t for t in view.ready if t.element_id == "write_bye")
    cases.complete_task(db, clock, "li", task.id, {"note": "a1"})
    assert messages.deliver_messages(db, clock) == 1
    greeter_view = cases.get_case(db, greeter_id)
    assert greeter_view.status == "finished" and greeter_view.data["bye"] == {"key": "k-a1"}
    received = [p for t, p in _log(db, greeter_id) if t == events.MESSAGE_RECEIVED]
    assert received and received[0]["source_case"] == sender.id and received[0]["name"] == "bye"


def test_a_message_for_nobody_is_marked_undeliverable_and_logged(setup: tuple[Database, ManualClock]) -> None:
    db, clock = setup
    first = cases.start_case(db, clock, "li", "sender")
    view = cases.complete_task(db, clock, "li", first.ready[0].id, {"note": "x"})
    messages.deliver_messages(db, clock)
    bye = next(t for t in view.ready if t.element_id == "write_bye")
    cases.complete_task(db, clock, "li", bye.id, {"note": "someone-else"})  # addressed to k-someone-else
    assert messages.deliver_messages(db, clock) == 1
    with db.read() as session:
        statuses = [r.status for r in session.scalars(select(MessageOutbox).order_by(MessageOutbox.id))]
    assert statuses == ["delivered", "undeliverable"]
    delivered = [p for t, p in _log(db, first.id) if t == events.MESSAGE_DELIVERED]
    assert delivered[-1]["targets"] == []
    assert messages.deliver_messages(db, clock) == 0  # nothing is retried forever


def test_admission_throws_one_cadre_admitted_message_per_admitted_candidate(harness: Any) -> None:
    case_id = harness.start()
    harness.drive(case_id)  # the happy path up to the notice period
    harness.clock.advance("P7D")
    cases.fire_due_timers(harness.db, harness.clock.now())
    with harness.db.read() as session:
        rows = session.scalars(select(MessageOutbox).where(MessageOutbox.source_case_id == case_id)).all()
        sent = sorted((r.name, json.loads(r.payload_json)["key"]) for r in rows)
    assert sent == [("cadre_admitted", "a2"), ("cadre_admitted", "b1")]
    payload_types = [t for t, _p in _log(harness.db, case_id)]
    assert payload_types.count(events.MESSAGE_SENT) == 2


def test_a_start_message_naming_subjects_keeps_them_off_the_new_case(
    setup: tuple[Database, ManualClock],
) -> None:
    db, clock = setup
    with db.write() as session:
        ensure_user(session, "k-a1")  # the person the greeting is about, holding the lane's role
        grant(session, "k-a1", "org_department")
    view = cases.start_case(
        db, clock, "li", "greeter", {"name": "hello", "data": {"key": "k-a1", "subjects": ["k-a1"]}}
    )
    with db.read() as session:
        assert is_subject(session, view.id, "k-a1") and not is_subject(session, view.id, "li")
