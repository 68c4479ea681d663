"""One running case's SpiffWorkflow instance: start, restore, step, snapshot.

This module (with the rest of ``engine.bpmn``) is the only place that touches SpiffWorkflow objects.
Services hand it plain data and get plain data back. Every step runs inside
:func:`engine.bpmn.determinism.engine_context`, so ids and times come from the event being applied.

Snapshots reference their definition instead of embedding it: the stock serializer writes the whole
process spec into every saved instance (59 of 63 KiB for a fresh 121-node instance, RECIPES.md).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.specs.event_definitions import message as bpmn_message
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import determinism
from engine.bpmn.sandbox import SandboxScriptEngine
from engine.bpmn.spiff_config import _serializer_config
from engine.canonical import parse_time
from engine.errors import CadreflowError, Conflict, NotFound, ScriptError

# An unset level makes every state change build log extras (DESIGN.md §3).
logging.getLogger("spiff.task").setLevel(logging.WARNING)
logging.getLogger("spiff.workflow").setLevel(logging.WARNING)

# SpiffWorkflow fires a timer only strictly after its due time (``due < now``). When we fire a timer
# at the instant it fell due, SpiffWorkflow is shown that instant plus one microsecond.
TIMER_EPSILON = timedelta(microseconds=1)


class _SpecReferencingConverter(BpmnWorkflowConverter):
    """Serialise a workflow without its specs; restore it with specs handed in by the caller."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any], spec: Any = None, subprocess_specs: Any = None) -> BpmnWorkflow:
        # Already-built spec objects pass through the registry's restore unchanged.
        return super().from_dict({**dct, "spec": spec, "subprocess_specs": subprocess_specs or {}})


def _make_registry() -> Any:
    from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer

    config = _serializer_config()
    config[BpmnWorkflow] = _SpecReferencingConverter
    return BpmnWorkflowSerializer.configure(config)


_REGISTRY = _make_registry()
SCRIPT_ENGINE = SandboxScriptEngine()


@dataclass(frozen=True)
class Specs:
    """A parsed definition version: what the runtime needs to start or restore an instance."""

    definition_hash: str
    process_id: str
    spec: Any
    subprocess_specs: dict[str, Any]

    def __post_init__(self) -> None:
        connect_loop_children(self)  # once per parsed version, before any instance is restored on it


@dataclass(frozen=True)
class ReadyTask:
    """A ready human task as the engine sees it (no SpiffWorkflow objects)."""

    task_id: str
    element_id: str
    name: str
    lane: str | None
    data: dict[str, Any]
    properties: dict[str, str]
    instructions: str | None


@dataclass(frozen=True)
class WaitingTimer:
    task_id: str
    element_id: str
    due: datetime


@dataclass(frozen=True)
class ThrownMessage:
    """A message a step threw that nothing in the case itself caught: for other cases."""

    name: str
    payload: Any


@dataclass
class StepOutcome:
    """What the engine did on its own during one step, for the event log."""

    automatic: list[dict[str, Any]] = field(default_factory=list)


def _element_id(task: Any) -> str:
    return getattr(task.task_spec, "bpmn_id", None) or task.task_spec.name


