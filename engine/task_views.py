"""The task page: everything a person needs to act on one ready task, as plain data.

Besides the form's JSON Schema, a form file may carry three presentation keys, each a sandboxed
expression (``engine.bpmn.sandbox``) over the task's data, evaluated here when the page is opened:

* ``x-prefill``: the form's initial values (an object), e.g. one ``votes`` entry per qualified nominee.
  A saved draft, if the person has one, is shown instead.
* ``x-choices``: ``{field path: expression}``; each expression gives ``[value, label]`` pairs for the
  field at the path (``votes[].candidate``, ``proposed[]``), so the page offers a list, not a text box.
* ``x-context``: a list of ``{label, value}``; what the role should see while deciding (the candidates
  with their scores, the pre-selection, ...). A value is text, a number, or a list of rows (objects).

A missing key means nothing to show; an expression that fails is a designer's bug and is raised as a
:class:`ScriptError` naming the form file and the key, so it shows up in the first test run.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from engine.bpmn.runtime import SCRIPT_ENGINE, CaseRuntime
from engine.cases import TaskView, task_view
from engine.definitions import get_definition
from engine.drafts import load_draft, visible_task
from engine.errors import NotFound, ScriptError
from engine.references import ref_choices
from engine.store.db import Database
from engine.store.models import Case, Snapshot

PREFILL_KEY = "x-prefill"
CHOICES_KEY = "x-choices"
CONTEXT_KEY = "x-context"

ContextValue = str | int | float | bool | list[Any] | None


@dataclass(frozen=True)
class ContextItem:
    label: str  # "English / 中文"
    value: ContextValue  # text, a number, or a list of rows (dicts) to show as a table


@dataclass(frozen=True)
class TaskDetail:
    task: TaskView
    case_title: str
    process_id: str
    schema: dict[str, Any]  # the form's JSON Schema as deployed with the case's definition (a copy)
    values: dict[str, Any]  # the person's draft if they saved one, else the form's x-prefill
    instructions: str | None
    context: list[ContextItem]
    choices: dict[str, list[tuple[str, str]]]
    claimed_by: str | None
    may_claim: bool
    may_unclaim: bool
    has_draft: bool = False
    form_key: str = ""  # the form file's name, e.g. "nominate.schema.yaml"


def task_detail(db: Database, user_id: str, task_id: str) -> TaskDetail:
    """The ready task ``task_id`` as ``user_id`` sees it on the task page.

    Raises:
        NotFound: no such task, the user may not act on it, or it is no longer ready.
        ScriptError: an ``x-prefill``/``x-choices``/``x-context`` expression of the form failed.
    """
    with db.read() as session:
        row = visible_task(session, user_id, task_id)
        if row.status != "ready":
            raise NotFound(
                f"task {task_id} is no longer ready (it is {row.status})",
                case_id=row.case_id,
                task=task_id,
                element_id=row.element_id,
            )
        case = session.get(Case, row.case_id)
        if case is None:  # pragma: no cover - foreign key
            raise NotFound(f"no task {task_id}", task=task_id)
        definition = get_definition(session, case.definition_hash)
        data = _ready_task_data(session, case, definition.specs, task_id)
        schema = copy.deepcopy(definition.forms.get(row.form_key) or {})
        draft = load_draft(session, user_id, task_id)
        where = _Where(row.form_key, case.id, task_id, row.element_id)
        values = draft if draft is not None else prefill(schema, data, where)
        info = definition.user_tasks.get(row.element_id)
        return TaskDetail(
            task=task_view(row),
            case_title=case.title,
            process_id=case.process_id,
            schema=schema,
            values=values,
            instructions=info.instructions if info else None,
            context=context_items(schema, data, where),
            choices={**_reference_choices(session, schema), **choices(schema, data, where)},
            claimed_by=row.assignee,
            may_claim=row.assignee is None,
            may_unclaim=row.assignee == user_id,
            has_draft=draft is not None,
            form_key=row.form_key,
        )


def _reference_choices(session: Session, schema: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """Choices for fields that name entries (``x-ref``: every unit, every open cadre file)."""
    paths = _ref_paths(schema, "")
    by_kind = {kind: ref_choices(session, kind) for kind in dict.fromkeys(kind for _path, kind in paths)}
    return {path: by_kind[kind] for path, kind in paths}


def _ref_paths(schema: Any, path: str) -> list[tuple[str, str]]:
    """(field path in the ``x-choices`` notation, kind) for every ``x-ref`` in ``schema``."""
    if not isinstance(schema, dict):
        return []
    found = [(path, str(schema["x-ref"]))] if "x-ref" in schema and path else []
    for name, prop in (schema.get("properties") or {}).items():
        found += _ref_paths(prop, f"{path}.{name}" if path else name)
    if isinstance(schema.get("items"), dict):
        found += _ref_paths(schema["items"], f"{path}[]")
    return found


# ------------------------------------------------------------------------------------------------
# The three keys (public: process tests and the loader's checks can evaluate them the same way)


@dataclass(frozen=True)
class _Where:
    """Where an expression came from, for error messages."""

    form_key: str
    case_id: str | None = None
    task: str | None = None
    element_id: str | None = None


def prefill(schema: dict[str, Any], data: dict[str, Any], where: _Where | str = "") -> dict[str, Any]:
    """The form's ``x-prefill`` evaluated over ``data`` (``{}`` when the form has none)."""
    at = _where(where)
    expression = schema.get(PREFILL_KEY)
    if expression is None:
        return {}
    value = _evaluate(expression, data, at, PREFILL_KEY)
    if not isinstance(value, dict):
        raise _error(at, PREFILL_KEY, f"must give an object of field values, not {type(value).__name__}")
    return _plain(value, at, PREFILL_KEY)


