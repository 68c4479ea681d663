"""Load and validate a cadreflow process folder (BPMN, DMN and the JSON Schema forms it names).

A process folder ``processes/<name>/`` holds ``.bpmn`` and ``.dmn`` files; user tasks name their form
in ``forms/``. :func:`load_process_folder` checks everything a designer can get wrong and reports
*every* problem at once, each located as ``file:line: element-id: message``, because a designer fixing
one error per run would give up. Checks run per file in this order, later ones only where earlier
ones leave something to look at:

1. safe XML: no entities, no DTD, no network, no huge trees; any DOCTYPE is refused before lxml reads
   the document (XML external entities and entity-expansion bombs never get a chance);
2. XSD: BPMN 2.0 (with SpiffWorkflow's extension schema) or the DMN schema of the file's namespace;
   every error in the log is reported, not only the last one as SpiffWorkflow's validator does;
3. references and SpiffWorkflow's own semantic parse (its exceptions carry an element id but no line:
   the line is looked up from the id);
4. cadreflow's rules: lanes named after roles, forms present and valid, ``dueIn`` durations, every
   script and expression compiles in the sandbox, timer durations quoted, one top executable process.

:func:`parse_specs` rebuilds SpiffWorkflow specs from stored file contents (no file system) at run time.
Nothing raised by lxml or SpiffWorkflow escapes this module: it becomes a :class:`DefinitionError`.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import yaml
from jsonschema import Draft202012Validator
from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.dmn.parser.BpmnDmnParser import SCHEMAS as DMN_SCHEMAS
from SpiffWorkflow.spiff.parser.process import SPIFF_XSD

from engine.bpmn.safe_xml import safe_parser
from engine.bpmn.spiff_config import CadreflowParser
from engine.canonical import content_hash as canonical_content_hash
from engine.errors import DefinitionError, DefinitionErrors
from engine.roles import LANE_ROLES

__all__ = [
    "ProcessBundle",
    "UserTaskInfo",
    "bundle_hash",
    "load_process_folder",
    "parse_specs",
    "validate_paths",
]

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

MAX_FILE_BYTES = 5 * 1024 * 1024  # a BPMN file of this size is a mistake or an attack, not a diagram
MAX_XSD_ERRORS = 50  # past this the file is not a diagram with mistakes; locating each costs a tree walk
MAX_FORM_NODES = 100_000  # YAML aliases can make a tiny file expand into a huge tree

ENTITY_MESSAGE = "DOCTYPE with entity declarations is not allowed (XML external entity / entity expansion)"
DOCTYPE_MESSAGE = "DOCTYPE is not allowed in BPMN/DMN files"

FORM_PROPERTY = "formJsonSchemaFilename"
DUE_PROPERTY = "dueIn"
UNIT_PROPERTY = "unitKey"
DEFAULT_UNIT_KEY = "unit"
FORM_SUFFIXES = (".yaml", ".yml", ".json")
SUPPORTED_HIT_POLICIES = ("UNIQUE", "FIRST", "ANY", "COLLECT")

# Containers whose direct children are flow elements (sequence flows connect siblings only).
_CONTAINER_TAGS = {f"{{{BPMN_NS}}}{t}" for t in ("process", "subProcess", "transaction", "adHocSubProcess")}
_EMBEDDED_TAGS = _CONTAINER_TAGS - {f"{{{BPMN_NS}}}process"}
_GATEWAYS_WITH_CONDITIONS = {f"{{{BPMN_NS}}}{t}" for t in ("exclusiveGateway", "inclusiveGateway")}

_DURATION_RE = re.compile(
    r"P(?=\d|T\d)(?:\d+Y)?(?:\d+M)?(?:\d+W)?(?:\d+D)?(?:T(?=\d)(?:\d+H)?(?:\d+M)?(?:\d+(?:[.,]\d+)?S)?)?"
)
_DATETIME_RE = r"\d{4}-?\d{2}-?\d{2}(?:T[\d:.,]+(?:Z|[+-]\d{2}:?\d{2})?)?"
_ISO_PART = rf"(?:{_DURATION_RE.pattern}|{_DATETIME_RE})"
# A timer text that is an ISO-8601 value rather than a Python expression (e.g. P7D, R3/PT1H).
_BARE_TIMER_RE = re.compile(rf"(?:R\d*/)?{_ISO_PART}(?:/{_ISO_PART})?")
_LINE_IN_MESSAGE_RE = re.compile(r"\bline (\d+)", re.IGNORECASE)
_LXML_POSITION_RE = re.compile(r",? line \d+, column \d+$")
_IDENTIFIER_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# lxml's XMLSchema keeps its error log on the (shared) schema object: one validation at a time.
_SCHEMA_LOCK = threading.Lock()
_validators: dict[str, BpmnValidator] = {}


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


@dataclass(frozen=True)
class ProcessBundle:
    """A validated process folder: its raw files (what gets stored and hashed) plus derived metadata."""

    process_id: str
    files: dict[str, bytes]
    content_hash: str
    user_tasks: dict[str, UserTaskInfo]
    forms: dict[str, dict[str, Any]]
    process_properties: dict[str, str]


# --------------------------------------------------------------------------------------------------
# Internal bookkeeping


@dataclass
class _Doc:
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


class _Problems:
    """Collects problems, dropping exact duplicates (several passes can see the same fault)."""

    def __init__(self) -> None:
        self.items: list[DefinitionError] = []
        self._seen: set[tuple[str, int | None, str | None, str]] = set()

    def add(self, file: str, line: int | None, element_id: str | None, message: str) -> None:
        key = (file, line, element_id, message)
        if key in self._seen:
            return
        self._seen.add(key)
        self.items.append(DefinitionError(message=message, file=file, line=line, element_id=element_id))

    def at(self, doc: _Doc, el: Any, message: str, line: int | None = None) -> None:
        """Report at an element: its line (unless a finer one is given) and its owning element id."""
        self.add(doc.display, line if line is not None else _line(el), _owner_id(el), message)

    def __len__(self) -> int:
        return len(self.items)


def _line(el: Any) -> int | None:
    line = getattr(el, "sourceline", None)
    return line if isinstance(line, int) else None


def _owner_id(el: Any) -> str | None:
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


def _short(text: str) -> str:
    """Replace ``{namespace}`` in library messages by the usual prefixes."""

    def repl(m: re.Match[str]) -> str:
        return _PREFIXES.get(m.group(1), m.group(0))

    return re.sub(r"\{([^}]+)\}", repl, text)


def _lname(el: Any) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _bpmn(tag: str) -> str:
    return f"{{{BPMN_NS}}}{tag}"


def _spiff(tag: str) -> str:
    return f"{{{SPIFF_NS}}}{tag}"


# --------------------------------------------------------------------------------------------------
# Stage 1: safe XML


def _doctype_in_prolog(data: bytes) -> tuple[int, bool] | None:
    """Find a DOCTYPE before the root element without handing the bytes to an XML parser.

    Returns ``(line, declares_entities)``. Scanning the prolog (declaration, PIs, comments) rather
    than the whole file means a script that merely mentions ``<!DOCTYPE`` is not refused.
    """
    text = data
    if text.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = text.decode("utf-16", errors="replace").encode("utf-8")
    if text.startswith(b"\xef\xbb\xbf"):
        text = text[3:]
    pos, size = 0, len(text)
    while pos < size:
        while pos < size and text[pos : pos + 1] in (b" ", b"\t", b"\r", b"\n"):
            pos += 1
        if text.startswith(b"<?", pos):
            end = text.find(b"?>", pos)
            if end < 0:
                return None
            pos = end + 2
        elif text.startswith(b"<!--", pos):
            end = text.find(b"-->", pos)
            if end < 0:
                return None
            pos = end + 3
        elif text[pos : pos + 9].upper() == b"<!DOCTYPE":
            line = text.count(b"\n", 0, pos) + 1
            return line, b"<!ENTITY" in text[pos:]
        else:
            return None
    return None


def _parse_xml(data: bytes, display: str, problems: _Problems) -> Any:
    """Parse without entities, DTDs or network; report a DOCTYPE or a syntax error with its line."""
    found = _doctype_in_prolog(data)
    if found is not None:
        doctype_line, entities = found
        problems.add(display, doctype_line, None, ENTITY_MESSAGE if entities else DOCTYPE_MESSAGE)
        return None
    try:
        root = etree.fromstring(data, safe_parser(remove_blank_text=False))
    except etree.XMLSyntaxError as exc:
        message = _LXML_POSITION_RE.sub("", exc.msg or str(exc)) or "malformed XML"
        line = exc.lineno if isinstance(exc.lineno, int) and exc.lineno > 0 else None
        problems.add(display, line, None, f"malformed XML: {message}")
        return None
    except (etree.LxmlError, ValueError) as exc:  # e.g. an unsupported encoding declaration
        problems.add(display, None, None, f"cannot read XML: {type(exc).__name__}: {exc}")
        return None
    # Defence in depth for encodings the prolog scan cannot read (UTF-16 without BOM and the like).
    docinfo = root.getroottree().docinfo
    dtd = docinfo.internalDTD
    if dtd is not None or docinfo.doctype:
        has_entities = dtd is not None and any(True for _ in dtd.iterentities())
        problems.add(display, 1, None, ENTITY_MESSAGE if has_entities else DOCTYPE_MESSAGE)
        return None
    if not isinstance(root.tag, str):
        problems.add(display, _line(root), None, "document has no root element")
        return None
    return root


# --------------------------------------------------------------------------------------------------
# Stage 2: XSD


def _validator(kind: str, namespace: str | None = None) -> BpmnValidator:
    key = "bpmn" if kind == "bpmn" else f"dmn:{namespace}"
    with _SCHEMA_LOCK:
        if key not in _validators:
            if kind == "bpmn":
                _validators[key] = BpmnValidator(imports={"spiffworkflow": SPIFF_XSD})
            else:
                _validators[key] = BpmnValidator(DMN_SCHEMAS[str(namespace)])
        return _validators[key]


def _dmn_namespace(root: Any) -> str | None:
    namespace = etree.QName(root).namespace
    return namespace if namespace in DMN_SCHEMAS else None


def _element_for_error(doc: _Doc, path: str | None, line: int | None) -> Any:
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


def _check_schema(doc: _Doc, problems: _Problems) -> None:
    if doc.kind == "bpmn":
        if doc.root.tag != _bpmn("definitions"):
            problems.add(
                doc.display,
                _line(doc.root),
                None,
                f"root element is {_short(doc.root.tag)}, expected bpmn:definitions",
            )
            return
        validator = _validator("bpmn")
    else:
        namespace = _dmn_namespace(doc.root)
        if namespace is None or etree.QName(doc.root).localname != "definitions":
            problems.add(
                doc.display,
                _line(doc.root),
                None,
                f"root element is {doc.root.tag}; expected definitions in one of the DMN "
                f"namespaces {', '.join(sorted(DMN_SCHEMAS))}",
            )
            return
        if doc.root.nsmap.get(None) != namespace and doc.root.nsmap.get("dmn") != namespace:
            # SpiffWorkflow's DMN parser looks elements up with the prefix 'dmn' (or the default ns).
            problems.add(
                doc.display,
                _line(doc.root),
                None,
                "the DMN namespace must be the default namespace or use the prefix 'dmn'",
            )
            return
        validator = _validator("dmn", namespace)
    before = len(problems)
    with _SCHEMA_LOCK:
        # The same preprocessing SpiffWorkflow's validator applies (bpmn-js correlation quirk).
        validator.preprocess(doc.root)
        ok = validator.validator.validate(doc.root.getroottree())
        entries = list(validator.validator.error_log)
    if not ok:
        for entry in entries[:MAX_XSD_ERRORS]:
            line = entry.line if isinstance(entry.line, int) and entry.line > 0 else None
            el = _element_for_error(doc, getattr(entry, "path", None), line)
            element_id = _nearest_id(el) if el is not None else None
            problems.add(doc.display, line, element_id, f"XSD: {_short(entry.message)}")
        if len(entries) > MAX_XSD_ERRORS:
            problems.add(
                doc.display, None, None, f"XSD: {len(entries) - MAX_XSD_ERRORS} more schema errors not listed"
            )
        if len(problems) == before:
            problems.add(doc.display, None, None, "XSD: document is not valid")
    doc.schema_ok = ok


# --------------------------------------------------------------------------------------------------
# Stage 3: references and SpiffWorkflow's semantic parse


def _processes(docs: Iterable[_Doc]) -> Iterator[tuple[_Doc, Any]]:
    for doc in docs:
        if doc.kind == "bpmn" and doc.root is not None:
            for proc in doc.root.iterfind("bpmn:process", NS):
                yield doc, proc


def _is_executable(proc: Any) -> bool:
    # SpiffWorkflow's rule: a process without isExecutable counts as executable.
    return proc.get("isExecutable", "true") == "true"


def _top_candidates(docs: list[_Doc]) -> list[tuple[_Doc, Any]]:
    """Executable processes that no call activity calls: the folder must have exactly one."""
    called = {
        ca.get("calledElement")
        for doc in docs
        if doc.kind == "bpmn" and doc.root is not None
        for ca in doc.root.iter(_bpmn("callActivity"))
    }
    return [
        (doc, proc) for doc, proc in _processes(docs) if _is_executable(proc) and proc.get("id") not in called
    ]


def _decisions(docs: Iterable[_Doc]) -> Iterator[tuple[_Doc, Any]]:
    for doc in docs:
        if doc.kind == "dmn" and doc.root is not None:
            for el in doc.root:
                if isinstance(el.tag, str) and _lname(el) == "decision":
                    yield doc, el


def _check_references(docs: list[_Doc], problems: _Problems, whole_folder: bool) -> None:
    """References SpiffWorkflow resolves badly or not at all, checked with clear messages.

    A sequence flow to a missing element makes SpiffWorkflow say "perhaps a form has the same ID?"
    about the *source* task; a boundary event attached to nothing is silently dropped; a missing
    decision is only noticed when its task is reached in the parse, without a file name.
    """
    process_ids = sorted(str(proc.get("id")) for _, proc in _processes(docs))
    decision_ids: dict[str, tuple[_Doc, Any]] = {}
    for doc, decision in _decisions(docs):
        did = str(decision.get("id"))
        if did in decision_ids:
            other_doc, other = decision_ids[did]
            problems.at(
                doc,
                decision,
                f"decision id {did} is also defined in {other_doc.display}:"
                f"{_line(other) or ''}; decision ids must be unique in a folder",
            )
        else:
            decision_ids[did] = (doc, decision)

    for doc in docs:
        if doc.kind != "bpmn" or doc.root is None:
            continue
        for container in doc.root.iter(*_CONTAINER_TAGS):
            kind = _lname(container)
            cid = container.get("id")
            members = {c.get("id"): c for c in container if isinstance(c.tag, str) and c.get("id")}
            for child in container:
                if not isinstance(child.tag, str):
                    continue
                if child.tag == _bpmn("sequenceFlow"):
                    fid = child.get("id")
                    for attr, verb in (("sourceRef", "starts at"), ("targetRef", "targets")):
                        ref = child.get(attr)
                        if ref is None or ref in members:
                            continue
                        where = doc.ids.get(ref)
                        hint = (
                            f" (it is inside {_lname(where.getparent())} {where.getparent().get('id')})"
                            if where is not None and where.getparent() is not None
                            else ""
                        )
                        problems.add(
                            doc.display,
                            _line(child),
                            fid,
                            f"sequence flow {fid} {verb} '{ref}', which is not an element of "
                            f"{kind} {cid}{hint}",
                        )
                elif child.tag == _bpmn("boundaryEvent"):
                    ref = child.get("attachedToRef")
                    if ref is not None and ref not in members:
                        problems.at(
                            doc,
                            child,
                            f"boundary event is attached to '{ref}', which is not an "
                            f"activity of {kind} {cid}",
                        )
        if not whole_folder:
            continue  # a file that did not parse may hold the process or decision referred to
        for ca in doc.root.iter(_bpmn("callActivity")):
            called = ca.get("calledElement")
            if not called:
                problems.at(doc, ca, "call activity has no calledElement")
            elif called not in process_ids:
                problems.at(
                    doc,
                    ca,
                    f"call activity calls '{called}', which is not a process in this "
                    f"folder's BPMN files (processes: {', '.join(process_ids) or 'none'})",
                )
        for brt in doc.root.iter(_bpmn("businessRuleTask")):
            ref_el = brt.find("bpmn:extensionElements/spiffworkflow:calledDecisionId", NS)
            ref = (ref_el.text or "").strip() if ref_el is not None else ""
            if not ref:
                problems.at(doc, brt, "business rule task has no spiffworkflow:calledDecisionId")
            elif ref not in decision_ids:
                available = ", ".join(sorted(decision_ids)) or "none"
                problems.at(
                    doc,
                    brt,
                    f"business rule task calls decision '{ref}', which no .dmn file in "
                    f"this folder defines (decisions: {available})",
                )


def _from_validation_exception(
    exc: ValidationException,
    docs: list[_Doc],
    fallback: _Doc | None,
    problems: _Problems,
    drop_output_cells: bool = False,
) -> None:
    """SpiffWorkflow's exceptions carry an id and a file name but an empty line: look the line up."""
    message = str(exc.args[0]) if exc.args else str(exc)
    if drop_output_cells and message.startswith("Malformed Output Expression"):
        # During validation, output cells are compiled again in stage 4 by the sandbox and located
        # inside the cell; SpiffWorkflow's ast.parse message as well would list the same fault twice.
        return
    element_id = getattr(exc, "id", "") or None
    file_name = getattr(exc, "file_name", "") or ""
    doc = next((d for d in docs if file_name and file_name in (d.display, d.key)), None)
    if doc is None and element_id:
        doc = next((d for d in docs if element_id in d.ids), None)
    doc = doc or fallback
    line = getattr(exc, "line_number", None)
    if not isinstance(line, int):
        line = None
        if doc is not None and element_id and element_id in doc.ids:
            line = _line(doc.ids[element_id])
    notes = [str(n) for n in getattr(exc, "notes", [])]
    if notes:
        message += "; " + "; ".join(notes)
    file = doc.display if doc is not None else file_name
    problems.add(file, line, element_id, _short(message))


