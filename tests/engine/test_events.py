"""The canonical JSON and the event hash chain (``engine.canonical``, ``engine.events``).

An offline verifier depends on these exact bytes, so the format is pinned here literally: key order
(by code point), separators, non-ASCII, numbers, times. The second half builds chains with
``engine.events.append`` and checks that a small reference verifier — written only from the documented
format — notices an edited payload, a deleted newest event (via the case head), a deleted middle
event and a reordered pair.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, cast

import pytest
from sqlalchemy.orm import Session

from engine import events
from engine.canonical import (
    GENESIS_HASH,
    canonical_json,
    content_hash,
    event_hash,
    format_time,
    parse_time,
)
from engine.store.models import Case, Event

T0 = datetime(2027, 1, 4, tzinfo=timezone.utc)

# ------------------------------------------------------------------------------------------------
# canonical JSON


def test_keys_are_sorted_and_there_is_no_whitespace() -> None:
    value = {"b": 1, "a": [1, 2, {"z": None, "y": True}], "c": {"q": False, "p": "x y"}}
    assert canonical_json(value) == '{"a":[1,2,{"y":true,"z":null}],"b":1,"c":{"p":"x y","q":false}}'


def test_keys_sort_by_code_point_not_utf16() -> None:
    """Code point order: U+FB01 sorts before U+1F600 (UTF-16 order, as in RFC 8785, would swap them)."""
    value = {"😀": 6, "ﬁ": 5, "中": 4, "é": 3, "b": 2, "B": 1}
    assert canonical_json(value) == '{"B":1,"b":2,"é":3,"中":4,"ﬁ":5,"😀":6}'


def test_non_ascii_is_written_as_itself() -> None:
    text = canonical_json({"name": "李明", "note": "Ünïcödé — ✓ 😀"})
    assert text == '{"name":"李明","note":"Ünïcödé — ✓ 😀"}'
    assert "\\u" not in text
    assert text.encode("utf-8") == '{"name":"李明","note":"Ünïcödé — ✓ 😀"}'.encode()


def test_control_characters_and_quotes_are_escaped() -> None:
    assert canonical_json(["a\"b\\c\nd\te\u0001"]) == '["a\\"b\\\\c\\nd\\te\\u0001"]'


def test_numbers_booleans_and_null() -> None:
    """Integers stay integers (any size); floats use Python's shortest round-trip form."""
    value = [0, -3, 2**64, 1.0, 0.1, 78.5, 1e16, 1e-7, -0.0, 1 / 3, True, False, None]
    assert canonical_json(value) == (
        "[0,-3,18446744073709551616,1.0,0.1,78.5,1e+16,1e-07,-0.0,0.3333333333333333,true,false,null]"
    )
    assert json.loads(canonical_json(value)) == value


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
def test_nan_and_infinities_are_refused(bad: float) -> None:
    with pytest.raises(ValueError):
        canonical_json({"score": bad})
    with pytest.raises(ValueError):
        canonical_json([1, [bad]])


@pytest.mark.parametrize("bad", [T0, date(2027, 1, 4), Decimal("1.5"), {1, 2}, b"bytes"],
                         ids=["datetime", "date", "decimal", "set", "bytes"])
def test_values_that_are_not_json_are_refused(bad: Any) -> None:
    """Task data is JSON-native; anything else is refused rather than stringified.

    (``canonical_json``'s docstring says ValueError; ``json.dumps`` raises TypeError for these.)
    """
    with pytest.raises((TypeError, ValueError)):
        canonical_json({"value": bad})


def test_canonical_json_is_a_fixed_point() -> None:
    """Parsing canonical text and writing it again gives the same bytes (the verifier relies on it)."""
    text = canonical_json({"z": [1.5, {"b": "é", "a": 2**70}], "a": None})
    assert canonical_json(json.loads(text)) == text


def test_content_hash_is_sha256_of_the_canonical_text() -> None:
    value = {"b": 1, "a": "é"}
    assert content_hash(value) == hashlib.sha256('{"a":"é","b":1}'.encode()).hexdigest()
    assert content_hash({"a": "é", "b": 1}) == content_hash(value)


# ------------------------------------------------------------------------------------------------
# times


def test_time_format_is_utc_with_six_fractional_digits() -> None:
    assert format_time(T0) == "2027-01-04T00:00:00.000000Z"
    assert format_time(T0 + timedelta(microseconds=123456)) == "2027-01-04T00:00:00.123456Z"
    east8 = timezone(timedelta(hours=8))
    assert format_time(datetime(2027, 1, 4, 8, 0, tzinfo=east8)) == "2027-01-04T00:00:00.000000Z"
    assert format_time(datetime(2027, 1, 3, 19, 0, tzinfo=timezone(timedelta(hours=-5)))) == (
        "2027-01-04T00:00:00.000000Z")


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError):
        format_time(datetime(2027, 1, 4))
    with pytest.raises(ValueError):
        parse_time("2027-01-04T00:00:00")


def test_parse_time_inverts_format_time() -> None:
    moment = T0 + timedelta(days=40, seconds=5, microseconds=7)
    parsed = parse_time(format_time(moment))
    assert parsed == moment and parsed.utcoffset() == timedelta(0)
    assert parse_time("2027-01-04T08:00:00+08:00") == T0
    assert parse_time("2027-01-04T08:00:00+08:00").tzinfo == timezone.utc


# ------------------------------------------------------------------------------------------------
# the hash chain


