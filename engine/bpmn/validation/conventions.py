"""Stage 4 of validation: cadreflow's own rules for user tasks, and what the engine keeps about them.

SpiffWorkflow accepts any user task; cadreflow needs each one in a lane named after a role, with a
form (``formJsonSchemaFilename``, a file in ``forms/``), an optional ISO-8601 ``dueIn`` and a
``unitKey`` naming the task-data key of the unit it concerns, all written as ``spiffworkflow:property``
elements. A user task that passes becomes a :class:`UserTaskInfo`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from engine.bpmn.validation.expressions import valid_duration
from engine.bpmn.validation.forms import FormCache, load_form
from engine.bpmn.validation.problems import BPMN_NS, NS, Doc, Problems, bpmn_tag, line_of, spiff_tag
from engine.bpmn.validation.references import CONTAINER_TAGS
from engine.bpmn.validation.rules import FORM_EXISTS, LANE_ROLE

FORM_PROPERTY = "formJsonSchemaFilename"
DUE_PROPERTY = "dueIn"
UNIT_PROPERTY = "unitKey"
DEFAULT_UNIT_KEY = "unit"
FORM_SUFFIXES = (".yaml", ".yml", ".json")

# Sub-processes whose lane their tasks inherit (see _lane_of).
_EMBEDDED_TAGS = CONTAINER_TAGS - {f"{{{BPMN_NS}}}process"}

_IDENTIFIER_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class UserTaskInfo:
    """What the engine needs about a user task without re-reading the BPMN."""

    element_id: str
    name: str
    lane: str | None
    form_key: str | None
    due_in: str | None
    unit_key: str
    instructions: str | None
    properties: dict[str, str]
    file: str  # bundle path, e.g. 'processes/reserve_selection/reserve_selection.bpmn'
    line: int | None


def read_properties(el: Any, doc: Doc, problems: Problems) -> tuple[dict[str, str], dict[str, Any]]:
    """The ``spiffworkflow:properties`` of an element, with the element of each (for lines)."""
    values: dict[str, str] = {}
    elements: dict[str, Any] = {}
    for prop in el.iterfind("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS):
        name, value = prop.get("name"), prop.get("value")
        if name is None or value is None:
            continue  # reported for every element by check_property_shapes
        if name in values:
            problems.at(doc, prop, f"property {name} is given twice")
        values[name] = value
        elements[name] = prop
    return values, elements


def check_property_shapes(doc: Doc, problems: Problems) -> None:
    # SpiffWorkflow reads attrib['name'] and attrib['value'] and fails with a bare KeyError otherwise.
    for prop in doc.root.iter(spiff_tag("property")):
        if prop.get("name") is None or prop.get("value") is None:
            problems.at(doc, prop, "spiffworkflow:property needs both a name and a value attribute")


def _lanes_by_node(root: Any) -> dict[str, str | None]:
    # As SpiffWorkflow indexes them: flowNodeRef text (not stripped) -> name of the enclosing lane.
    lanes: dict[str, str | None] = {}
    for ref in root.iter(bpmn_tag("flowNodeRef")):
        if ref.text is not None:
            lanes[ref.text] = ref.getparent().get("name")
    return lanes


def _lane_of(el: Any, lanes: dict[str, str | None]) -> str | None:
    """The lane SpiffWorkflow gives a task: an embedded sub-process's lane wins over the task's own."""
    parent = el.getparent()
    if parent is not None and parent.tag in _EMBEDDED_TAGS:
        outer = _lane_of(parent, lanes)
        if outer is not None:
            return outer
    return lanes.get(el.get("id"))


def _form_key_problem(key: str) -> str | None:
    if not key or "/" in key or "\\" in key or "\x00" in key or key.startswith("."):
        return f"{FORM_PROPERTY} {key!r} must be a plain file name in forms/, not a path"
    if not key.endswith(FORM_SUFFIXES):
        return f"{FORM_PROPERTY} {key!r} must end with one of {', '.join(FORM_SUFFIXES)}"
    return None


def check_user_tasks(
    doc: Doc,
    roles: frozenset[str],
    forms: FormCache,
    problems: Problems,
    tasks: dict[str, UserTaskInfo],
    seen: dict[str, tuple[Doc, Any]],
) -> None:
    """Check the user tasks of a BPMN file and add them to ``tasks`` (``seen`` spans the folder)."""
    lanes = _lanes_by_node(doc.root)
    role_list = ", ".join(sorted(roles))
    for task in doc.root.iter(bpmn_tag("userTask")):
        tid = str(task.get("id") or "")
        if tid in seen:
            other_doc, other = seen[tid]
            problems.at(
                doc,
                task,
                f"user task id {tid} is also used at {other_doc.display}:{line_of(other) or ''}; "
                "user task ids must be unique in a process folder",
            )
        else:
            seen[tid] = (doc, task)
        props, prop_els = read_properties(task, doc, problems)

        lane = _lane_of(task, lanes)
        if lane is None:
            problems.at(
                doc,
                task,
                f"user task is not in a lane; put it in a lane named after a role ({role_list})",
                rule=LANE_ROLE,
            )
        elif lane not in roles:
            problems.at(
                doc,
                task,
                f"user task is in lane '{lane}', which is not a role that may own tasks ({role_list})",
                rule=LANE_ROLE,
            )

        form_key = props.get(FORM_PROPERTY)
        if form_key is None:
            problems.at(
                doc,
                task,
                f"user task has no {FORM_PROPERTY} property (every user task needs a "
                "form: a JSON Schema in YAML under forms/)",
                rule=FORM_EXISTS,
            )
        else:
            key_problem = _form_key_problem(form_key)
            if key_problem:
                problems.at(doc, prop_els[FORM_PROPERTY], key_problem, rule=FORM_EXISTS)
            elif form_key not in forms.loaded:
                path = forms.forms_dir / form_key
                if not path.is_file():
                    problems.at(
                        doc,
                        prop_els[FORM_PROPERTY],
                        f"form file '{form_key}' not found in {forms.forms_dir}",
                        rule=FORM_EXISTS,
                    )
                    forms.loaded[form_key] = (None, None)
                else:
                    forms.loaded[form_key] = load_form(path, str(path), problems)
            elif forms.loaded[form_key][1] is None:
                problems.at(
                    doc,
                    prop_els[FORM_PROPERTY],
                    f"form file '{form_key}' not found in {forms.forms_dir}",
                    rule=FORM_EXISTS,
                )

        due_in = props.get(DUE_PROPERTY)
        if due_in is not None and not valid_duration(due_in):
            problems.at(
                doc,
                prop_els[DUE_PROPERTY],
                f"dueIn {due_in!r} is not an ISO-8601 duration (e.g. P7D, PT48H, P1M)",
            )
        unit_key = props.get(UNIT_PROPERTY, DEFAULT_UNIT_KEY)
        if not _IDENTIFIER_RE.fullmatch(unit_key):
            problems.at(
                doc,
                prop_els.get(UNIT_PROPERTY, task),
                f"unitKey {unit_key!r} must be a task-data key (letters, digits, underscore)",
            )

        instructions_el = task.find("bpmn:extensionElements/spiffworkflow:instructionsForEndUser", NS)
        tasks.setdefault(
            tid,
            UserTaskInfo(
                element_id=tid,
                name=task.get("name") or tid,
                lane=lane,
                form_key=form_key,
                due_in=due_in,
                unit_key=unit_key,
                instructions=instructions_el.text if instructions_el is not None else None,
                properties=dict(props),
                file=doc.key,
                line=line_of(task),
            ),
        )