def _build_parser(docs: list[_Doc], validator: BpmnValidator | None, problems: _Problems) -> CadreflowParser:
    # cadreflow's one parser (a SpiffBpmnParser subclass, engine.bpmn.spiff_config): validation must
    # build exactly the specs the engine runs.
    parser = CadreflowParser(validator=validator)
    for doc in docs:
        with _Guard(problems, docs, doc, "SpiffWorkflow could not read this file"):
            if doc.kind == "bpmn":
                parser.add_bpmn_xml(doc.root.getroottree(), filename=doc.display)
            else:
                parser.add_dmn_xml(doc.root, filename=doc.display)
    return parser


def _semantic_parse(docs: list[_Doc], top: str | None, problems: _Problems) -> None:
    """Let SpiffWorkflow parse every executable process, every embedded sub-process and every DMN.

    SpiffWorkflow stops at the first problem of a process, so each process is parsed on its own to
    report one problem per process rather than one per folder.
    """
    with _SCHEMA_LOCK:
        validator = _validators.get("bpmn")
    before = len(problems)
    with _SCHEMA_LOCK:
        parser = _build_parser(docs, validator, problems)
    if len(problems) > before:
        return
    for doc in docs:
        if doc.kind != "dmn":
            continue
        for dmn_parser in list(parser.dmn_parsers.values()):
            if dmn_parser.filename != doc.display:
                continue
            with _Guard(
                problems, docs, doc, "SpiffWorkflow could not parse this decision", drop_output_cells=True
            ):
                dmn_parser.parse()
    failed: set[str] = set()
    done: set[str] = set()
    while True:
        pending = [
            pid for pid, pp in parser.process_parsers.items() if pid not in done and pp.process_executable
        ]
        if not pending:
            break
        for pid in pending:
            done.add(pid)
            pp = parser.process_parsers[pid]
            with _Guard(
                problems,
                docs,
                _doc_of(docs, pp.filename),
                "SpiffWorkflow could not parse this process",
                element_id=pid,
                line=_line(pp.node),
                drop_output_cells=True,
            ) as guard:
                parser.get_spec(pid)
            if guard.failed:
                failed.add(pid)
    if top is not None and top in parser.process_parsers and not failed:
        with _Guard(problems, docs, None, "SpiffWorkflow could not collect sub-processes", element_id=top):
            parser.get_subprocess_specs(top)


