"""Stage 3 of validation: what refers to what, across the files of a process folder.

Sequence flows and boundary events must point inside their own process or sub-process, call
activities must call a process of the folder, business rule tasks a decision of its DMN files, and
exactly one executable process must be the top one (called by no call activity). SpiffWorkflow
resolves these badly or not at all, so they are checked here first, with clear messages.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from engine.bpmn.validation.problems import BPMN_NS, NS, Doc, Problems, bpmn_tag, line_of, lname

# Containers whose direct children are flow elements (sequence flows connect siblings only).
CONTAINER_TAGS = {f"{{{BPMN_NS}}}{t}" for t in ("process", "subProcess", "transaction", "adHocSubProcess")}


def _processes(docs: Iterable[Doc]) -> Iterator[tuple[Doc, Any]]:
    for doc in docs:
        if doc.kind == "bpmn" and doc.root is not None:
            for proc in doc.root.iterfind("bpmn:process", NS):
                yield doc, proc


def is_executable(proc: Any) -> bool:
    """Whether SpiffWorkflow treats a ``bpmn:process`` as executable."""
    # SpiffWorkflow's rule: a process without isExecutable counts as executable.
    return proc.get("isExecutable", "true") == "true"


def top_candidates(docs: list[Doc]) -> list[tuple[Doc, Any]]:
    """Executable processes that no call activity calls: the folder must have exactly one."""
    called = {
        ca.get("calledElement")
        for doc in docs
        if doc.kind == "bpmn" and doc.root is not None
        for ca in doc.root.iter(bpmn_tag("callActivity"))
    }
    return [
        (doc, proc) for doc, proc in _processes(docs) if is_executable(proc) and proc.get("id") not in called
    ]


def _decisions(docs: Iterable[Doc]) -> Iterator[tuple[Doc, Any]]:
    for doc in docs:
        if doc.kind == "dmn" and doc.root is not None:
            for el in doc.root:
                if isinstance(el.tag, str) and lname(el) == "decision":
                    yield doc, el


def check_references(docs: list[Doc], problems: Problems, whole_folder: bool) -> None:
    """References SpiffWorkflow resolves badly or not at all, checked with clear messages.

    A sequence flow to a missing element makes SpiffWorkflow say "perhaps a form has the same ID?"
    about the *source* task; a boundary event attached to nothing is silently dropped; a missing
    decision is only noticed when its task is reached in the parse, without a file name.
    """
    process_ids = sorted(str(proc.get("id")) for _, proc in _processes(docs))
    decision_ids: dict[str, tuple[Doc, Any]] = {}
    for doc, decision in _decisions(docs):
        did = str(decision.get("id"))
        if did in decision_ids:
            other_doc, other = decision_ids[did]
            problems.at(
                doc,
                decision,
                f"decision id {did} is also defined in {other_doc.display}:"
                f"{line_of(other) or ''}; decision ids must be unique in a folder",
            )
        else:
            decision_ids[did] = (doc, decision)

    for doc in docs:
        if doc.kind != "bpmn" or doc.root is None:
            continue
        for container in doc.root.iter(*CONTAINER_TAGS):
            kind = lname(container)
            cid = container.get("id")
            members = {c.get("id"): c for c in container if isinstance(c.tag, str) and c.get("id")}
            for child in container:
                if not isinstance(child.tag, str):
                    continue
                if child.tag == bpmn_tag("sequenceFlow"):
                    fid = child.get("id")
                    for attr, verb in (("sourceRef", "starts at"), ("targetRef", "targets")):
                        ref = child.get(attr)
                        if ref is None or ref in members:
                            continue
                        where = doc.ids.get(ref)
                        hint = (
                            f" (it is inside {lname(where.getparent())} {where.getparent().get('id')})"
                            if where is not None and where.getparent() is not None
                            else ""
                        )
                        problems.add(
                            doc.display,
                            line_of(child),
                            fid,
                            f"sequence flow {fid} {verb} '{ref}', which is not an element of "
                            f"{kind} {cid}{hint}",
                        )
                elif child.tag == bpmn_tag("boundaryEvent"):
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
        for ca in doc.root.iter(bpmn_tag("callActivity")):
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
        for sub in doc.root.iter(bpmn_tag("subProcess")):
            if sub.get("triggeredByEvent") != "true":
                continue
            for start in sub.findall("bpmn:startEvent", NS):
                if start.find("bpmn:messageEventDefinition", NS) is not None:
                    # SpiffWorkflow 3.2.0 creates no waiting task for it (so it cannot be addressed)
                    # and, when triggered, rewires the process spec that every case of the version shares.
                    problems.at(
                        doc,
                        start,
                        "message-started event sub-processes are not supported; catch the message with a "
                        "boundary event or an intermediate catch event instead",
                    )
        for brt in doc.root.iter(bpmn_tag("businessRuleTask")):
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


def check_top(docs: list[Doc], folder_display: str, problems: Problems) -> str | None:
    candidates = top_candidates(docs)
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
