"""The worker: fires due timers with the real clock, delivers messages between cases and runs recurring
work (``engine.schedules``: the biennial pool adjustment).

Several workers (processes or machines) may run against one PostgreSQL database: each firing claims
its timer row with ``SELECT ... FOR UPDATE SKIP LOCKED`` and marks it fired in the same transaction
as the case's step, so no timer fires twice and none waits for a busy worker. On SQLite writers are
serialised, so one worker is all that makes sense there.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from types import FrameType

from engine.cases import fire_due_timers
from engine.clock import Clock
from engine.messages import deliver_messages
from engine.schedules import run_due_schedules
from engine.store.db import Database


def run_worker(
    db: Database,
    clock: Clock,
    *,
    once: bool = False,
    interval: float = 0.5,
    emit: Callable[[str], None] = lambda _line: None,
) -> int:
    """Fire what falls due and deliver messages until stopped (SIGINT/SIGTERM) or, with ``once``, until
    nothing is left to do now; return the number of timers fired."""
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)} if not once else {}
    total = 0
    try:
        while not stopping:
            fired = fire_due_timers(db, clock.now())
            delivered = deliver_messages(db, clock)
            scheduled = run_due_schedules(db, clock)
            total += fired
            if fired or delivered or scheduled:
                emit(f"fired {fired} timer(s), delivered {delivered} message(s), ran {scheduled} schedule(s)")
            busy = fired + delivered + scheduled
            if once and not busy:
                break
            if not busy:
                time.sleep(interval)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return total