class _Guard:
    """Turn any exception raised in the block into a located problem: nothing raw leaves this module.

    ``ValidationException`` keeps its element id (the line is looked up); anything else is reported
    against the file with its type. ``ImportError`` (the sandbox module missing) is a deployment
    fault, not a definition problem, and propagates; so do ``KeyboardInterrupt`` and friends.
    """

    def __init__(
        self,
        problems: _Problems,
        docs: list[_Doc],
        doc: _Doc | None,
        what: str,
        element_id: str | None = None,
        line: int | None = None,
        file: str | None = None,
        drop_output_cells: bool = False,
    ) -> None:
        self.problems, self.docs, self.doc, self.what = problems, docs, doc, what
        self.element_id, self.line = element_id, line
        self.file = file if file is not None else (doc.display if doc is not None else "")
        self.drop_output_cells = drop_output_cells
        self.failed = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> bool:
        if exc is None or isinstance(exc, ImportError) or not isinstance(exc, Exception):
            return False
        self.failed = True
        if isinstance(exc, ValidationException):
            _from_validation_exception(exc, self.docs, self.doc, self.problems, self.drop_output_cells)
        else:
            self.problems.add(
                self.file,
                self.line,
                self.element_id,
                f"{self.what}: {type(exc).__name__}: {_short(str(exc))}",
            )
        return True


