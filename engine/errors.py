"""One root for every error cadreflow shows to a person or a caller.

Each error carries a stable ``code`` (the four process tests use — ``forbidden``, ``invalid``,
``conflict``, ``not_found`` — plus a few internal ones) and, where they apply, the case id, the task
instance id, the BPMN element id, the form field, and for definition problems the file and line.
The web layer maps codes to HTTP statuses; the CLI prints ``str(error)``; nobody shows a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class CadreflowError(Exception):
    """Root of all typed errors. ``message`` says what failed and, where useful, what to do."""

    message: str
    case_id: str | None = None
    task: str | None = None
    element_id: str | None = None
    fields: dict[str, str] = field(default_factory=dict)

    code = "error"

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        where = []
        if self.case_id:
            where.append(f"case {self.case_id}")
        if self.element_id:
            where.append(f"element {self.element_id}")
        if self.task:
            where.append(f"task {self.task}")
        prefix = f"[{', '.join(where)}] " if where else ""
        text = f"{prefix}{self.message}"
        if self.fields:
            text += "; " + "; ".join(f"{k}: {v}" for k, v in self.fields.items())
        return text

    def to_dict(self) -> dict[str, Any]:
        """The one error shape callers see: ``{error, message, fields}`` plus where it happened."""
        out: dict[str, Any] = {"error": self.code, "message": self.message, "fields": dict(self.fields)}
        for key in ("case_id", "task", "element_id"):
            value = getattr(self, key)
            if value:
                out[key] = value
        return out


class Forbidden(CadreflowError):
    """The actor may not do this (role, unit scope, or separation of duties)."""

    code = "forbidden"


class Invalid(CadreflowError):
    """Input fails a schema or a rule; nothing was changed. ``fields`` names each bad field."""

    code = "invalid"


class Conflict(CadreflowError):
    """Someone else changed the thing first (completed or claimed the task, advanced the case)."""

    code = "conflict"


class NotFound(CadreflowError):
    """No such case, task instance, definition, user or unit (or it is no longer ready)."""

    code = "not_found"


@dataclass
class DefinitionError(Invalid):
    """A problem in a BPMN, DMN or form file, located as ``file:line: element-id: message``."""

    file: str = ""
    line: int | None = None
    rule: str | None = None  # the lint rule that found it (e.g. ``lane-role``); None for other checks

    def location(self) -> str:
        line = "" if self.line is None else str(self.line)
        rule = f"[{self.rule}] " if self.rule else ""
        return f"{self.file}:{line}: {self.element_id or '-'}: {rule}{self.message}"

    def to_dict(self) -> dict[str, Any]:
        """The error shape plus where in which file, and the rule (to mark it on the diagram)."""
        out = super().to_dict()
        out.update(file=self.file, line=self.line, rule=self.rule)
        return out

    def __str__(self) -> str:
        return self.location()


@dataclass
class DefinitionErrors(Invalid):
    """Several definition problems found in one validation pass (validation reports them all)."""

    problems: list[DefinitionError] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(p.location() for p in self.problems)


class ScriptError(CadreflowError):
    """A script, condition or decision cell failed or was refused by the sandbox.

    Raised while a case runs; the step that hit it is rolled back, so the case stays as it was.
    """

    code = "script_error"


class ScriptTimeout(ScriptError):
    """A script used up its step budget (an endless or far too long loop)."""

    code = "script_timeout"


class IntegrityError(CadreflowError):
    """The stored history of a case does not verify (hash chain broken, head missing)."""

    code = "integrity"
