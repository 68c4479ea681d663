"""The file under validation, the problem collector, and how a problem is located.

Every check reports ``file:line: element-id: message``; this module holds what they share to do that:
:class:`Doc` (one BPMN or DMN file and its elements by id), :class:`Problems` (the ordered,
de-duplicated list of :class:`~engine.errors.DefinitionError`), the line and the element id a
designer knows an element by, and the namespaces and tag names the checks look elements up with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.dmn.parser.BpmnDmnParser import SCHEMAS as DMN_SCHEMAS

from engine.errors import DefinitionError

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}
_PREFIXES = {
    BPMN_NS: "bpmn:",
    SPIFF_NS: "spiffworkflow:",
    "http://www.omg.org/spec/BPMN/20100524/DI": "bpmndi:",
    "http://www.omg.org/spec/DD/20100524/DC": "dc:",
    "http://www.omg.org/spec/DD/20100524/DI": "di:",
    **{ns: "dmn:" for ns in DMN_SCHEMAS},
}


@dataclass
class Doc:
    """One BPMN or DMN file as it goes through the checks."""

    display: str  # the path shown in errors (as the caller gave it)
    key: str  # the bundle path ('processes/<name>/<file>')
    kind: str  # 'bpmn' or 'dmn'
    data: bytes
    root: Any = None  # lxml root element once parsed safely
    schema_ok: bool = False
    ids: dict[str, Any] = field(default_factory=dict)

    def index(self) -> None:
        for el in self.root.iter():
            if not isinstance(el.tag, str):
                continue
            el_id = el.get("id")
            if el_id is not None and el_id not in self.ids:
                self.ids[el_id] = el


class Problems:
    """Collects problems, dropping exact duplicates (several passes can see the same fault)."""

    def __init__(self) -> None:
        self.items: list[DefinitionError] = []
        self._seen: set[tuple[str, int | None, str | None, str]] = set()

    def add(
        self, file: str, line: int | None, element_id: str | None, message: str, rule: str | None = None
    ) -> None:
        key = (file, line, element_id, message)
        if key in self._seen:
            return
        self._seen.add(key)
        self.items.append(
            DefinitionError(message=message, file=file, line=line, element_id=element_id, rule=rule)
        )

    def at(self, doc: Doc, el: Any, message: str, line: int | None = None, rule: str | None = None) -> None:
        """Report at an element: its line (unless a finer one is given) and its owning element id;
        ``rule`` names the lint rule (:mod:`engine.bpmn.validation.rules`) when one found it."""
        self.add(doc.display, line if line is not None else line_of(el), owner_id(el), message, rule)

    def __len__(self) -> int:
        return len(self.items)


def line_of(el: Any) -> int | None:
    line = getattr(el, "sourceline", None)
    return line if isinstance(line, int) else None


def owner_id(el: Any) -> str | None:
    """The id a designer knows the element by: the nearest flow element / DMN entry at or above it.

    Event definitions and expressions may carry generated ids of their own (``TimerEventDefinition_1x``);
    the event or task that holds them is what the designer looks for in the modeler.
    """
    node = el
    while node is not None:
        parent = node.getparent()
        if isinstance(node.tag, str) and node.get("id") is not None:
            local = etree.QName(node).localname
            if not local.endswith("EventDefinition") and local not in ("conditionExpression", "script"):
                return str(node.get("id"))
        if parent is None:
            break
        node = parent
    return None


def short(text: str) -> str:
    """Replace ``{namespace}`` in library messages by the usual prefixes."""

    def repl(m: re.Match[str]) -> str:
        return _PREFIXES.get(m.group(1), m.group(0))

    return re.sub(r"\{([^}]+)\}", repl, text)


def lname(el: Any) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def bpmn_tag(tag: str) -> str:
    return f"{{{BPMN_NS}}}{tag}"


def spiff_tag(tag: str) -> str:
    return f"{{{SPIFF_NS}}}{tag}"
