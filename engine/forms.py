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


# Field errors are written "English / 中文", like the labels in form files: the web shows the reader's
# half (webui.i18n.pick). Submitted values are never quoted in them: a value could hold " / " itself.
_TYPES = {
    "string": ("text", "文本"),
    "integer": ("a whole number", "整数"),
    "number": ("a number", "数字"),
    "boolean": ("yes or no", "是或否"),
    "array": ("a list", "列表"),
    "object": ("a group of fields", "一组字段"),
    "null": ("empty", "空值"),
}
_BOUNDS = {
    "minimum": ("at least", "不得小于"),
    "maximum": ("at most", "不得大于"),
    "exclusiveMinimum": ("more than", "须大于"),
    "exclusiveMaximum": ("less than", "须小于"),
}


def _message(error: ValidationError) -> str:
    """What is wrong with one field, in English and Chinese."""
    rule, value = error.validator, error.validator_value
    if rule == "required":
        return "is required / 必填"
    if rule == "additionalProperties" and isinstance(error.instance, dict):
        known = set((error.schema.get("properties") or {}) if isinstance(error.schema, dict) else ())
        names = ", ".join(sorted(str(k) for k in error.instance if k not in known))
        return f"unknown field(s): {names} / 未知字段：{names}"
    if rule == "type":
        wanted = [_TYPES.get(t, (t, t)) for t in (value if isinstance(value, list) else [value])]
        return f"must be {' or '.join(en for en, _zh in wanted)} / 须为{'或'.join(zh for _en, zh in wanted)}"
    if rule == "enum":
        return "is not one of the choices / 不是可选的值"
    if rule == "minLength":
        if value == 1:
            return "must not be empty / 不能为空"
        return f"needs at least {value} characters / 至少 {value} 个字符"
    if rule == "maxLength":
        return f"is longer than {value} characters / 超过 {value} 个字符"
    if rule == "pattern":
        return "is not in the expected form / 格式不正确"
    if rule == "format" and value == "date":
        return "must be a date (YYYY-MM-DD) / 须为日期（YYYY-MM-DD）"
    if rule in _BOUNDS:
        en, zh = _BOUNDS[str(rule)]
        return f"must be {en} {value} / {zh} {value}"
    if rule == "minItems":
        return f"needs at least {value} item(s) / 至少 {value} 项"
    if rule == "maxItems":
        return f"has more than {value} item(s) / 超过 {value} 项"
    if rule == "uniqueItems":
        return "has the same item twice / 有重复项"
    return error.message  # a JSON Schema keyword no form here uses: the validator's own words


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
REF_NOUNS = {
    "unit": ("unit", "已有的单位"),
    "cadre": ("reserve cadre with an open file in the pool", "库中建档的后备干部"),
}


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
            en, zh = REF_NOUNS.get(kind, (kind, kind))
            fields.setdefault(path, f"names no {en} / 不是{zh}")
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
