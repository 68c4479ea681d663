"""Opening a BPMN file made in another modeler.

The file goes through the same stages as validation — safe XML, the BPMN XSD, SpiffWorkflow's own
parse with cadreflow's parser — and comes out as one of:

``executable``
    SpiffWorkflow builds every executable process: it can be opened, completed with cadreflow's
    conventions (role lanes, forms) and deployed;
``drawing_only``
    well-formed BPMN with no executable process (``isExecutable="false"`` everywhere, as descriptive
    models are): it opens for drawing, and the report says there is nothing to run;
``refused``
    something cadreflow cannot run or read; the message names the element (tag, id and line).

Elements SpiffWorkflow would parse but cadreflow cannot execute are refused up front with a clear
reason (service tasks have no connector here; data stores have no implementation).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.bpmn.validation.guard import Guard
from engine.bpmn.validation.problems import NS, Doc, Problems, bpmn_tag, line_of, lname
from engine.bpmn.validation.references import is_executable
from engine.bpmn.validation.schema import check_schema
from engine.bpmn.validation.spiff_parse import semantic_parse
from engine.bpmn.validation.xml import parse_xml
from engine.designer.drafts import SavedDraft, save_draft
from engine.designer.files import process_dir
from engine.errors import DefinitionError
from engine.store.db import Database

EXECUTABLE = "executable"
DRAWING_ONLY = "drawing_only"
REFUSED = "refused"

# Parsed by SpiffWorkflow (or not), but nothing in cadreflow could run them: say why by name.
UNSUPPORTED = {
    "serviceTask": "cadreflow has no service connectors; use a script task or a user task",
    "dataStoreReference": "cadreflow has no data stores; keep data in the case or a form",
    "dataStore": "cadreflow has no data stores; keep data in the case or a form",
    "complexGateway": "SpiffWorkflow does not run complex gateways; use exclusive or inclusive ones",
    "adHocSubProcess": "SpiffWorkflow does not run ad-hoc sub-processes",
    "transaction": "SpiffWorkflow does not run transaction sub-processes",
}


@dataclass(frozen=True)
class ImportReport:
    """What opening a model found: its status, its executable process ids, and messages saying why."""

    filename: str
    status: str  # executable | drawing_only | refused
    processes: list[str]
    messages: list[str] = field(default_factory=list)
    problems: list[DefinitionError] = field(default_factory=list)


def _describe(doc: Doc, problem: DefinitionError) -> str:
    """``file:line: bpmn:tag id: message`` — the element named by its tag as well as its id."""
    el = doc.ids.get(problem.element_id or "") if doc.root is not None else None
    tag = f"bpmn:{lname(el)} " if el is not None else ""
    line = problem.line if problem.line is not None else (line_of(el) if el is not None else None)
    return f"{doc.display}:{line or ''}: {tag}{problem.element_id or '-'}: {problem.message}"


def _refused(doc: Doc, problems: list[DefinitionError], processes: list[str]) -> ImportReport:
    return ImportReport(doc.display, REFUSED, processes, [_describe(doc, p) for p in problems], problems)


def _executable_processes(doc: Doc) -> list[Any]:
    # SpiffWorkflow's rule (as in validation): a process without isExecutable counts as executable.
    return [proc for proc in doc.root.iterfind("bpmn:process", NS) if is_executable(proc)]


def _unsupported(doc: Doc, processes: list[Any]) -> list[DefinitionError]:
    found = []
    for proc in processes:
        for el in proc.iter():
            if isinstance(el.tag, str) and lname(el) in UNSUPPORTED and el.tag == bpmn_tag(lname(el)):
                found.append(
                    DefinitionError(
                        message=f"unsupported element bpmn:{lname(el)}: {UNSUPPORTED[lname(el)]}",
                        file=doc.display,
                        line=line_of(el),
                        element_id=el.get("id"),
                    )
                )
    return found


def import_model(xml: bytes, filename: str, decisions: dict[str, bytes] | None = None) -> ImportReport:
    """Open a BPMN file from another modeler: ``executable``, ``drawing_only`` or ``refused`` (naming
    the element). ``decisions`` are DMN files ({name: content}) its business rule tasks call. Never
    raises for bad input: everything wrong is in the report."""
    problems = Problems()
    doc = Doc(display=filename, key=filename, kind="bpmn", data=xml)
    doc.root = parse_xml(xml, filename, problems)
    if doc.root is None or problems.items:
        return _refused(doc, problems.items, [])
    doc.index()
    if lname(doc.root) != "definitions" or doc.root.tag != bpmn_tag("definitions"):
        problems.add(
            filename, line_of(doc.root), None, f"not a BPMN 2.0 file (root element {lname(doc.root)})"
        )
        return _refused(doc, problems.items, [])
    with Guard(problems, [doc], doc, "XSD validation failed"):
        check_schema(doc, problems)
    if problems.items:
        return _refused(doc, problems.items, [])
    executable = _executable_processes(doc)
    ids = [str(p.get("id")) for p in executable]
    if not executable:
        drawn = [str(p.get("id")) for p in doc.root.iterfind("bpmn:process", NS)]
        return ImportReport(
            filename,
            DRAWING_ONLY,
            [],
            [
                f"no executable process (isExecutable is false for {', '.join(drawn) or 'every process'}): "
                "the model opens for drawing, but there is nothing to run"
            ],
        )
    unsupported = _unsupported(doc, executable)
    if unsupported:
        return _refused(doc, unsupported, ids)
    dmn_docs = []
    for name, data in sorted((decisions or {}).items()):
        dmn = Doc(display=name, key=name, kind="dmn", data=data)
        dmn.root = parse_xml(data, name, problems)
        if dmn.root is not None:
            dmn.index()
            dmn_docs.append(dmn)
    if problems.items:
        return _refused(doc, problems.items, ids)
    with Guard(problems, [doc, *dmn_docs], doc, "SpiffWorkflow could not parse the model"):
        semantic_parse([doc, *dmn_docs], None, problems)
    if problems.items:
        return _refused(doc, problems.items, ids)
    return ImportReport(
        filename,
        EXECUTABLE,
        ids,
        [
            f"SpiffWorkflow parses {len(ids)} executable process(es): {', '.join(ids)}; complete "
            "cadreflow's conventions (role lanes, forms) before deploying"
        ],
    )


def import_into_draft(
    db: Database, user: str, xml: bytes, filename: str, decisions: dict[str, bytes] | None = None
) -> tuple[ImportReport, SavedDraft | None]:
    """Open a model made elsewhere and, when it is executable, keep it as the draft of its process.

    The draft then shows what cadreflow's conventions still need (role lanes, forms...) as save
    problems. A drawing-only or refused model is reported and not saved (there is nothing to deploy).
    A model with several executable processes is saved under the first one no call activity calls.
    """
    report = import_model(xml, filename, decisions)
    if report.status != EXECUTABLE:
        return report, None
    top = next((pid for pid in report.processes if pid not in _called(xml)), report.processes[0])
    folder = process_dir(top)
    files = {f"{folder}/{Path(filename).name}": xml.decode("utf-8")}
    files.update(
        {f"{folder}/{Path(name).name}": data.decode("utf-8") for name, data in (decisions or {}).items()}
    )
    return report, save_draft(db, user, top, files)


def _called(xml: bytes) -> set[str]:
    problems = Problems()
    root = parse_xml(xml, "", problems)
    if root is None:
        return set()
    return {str(ca.get("calledElement")) for ca in root.iter(bpmn_tag("callActivity"))}
