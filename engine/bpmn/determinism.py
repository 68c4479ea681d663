"""Route SpiffWorkflow's task ids, task timestamps and timer clock through the engine.

SpiffWorkflow 3.2.0 draws task ids from ``uuid4()`` and stamps ``last_state_change`` from
``time.time()`` (``SpiffWorkflow/task.py``), and its timer module reads ``datetime.now``. Left alone,
two runs with identical inputs serialise differently and timers follow the wall clock. We replace
those three module-level names (the library's files stay unmodified) with shims that read a
context variable set by :func:`engine_context` around every step; outside a step they behave as the
originals. Context variables are per thread, so concurrent web requests do not see each other's clock.
"""

from __future__ import annotations

import contextvars
import hashlib
import time as _time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone

import SpiffWorkflow.bpmn.specs.event_definitions.timer as _timer_module
import SpiffWorkflow.task as _task_module


@dataclass
class _StepContext:
    now: datetime
    seed: str
    counter: int = field(default=0)

    def next_id(self) -> uuid.UUID:
        self.counter += 1
        digest = hashlib.sha256(f"{self.seed}/{self.counter}".encode()).digest()
        return uuid.UUID(bytes=digest[:16], version=4)


_current: contextvars.ContextVar[_StepContext | None] = contextvars.ContextVar("cadreflow_step", default=None)


@contextmanager
def engine_context(now: datetime, seed: str) -> Iterator[None]:
    """Within this block SpiffWorkflow sees ``now`` and draws ids derived from ``seed`` and a counter.

    ``seed`` must be unique per step of a case (the engine uses ``"<case id>/<event seq>"``), so ids
    never repeat within a case and are identical when the same step is re-executed.
    """
    token = _current.set(_StepContext(now=now.astimezone(timezone.utc), seed=seed))
    try:
        yield
    finally:
        _current.reset(token)


def _uuid4() -> uuid.UUID:
    ctx = _current.get()
    return ctx.next_id() if ctx else uuid.uuid4()


class _TimeShim:
    """Stands in for the ``time`` module inside ``SpiffWorkflow.task``."""

    def time(self) -> float:
        ctx = _current.get()
        return ctx.now.timestamp() if ctx else _time.time()

    def __getattr__(self, name: str) -> object:
        return getattr(_time, name)


class _EngineDatetime(datetime):
    """``datetime`` whose ``now()`` is the engine's clock inside a step."""

    @classmethod
    def now(cls, tz=None):  # type: ignore[no-untyped-def, override]
        ctx = _current.get()
        if ctx is None:
            return datetime.now(tz)
        return ctx.now if tz is None or tz == timezone.utc else ctx.now.astimezone(tz)


def install() -> None:
    """Install the shims (idempotent). Called once when the runtime module is imported."""
    _task_module.uuid4 = _uuid4  # type: ignore[attr-defined]
    _task_module.time = _TimeShim()  # type: ignore[attr-defined]
    _timer_module.datetime = _EngineDatetime  # type: ignore[attr-defined, misc]


install()