def test_event_body_has_exactly_the_hashed_fields() -> None:
    body = events.event_body("c-1", 3, events.TASK_COMPLETED, T0, "li", {"x": 1})
    assert body == {"case_id": "c-1", "seq": 3, "type": "task.completed", "schema": events.SCHEMA_VERSION,
                    "at": "2027-01-04T00:00:00.000000Z", "actor": "li", "payload": {"x": 1}}


def test_event_hash_is_sha256_over_prev_newline_canonical_body() -> None:
    body = events.event_body("c-1", 1, events.CASE_STARTED, T0, "li", {"process_id": "p"})
    expected = hashlib.sha256(("0" * 64 + "\n" + canonical_json(body)).encode("utf-8")).hexdigest()
    assert GENESIS_HASH == "0" * 64
    assert event_hash(GENESIS_HASH, body) == expected
    assert len(expected) == 64 and expected == expected.lower()
    assert event_hash("1" * 64, body) != expected
    assert event_hash(GENESIS_HASH, {**body, "actor": "mallory"}) != expected


@dataclass
class _Collector:
    """Stands in for a Session: ``events.append`` only adds rows."""

    rows: list[Event] = field(default_factory=list)

    def add(self, row: Event) -> None:
        self.rows.append(row)


def _chain(count: int = 4) -> tuple[list[Event], Case]:
    """A case with ``count`` events appended by ``engine.events.append`` (no database)."""
    case = Case(id="c-chain", last_seq=0, head_hash=GENESIS_HASH)
    session = _Collector()
    for index in range(count):
        events.append(cast(Session, session), case, events.TASK_COMPLETED, T0 + timedelta(minutes=index),
                      f"user-{index}", {"n": index, "note": "第" + str(index)})
    return session.rows, case


def find_break(log: list[Event], head_seq: int, head_hash: str) -> str | None:
    """A reference verifier written from the documented format: the first problem found, or None."""
    prev = GENESIS_HASH
    for position, event in enumerate(log, start=1):
        if event.seq != position:
            return f"event {position}: seq {event.seq} is out of place"
        if event.prev_hash != prev:
            return f"event {event.seq}: does not link to its predecessor"
        body = events.event_body(event.case_id, event.seq, event.type, event.at, event.actor,
                                 json.loads(event.payload_json))
        if event_hash(prev, body) != event.hash:
            return f"event {event.seq}: hash does not match its content"
        prev = event.hash
    if (len(log), prev) != (head_seq, head_hash):
        return "the log does not end at the case head (events missing at the end?)"
    return None


def _copy(event: Event, **changes: Any) -> Event:
    values = {name: getattr(event, name) for name in
              ("case_id", "seq", "type", "schema", "at", "actor", "payload_json", "prev_hash", "hash")}
    values.update(changes)
    return Event(**values)


def test_append_links_each_event_to_the_previous_and_moves_the_head() -> None:
    log, case = _chain(3)
    assert [e.seq for e in log] == [1, 2, 3]
    assert log[0].prev_hash == GENESIS_HASH
    assert [e.prev_hash for e in log[1:]] == [e.hash for e in log[:-1]]
    assert (case.last_seq, case.head_hash) == (3, log[-1].hash)
    assert log[1].payload_json == '{"n":1,"note":"第1"}'
    assert find_break(log, case.last_seq, case.head_hash) is None


def test_an_edited_payload_is_detected() -> None:
    log, case = _chain()
    log[1] = _copy(log[1], payload_json='{"n":1,"note":"第99"}')
    assert find_break(log, case.last_seq, case.head_hash) == "event 2: hash does not match its content"


def test_an_edited_and_rehashed_event_breaks_the_next_link() -> None:
    log, case = _chain()
    payload = {"n": 1, "note": "forged"}
    body = events.event_body(case.id, 2, log[1].type, log[1].at, log[1].actor, payload)
    log[1] = _copy(log[1], payload_json=canonical_json(payload), hash=event_hash(log[1].prev_hash, body))
    assert find_break(log, case.last_seq, case.head_hash) == "event 3: does not link to its predecessor"


def test_an_edited_time_or_actor_is_detected() -> None:
    log, case = _chain()
    edited = [_copy(log[2], at=log[2].at + timedelta(microseconds=1)), _copy(log[2], actor="mallory")]
    for event in edited:
        assert find_break([*log[:2], event, *log[3:]], case.last_seq, case.head_hash) == (
            "event 3: hash does not match its content")


def test_a_deleted_newest_event_is_detected_by_the_case_head() -> None:
    log, case = _chain()
    truncated = log[:-1]
    # The remaining events still link perfectly; only the head kept on the case row shows the loss.
    assert find_break(truncated, len(truncated), truncated[-1].hash) is None
    assert find_break(truncated, case.last_seq, case.head_hash) == (
        "the log does not end at the case head (events missing at the end?)")


def test_a_deleted_middle_event_is_detected() -> None:
    log, case = _chain()
    assert find_break([log[0], *log[2:]], case.last_seq, case.head_hash) == "event 2: seq 3 is out of place"


def test_a_reordered_pair_is_detected() -> None:
    log, case = _chain()
    swapped = [log[0], log[2], log[1], log[3]]
    assert find_break(swapped, case.last_seq, case.head_hash) == "event 2: seq 3 is out of place"
    # Renumbering the swapped pair does not help: the links no longer match.
    renumbered = [log[0], _copy(log[2], seq=2), _copy(log[1], seq=3), log[3]]
    assert find_break(renumbered, case.last_seq, case.head_hash) == (
        "event 2: does not link to its predecessor")
