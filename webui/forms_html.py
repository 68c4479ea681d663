"""HTML forms from the JSON Schemas in ``forms/`` — rendered on the server, parsed back on submit.

:func:`render_form` turns a form schema, the current values, the engine's field errors and the page's
choices into the form's fields (the page supplies the ``<form>`` element, the CSRF token and the submit
button); :func:`parse_form` turns the submitted fields back into the nested JSON the engine validates.
The markup comes from the macros in ``templates/form_macros.html``; ``static/form.js`` adds and removes
table rows. No JS build.

Widgets, by schema:

* ``string`` → text input; ``format: date`` → date input; long text (``minLength`` ≥ 20, the name
  ``report``, a ``reason`` outside a table, or ``x-widget: textarea``) → textarea; a string with
  choices → ``<select>`` of those choices.
* ``integer`` / ``number`` → number input, ``step`` 1 or ``any``, ``min``/``max`` from
  ``minimum``/``maximum``; ``type: [number, "null"]`` may be left empty (``None``), with a hint
  (``x-null-hint`` or "empty = absent / 空=缺考").
* ``enum`` → ``<select>``; labels from ``x-enum-labels`` (value → "English / 中文") or the value with
  underscores as spaces.
* ``boolean`` → checkbox (a hidden ``false`` before it, so an unchecked box is still sent).
* ``object`` → fieldset of its properties.
* array of objects → table, one row per item and one column per item property, a "remove" button per
  row and an "add row" button that clones a hidden, disabled template row (index ``__index__``).
* array of strings with choices (or of an ``enum``) → checkbox list, every box named ``path[]``.
* array of strings without choices (``units`` when the page gives none) → a textarea, one item per
  line; blank lines are dropped.

Names are bracket paths (``nominees[0][name]``, ``conditions[max_age]``, ``proposed[]``); every control
has an ``id``, a ``data-path`` with the engine's field path (``nominees[2].reason``) and an
``aria-describedby`` pointing at its error element (``<id>__error``). ``choices`` are keyed by the field
path with the indexes left out (``votes[].candidate``, ``proposed[]``). An error whose path has no
control of its own (``nominees[7].name`` for a row that is not shown) is shown at the nearest field
above it, with its path; ``(form)`` and anything without a field are shown at the top.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from webui.i18n import pick

TEMPLATE_INDEX = "__index__"
FORM_ERRORS = "(form)"
NULL_HINT = "empty = absent / 空=缺考"
UI_TEXT = {
    "add": "Add row / 添加一行",
    "remove": "Remove / 删除",
    "choose": "— choose — / — 请选择 —",
    "required": "required / 必填",
    "lines": "one per line / 每行一项",
    "no_choices": "nothing to choose from / 无可选项",
    "row": "No. / 序号",
    "form_errors": "Please correct the fields marked below. / 请更正下列标出的字段。",
}
LONG_TEXT_NAMES = frozenset({"report"})
LONG_TEXT_OUTSIDE_TABLES = frozenset({"report", "reason"})
_INDEX = re.compile(r"\[(?:\d+|__index__)\]")
_LAST_SEGMENT = re.compile(r"(\[\d+\]|\.[^.\[\]]+)$")
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_]")
_INTEGER_TEXT = re.compile(r"^[+-]?\d+$")

Choices = Mapping[str, list[tuple[str, str]]]


# ---------------------------------------------------------------------------------------------------
# The field tree the macros render


@dataclass
class Option:
    """One ``<option>`` or one checkbox of a list."""

    value: str
    label: str
    selected: bool = False
    id: str = ""


@dataclass
class Column:
    """A column of an array-of-objects table (one item property)."""

    id: str
    label: str
    required: bool
    hint: str = ""


@dataclass
class Node:
    """One field (or fieldset, table, table row) as the macros in ``form_macros.html`` render it."""

    #: text, date, textarea, number, select, checkbox, checklist, lines, fieldset, table or row
    kind: str
    path: str
    name: str
    id: str
    label: str = ""
    required: bool = False
    value: str = ""
    hint: str = ""
    attrs: dict[str, str] = field(default_factory=dict)
    options: list[Option] = field(default_factory=list)
    children: list[Node] = field(default_factory=list)
    columns: list[Column] = field(default_factory=list)
    template: Node | None = None
    errors: list[str] = field(default_factory=list)
    index: str = ""
    in_table: bool = False
    disabled: bool = False

    @property
    def error_id(self) -> str:
        return f"{self.id}__error"

    @property
    def hint_id(self) -> str:
        return f"{self.id}__hint"


@dataclass
class FormView:
    """The whole form: its top-level fields and the errors that belong to no field."""

    id: str
    fields: list[Node]
    errors: list[str]
    text: dict[str, str]
    script_url: str | None


# ---------------------------------------------------------------------------------------------------
# Schema helpers


def _types(schema: Mapping[str, Any]) -> set[str]:
    kind = schema.get("type")
    if isinstance(kind, str):
        return {kind}
    if isinstance(kind, list):
        return {str(k) for k in kind}
    if "properties" in schema:
        return {"object"}
    if "items" in schema:
        return {"array"}
    return set()


def _properties(schema: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    props = schema.get("properties") or {}
    return {name: prop for name, prop in props.items() if isinstance(prop, dict)}


def _required(schema: Mapping[str, Any]) -> set[str]:
    return set(schema.get("required") or [])


def _items(schema: Mapping[str, Any]) -> dict[str, Any]:
    items = schema.get("items")
    return items if isinstance(items, dict) else {}


def _is_object_array(schema: Mapping[str, Any]) -> bool:
    return "array" in _types(schema) and "object" in _types(_items(schema))


def _child_name(parent: str, name: str) -> str:
    return f"{parent}[{name}]" if parent else name


def _child_path(parent: str, name: str) -> str:
    return f"{parent}.{name}" if parent else name


def _choice_key(path: str) -> str:
    """``votes[3].candidate`` → ``votes[].candidate`` (the key of ``choices``)."""
    return _INDEX.sub("[]", path)


def _dom_id(prefix: str, path: str) -> str:
    """``nominees[2].reason`` → ``f-nominees-2-reason``."""
    parts = [p for p in re.split(r"[.\[\]]+", path) if p]
    return "-".join([prefix] + [_ID_UNSAFE.sub("_", p) for p in parts])


def _display(value: Any) -> str:
    """A value as an input shows it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return str(value)


