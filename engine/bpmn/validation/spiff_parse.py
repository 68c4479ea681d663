"""Stage 3 of validation, continued: SpiffWorkflow's own parse of a folder, and the parser for run time.

Validation must build exactly the specs the engine runs, so both use cadreflow's one parser
(:class:`~engine.bpmn.spiff_config.CadreflowParser`). SpiffWorkflow stops at the first problem of a
process; each process and decision is parsed on its own to report one problem per process.
"""

from __future__ import annotations

from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator

from engine.bpmn.spiff_config import CadreflowParser
from engine.bpmn.validation.guard import Guard
from engine.bpmn.validation.problems import Doc, Problems, line_of
from engine.bpmn.validation.schema import SCHEMA_LOCK, built_bpmn_validator


def build_parser(docs: list[Doc], validator: BpmnValidator | None, problems: Problems) -> CadreflowParser:
    """cadreflow's one parser with every file added (a file it cannot read is a problem).

    ``validator`` is the XSD validator the parser applies as it adds files; ``None`` at run time, where
    the stored content was validated when it was loaded.
    """
    parser = CadreflowParser(validator=validator)
    for doc in docs:
        with Guard(problems, docs, doc, "SpiffWorkflow could not read this file"):
            if doc.kind == "bpmn":
                parser.add_bpmn_xml(doc.root.getroottree(), filename=doc.display)
            else:
                parser.add_dmn_xml(doc.root, filename=doc.display)
    return parser


def semantic_parse(docs: list[Doc], top: str | None, problems: Problems) -> None:
    """Let SpiffWorkflow parse every executable process, every embedded sub-process and every DMN.

    SpiffWorkflow stops at the first problem of a process, so each process is parsed on its own to
    report one problem per process rather than one per folder.
    """
    validator = built_bpmn_validator()
    before = len(problems)
    with SCHEMA_LOCK:
        parser = build_parser(docs, validator, problems)
    if len(problems) > before:
        return
    for doc in docs:
        if doc.kind != "dmn":
            continue
        for dmn_parser in list(parser.dmn_parsers.values()):
            if dmn_parser.filename != doc.display:
                continue
            with Guard(
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
            with Guard(
                problems,
                docs,
                _doc_of(docs, pp.filename),
                "SpiffWorkflow could not parse this process",
                element_id=pid,
                line=line_of(pp.node),
                drop_output_cells=True,
            ) as guard:
                parser.get_spec(pid)
            if guard.failed:
                failed.add(pid)
    if top is not None and top in parser.process_parsers and not failed:
        with Guard(problems, docs, None, "SpiffWorkflow could not collect sub-processes", element_id=top):
            parser.get_subprocess_specs(top)


def _doc_of(docs: list[Doc], filename: str | None) -> Doc | None:
    return next((d for d in docs if filename in (d.display, d.key)), None)
