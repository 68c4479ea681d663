"""Exceptions from lxml and SpiffWorkflow become located problems: nothing raw leaves validation.

SpiffWorkflow reports a fault as a ``ValidationException`` that carries an element id and a file name
but no line, so the line is looked up from the id; anything else is reported against the file with
its type. Every validation stage runs inside a :class:`Guard`.
"""

from __future__ import annotations

from typing import Self

from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException

from engine.bpmn.validation.problems import Doc, Problems, line_of, short


def _from_validation_exception(
    exc: ValidationException,
    docs: list[Doc],
    fallback: Doc | None,
    problems: Problems,
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
            line = line_of(doc.ids[element_id])
    notes = [str(n) for n in getattr(exc, "notes", [])]
    if notes:
        message += "; " + "; ".join(notes)
    file = doc.display if doc is not None else file_name
    problems.add(file, line, element_id, short(message))


class Guard:
    """Turn any exception raised in the block into a located problem: nothing raw leaves the loader.

    ``ValidationException`` keeps its element id (the line is looked up); anything else is reported
    against the file with its type. ``ImportError`` (the sandbox module missing) is a deployment
    fault, not a definition problem, and propagates; so do ``KeyboardInterrupt`` and friends.
    """

    def __init__(
        self,
        problems: Problems,
        docs: list[Doc],
        doc: Doc | None,
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
                f"{self.what}: {type(exc).__name__}: {short(str(exc))}",
            )
        return True