def _enum_label(schema: Mapping[str, Any], value: Any, language: str) -> str:
    labels = schema.get("x-enum-labels")
    if isinstance(labels, dict) and str(value) in labels:
        return pick(labels[str(value)], language)
    return str(value).replace("_", " ")


# ---------------------------------------------------------------------------------------------------
# Rendering


class _Builder:
    """Builds the :class:`Node` tree for one form and files every node under its field path."""

    def __init__(self, choices: Choices, language: str, prefix: str) -> None:
        self.choices = choices
        self.language = language
        self.prefix = prefix
        self.by_path: dict[str, Node] = {}

    def t(self, key: str) -> str:
        return pick(UI_TEXT[key], self.language)

    def node(
        self,
        schema: Mapping[str, Any],
        prop: str,
        name: str,
        path: str,
        value: Any,
        *,
        required: bool,
        in_table: bool = False,
        template: bool = False,
        labelled_by: str = "",
    ) -> Node:
        """The node of one property; ``value`` is the current value (or ``None``)."""
        if value is None and "default" in schema:
            value = schema["default"]
        types = _types(schema)
        node = Node(
            kind="text",
            path=path,
            name=name,
            id=_dom_id(self.prefix, path),
            label=pick(schema.get("title") or prop, self.language),
            required=required,
            in_table=in_table,
        )
        if "enum" in schema:
            self._select(
                node, schema, value, [(v, _enum_label(schema, v, self.language)) for v in schema["enum"]]
            )
        elif "object" in types:
            self._fieldset(node, schema, value, template)
        elif "array" in types:
            self._array(node, schema, value, template)
        elif "boolean" in types:
            node.kind = "checkbox"
            node.attrs = {"type": "checkbox", "value": "true"}
            if value is True or value == "true":
                node.attrs["checked"] = "checked"
        elif types & {"integer", "number"}:
            self._number(node, schema, value, types)
        elif _choice_key(path) in self.choices:
            self._select(node, schema, value, self.choices[_choice_key(path)])
        else:
            self._string(node, schema, prop, value)
        self._finish(node, template, labelled_by)
        return node

    def _finish(self, node: Node, template: bool, labelled_by: str) -> None:
        if node.kind in {"fieldset", "table", "checklist", "row"}:
            node.attrs.setdefault("aria-describedby", node.error_id)
        else:
            node.attrs = {"id": node.id, "name": node.name, "data-path": node.path, **node.attrs}
            described = [node.error_id] + ([node.hint_id] if node.hint and not node.in_table else [])
            if node.hint and node.in_table and labelled_by:
                described.append(f"{labelled_by}__hint")
            node.attrs["aria-describedby"] = " ".join(described)
            if node.required:
                node.attrs["aria-required"] = "true"
            if labelled_by:
                node.attrs["aria-labelledby"] = labelled_by
            if template:
                node.attrs["disabled"] = "disabled"
        node.disabled = template
        if not template:
            self.by_path[node.path] = node

    def _select(
        self, node: Node, schema: Mapping[str, Any], value: Any, pairs: list[tuple[Any, str]]
    ) -> None:
        node.kind = "select"
        current = "" if value is None else _display(value)
        node.options = [Option("", self.t("choose"), selected=current == "")]
        known = False
        for option_value, label in pairs:
            shown = _display(option_value)
            selected = shown == current and current != ""
            known = known or selected
            node.options.append(Option(shown, pick(label, self.language), selected=selected))
        if current and not known:  # a value the choices no longer offer stays visible (and is sent back)
            node.options.append(Option(current, current, selected=True))

    def _string(self, node: Node, schema: Mapping[str, Any], prop: str, value: Any) -> None:
        long_names = LONG_TEXT_NAMES if node.in_table else LONG_TEXT_OUTSIDE_TABLES
        text = "" if value is None else _display(value)
        if schema.get("x-widget") == "textarea" or (schema.get("minLength") or 0) >= 20 or prop in long_names:
            node.kind = "textarea"
            node.value = text
            return
        node.kind = "date" if schema.get("format") == "date" else "text"
        node.attrs = {"type": node.kind, "value": text}
        if isinstance(schema.get("maxLength"), int):
            node.attrs["maxlength"] = str(schema["maxLength"])

    def _number(self, node: Node, schema: Mapping[str, Any], value: Any, types: set[str]) -> None:
        node.kind = "number"
        step = "1" if "integer" in types and "number" not in types else "any"
        node.attrs = {"type": "number", "step": step, "value": _display(value)}
        for keyword, attr in (("minimum", "min"), ("maximum", "max")):
            bound = schema.get(keyword)
            if isinstance(bound, int | float) and not isinstance(bound, bool):
                node.attrs[attr] = _display(bound)
        if "null" in types:
            node.hint = pick(schema.get("x-null-hint") or NULL_HINT, self.language)

    def _fieldset(self, node: Node, schema: Mapping[str, Any], value: Any, template: bool) -> None:
        node.kind = "fieldset"
        values = value if isinstance(value, dict) else {}
        required = _required(schema)
        for prop, sub in _properties(schema).items():
            node.children.append(
                self.node(
                    sub,
                    prop,
                    _child_name(node.name, prop),
                    _child_path(node.path, prop),
                    values.get(prop),
                    required=prop in required,
                    template=template,
                )
            )

    def _array(self, node: Node, schema: Mapping[str, Any], value: Any, template: bool) -> None:
        items = _items(schema)
        values = value if isinstance(value, list) else []
        if "object" in _types(items):
            self._table(node, items, values, template)
            return
        key = _choice_key(node.path) + "[]"
        if key in self.choices or "enum" in items:
            pairs: list[tuple[Any, str]] = (
                list(self.choices[key])
                if key in self.choices
                else [(v, _enum_label(items, v, self.language)) for v in items["enum"]]
            )
            self._checklist(node, values, pairs)
            return
        node.kind = "lines"
        node.hint = self.t("lines")
        node.value = "\n".join(_display(v) for v in values) if isinstance(value, list) else _display(value)

    def _checklist(self, node: Node, values: list[Any], pairs: list[tuple[Any, str]]) -> None:
        node.kind = "checklist"
        chosen = [_display(v) for v in values]
        shown = []
        for option_value, label in pairs:
            text = _display(option_value)
            shown.append(text)
            node.options.append(Option(text, pick(label, self.language), selected=text in chosen))
        node.options += [Option(v, v, selected=True) for v in chosen if v not in shown]
        if not node.options:
            node.hint = self.t("no_choices")
        for number, option in enumerate(node.options):
            option.id = f"{node.id}__opt{number}"
        node.attrs["data-name"] = f"{node.name}[]"

    def _table(self, node: Node, items: Mapping[str, Any], values: list[Any], template: bool) -> None:
        node.kind = "table"
        required = _required(items)
        props = _properties(items)
        for prop, sub in props.items():
            hint = pick(sub.get("x-null-hint") or NULL_HINT, self.language) if "null" in _types(sub) else ""
            node.columns.append(
                Column(
                    id=f"{node.id}__col-{_ID_UNSAFE.sub('_', prop)}",
                    label=pick(sub.get("title") or prop, self.language),
                    required=prop in required,
                    hint=hint,
                )
            )
        for index, item in enumerate(values):
            node.children.append(self._row(node, props, required, str(index), item, template))
        node.template = self._row(node, props, required, TEMPLATE_INDEX, {}, True)

    def _row(
        self,
        table: Node,
        props: dict[str, dict[str, Any]],
        required: set[str],
        index: str,
        item: Any,
        template: bool,
    ) -> Node:
        path = f"{table.path}[{index}]"
        row = Node(
            kind="row", path=path, name=f"{table.name}[{index}]", id=_dom_id(self.prefix, path), index=index
        )
        values = item if isinstance(item, dict) else {}
        for (prop, sub), column in zip(props.items(), table.columns, strict=True):
            row.children.append(
                self.node(
                    sub,
                    prop,
                    _child_name(row.name, prop),
                    _child_path(path, prop),
                    values.get(prop),
                    required=prop in required,
                    in_table=True,
                    template=template,
                    labelled_by=column.id,
                )
            )
        self._finish(row, template, "")
        return row