def _doc_of(docs: list[_Doc], filename: str | None) -> _Doc | None:
    return next((d for d in docs if filename in (d.display, d.key)), None)


# --------------------------------------------------------------------------------------------------
# Stage 4: cadreflow's rules


def _compile_problem(source: str, mode: str) -> tuple[str, int] | None:
    """Compile in the sandbox; return (message, line within the source) if it does not compile."""
    from engine.bpmn.sandbox import compile_check

    message = compile_check(source, mode)
    if message is None:
        return None
    found = _LINE_IN_MESSAGE_RE.search(message)
    if found:
        return message, max(1, int(found.group(1)))
    try:
        ast.parse(source, mode=mode)
    except SyntaxError as exc:
        return message, max(1, exc.lineno or 1)
    return message, 1


def _check_code(doc: _Doc, el: Any, source: str | None, mode: str, what: str, problems: _Problems) -> None:
    """Report a script/expression that does not compile, at the file line of the offending source line.

    The text of an element starts on the line of its start tag, so source line N sits at
    ``sourceline + N - 1`` (exact for the one-line start tags modelers write).
    """
    if source is None or not source.strip():
        problems.at(doc, el, f"{what} is empty")
        return
    found = _compile_problem(source, mode)
    if found is None:
        return
    message, script_line = found
    base = _line(el)
    line = base + script_line - 1 if base is not None else None
    message = re.sub(r"^line \d+:\s*", "", message, flags=re.IGNORECASE)
    problems.at(doc, el, f"{what} does not compile: {message}", line=line)


