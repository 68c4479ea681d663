"""What changed in a case's data between two moments: added, removed and changed values by path.

Paths name nested values the way a person reads them: ``quota``, ``conditions.max_age``,
``scores[2].score``. Dicts are compared key by key and lists position by position, so one changed
field of one candidate shows as that field, not as the whole list. A value that changes kind (a list
becomes a dict, a number becomes a string) is reported whole at its path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from engine.audit.record import load_record
from engine.audit.replay import CaseState, states_at
from engine.errors import NotFound
from engine.store.db import Database

Kind = Literal["added", "removed", "changed"]
_MISSING = object()


@dataclass(frozen=True)
class Change:
    path: str
    kind: Kind
    old: Any = None  # None for "added"
    new: Any = None  # None for "removed"


def diff_data(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Every difference between two case-data documents, in path order (keys sorted, list order)."""
    out: list[Change] = []
    _walk("", old, new, out)
    return out


def _walk(path: str, old: Any, new: Any, out: list[Change]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            _pair(_key_path(path, str(key)), old.get(key, _MISSING), new.get(key, _MISSING), out)
        return
    if isinstance(old, list) and isinstance(new, list):
        for index in range(max(len(old), len(new))):
            before = old[index] if index < len(old) else _MISSING
            after = new[index] if index < len(new) else _MISSING
            _pair(f"{path}[{index}]", before, after, out)
        return
    if not _same(old, new):
        out.append(Change(path, "changed", old, new))


def _pair(path: str, old: Any, new: Any, out: list[Change]) -> None:
    if old is _MISSING:
        out.append(Change(path, "added", None, new))
    elif new is _MISSING:
        out.append(Change(path, "removed", old, None))
    else:
        _walk(path, old, new, out)


def _same(old: Any, new: Any) -> bool:
    """Equal and of the same JSON kind (``1 == True`` and ``1 == 1.0`` in Python, not in the record)."""
    return type(old) is type(new) and old == new


def _key_path(parent: str, key: str) -> str:
    # Keys that are not plain names (ids with dots or brackets) are quoted, so a path stays unambiguous.
    plain = key.replace("_", "").isalnum()
    if parent == "":
        return key if plain else f'["{key}"]'
    return f"{parent}.{key}" if plain else f'{parent}["{key}"]'


@dataclass(frozen=True)
class EventDiff:
    """The case right after event ``before.seq`` and right after ``after.seq``, and what changed."""

    before: CaseState
    after: CaseState
    changes: list[Change]


def diff_events(db: Database, case_id: str, from_seq: int, to_seq: int) -> EventDiff:
    """The data diff between two events of a case, both states rebuilt from the log in one pass.

    Raises:
        NotFound: no such case, or it has no event ``from_seq`` or ``to_seq``.
        ReplayDivergence: the log up to there does not re-execute.
    """
    wanted = {from_seq, to_seq}
    found = states_at(load_record(db, case_id), wanted)
    missing = sorted(wanted - set(found))
    if missing:
        raise NotFound(f"case {case_id} has no event {missing[0]}", case_id=case_id)
    before, after = found[from_seq], found[to_seq]
    return EventDiff(before, after, diff_data(before.data, after.data))