def _place_errors(builder: _Builder, errors: Mapping[str, str]) -> list[str]:
    """File each error under its field, or the nearest field above it; return the form-level ones."""
    top: list[str] = []
    for path, message in errors.items():
        if path == FORM_ERRORS:
            top.append(str(message))
            continue
        if path in builder.by_path:
            builder.by_path[path].errors.append(str(message))
            continue
        ancestor = path
        while True:
            shorter = _LAST_SEGMENT.sub("", ancestor)
            if shorter == ancestor or not shorter:
                top.append(f"{path}: {message}")
                break
            ancestor = shorter
            if ancestor in builder.by_path:
                builder.by_path[ancestor].errors.append(f"{path}: {message}")
                break
    return top


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(Path(__file__).parent / "templates")),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def _script_url() -> str:
    try:
        from flask import has_request_context, url_for

        if has_request_context():
            return url_for("static", filename="form.js")
    except RuntimeError:  # pragma: no cover - outside an application
        pass
    return "/static/form.js"


def render_form(
    schema: Mapping[str, Any],
    values: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
    choices: Choices | None = None,
    language: str = "en",
    *,
    prefix: str = "f",
    include_script: bool = True,
) -> Markup:
    """The fields of a form (without the ``<form>`` element) as HTML.

    ``values`` are the current values (absent ones show the schema's ``default``), ``errors`` the
    engine's field errors (``Invalid.fields``), ``choices`` the options of fields keyed by index-free
    path (``{"votes[].candidate": [("a1", "An Yi")]}``), ``language`` ``"en"`` or ``"zh"``. ``prefix``
    starts every element id (two forms on one page need two prefixes). ``include_script`` adds the
    ``<script defer>`` of ``static/form.js`` (loading it twice is harmless).
    """
    builder = _Builder(choices or {}, language, prefix)
    current = values or {}
    required = _required(schema)
    fields = [
        builder.node(prop_schema, prop, prop, prop, current.get(prop), required=prop in required)
        for prop, prop_schema in _properties(schema).items()
    ]
    # Rule messages arrive as "English / 中文": show the half in the page's language.
    shown = {path: pick(str(message), language) for path, message in (errors or {}).items()}
    top = _place_errors(builder, shown)
    if not top and any(n.errors for n in builder.by_path.values()):
        top = [builder.t("form_errors")]
    view = FormView(
        id=f"{prefix}-form",
        fields=fields,
        errors=top,
        text={key: builder.t(key) for key in UI_TEXT},
        script_url=_script_url() if include_script else None,
    )
    module = _environment().get_template("form_macros.html").module
    return Markup(module.render_form(view))  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------------