def _check_bpmn_code(doc: _Doc, problems: _Problems) -> None:
    root = doc.root
    for task in root.iter(_bpmn("scriptTask")):
        scripts = task.findall("bpmn:script", NS)
        if not scripts:
            problems.at(doc, task, "script task has no bpmn:script")
        for script in scripts:
            _check_code(doc, script, script.text, "exec", "script", problems)
    for tag, what in (("preScript", "preScript"), ("postScript", "postScript")):
        for el in root.iter(_spiff(tag)):
            _check_code(doc, el, el.text, "exec", what, problems)
    for flow in root.iter(_bpmn("sequenceFlow")):
        cond = flow.find("bpmn:conditionExpression", NS)
        if cond is None:
            continue
        _check_code(doc, cond, cond.text, "eval", f"condition of sequence flow {flow.get('id')}", problems)
        source = doc.ids.get(flow.get("sourceRef"))
        if source is not None and source.tag not in _GATEWAYS_WITH_CONDITIONS:
            problems.at(
                doc,
                cond,
                f"condition on a sequence flow leaving a {_lname(source)} is ignored by "
                "SpiffWorkflow; branch with an exclusive or inclusive gateway",
            )
    for tag, what in (
        ("loopCondition", "loop condition"),
        ("loopCardinality", "loop cardinality"),
        ("completionCondition", "completion condition"),
    ):
        for el in root.iter(_bpmn(tag)):
            _check_code(doc, el, el.text, "eval", what, problems)
    for timer in root.iter(_bpmn("timerEventDefinition")):
        for child in timer:
            if not isinstance(child.tag, str) or _lname(child) not in (
                "timeDuration",
                "timeDate",
                "timeCycle",
            ):
                continue
            text = (child.text or "").strip()
            if _BARE_TIMER_RE.fullmatch(text):
                problems.at(
                    doc,
                    child,
                    f"timer expression {text} is a bare ISO-8601 value; timer "
                    f'expressions are Python, so quote it: "{text}" (or use a variable)',
                )
                continue
            _check_code(doc, child, child.text, "eval", f"timer expression ({_lname(child)})", problems)


def _replace_question_marks(text: str) -> str:
    """Replace ``?`` outside string quotes, as SpiffWorkflow's DMN engine does for ``4 < ? < 6``."""
    out, quote = [], None
    for ch in text:
        if quote:
            if ch == quote:
                quote = None
            out.append(ch)
        elif ch in "'\"":
            quote = ch
            out.append(ch)
        elif ch == "?":
            out.append("dmninputexpr")
        else:
            out.append(ch)
    return "".join(out)


def _parses_as_module(text: str) -> bool:
    try:
        ast.parse(text)
    except SyntaxError:
        return False
    return True


def _check_input_entry(
    doc: _Doc, text_el: Any, text: str | None, input_expr: str | None, problems: _Problems
) -> None:
    """Mirror SpiffWorkflow's DMN engine: what it will evaluate for this cell must compile.

    Empty or ``-`` matches anything; ``?`` stands for the input; a cell that parses on its own is
    compared with ``==``; anything else (``> 5``) is appended to the input expression.
    """
    if text is None or text == "-":
        return
    if not text.strip():
        problems.at(doc, text_el, "input entry is blank; leave it empty or write - to match anything")
        return
    what = f"input entry {text.strip()!r}"
    substituted = _replace_question_marks(text)
    if substituted != text:
        _check_code(doc, text_el, substituted, "eval", what, problems)
        return
    if _parses_as_module(text):
        _check_code(doc, text_el, text, "eval", what, problems)
        return
    if _compile_problem("v " + text, "eval") is not None:
        _check_code(doc, text_el, "v " + text, "eval", what, problems)
        return
    joined = (input_expr or "v") + text
    merges = bool(re.match(r"\w", text)) and bool(re.search(r"\w$", input_expr or "v"))
    if merges or _compile_problem(joined, "eval") is not None:
        problems.at(
            doc,
            text_el,
            f"{what} is appended to the input expression without a space by "
            f"SpiffWorkflow, giving {joined!r}; start it with a space",
        )


def _check_dmn(doc: _Doc, problems: _Problems) -> None:
    root = doc.root
    ns = {"dmn": etree.QName(root).namespace}
    for table in root.iterfind("dmn:decision/dmn:decisionTable", ns):
        policy = (table.get("hitPolicy") or "UNIQUE").upper()
        if policy not in SUPPORTED_HIT_POLICIES:
            problems.at(
                doc,
                table,
                f"hit policy {policy} is not supported by SpiffWorkflow "
                f"(use one of {', '.join(SUPPORTED_HIT_POLICIES)})",
            )
        if table.get("aggregation"):
            problems.at(
                doc,
                table,
                f"aggregation {table.get('aggregation')} is ignored by SpiffWorkflow "
                "(COLLECT always returns lists); remove it and aggregate in a script",
            )
        inputs: list[str | None] = []
        for inp in table.iterfind("dmn:input", ns):
            text_el = inp.find("dmn:inputExpression/dmn:text", ns)
            expr = text_el.text if text_el is not None else None
            inputs.append(expr)
            if text_el is None or not (expr or "").strip():
                problems.at(doc, inp, "decision table input has no input expression")
            else:
                _check_code(doc, text_el, expr, "eval", "input expression", problems)
        outputs = table.findall("dmn:output", ns)
        for out in outputs:
            if not (out.get("name") or out.get("label")):
                problems.at(doc, out, "decision table output has no name")
        for rule in table.iterfind("dmn:rule", ns):
            entries = rule.findall("dmn:inputEntry", ns)
            results = rule.findall("dmn:outputEntry", ns)
            if len(entries) != len(inputs) or len(results) != len(outputs):
                problems.at(
                    doc,
                    rule,
                    f"rule has {len(entries)} input and {len(results)} output entries; "
                    f"the table has {len(inputs)} inputs and {len(outputs)} outputs",
                )
            for idx, entry in enumerate(entries):
                text_el = entry.find("dmn:text", ns)
                _check_input_entry(
                    doc,
                    text_el if text_el is not None else entry,
                    text_el.text if text_el is not None else None,
                    inputs[idx] if idx < len(inputs) else None,
                    problems,
                )
            for entry in results:
                text_el = entry.find("dmn:text", ns)
                if text_el is not None and text_el.text:
                    _check_code(
                        doc, text_el, text_el.text, "eval", f"output entry {text_el.text.strip()!r}", problems
                    )
    for decision in root.iterfind("dmn:decision", ns):
        if decision.find("dmn:decisionTable", ns) is None:
            problems.at(doc, decision, "decision has no decision table (SpiffWorkflow runs only tables)")


