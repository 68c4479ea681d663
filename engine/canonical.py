"""Canonical JSON and the event hash chain — defined once, here, because an offline verifier depends on it.

Canonical JSON (documented in the README, "Event log"):
- UTF-8; object keys sorted by code point; separators ``,`` and ``:`` with no whitespace; non-ASCII
  characters written as themselves (``ensure_ascii=False``);
- numbers: integers as integers, floats in Python's shortest round-trip form (``repr``); NaN and
  infinities are refused; booleans and null as JSON;
- times: strings ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (UTC, always six fractional digits).

Hash chain: ``hash = sha256(prev_hash + "\\n" + canonical(body))`` as lowercase hex, where ``body`` is
``{case_id, seq, type, schema, at, actor, payload}`` of the event and the first event's ``prev_hash`` is
64 zeros. The newest hash is also stored on the case row (the chain head), so a deleted newest event shows.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any

GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> str:
    """Serialise ``value`` canonically; raises ValueError on NaN/infinity or non-JSON types."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def format_time(moment: datetime) -> str:
    """The one textual form of an instant: UTC with six fractional digits and a ``Z``."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: every time in cadreflow is timezone-aware UTC")
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    """Inverse of :func:`format_time` (also accepts any ISO-8601 instant with an offset)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"time {text!r} has no timezone")
    return moment.astimezone(timezone.utc)


def event_hash(prev_hash: str, body: dict[str, Any]) -> str:
    """Link one event into its case's chain."""
    digest = hashlib.sha256()
    digest.update(prev_hash.encode("ascii"))
    digest.update(b"\n")
    digest.update(canonical_json(body).encode("utf-8"))
    return digest.hexdigest()


def content_hash(value: Any) -> str:
    """sha256 of a value's canonical JSON (snapshots, definition listings)."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()