def choices(
    schema: dict[str, Any], data: dict[str, Any], where: _Where | str = ""
) -> dict[str, list[tuple[str, str]]]:
    """The form's ``x-choices`` evaluated over ``data``: ``{field path: [(value, label), ...]}``."""
    at = _where(where)
    spec = schema.get(CHOICES_KEY)
    if spec is None:
        return {}
    if not isinstance(spec, dict):
        raise _error(at, CHOICES_KEY, "must map field paths to expressions")
    out: dict[str, list[tuple[str, str]]] = {}
    for path, expression in spec.items():
        key = f"{CHOICES_KEY}.{path}"
        value = _evaluate(expression, data, at, key)
        if not isinstance(value, (list, tuple)):
            raise _error(at, key, f"must give a list of [value, label] pairs, not {type(value).__name__}")
        pairs: list[tuple[str, str]] = []
        for item in value:
            if not isinstance(item, (list, tuple)) or len(item) != 2:
                raise _error(at, key, f"each choice must be a [value, label] pair, got {item!r:.80}")
            pairs.append((str(item[0]), str(item[1])))
        out[str(path)] = pairs
    return out


def context_items(
    schema: dict[str, Any], data: dict[str, Any], where: _Where | str = ""
) -> list[ContextItem]:
    """The form's ``x-context`` evaluated over ``data``, in the order written."""
    at = _where(where)
    spec = schema.get(CONTEXT_KEY)
    if spec is None:
        return []
    if not isinstance(spec, list):
        raise _error(at, CONTEXT_KEY, "must be a list of {label, value}")
    out = []
    for index, entry in enumerate(spec):
        key = f"{CONTEXT_KEY}[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("label"), str) or "value" not in entry:
            raise _error(at, key, "each entry needs a label (text) and a value (expression)")
        value = _evaluate(entry["value"], data, at, key)
        out.append(ContextItem(label=entry["label"], value=_context_value(value, at, key)))
    return out


def _context_value(value: Any, at: _Where, key: str) -> ContextValue:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        rows = _plain(list(value), at, key)
        if all(isinstance(r, dict) for r in rows) or not any(isinstance(r, (dict, list)) for r in rows):
            return rows
    raise _error(at, key, "must give text, a number, or a list of rows (objects)")


def _evaluate(expression: Any, data: dict[str, Any], at: _Where, key: str) -> Any:
    if not isinstance(expression, str):
        raise _error(at, key, "must be an expression (text)")
    try:
        return SCRIPT_ENGINE.environment.evaluate(expression, dict(data))
    except ScriptError as err:
        raise _error(at, key, err.message) from err


def _plain(value: Any, at: _Where, key: str) -> Any:
    """``value`` as JSON data (tuples become lists); refuse anything a page or a draft cannot hold."""
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as err:
        raise _error(at, key, f"must give plain JSON data: {err}") from err


def _error(at: _Where, key: str, message: str) -> ScriptError:
    return ScriptError(
        f"form {at.form_key} {key}: {message}", case_id=at.case_id, task=at.task, element_id=at.element_id
    )


def _where(where: _Where | str) -> _Where:
    return where if isinstance(where, _Where) else _Where(where)


def _ready_task_data(session: Session, case: Case, specs: Any, task_id: str) -> dict[str, Any]:
    """The task's data in the case's restored SpiffWorkflow instance (what its form is about)."""
    snap = session.get(Snapshot, case.id)
    if snap is None:
        raise NotFound(f"case {case.id} has no stored state", case_id=case.id, task=task_id)
    runtime = CaseRuntime.restore(specs, json.loads(snap.state_json))
    for task in runtime.ready_human_tasks():
        if task.task_id == task_id:
            return dict(task.data)
    raise NotFound(f"task {task_id} is no longer ready", case_id=case.id, task=task_id)