def _properties(el: Any, doc: _Doc, problems: _Problems) -> tuple[dict[str, str], dict[str, Any]]:
    """The ``spiffworkflow:properties`` of an element, with the element of each (for lines)."""
    values: dict[str, str] = {}
    elements: dict[str, Any] = {}
    for prop in el.iterfind("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS):
        name, value = prop.get("name"), prop.get("value")
        if name is None or value is None:
            continue  # reported for every element by _check_property_shapes
        if name in values:
            problems.at(doc, prop, f"property {name} is given twice")
        values[name] = value
        elements[name] = prop
    return values, elements


def _check_property_shapes(doc: _Doc, problems: _Problems) -> None:
    # SpiffWorkflow reads attrib['name'] and attrib['value'] and fails with a bare KeyError otherwise.
    for prop in doc.root.iter(_spiff("property")):
        if prop.get("name") is None or prop.get("value") is None:
            problems.at(doc, prop, "spiffworkflow:property needs both a name and a value attribute")


def _lanes_by_node(root: Any) -> dict[str, str | None]:
    # As SpiffWorkflow indexes them: flowNodeRef text (not stripped) -> name of the enclosing lane.
    lanes: dict[str, str | None] = {}
    for ref in root.iter(_bpmn("flowNodeRef")):
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


def _valid_duration(text: str) -> bool:
    """ISO-8601 durations as SpiffWorkflow's timer parser reads them (weeks do not mix with Y/M/D)."""
    if not _DURATION_RE.fullmatch(text):
        return False
    date_part = text.split("T", 1)[0]
    return not ("W" in date_part and any(c in date_part for c in "YMD"))


def _form_key_problem(key: str) -> str | None:
    if not key or "/" in key or "\\" in key or "\x00" in key or key.startswith("."):
        return f"{FORM_PROPERTY} {key!r} must be a plain file name in forms/, not a path"
    if not key.endswith(FORM_SUFFIXES):
        return f"{FORM_PROPERTY} {key!r} must end with one of {', '.join(FORM_SUFFIXES)}"
    return None


def _yaml_node_count(node: yaml.Node, budget: int) -> int:
    """Size of the YAML tree with aliases expanded, stopping past ``budget`` (alias bombs)."""
    memo: dict[int, int] = {}

    def size(n: yaml.Node) -> int:
        if id(n) in memo:
            return memo[id(n)]
        memo[id(n)] = budget + 1  # a cycle counts as too big
        total = 1
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                total += size(k) + size(v)
                if total > budget:
                    break
        elif isinstance(n, yaml.SequenceNode):
            for item in n.value:
                total += size(item)
                if total > budget:
                    break
        memo[id(n)] = total
        return total

    return size(node)


def _yaml_line(node: yaml.Node | None, path: Iterable[Any]) -> int | None:
    """The line of the YAML node at a JSON path (for locating schema errors)."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in path:
        nxt = None
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == str(part):
                    line = k.start_mark.line + 1
                    nxt = v
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            nxt = node.value[part]
        if nxt is None:
            break
        node = nxt
        line = node.start_mark.line + 1
    return line


def _load_form(path: Path, display: str, problems: _Problems) -> tuple[dict[str, Any] | None, bytes | None]:
    """Read a form file: YAML (JSON is YAML) holding a JSON Schema object; errors located in the file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        problems.add(display, None, None, f"cannot read form file: {exc.strerror or exc}")
        return None, None
    if len(data) > MAX_FORM_NODES * 10:
        problems.add(display, None, None, "form file is too large")
        return None, data
    try:
        text = data.decode("utf-8")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is not None and _yaml_node_count(node, MAX_FORM_NODES) > MAX_FORM_NODES:
            problems.add(
                display,
                _yaml_line(node, []),
                None,
                f"form expands to more than {MAX_FORM_NODES} YAML nodes (aliases?)",
            )
            return None, data
        schema = yaml.safe_load(text)
    except UnicodeDecodeError as exc:
        problems.add(display, None, None, f"form file is not UTF-8: {exc.reason}")
        return None, data
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        detail = exc.problem or str(exc)
        if exc.context:
            detail = f"{detail} ({exc.context})"
        problems.add(display, line, None, f"YAML syntax error: {detail}")
        return None, data
    except yaml.YAMLError as exc:
        problems.add(display, None, None, f"YAML error: {exc}")
        return None, data
    if not isinstance(schema, dict):
        problems.add(
            display,
            _yaml_line(node, []),
            None,
            "form must be a JSON Schema object (a mapping at the top level)",
        )
        return None, data
    try:
        json.dumps(schema, allow_nan=False)
    except (TypeError, ValueError) as exc:
        problems.add(
            display,
            _yaml_line(node, []),
            None,
            f"form is not plain JSON data (YAML dates, NaN or non-string keys?): {exc}",
        )
        return None, data
    meta = Draft202012Validator(Draft202012Validator.META_SCHEMA)
    errors = sorted(meta.iter_errors(schema), key=lambda e: [str(p) for p in e.path])
    for err in errors[:20]:
        where = "/".join(str(p) for p in err.path) or "(top level)"
        problems.add(
            display, _yaml_line(node, err.path), None, f"invalid JSON Schema at {where}: {err.message}"
        )
    if errors:
        return None, data
    return schema, data


@dataclass
class _FormCache:
    forms_dir: Path
    loaded: dict[str, tuple[dict[str, Any] | None, bytes | None]] = field(default_factory=dict)


def _check_user_tasks(
    doc: _Doc,
    roles: frozenset[str],
    forms: _FormCache,
    problems: _Problems,
    tasks: dict[str, UserTaskInfo],
    seen: dict[str, tuple[_Doc, Any]],
) -> None:
    lanes = _lanes_by_node(doc.root)
    role_list = ", ".join(sorted(roles))
    for task in doc.root.iter(_bpmn("userTask")):
        tid = str(task.get("id") or "")
        if tid in seen:
            other_doc, other = seen[tid]
            problems.at(
                doc,
                task,
                f"user task id {tid} is also used at {other_doc.display}:{_line(other) or ''}; "
                "user task ids must be unique in a process folder",
            )
        else:
            seen[tid] = (doc, task)
        props, prop_els = _properties(task, doc, problems)

        lane = _lane_of(task, lanes)
        if lane is None:
            problems.at(
                doc, task, f"user task is not in a lane; put it in a lane named after a role ({role_list})"
            )
        elif lane not in roles:
            problems.at(
                doc,
                task,
                f"user task is in lane '{lane}', which is not a role that may own tasks ({role_list})",
            )

        form_key = props.get(FORM_PROPERTY)
        if form_key is None:
            problems.at(
                doc,
                task,
                f"user task has no {FORM_PROPERTY} property (every user task needs a "
                "form: a JSON Schema in YAML under forms/)",
            )
        else:
            key_problem = _form_key_problem(form_key)
            if key_problem:
                problems.at(doc, prop_els[FORM_PROPERTY], key_problem)
            elif form_key not in forms.loaded:
                path = forms.forms_dir / form_key
                if not path.is_file():
                    problems.at(
                        doc, prop_els[FORM_PROPERTY], f"form file '{form_key}' not found in {forms.forms_dir}"
                    )
                    forms.loaded[form_key] = (None, None)
                else:
                    forms.loaded[form_key] = _load_form(path, str(path), problems)
            elif forms.loaded[form_key][1] is None:
                problems.at(
                    doc, prop_els[FORM_PROPERTY], f"form file '{form_key}' not found in {forms.forms_dir}"
                )

        due_in = props.get(DUE_PROPERTY)
        if due_in is not None and not _valid_duration(due_in):
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
                line=_line(task),
            ),
        )


