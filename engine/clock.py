"""The engine owns time. Services take a :class:`Clock`; tests and the demo use a :class:`ManualClock`.

Every event records the instant it happened, and SpiffWorkflow is made to see that same instant
(``engine.bpmn.determinism``), so a case can be re-executed from its log with identical results.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Protocol

from engine.errors import Invalid


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """Wall-clock UTC time, for real deployments and the worker."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class ManualClock:
    """A clock that stands still except when advanced (process tests, the demo)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start")
        self._now = start.astimezone(timezone.utc)

    def now(self) -> datetime:
        return self._now

    def advance(self, duration: str) -> datetime:
        self._now = add_duration(self._now, duration)
        return self._now


_DURATION = re.compile(
    r"^P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(text: str) -> dict[str, float]:
    """Parse an ISO-8601 duration (``P7D``, ``PT12H``, ``P1Y2M``) into its parts; Invalid if malformed."""
    match = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if not match:
        raise Invalid(f"{text!r} is not an ISO-8601 duration such as P7D or PT12H")
    return {k: float(v) for k, v in match.groupdict().items() if v is not None}


def add_duration(start: datetime, text: str) -> datetime:
    """``start`` plus a duration; years and months move the calendar date (clamped to month end)."""
    parts = parse_duration(text)
    months = int(parts.get("years", 0)) * 12 + int(parts.get("months", 0))
    moment = start
    if months:
        total = moment.month - 1 + months
        year, month = moment.year + total // 12, total % 12 + 1
        day = min(moment.day, _days_in_month(year, month))
        moment = moment.replace(year=year, month=month, day=day)
    return moment + timedelta(
        weeks=parts.get("weeks", 0),
        days=parts.get("days", 0),
        hours=parts.get("hours", 0),
        minutes=parts.get("minutes", 0),
        seconds=parts.get("seconds", 0),
    )


def _days_in_month(year: int, month: int) -> int:
    nxt = datetime(year + (month == 12), month % 12 + 1, 1)
    return (nxt - timedelta(days=1)).day