# Parsing


def _number(text: str, types: set[str]) -> Any:
    """``"6"`` → 6, ``"78.5"`` → 78.5; anything unparseable is returned as it was typed."""
    stripped = text.strip()
    if _INTEGER_TEXT.match(stripped):
        return int(stripped)
    try:
        number = float(stripped)
    except ValueError:
        return text
    if not math.isfinite(number):
        return text
    if "integer" in types and "number" not in types and number.is_integer():
        return int(number)
    return number


def _scalar(schema: Mapping[str, Any], text: str) -> Any:
    """One submitted string as the schema's type."""
    if "enum" in schema:
        for option in schema["enum"]:
            if _display(option) == text:
                return option
        return text
    types = _types(schema)
    if types & {"integer", "number"} and "string" not in types:
        return _number(text, types)
    if "boolean" in types:
        return text == "true"
    return text


def _indexes(form: MultiDict[str, str], name: str) -> list[int]:
    """The row numbers submitted for the table ``name`` (``name[3][...]``), in order; no template row."""
    pattern = re.compile(re.escape(name) + r"\[(\d+)\]")
    found = {int(m.group(1)) for key in form.keys() if (m := pattern.match(key))}
    return sorted(found)


_ABSENT = object()


def _parse(schema: Mapping[str, Any], form: MultiDict[str, str], name: str, required: bool) -> Any:
    """The value of one property, or ``_ABSENT`` when it is to be left out."""
    types = _types(schema)
    if "enum" not in schema and "object" in types:
        required_props = _required(schema)
        out = {}
        for prop, sub in _properties(schema).items():
            value = _parse(sub, form, _child_name(name, prop), prop in required_props)
            if value is not _ABSENT:
                out[prop] = value
        return out if out or required else _ABSENT
    if "enum" not in schema and "array" in types:
        items = _items(schema)
        result: list[Any] = []
        if "object" in _types(items):
            for index in _indexes(form, name):
                item = _parse(items, form, f"{name}[{index}]", True)
                result.append(item if item is not _ABSENT else {})
        else:
            for line in "\n".join(form.getlist(name)).splitlines():
                if line.strip():
                    result.append(_scalar(items, line.strip()))
            result += [_scalar(items, v) for v in form.getlist(f"{name}[]") if v != ""]
        return result if result or required else _ABSENT
    submitted = form.getlist(name)
    if "boolean" in types and "enum" not in schema:
        return submitted[-1] == "true" if submitted else (False if required else _ABSENT)
    text = (submitted[-1] if submitted else "").replace("\r\n", "\n")
    if text == "":
        if "null" in types:
            return None
        if required and "enum" not in schema and not types & {"integer", "number"}:
            return ""  # the engine reports an empty required text itself
        return _ABSENT
    return _scalar(schema, text)


def parse_form(schema: Mapping[str, Any], form: MultiDict[str, str]) -> dict[str, Any]:
    """The submitted fields of :func:`render_form` back as the form's JSON.

    Lists come in row order (the template row is never read); numbers are coerced by the schema and kept
    as the typed string when they do not parse (the engine then reports the field); empty optional
    fields are left out, an empty nullable number is ``None``, an empty required text is ``""``, an
    empty required number or choice is left out (the engine says "is required"); a checkbox gives a
    bool; an array gives ``[]`` when required and nothing was chosen. Unknown fields are ignored.
    """
    out = _parse(schema, form, "", True)
    return out if isinstance(out, dict) else {}