def _check_top(docs: list[_Doc], folder_display: str, problems: _Problems) -> str | None:
    candidates = _top_candidates(docs)
    if len(candidates) == 1:
        return str(candidates[0][1].get("id"))
    if not candidates:
        problems.add(
            folder_display,
            None,
            None,
            "no top executable process: exactly one process in the folder's BPMN files must have "
            'isExecutable="true" and not be called by a call activity',
        )
    else:
        ids = ", ".join(str(p.get("id")) for _, p in candidates)
        for doc, proc in candidates:
            problems.at(
                doc,
                proc,
                f"more than one top executable process ({ids}); exactly one process may be "
                "executable and not called by a call activity",
            )
    return None


# --------------------------------------------------------------------------------------------------
# Public API


def bundle_hash(files: dict[str, bytes]) -> str:
    """sha256 hex of the canonical JSON (``engine.canonical``) of the sorted ``[path, sha256 hex]`` listing.

    Hashing a listing rather than concatenated bytes means no two different bundles can collide by
    shifting bytes between files; any changed byte, added or removed file changes the hash, and
    the order files were read in does not.
    """
    listing = sorted([path, hashlib.sha256(content).hexdigest()] for path, content in files.items())
    return canonical_content_hash(listing)


def _read_docs(folder: Path, problems: _Problems) -> list[_Doc]:
    if not folder.is_dir():
        problems.add(str(folder), None, None, "not a folder")
        return []
    docs: list[_Doc] = []
    for path in sorted(folder.iterdir()):
        suffix = path.suffix.lower()
        if suffix not in (".bpmn", ".dmn") or not path.is_file():
            continue
        display = str(path)
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                problems.add(
                    display, None, None, f"file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB"
                )
                continue
            data = path.read_bytes()
        except OSError as exc:
            problems.add(display, None, None, f"cannot read file: {exc.strerror or exc}")
            continue
        docs.append(
            _Doc(display=display, key=f"processes/{folder.name}/{path.name}", kind=suffix[1:], data=data)
        )
    if not any(d.kind == "bpmn" for d in docs) and not len(problems):
        problems.add(str(folder), None, None, "no .bpmn file in this process folder")
    return docs


def _run_checks(
    docs: list[_Doc], folder_display: str, forms_dir: Path, roles: frozenset[str], problems: _Problems
) -> tuple[str | None, dict[str, UserTaskInfo], _FormCache]:
    # 1. safe XML
    for doc in docs:
        doc.root = _parse_xml(doc.data, doc.display, problems)
        if doc.root is not None:
            doc.index()
    parsed = [d for d in docs if d.root is not None]
    # 2. XSD
    for doc in parsed:
        with _Guard(problems, docs, doc, "XSD validation failed"):
            _check_schema(doc, problems)
    # 3. references, then SpiffWorkflow (only on a complete, schema-valid folder: partial input gives
    #    misleading follow-on errors)
    top = None
    with _Guard(problems, parsed, None, "reference check failed", file=folder_display):
        _check_references(parsed, problems, whole_folder=len(parsed) == len(docs))
        for doc in parsed:
            if doc.kind == "bpmn":
                _check_property_shapes(doc, problems)
        top = _check_top(parsed, folder_display, problems) if len(parsed) == len(docs) else None
    if len(problems) == 0 and all(d.schema_ok for d in docs):
        with _Guard(problems, docs, None, "SpiffWorkflow parse failed", file=folder_display):
            _semantic_parse(docs, top, problems)
    # 4. cadreflow rules
    tasks: dict[str, UserTaskInfo] = {}
    seen: dict[str, tuple[_Doc, Any]] = {}
    forms = _FormCache(forms_dir=forms_dir)
    for doc in parsed:
        with _Guard(problems, docs, doc, "check failed"):
            if doc.kind == "bpmn":
                _check_user_tasks(doc, roles, forms, problems, tasks, seen)
                _check_bpmn_code(doc, problems)
            else:
                _check_dmn(doc, problems)
    return top, tasks, forms


