"""What a form field marked ``x-ref`` names, how a submitted value is checked, and what the form offers.

The kinds are ``REF_KINDS`` of the form validation (an unknown kind is refused at deploy): ``unit`` (a
unit of the directory) and ``cadre`` (a reserve cadre whose file is open: their ``reserve_cadre`` case
is running, so a finding or a message addressed to them has somewhere to go).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cadre_records import CADRE_PROCESS
from engine.directory import unit_exists
from engine.store.models import Case, Unit


def _open_files() -> Any:
    """The running reserve_cadre cases, addressed by their correlation key (the candidate id)."""
    return select(Case).where(
        Case.process_id == CADRE_PROCESS, Case.status == "running", Case.correlation_key.is_not(None)
    )


def ref_exists(session: Session, kind: str, value: str) -> bool:
    """Whether ``value`` names an existing entry of ``kind``."""
    if kind == "unit":
        return unit_exists(session, value)
    if kind == "cadre":
        return (
            session.scalars(_open_files().where(Case.correlation_key == value).limit(1)).first() is not None
        )
    return False


def ref_choices(session: Session, kind: str) -> list[tuple[str, str]]:
    """(value, label) of every entry of ``kind``, for the form's drop-down list."""
    if kind == "unit":
        return [
            (u.id, f"{u.id} · {u.name_en} / {u.id} · {u.name_zh}")
            for u in session.scalars(select(Unit).order_by(Unit.id))
        ]
    if kind == "cadre":
        choices = []
        for case in session.scalars(_open_files().order_by(Case.correlation_key)):
            data = json.loads(case.data_json)
            label = f"{case.correlation_key} · {data.get('name', '')} ({data.get('unit', '')})"
            choices.append((str(case.correlation_key), label))
        return choices
    return []
