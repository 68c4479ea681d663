"""Stage 4 of validation: DMN decision tables as SpiffWorkflow's DMN engine will evaluate them.

Only the hit policies SpiffWorkflow implements, no aggregation (it ignores it), rules with one entry
per input and output, and every cell compiling in the sandbox the way the engine will run it: an
input entry is compared with ``==``, stands in for ``?`` or is appended to the input expression.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from lxml import etree

from engine.bpmn.validation.expressions import check_code, compile_problem
from engine.bpmn.validation.problems import Doc, Problems

SUPPORTED_HIT_POLICIES = ("UNIQUE", "FIRST", "ANY", "COLLECT")


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
    doc: Doc, text_el: Any, text: str | None, input_expr: str | None, problems: Problems
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
        check_code(doc, text_el, substituted, "eval", what, problems)
        return
    if _parses_as_module(text):
        check_code(doc, text_el, text, "eval", what, problems)
        return
    if compile_problem("v " + text, "eval") is not None:
        check_code(doc, text_el, "v " + text, "eval", what, problems)
        return
    joined = (input_expr or "v") + text
    merges = bool(re.match(r"\w", text)) and bool(re.search(r"\w$", input_expr or "v"))
    if merges or compile_problem(joined, "eval") is not None:
        problems.at(
            doc,
            text_el,
            f"{what} is appended to the input expression without a space by "
            f"SpiffWorkflow, giving {joined!r}; start it with a space",
        )


def check_dmn(doc: Doc, problems: Problems) -> None:
    """Check every decision of a DMN file: a supported table, rules that fit it, cells that compile."""
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
                check_code(doc, text_el, expr, "eval", "input expression", problems)
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
                    check_code(
                        doc, text_el, text_el.text, "eval", f"output entry {text_el.text.strip()!r}", problems
                    )
    for decision in root.iterfind("dmn:decision", ns):
        if decision.find("dmn:decisionTable", ns) is None:
            problems.at(doc, decision, "decision has no decision table (SpiffWorkflow runs only tables)")