class CaseRuntime:
    """A SpiffWorkflow instance of one case, driven one step at a time."""

    def __init__(self, specs: Specs, workflow: BpmnWorkflow) -> None:
        self.specs = specs
        self.workflow = workflow

    # -- life cycle -----------------------------------------------------------------------------
    @classmethod
    def start(
        cls,
        specs: Specs,
        now: datetime,
        seed: str,
        message: ThrownMessage | None = None,
        initial: dict[str, Any] | None = None,
    ) -> tuple[CaseRuntime, StepOutcome]:
        """A new instance; with ``message``, its message start event catches it in the same step;
        ``initial`` is the start's data (a new cycle's carried summary)."""
        with determinism.engine_context(now, seed):
            workflow = BpmnWorkflow(specs.spec, specs.subprocess_specs, script_engine=SCRIPT_ENGINE)
            if initial:
                for task in workflow.get_tasks(state=TaskState.READY):  # the "Start" task, before it runs
                    task.data.update(initial)
            runtime = cls(specs, workflow)
            outcome = runtime._engine_steps(task=None)
            if message is not None:
                workflow.catch(BpmnEvent(MessageEventDefinition(message.name), payload=message.payload))
                outcome.automatic += runtime._engine_steps(task=None).automatic
        return runtime, outcome

    @classmethod
    def restore(cls, specs: Specs, state: dict[str, Any]) -> CaseRuntime:
        workflow = _REGISTRY.restore(state, spec=specs.spec, subprocess_specs=specs.subprocess_specs)
        workflow.script_engine = SCRIPT_ENGINE
        return cls(specs, workflow)

    def snapshot(self) -> dict[str, Any]:
        """JSON-ready state of the instance, without its specs."""
        return _REGISTRY.convert(self.workflow)

    # -- reading --------------------------------------------------------------------------------
    @property
    def finished(self) -> bool:
        return self.workflow.is_completed()

    def case_data(self) -> dict[str, Any]:
        """The case's data as it stands now.

        Finished: the end data. Running: the data of the first task the case waits at (a ready human
        task, else a waiting event) — it has inherited everything done so far, including the
        pre-script that ran when it became ready; failing that, the last completed task's data.
        """
        if self.finished:
            last = self.workflow.last_task
            data = dict(self.workflow.data or (last.data if last is not None else {}))
            # SpiffWorkflow keeps declared data objects under this key; ours only declare the names that
            # multi-instance tasks reference, so they carry nothing of the case.
            data.pop("data_objects", None)
            return data
        for state in (TaskState.READY, TaskState.WAITING):
            waiting_at = self.workflow.get_next_task(state=state)
            if waiting_at is not None:
                return dict(waiting_at.data)
        last = self.workflow.last_task
        return dict(last.data) if last is not None else {}

    def ready_human_tasks(self) -> list[ReadyTask]:
        out = []
        for task in self.workflow.get_tasks(state=TaskState.READY, manual=True):
            spec = task.task_spec
            ext = getattr(spec, "extensions", {}) or {}
            out.append(
                ReadyTask(
                    task_id=str(task.id),
                    element_id=_element_id(task),
                    name=spec.bpmn_name or spec.name,
                    lane=spec.lane,
                    data=task.data,
                    properties=dict(ext.get("properties", {})),
                    instructions=ext.get("instructionsForEndUser"),
                )
            )
        return out

    def waiting_timers(self) -> list[WaitingTimer]:
        out = []
        for task in self.workflow.get_tasks(state=TaskState.WAITING):
            event_def = getattr(task.task_spec, "event_definition", None)
            if not isinstance(event_def, TimerEventDefinition):
                continue
            value = task._get_internal_data("event_value")
            if isinstance(value, str):
                out.append(WaitingTimer(str(task.id), _element_id(task), parse_time(value)))
        return out

    # -- steps ----------------------------------------------------------------------------------
    def complete(self, task_id: str, data: dict[str, Any], now: datetime, seed: str) -> StepOutcome:
        task = self._ready_task(task_id)
        with determinism.engine_context(now, seed):
            task.data.update(data)
            return self._engine_steps(task)

    def fire_timers(self, due: datetime, seed: str) -> StepOutcome:
        with determinism.engine_context(due + TIMER_EPSILON, seed):
            return self._engine_steps(task=None, refresh=True)

    def deliver_message(self, name: str, payload: dict[str, Any], now: datetime, seed: str) -> StepOutcome:
        with determinism.engine_context(now, seed):
            self.workflow.catch(BpmnEvent(MessageEventDefinition(name), payload=payload))
            return self._engine_steps(task=None)

    def thrown_messages(self) -> list[ThrownMessage]:
        """Messages thrown since the last call that no task of this case caught (taken, not peeked)."""
        return [
            ThrownMessage(event.event_definition.name, event.payload)
            for event in self.workflow.get_events()
            if isinstance(event.event_definition, bpmn_message.MessageEventDefinition)
        ]

    def waiting_event_elements(self) -> list[str]:
        """Element ids of the events the instance waits at (timers, message catches), in tree order."""
        return [
            _element_id(task)
            for task in self.workflow.get_tasks(state=TaskState.WAITING)
            if getattr(task.task_spec, "event_definition", None) is not None
        ]

    def waiting_message_names(self) -> set[str]:
        return {
            e.name for e in self.workflow.waiting_events() if e.event_type.endswith("MessageEventDefinition")
        }

    # -- internals ------------------------------------------------------------------------------
    def _ready_task(self, task_id: str) -> Any:
        try:
            task = self.workflow.get_task_from_id(UUID(task_id))
        except Exception as err:  # unknown id or malformed uuid
            raise NotFound(f"no task instance {task_id} in this case", task=task_id) from err
        if task is None:
            raise NotFound(f"no task instance {task_id} in this case", task=task_id)
        if not task.has_state(TaskState.READY):
            raise Conflict("this task is no longer ready: someone else completed it", task=task_id)
        return task

    def _engine_steps(self, task: Any | None, refresh: bool = False) -> StepOutcome:
        outcome = StepOutcome()

        def did_complete(done: Any) -> None:
            spec = done.task_spec
            if getattr(spec, "manual", False) or not getattr(spec, "bpmn_id", None):
                return
            outcome.automatic.append({"element_id": spec.bpmn_id, "kind": type(spec).__name__})

        try:
            if task is not None:
                task.run()
            if refresh:
                self.workflow.refresh_timers()
            self.workflow.do_engine_steps(did_complete_task=did_complete)
        except CadreflowError:
            raise
        except WorkflowTaskException as err:
            raise _script_error(err) from err
        except SpiffWorkflowException as err:
            raise ScriptError(
                f"the process could not continue: {err}", element_id=_spiff_element(err)
            ) from err
        except Exception as err:  # a library invariant broke; the step is rolled back, the case intact
            where = _element_id(task) if task is not None else None
            raise ScriptError(
                f"the process could not continue: {type(err).__name__}: {err}", element_id=where
            ) from err
        return outcome


