"""How cadreflow configures SpiffWorkflow 3.2.0: parser classes and the serializer registry.

Two deliberate departures from the stock spiff configuration, both small subclasses (the library
itself is used unmodified):

* **Multi-instance data items are named by their ``name``.** SpiffWorkflow stores an
  ``inputDataItem``/``outputDataItem`` under its XML ``id``; ids must be unique in a file, so two
  multi-instance tasks could never both hand their instances a variable called ``unit``. We use the
  item's ``name`` as the variable when it is given (``<bpmn:inputDataItem id="x_item" name="unit"/>``).
* **A COLLECT decision with no matching row yields empty lists**, as the DMN standard says, instead
  of setting nothing. A decision that finds no failed condition must still produce ``failed: []``.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.data_spec import BpmnDataSpecification
from SpiffWorkflow.dmn.specs.model import HitPolicy
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import BusinessRuleTaskParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.specs.defaults import BusinessRuleTask
from SpiffWorkflow.util.deep_merge import DeepMerge


class _NamedDataItems:
    """Parser mixin: a data item's ``name`` (when present) is its task-data variable."""

    def create_data_spec(self, item: Any, cls: type[BpmnDataSpecification]) -> BpmnDataSpecification:
        return cls(item.attrib.get("name") or item.attrib.get("id"), item.attrib.get("name"))


class CollectingBusinessRuleTask(BusinessRuleTask):
    """Business rule task whose COLLECT decisions always set every output (possibly ``[]``)."""

    def _run_hook(self, my_task: Any) -> bool:
        table = self.dmnEngine.decision_table
        if table.hit_policy == HitPolicy.COLLECT.value:
            empty: dict[str, list[Any]] = {out.name: [] for out in table.outputs if out.name}
            my_task.data = DeepMerge.merge(my_task.data, empty)
        return super()._run_hook(my_task)


class _CollectingBusinessRuleTaskParser(_NamedDataItems, BusinessRuleTaskParser):
    """Spiff's business-rule parser names its task class in code; this one builds ours."""

    def create_task(self) -> CollectingBusinessRuleTask:
        extensions = self.parse_extensions()
        return CollectingBusinessRuleTask(
            self.spec,
            self.bpmn_id,
            dmnEngine=self.process_parser.parser.get_engine(self.get_decision_ref(self.node), self.node),
            prescript=extensions.get("preScript"),
            postscript=extensions.get("postScript"),
            **self.bpmn_attributes,
        )


def _overrides() -> dict[str, tuple[type, type]]:
    overrides: dict[str, tuple[type, type]] = {}
    # SpiffBpmnParser keeps its own task classes in OVERRIDE_PARSER_CLASSES, over the plain BPMN ones.
    classes = {**SpiffBpmnParser.PARSER_CLASSES, **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES}
    for tag, (parser_cls, spec_cls) in classes.items():
        if isinstance(parser_cls, type) and issubclass(parser_cls, TaskParser):
            if spec_cls is BusinessRuleTask:
                overrides[tag] = (_CollectingBusinessRuleTaskParser, CollectingBusinessRuleTask)
                continue
            named = type(f"Cadreflow{parser_cls.__name__}", (_NamedDataItems, parser_cls), {})
            overrides[tag] = (named, spec_cls)
    return overrides


class CadreflowParser(SpiffBpmnParser):
    """The one BPMN/DMN parser of cadreflow (spiff extensions + the departures above)."""

    OVERRIDE_PARSER_CLASSES = _overrides()


def _serializer_config() -> dict[type, type]:
    config = dict(SPIFF_CONFIG)
    config[CollectingBusinessRuleTask] = config[BusinessRuleTask]
    return config


def make_serializer() -> BpmnWorkflowSerializer:
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(_serializer_config()))