def load_process_folder(folder: Path, forms_dir: Path, roles: frozenset[str] = LANE_ROLES) -> ProcessBundle:
    """Validate a process folder and return its bundle; raise :class:`DefinitionErrors` listing every problem.

    Errors name files as given (``folder / name``), so a designer can click through; the bundle names
    them ``processes/<folder name>/<file>`` and ``forms/<key>``, the paths stored with a definition.
    """
    folder, forms_dir = Path(folder), Path(forms_dir)
    problems = _Problems()
    docs = _read_docs(folder, problems)
    top, tasks, forms = _run_checks(docs, str(folder), forms_dir, roles, problems)
    if problems.items or top is None:
        if not problems.items:
            problems.add(str(folder), None, None, "no top executable process")
        count = len(problems.items)
        raise DefinitionErrors(
            message=f"{count} problem{'s' if count != 1 else ''} in {folder}", problems=list(problems.items)
        )
    files: dict[str, bytes] = {doc.key: doc.data for doc in docs}
    loaded_forms: dict[str, dict[str, Any]] = {}
    for key in sorted(forms.loaded):
        schema, data = forms.loaded[key]
        if schema is not None and data is not None:
            loaded_forms[key] = schema
            files[f"forms/{key}"] = data
    top_doc, top_proc = _top_candidates(docs)[0]
    process_properties, _ = _properties(top_proc, top_doc, _Problems())
    return ProcessBundle(
        process_id=top,
        files=files,
        content_hash=bundle_hash(files),
        user_tasks=tasks,
        forms=loaded_forms,
        process_properties=process_properties,
    )


def _default_forms_dir(path: Path) -> Path | None:
    for candidate in (path, *path.parents):
        if candidate.name == "processes":
            return candidate.parent / "forms"
    return None


def _has_definitions(folder: Path) -> bool:
    return any(p.is_file() and p.suffix.lower() in (".bpmn", ".dmn") for p in folder.iterdir())


def validate_paths(
    paths: list[Path], forms_dir: Path | None = None, roles: frozenset[str] = LANE_ROLES
) -> list[DefinitionError]:
    """Validate process folders named by ``paths``; return every problem (empty list: all good).

    A path may be a process folder, a folder of process folders (``processes/``) or one ``.bpmn``/
    ``.dmn`` file. A single file is checked together with the rest of its folder, because call
    activities and decisions refer across files and the folder is what gets deployed.
    """
    problems: list[DefinitionError] = []
    folders: list[tuple[Path, Path | None]] = []
    for raw in paths:
        path = Path(raw)
        try:
            if path.is_file():
                if path.suffix.lower() not in (".bpmn", ".dmn"):
                    problems.append(DefinitionError(message="not a .bpmn or .dmn file", file=str(path)))
                    continue
                targets = [path.parent]
            elif path.is_dir():
                if _has_definitions(path):
                    targets = [path]
                else:
                    targets = [p for p in sorted(path.iterdir()) if p.is_dir() and _has_definitions(p)]
                    if not targets:
                        problems.append(
                            DefinitionError(
                                message="no process folders (no .bpmn or .dmn files) here", file=str(path)
                            )
                        )
                        continue
            else:
                problems.append(DefinitionError(message="no such file or folder", file=str(path)))
                continue
        except OSError as exc:
            problems.append(DefinitionError(message=f"cannot read: {exc.strerror or exc}", file=str(path)))
            continue
        for target in targets:
            folders.append(
                (target, forms_dir if forms_dir is not None else _default_forms_dir(target.absolute()))
            )
    done: set[Path] = set()
    for folder, forms in folders:
        resolved = folder.resolve()
        if resolved in done:
            continue
        done.add(resolved)
        if forms is None:
            problems.append(
                DefinitionError(
                    message="cannot find the forms folder: no folder named 'processes' above this path; "
                    "pass forms_dir",
                    file=str(folder),
                )
            )
            continue
        try:
            load_process_folder(folder, forms, roles)
        except DefinitionErrors as exc:
            problems.extend(exc.problems)
    return problems


def parse_specs(files: dict[str, bytes]) -> tuple[BpmnProcessSpec, dict[str, BpmnProcessSpec]]:
    """Build the top process spec and its sub-process specs from stored content, without the file system.

    The content was validated when it was loaded, so the XSD is not applied again (it also keeps a
    shared error log, a poor fit for concurrent requests); entities and DOCTYPEs are still refused,
    and any failure is raised as :class:`DefinitionErrors`.
    """
    problems = _Problems()
    docs: list[_Doc] = []
    for key in sorted(files):
        suffix = Path(key).suffix.lower()
        if suffix not in (".bpmn", ".dmn"):
            continue
        doc = _Doc(display=key, key=key, kind=suffix[1:], data=files[key])
        doc.root = _parse_xml(doc.data, key, problems)
        if doc.root is not None:
            doc.index()
            docs.append(doc)
    top: str | None = None
    if not problems.items:
        top = _check_top(docs, "(definition)", problems)
    if problems.items or top is None:
        raise DefinitionErrors(message="stored definition does not parse", problems=list(problems.items))
    parser = _build_parser(docs, None, problems)
    if not problems.items:
        with _Guard(problems, docs, None, "SpiffWorkflow could not parse the definition", element_id=top):
            spec = parser.get_spec(top)
            subprocesses = parser.get_subprocess_specs(top)
            return spec, subprocesses
    if not problems.items:
        problems.add(
            docs[0].display if docs else "", None, top, "SpiffWorkflow could not parse the definition"
        )
    raise DefinitionErrors(message="stored definition does not parse", problems=list(problems.items))
