"""What every request needs from the engine: the database, the clock and the signed-in actor."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, g

from engine.clock import Clock
from engine.directory import Actor
from engine.store.db import Database


@dataclass(frozen=True)
class WebContext:
    db: Database
    clock: Clock


def web() -> WebContext:
    context: WebContext = current_app.extensions["cadreflow"]
    return context


def actor() -> Actor:
    """The signed-in actor (views behind ``login_required`` only)."""
    current: Actor = g.actor
    return current
