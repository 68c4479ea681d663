"""Refusals that must not reveal whether something exists.

The engine answers ``forbidden`` when someone may not act on a task. To a person who could not even
see that task (another unit's work, a case about themselves), the web answers 404 instead, exactly as
for a task that does not exist; someone who can see it on the case page learns why they may not act.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from engine.case_views import may_see_task
from engine.errors import Forbidden, NotFound
from webui.context import actor, web


@contextmanager
def unseen_as_not_found(task_id: str) -> Iterator[None]:
    try:
        yield
    except Forbidden as err:
        if may_see_task(web().db, actor().user_id, task_id):
            raise
        raise NotFound("no such task", task=task_id) from err
