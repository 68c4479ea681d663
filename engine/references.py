"""What a form field marked ``x-ref`` names, how a submitted value is checked, and what the form offers.

Two kinds: ``unit`` (a unit of the directory) and ``cadre`` (a reserve cadre whose file is open: their
``reserve_cadre`` case is running, so a finding or a message addressed to them has somewhere to go).
"""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bpmn.validation.forms import REF_KINDS
from engine.store.models import Case, Unit

KINDS = REF_KINDS
CADRE_PROCESS = "reserve_cadre"  # the process whose running cases are the open cadre files


def ref_exists(session: Session, kind: str, value: str) -> bool:
    """Whether ``value`` names an existing entry of ``kind`` (validation refuses other kinds at deploy)."""
    if kind == "unit":
        return session.get(Unit, value) is not None
    if kind == "cadre":
        return (
            session.scalar(
                select(Case.id)
                .where(
                    Case.process_id == CADRE_PROCESS, Case.status == "running", Case.correlation_key == value
                )
                .limit(1)
            )
            is not None
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
        out = []
        files = session.scalars(
            select(Case)
            .where(
                Case.process_id == CADRE_PROCESS, Case.status == "running", Case.correlation_key.is_not(None)
            )
            .order_by(Case.correlation_key)
        )
        for case in files:
            data = json.loads(case.data_json)
            out.append(
                (
                    str(case.correlation_key),
                    f"{case.correlation_key} · {data.get('name', '')} ({data.get('unit', '')})",
                )
            )
        return out
    return []
