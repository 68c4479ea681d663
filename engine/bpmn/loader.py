"""Load and validate a cadreflow process folder (BPMN, DMN and the JSON Schema forms it names).

A process folder ``processes/<name>/`` holds ``.bpmn`` and ``.dmn`` files; user tasks name their form
in ``forms/``. :func:`load_process_folder` checks everything a designer can get wrong and reports
*every* problem at once, each located as ``file:line: element-id: message``, because a designer fixing
one error per run would give up. Checks run per file in this order, later ones only where earlier
ones leave something to look at (each stage is a module of :mod:`engine.bpmn.validation`):

1. safe XML (``xml``): no entities, no DTD, no network, no huge trees; any DOCTYPE is refused before
   lxml reads the document (XML external entities and entity-expansion bombs never get a chance);
2. XSD (``schema``): BPMN 2.0 (with SpiffWorkflow's extension schema) or the DMN schema of the file's
   namespace; every error in the log is reported, not only the last one as SpiffWorkflow's validator does;
3. references (``references``) and SpiffWorkflow's own semantic parse (``spiff_parse``; its exceptions
   carry an element id but no line: the line is looked up from the id, ``guard``);
4. cadreflow's rules: lanes named after roles, forms present and valid, ``dueIn`` durations
   (``conventions``, ``forms``), every script and expression compiles in the sandbox, timer durations
   quoted (``expressions``, ``decisions``), one top executable process (``references``).

This module is the public entry: it reads the folder, runs the stages in that order and builds the
:class:`ProcessBundle`. :func:`parse_specs` rebuilds SpiffWorkflow specs from stored file contents (no
file system) at run time. Nothing raised by lxml or SpiffWorkflow escapes this module: it becomes a
:class:`DefinitionError`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec

from engine.bpmn.validation.conventions import (
    DEFAULT_UNIT_KEY,
    DUE_PROPERTY,
    FORM_PROPERTY,
    FORM_SUFFIXES,
    UNIT_PROPERTY,
    UserTaskInfo,
    check_property_shapes,
    check_user_tasks,
    read_properties,
)
from engine.bpmn.validation.decisions import SUPPORTED_HIT_POLICIES, check_dmn
from engine.bpmn.validation.expressions import check_bpmn_code
from engine.bpmn.validation.forms import MAX_FORM_NODES, FormCache
from engine.bpmn.validation.guard import Guard
from engine.bpmn.validation.lint import check_flow_rules
from engine.bpmn.validation.problems import BPMN_NS, NS, SPIFF_NS, Doc, Problems
from engine.bpmn.validation.references import check_references, check_top, top_candidates
from engine.bpmn.validation.schema import MAX_XSD_ERRORS, check_schema
from engine.bpmn.validation.spiff_parse import build_parser, semantic_parse
from engine.bpmn.validation.xml import DOCTYPE_MESSAGE, ENTITY_MESSAGE, parse_xml
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
    # Constants of the validation stages, importable from here as before the split.
    "BPMN_NS",
    "DEFAULT_UNIT_KEY",
    "DOCTYPE_MESSAGE",
    "DUE_PROPERTY",
    "ENTITY_MESSAGE",
    "FORM_PROPERTY",
    "FORM_SUFFIXES",
    "MAX_FILE_BYTES",
    "MAX_FORM_NODES",
    "MAX_XSD_ERRORS",
    "NS",
    "SPIFF_NS",
    "SUPPORTED_HIT_POLICIES",
    "UNIT_PROPERTY",
]

MAX_FILE_BYTES = 5 * 1024 * 1024  # a BPMN file of this size is a mistake or an attack, not a diagram


@dataclass(frozen=True)
class ProcessBundle:
    """A validated process folder: its raw files (what gets stored and hashed) plus derived metadata."""

    process_id: str
    files: dict[str, bytes]
    content_hash: str
    user_tasks: dict[str, UserTaskInfo]
    forms: dict[str, dict[str, Any]]
    process_properties: dict[str, str]


def bundle_hash(files: dict[str, bytes]) -> str:
    """sha256 hex of the canonical JSON (``engine.canonical``) of the sorted ``[path, sha256 hex]`` listing.

    Hashing a listing rather than concatenated bytes means no two different bundles can collide by
    shifting bytes between files; any changed byte, added or removed file changes the hash, and
    the order files were read in does not.
    """
    listing = sorted([path, hashlib.sha256(content).hexdigest()] for path, content in files.items())
    return canonical_content_hash(listing)


def _read_docs(folder: Path, problems: Problems) -> list[Doc]:
    if not folder.is_dir():
        problems.add(str(folder), None, None, "not a folder")
        return []
    docs: list[Doc] = []
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
            Doc(display=display, key=f"processes/{folder.name}/{path.name}", kind=suffix[1:], data=data)
        )
    if not any(d.kind == "bpmn" for d in docs) and not len(problems):
        problems.add(str(folder), None, None, "no .bpmn file in this process folder")
    return docs


def _run_checks(
    docs: list[Doc], folder_display: str, forms_dir: Path, roles: frozenset[str], problems: Problems
) -> tuple[str | None, dict[str, UserTaskInfo], FormCache]:
    # 1. safe XML
    for doc in docs:
        doc.root = parse_xml(doc.data, doc.display, problems)
        if doc.root is not None:
            doc.index()
    parsed = [d for d in docs if d.root is not None]
    # 2. XSD
    for doc in parsed:
        with Guard(problems, docs, doc, "XSD validation failed"):
            check_schema(doc, problems)
    # 3. references, then SpiffWorkflow (only on a complete, schema-valid folder: partial input gives
    #    misleading follow-on errors)
    top = None
    with Guard(problems, parsed, None, "reference check failed", file=folder_display):
        check_references(parsed, problems, whole_folder=len(parsed) == len(docs))
        for doc in parsed:
            if doc.kind == "bpmn":
                check_property_shapes(doc, problems)
        top = check_top(parsed, folder_display, problems) if len(parsed) == len(docs) else None
    if len(problems) == 0 and all(d.schema_ok for d in docs):
        with Guard(problems, docs, None, "SpiffWorkflow parse failed", file=folder_display):
            semantic_parse(docs, top, problems)
    # 4. cadreflow rules
    tasks: dict[str, UserTaskInfo] = {}
    seen: dict[str, tuple[Doc, Any]] = {}
    forms = FormCache(forms_dir=forms_dir)
    for doc in parsed:
        with Guard(problems, docs, doc, "check failed"):
            if doc.kind == "bpmn":
                check_user_tasks(doc, roles, forms, problems, tasks, seen)
                check_bpmn_code(doc, problems)
            else:
                check_dmn(doc, problems)
    # Lint rules over the flow graph need every form and decision of the folder read first.
    for doc in parsed:
        if doc.kind == "bpmn":
            with Guard(problems, docs, doc, "lint failed"):
                check_flow_rules(doc, parsed, forms, problems)
    return top, tasks, forms


def load_process_folder(folder: Path, forms_dir: Path, roles: frozenset[str] = LANE_ROLES) -> ProcessBundle:
    """Validate a process folder and return its bundle; raise :class:`DefinitionErrors` listing every problem.

    Errors name files as given (``folder / name``), so a designer can click through; the bundle names
    them ``processes/<folder name>/<file>`` and ``forms/<key>``, the paths stored with a definition.
    """
    folder, forms_dir = Path(folder), Path(forms_dir)
    problems = Problems()
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
    top_doc, top_proc = top_candidates(docs)[0]
    process_properties, _ = read_properties(top_proc, top_doc, Problems())
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
    problems = Problems()
    docs: list[Doc] = []
    for key in sorted(files):
        suffix = Path(key).suffix.lower()
        if suffix not in (".bpmn", ".dmn"):
            continue
        doc = Doc(display=key, key=key, kind=suffix[1:], data=files[key])
        doc.root = parse_xml(doc.data, key, problems)
        if doc.root is not None:
            doc.index()
            docs.append(doc)
    top: str | None = None
    if not problems.items:
        top = check_top(docs, "(definition)", problems)
    if problems.items or top is None:
        raise DefinitionErrors(message="stored definition does not parse", problems=list(problems.items))
    parser = build_parser(docs, None, problems)
    if not problems.items:
        with Guard(problems, docs, None, "SpiffWorkflow could not parse the definition", element_id=top):
            spec = parser.get_spec(top)
            subprocesses = parser.get_subprocess_specs(top)
            return spec, subprocesses
    if not problems.items:
        problems.add(
            docs[0].display if docs else "", None, top, "SpiffWorkflow could not parse the definition"
        )
    raise DefinitionErrors(message="stored definition does not parse", problems=list(problems.items))
