"""Form validation: a user task's submitted data against its JSON Schema and its rule checks.

A form file (``forms/<key>.schema.yaml``) is a JSON Schema (draft 2020-12) written in YAML, plus two
cadreflow keywords:

* ``x-rules``: cross-field rules JSON Schema cannot say (one entry per candidate, a reason required
  when the proposal differs from the pre-selection, ...). Each is ``{field, check, message: {en, zh}}``;
  ``check`` is a sandboxed Python expression over the task's data overlaid with the submitted form
  (optional fields left out are ``None``) and ``case_subjects`` (people the case is already about).
  Rules run only when the schema passes.
* ``x-ref: unit`` / ``x-ref: cadre`` on a string: a non-empty value must name an existing unit / a reserve
  cadre whose file is open (``engine.references``); whether it may be empty is the schema's to say.

Defaults (``default``) of absent properties are filled in before validation, so the workflow always
sees every optional field. Every problem is reported at once, each under the field it is about
(``nominees[2].reason``), and nothing is changed: the task stays ready.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from engine.bpmn.sandbox import SandboxEnvironment
from engine.errors import Invalid, ScriptError

_FORMAT_CHECKER = FormatChecker()


def fill_defaults(schema: dict[str, Any], data: Any) -> Any:
    """A copy of ``data`` with the ``default`` of every absent object property filled in."""
    if not isinstance(data, dict) or schema.get("type") not in (None, "object"):
        if isinstance(data, list) and isinstance(schema.get("items"), dict):
            return [fill_defaults(schema["items"], item) for item in data]
        return data
    out = dict(data)
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict):
            continue
        if name not in out and "default" in prop:
            out[name] = copy.deepcopy(prop["default"])
        if name in out:
            out[name] = fill_defaults(prop, out[name])
    return out


def _field_path(error: ValidationError) -> str:
    path = ""
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [name for name in error.validator_value if name not in error.instance]
        if missing:
            path = f"{path}.{missing[0]}" if path else missing[0]
    return path or "(form)"


def _message(error: ValidationError) -> str:
    if error.validator == "required":
        return "is required"
    if error.validator == "additionalProperties":
        return error.message.replace("Additional properties are not allowed", "unknown field(s)")
    return error.message


def _refs(schema: dict[str, Any], data: Any, path: str) -> Iterable[tuple[str, str, Any]]:
    """Yield (path, kind, value) for every value whose schema carries ``x-ref``."""
    if not isinstance(schema, dict):
        return
    if "x-ref" in schema and isinstance(data, str) and data:
        yield path, schema["x-ref"], data
    if isinstance(data, dict):
        for name, prop in (schema.get("properties") or {}).items():
            if name in data:
                yield from _refs(prop, data[name], f"{path}.{name}" if path else name)
    if isinstance(data, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(data):
            yield from _refs(schema["items"], item, f"{path}[{index}]")


Evaluate = Callable[[str, dict[str, Any]], Any]
_RULES = SandboxEnvironment()  # x-rules are designer code like scripts: the same sandbox
RefExists = Callable[[str, str], bool]
REF_NOUNS = {"unit": "unit", "cadre": "reserve cadre with an open file in the pool"}


def validate_form(
    schema: dict[str, Any],
    data: Any,
    *,
    task_data: dict[str, Any],
    case_subjects: list[str],
    ref_exists: RefExists,
    evaluate: Evaluate | None = None,
    element_id: str | None = None,
) -> dict[str, Any]:
    """Validate submitted form ``data``; return it with defaults filled, or raise :class:`Invalid`.

    Rules run in the scripts' sandbox unless ``evaluate`` says otherwise.
    """
    evaluate = evaluate or _RULES.evaluate
    if not isinstance(data, dict):
        raise Invalid(
            "form data must be an object of fields", element_id=element_id, fields={"(form)": "not an object"}
        )
    filled = fill_defaults(schema, data)
    validator = Draft202012Validator(schema, format_checker=_FORMAT_CHECKER)
    fields: dict[str, str] = {}
    for error in sorted(validator.iter_errors(filled), key=lambda e: list(map(str, e.absolute_path))):
        fields.setdefault(_field_path(error), _message(error))
    for path, kind, value in _refs(schema, filled, ""):
        if not ref_exists(kind, value):
            fields.setdefault(path, f"no {REF_NOUNS.get(kind, kind)} with id {value!r}")
    if fields:
        raise Invalid("the form has invalid fields", element_id=element_id, fields=fields)

    context = dict(task_data)
    context.update({name: None for name in (schema.get("properties") or {})})
    context.update(filled)
    context["case_subjects"] = list(case_subjects)
    for rule in schema.get("x-rules", []) or []:
        try:
            ok = evaluate(rule["check"], context)
        except ScriptError as err:
            # A broken rule is a designer's bug, but the person filling the form still gets a field error.
            ok, detail = False, f" (rule could not be evaluated: {err.message})"
        else:
            detail = ""
        if not ok:
            message = rule.get("message", {})
            # Both languages, "English / 中文", as everywhere in process files; the web shows one half.
            if isinstance(message, dict):
                text = " / ".join(m for m in (message.get("en"), message.get("zh")) if m) or "rule failed"
            else:
                text = str(message)
            fields.setdefault(rule.get("field", "(form)"), text + detail)
    if fields:
        raise Invalid("the form breaks a rule", element_id=element_id, fields=fields)
    return filled
