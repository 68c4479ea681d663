"""Stage 4 of validation: every script and expression of a BPMN file compiles in the sandbox.

Scripts, pre/post scripts, sequence flow conditions, loop and multi-instance expressions and timer
expressions are compiled with the sandbox the engine runs them in (:mod:`engine.bpmn.sandbox`), and a
failure is reported at the file line of the offending source line. Timer expressions are Python, so
a bare ISO-8601 value (``P7D``) is refused with a hint to quote it; a condition on a flow that does
not leave a gateway is refused because SpiffWorkflow ignores it. DMN cells use :func:`check_code` too,
and a user task's ``dueIn`` uses :func:`valid_duration`, the durations SpiffWorkflow's timers read.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from engine.bpmn.validation.problems import BPMN_NS, NS, Doc, Problems, bpmn_tag, line_of, lname, spiff_tag
from engine.bpmn.validation.rules import TIMER_QUOTED

_GATEWAYS_WITH_CONDITIONS = {f"{{{BPMN_NS}}}{t}" for t in ("exclusiveGateway", "inclusiveGateway")}

# An ISO-8601 duration (a user task's dueIn, or what an unquoted timer value looks like).
_DURATION_RE = re.compile(
    r"P(?=\d|T\d)(?:\d+Y)?(?:\d+M)?(?:\d+W)?(?:\d+D)?(?:T(?=\d)(?:\d+H)?(?:\d+M)?(?:\d+(?:[.,]\d+)?S)?)?"
)
_DATETIME_RE = r"\d{4}-?\d{2}-?\d{2}(?:T[\d:.,]+(?:Z|[+-]\d{2}:?\d{2})?)?"
_ISO_PART = rf"(?:{_DURATION_RE.pattern}|{_DATETIME_RE})"
# A timer text that is an ISO-8601 value rather than a Python expression (e.g. P7D, R3/PT1H).
_BARE_TIMER_RE = re.compile(rf"(?:R\d*/)?{_ISO_PART}(?:/{_ISO_PART})?")
_LINE_IN_MESSAGE_RE = re.compile(r"\bline (\d+)", re.IGNORECASE)


def compile_problem(source: str, mode: str) -> tuple[str, int] | None:
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


def check_code(doc: Doc, el: Any, source: str | None, mode: str, what: str, problems: Problems) -> None:
    """Report a script/expression that does not compile, at the file line of the offending source line.

    The text of an element starts on the line of its start tag, so source line N sits at
    ``sourceline + N - 1`` (exact for the one-line start tags modelers write).
    """
    if source is None or not source.strip():
        problems.at(doc, el, f"{what} is empty")
        return
    found = compile_problem(source, mode)
    if found is None:
        return
    message, script_line = found
    base = line_of(el)
    line = base + script_line - 1 if base is not None else None
    message = re.sub(r"^line \d+:\s*", "", message, flags=re.IGNORECASE)
    problems.at(doc, el, f"{what} does not compile: {message}", line=line)


def check_bpmn_code(doc: Doc, problems: Problems) -> None:
    """Compile every script and expression of a BPMN file; refuse unquoted timers and ignored conditions."""
    root = doc.root
    for task in root.iter(bpmn_tag("scriptTask")):
        scripts = task.findall("bpmn:script", NS)
        if not scripts:
            problems.at(doc, task, "script task has no bpmn:script")
        for script in scripts:
            check_code(doc, script, script.text, "exec", "script", problems)
    for tag, what in (("preScript", "preScript"), ("postScript", "postScript")):
        for el in root.iter(spiff_tag(tag)):
            check_code(doc, el, el.text, "exec", what, problems)
    for flow in root.iter(bpmn_tag("sequenceFlow")):
        cond = flow.find("bpmn:conditionExpression", NS)
        if cond is None:
            continue
        check_code(doc, cond, cond.text, "eval", f"condition of sequence flow {flow.get('id')}", problems)
        source = doc.ids.get(flow.get("sourceRef"))
        if source is not None and source.tag not in _GATEWAYS_WITH_CONDITIONS:
            problems.at(
                doc,
                cond,
                f"condition on a sequence flow leaving a {lname(source)} is ignored by "
                "SpiffWorkflow; branch with an exclusive or inclusive gateway",
            )
    for tag, what in (
        ("loopCondition", "loop condition"),
        ("loopCardinality", "loop cardinality"),
        ("completionCondition", "completion condition"),
    ):
        for el in root.iter(bpmn_tag(tag)):
            check_code(doc, el, el.text, "eval", what, problems)
    for timer in root.iter(bpmn_tag("timerEventDefinition")):
        for child in timer:
            if not isinstance(child.tag, str) or lname(child) not in (
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
                    rule=TIMER_QUOTED,
                )
                continue
            check_code(doc, child, child.text, "eval", f"timer expression ({lname(child)})", problems)


def valid_duration(text: str) -> bool:
    """ISO-8601 durations as SpiffWorkflow's timer parser reads them (weeks do not mix with Y/M/D)."""
    if not _DURATION_RE.fullmatch(text):
        return False
    date_part = text.split("T", 1)[0]
    return not ("W" in date_part and any(c in date_part for c in "YMD"))