def _spiff_element(err: Exception) -> str | None:
    task = getattr(err, "task", None)
    return _element_id(task) if task is not None else None


def _script_error(err: WorkflowTaskException) -> CadreflowError:
    """Unwrap our own typed errors that SpiffWorkflow wrapped (e.g. from a DMN cell or a merge)."""
    inner: BaseException | None = getattr(err, "exception", None)
    while inner is not None:
        if isinstance(inner, CadreflowError):
            if not inner.element_id:
                inner.element_id = _spiff_element(err)
            return inner
        inner = getattr(inner, "exception", None) or inner.__cause__
    notes = "; ".join(getattr(err, "notes", []) or [])
    message = str(err) + (f" ({notes})" if notes else "")
    return ScriptError(f"the process could not continue: {message}", element_id=_spiff_element(err))


def connect_loop_children(specs: Specs) -> None:
    """Let every loop and multi-instance activity hear its instances complete (idempotent; done when a
    :class:`Specs` is made).

    SpiffWorkflow connects an instance's ``completed_event`` to its parent's ``merge_child`` only when
    it creates an instance. A process that restores a case whose instances were created elsewhere
    (after a restart, in another worker, or on a version it migrated to) would otherwise see the
    instances complete and the activity never finish.
    """
    for process in [specs.spec, *specs.subprocess_specs.values()]:
        for task_spec in process.task_specs.values():
            if not isinstance(task_spec, LoopTask):
                continue
            child = process.task_specs.get(task_spec.task_spec)
            if child is not None and not child.completed_event.is_connected(task_spec.merge_child):
                child.completed_event.connect(task_spec.merge_child)


def start_messages(specs: Specs) -> set[str]:
    """Names of the messages that start an instance of this definition (message start events)."""
    names = set()
    for task_spec in specs.spec.start.outputs:
        definition = getattr(task_spec, "event_definition", None)
        if isinstance(definition, bpmn_message.MessageEventDefinition):
            names.add(definition.name)
    return names
