"""Moving a running SpiffWorkflow instance onto another version of its definition.

SpiffWorkflow's own spec diff (:mod:`SpiffWorkflow.bpmn.util.diff`) aligns the task specs of the old
version with the new one (by BPMN id, then by structure). A case can move when every task it has
passed or holds a token at has a counterpart in the target — a completed task whose element was
removed could not even be restored later — and every task holding a token keeps its kind (a waiting
user task does not turn into a script). Its live tasks keep their ids, data and timers' due times:
unlike ``migrate_workflow``'s default, which resets ready and waiting tasks (re-running their
pre-scripts and restarting their timers from the migration time), only what lies *ahead* of them is
predicted again from the target. The case then goes on from where it was.

:func:`migrate_runtime` is deterministic: given the same restored instance, target specs, time and
seed it produces the same state, so re-executing a case's log replays a ``case.migrated`` event by
calling it with the event's payload.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import determinism
from engine.bpmn.runtime import (
    _REGISTRY,
    CaseRuntime,
    Specs,
    StepOutcome,
    _element_id,
)
from engine.errors import Conflict

_LIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED
_PREDICTED = TaskState.PREDICTED_MASK


def _state_name(task: Any) -> str:
    return TaskState.get_name(task.state).lower()


def _workflows(runtime: CaseRuntime, target: Specs) -> list[tuple[Any, Any, WorkflowDiff | None, str]]:
    """(workflow, its target spec or None, its diff or None, label) for the top and every sub-workflow."""
    workflow = runtime.workflow
    top = WorkflowDiff(workflow, SpecDiff(_REGISTRY, workflow.spec, target.spec))
    out: list[tuple[Any, Any, WorkflowDiff | None, str]] = [(workflow, target.spec, top, "process")]
    for sub in workflow.subprocesses.values():
        new_spec = target.subprocess_specs.get(sub.spec.name)
        diff = WorkflowDiff(sub, SpecDiff(_REGISTRY, sub.spec, new_spec)) if new_spec is not None else None
        out.append((sub, new_spec, diff, f"sub-process {sub.spec.name}"))
    return out


def migration_problems(runtime: CaseRuntime, target: Specs) -> list[str]:
    """Why this instance cannot move to ``target`` (empty: it can), one sentence per reason."""
    reasons: list[str] = []
    for workflow, _new_spec, diff, label in _workflows(runtime, target):
        if diff is None:
            if not workflow.is_completed():
                reasons.append(f"{label} is running but does not exist in the target version")
            continue
        for task in workflow.get_tasks(skip_subprocesses=True):
            if task.has_state(_PREDICTED):
                continue  # only a guess about the future; predicted again from the target
            new = diff.alignment.get(task)
            element = _element_id(task)
            if new is None:
                if task.has_state(_LIVE):
                    reasons.append(
                        f"it is at {element} ({_state_name(task)}), which the target version removes"
                    )
                elif task.has_state(TaskState.COMPLETED) and getattr(task.task_spec, "bpmn_id", None):
                    reasons.append(f"it has passed {element}, which the target version removes")
            elif task.has_state(_LIVE) and type(new) is not type(task.task_spec):
                reasons.append(
                    f"it is at {element} ({_state_name(task)}), a {type(task.task_spec).__name__} here "
                    f"but a {type(new).__name__} in the target version"
                )
    return list(dict.fromkeys(reasons))


def _move(workflow: Any, new_spec: Any, diff: WorkflowDiff) -> None:
    workflow.spec = new_spec
    for task in list(workflow.tasks.values()):
        if task.id not in workflow.tasks:
            continue  # dropped with a predicted parent below
        new = diff.alignment.get(task)
        if new is not None:
            task.task_spec = new
        elif task.has_state(_PREDICTED):
            workflow._remove_task(task.id)  # with its predicted children
    # Re-predict what lies ahead of each live task from the target; the task itself stays as it is.
    for task in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING, skip_subprocesses=True):
        task.task_spec._predict(task, mask=_PREDICTED | TaskState.FUTURE)


def migrate_runtime(
    runtime: CaseRuntime, target: Specs, now: datetime, seed: str
) -> tuple[CaseRuntime, StepOutcome]:
    """The instance moved onto ``target``, and what the engine then did on its own.

    Raises :class:`Conflict` naming the reasons when it cannot move (:func:`migration_problems`).
    ``now`` and ``seed`` are the ``case.migrated`` event's time and seed, as for any other step.
    """
    reasons = migration_problems(runtime, target)
    if reasons:
        raise Conflict("the case cannot move to the target version: " + "; ".join(reasons))
    with determinism.engine_context(now, seed):
        for workflow, new_spec, diff, _label in _workflows(runtime, target):
            if diff is not None:
                _move(workflow, new_spec, diff)
        runtime.workflow.subprocess_specs = target.subprocess_specs
        moved = CaseRuntime(target, runtime.workflow)
        outcome = moved._engine_steps(task=None)
    return moved, outcome
