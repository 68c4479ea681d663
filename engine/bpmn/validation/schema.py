"""Stage 2 of validation: the XSD, BPMN 2.0 (with SpiffWorkflow's extension schema) or DMN.

Every error in lxml's log is reported and located (SpiffWorkflow's own validator keeps only the last
one). The compiled schemas are cached, and since lxml keeps the error log on the shared schema object,
validations take :data:`SCHEMA_LOCK` one at a time (SpiffWorkflow's parse reuses the BPMN validator).
"""

from __future__ import annotations

import threading
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.dmn.parser.BpmnDmnParser import SCHEMAS as DMN_SCHEMAS
from SpiffWorkflow.spiff.parser.process import SPIFF_XSD

from engine.bpmn.validation.problems import Doc, Problems, bpmn_tag, line_of, short

MAX_XSD_ERRORS = 50  # past this the file is not a diagram with mistakes; locating each costs a tree walk

# lxml's XMLSchema keeps its error log on the (shared) schema object: one validation at a time.
SCHEMA_LOCK = threading.Lock()
_validators: dict[str, BpmnValidator] = {}


def _validator(kind: str, namespace: str | None = None) -> BpmnValidator:
    key = "bpmn" if kind == "bpmn" else f"dmn:{namespace}"
    with SCHEMA_LOCK:
        if key not in _validators:
            if kind == "bpmn":
                _validators[key] = BpmnValidator(imports={"spiffworkflow": SPIFF_XSD})
            else:
                _validators[key] = BpmnValidator(DMN_SCHEMAS[str(namespace)])
        return _validators[key]


def _dmn_namespace(root: Any) -> str | None:
    namespace = etree.QName(root).namespace
    return namespace if namespace in DMN_SCHEMAS else None


def _element_for_error(doc: Doc, path: str | None, line: int | None) -> Any:
    """Find the element an XSD error is about: by its XPath if lxml gave one, else by line."""
    if path:
        nsmap = {}
        for el in doc.root.iter():
            if isinstance(el.tag, str):
                nsmap.update({k: v for k, v in el.nsmap.items() if k})
        try:
            found = doc.root.getroottree().xpath(path, namespaces=nsmap)
            if found and isinstance(found, list) and hasattr(found[0], "tag"):
                return found[0]
        except (etree.LxmlError, ValueError):
            found = None  # an XPath lxml cannot evaluate (default namespace): fall back to the line
    if line is None:
        return None
    best = None
    for el in doc.root.iter():
        if isinstance(el.tag, str) and el.get("id") is not None and (el.sourceline or 0) <= line:
            best = el
    return best


def _nearest_id(el: Any) -> str | None:
    node = el
    while node is not None:
        if isinstance(node.tag, str) and node.get("id") is not None:
            return str(node.get("id"))
        node = node.getparent()
    return None


def check_schema(doc: Doc, problems: Problems) -> None:
    """Validate a parsed file against the schema of its kind and namespace; set ``doc.schema_ok``."""
    if doc.kind == "bpmn":
        if doc.root.tag != bpmn_tag("definitions"):
            problems.add(
                doc.display,
                line_of(doc.root),
                None,
                f"root element is {short(doc.root.tag)}, expected bpmn:definitions",
            )
            return
        validator = _validator("bpmn")
    else:
        namespace = _dmn_namespace(doc.root)
        if namespace is None or etree.QName(doc.root).localname != "definitions":
            problems.add(
                doc.display,
                line_of(doc.root),
                None,
                f"root element is {doc.root.tag}; expected definitions in one of the DMN "
                f"namespaces {', '.join(sorted(DMN_SCHEMAS))}",
            )
            return
        if doc.root.nsmap.get(None) != namespace and doc.root.nsmap.get("dmn") != namespace:
            # SpiffWorkflow's DMN parser looks elements up with the prefix 'dmn' (or the default ns).
            problems.add(
                doc.display,
                line_of(doc.root),
                None,
                "the DMN namespace must be the default namespace or use the prefix 'dmn'",
            )
            return
        validator = _validator("dmn", namespace)
    before = len(problems)
    with SCHEMA_LOCK:
        # The same preprocessing SpiffWorkflow's validator applies (bpmn-js correlation quirk).
        validator.preprocess(doc.root)
        ok = validator.validator.validate(doc.root.getroottree())
        entries = list(validator.validator.error_log)
    if not ok:
        for entry in entries[:MAX_XSD_ERRORS]:
            line = entry.line if isinstance(entry.line, int) and entry.line > 0 else None
            el = _element_for_error(doc, getattr(entry, "path", None), line)
            element_id = _nearest_id(el) if el is not None else None
            problems.add(doc.display, line, element_id, f"XSD: {short(entry.message)}")
        if len(entries) > MAX_XSD_ERRORS:
            problems.add(
                doc.display, None, None, f"XSD: {len(entries) - MAX_XSD_ERRORS} more schema errors not listed"
            )
        if len(problems) == before:
            problems.add(doc.display, None, None, "XSD: document is not valid")
    doc.schema_ok = ok


def built_bpmn_validator() -> BpmnValidator | None:
    """The BPMN validator if a schema check built it, for SpiffWorkflow's parse to validate with too."""
    with SCHEMA_LOCK:
        return _validators.get("bpmn")
