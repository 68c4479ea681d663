"""Reading a form file: YAML (JSON is YAML) holding a JSON Schema, every error located in the file.

A user task names its form in ``forms/``; the file is read once per folder (:class:`FormCache`),
refused when it is too large or expands into a huge tree through YAML aliases, and checked against the
JSON Schema meta-schema, each error at the YAML line of the offending node.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from engine.bpmn.validation.problems import Problems

MAX_FORM_NODES = 100_000  # YAML aliases can make a tiny file expand into a huge tree
REF_KINDS = ("unit", "cadre")  # what an ``x-ref`` may name (checked by ``engine.references``)


def _yaml_node_count(node: yaml.Node, budget: int) -> int:
    """Size of the YAML tree with aliases expanded, stopping past ``budget`` (alias bombs)."""
    memo: dict[int, int] = {}

    def size(n: yaml.Node) -> int:
        if id(n) in memo:
            return memo[id(n)]
        memo[id(n)] = budget + 1  # a cycle counts as too big
        total = 1
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                total += size(k) + size(v)
                if total > budget:
                    break
        elif isinstance(n, yaml.SequenceNode):
            for item in n.value:
                total += size(item)
                if total > budget:
                    break
        memo[id(n)] = total
        return total

    return size(node)


def _yaml_line(node: yaml.Node | None, path: Iterable[Any]) -> int | None:
    """The line of the YAML node at a JSON path (for locating schema errors)."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in path:
        nxt = None
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == str(part):
                    line = k.start_mark.line + 1
                    nxt = v
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            nxt = node.value[part]
        if nxt is None:
            break
        node = nxt
        line = node.start_mark.line + 1
    return line


def load_form(path: Path, display: str, problems: Problems) -> tuple[dict[str, Any] | None, bytes | None]:
    """Read a form file: YAML (JSON is YAML) holding a JSON Schema object; errors located in the file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        problems.add(display, None, None, f"cannot read form file: {exc.strerror or exc}")
        return None, None
    if len(data) > MAX_FORM_NODES * 10:
        problems.add(display, None, None, "form file is too large")
        return None, data
    try:
        text = data.decode("utf-8")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is not None and _yaml_node_count(node, MAX_FORM_NODES) > MAX_FORM_NODES:
            problems.add(
                display,
                _yaml_line(node, []),
                None,
                f"form expands to more than {MAX_FORM_NODES} YAML nodes (aliases?)",
            )
            return None, data
        schema = yaml.safe_load(text)
    except UnicodeDecodeError as exc:
        problems.add(display, None, None, f"form file is not UTF-8: {exc.reason}")
        return None, data
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        detail = exc.problem or str(exc)
        if exc.context:
            detail = f"{detail} ({exc.context})"
        problems.add(display, line, None, f"YAML syntax error: {detail}")
        return None, data
    except yaml.YAMLError as exc:
        problems.add(display, None, None, f"YAML error: {exc}")
        return None, data
    if not isinstance(schema, dict):
        problems.add(
            display,
            _yaml_line(node, []),
            None,
            "form must be a JSON Schema object (a mapping at the top level)",
        )
        return None, data
    try:
        json.dumps(schema, allow_nan=False)
    except (TypeError, ValueError) as exc:
        problems.add(
            display,
            _yaml_line(node, []),
            None,
            f"form is not plain JSON data (YAML dates, NaN or non-string keys?): {exc}",
        )
        return None, data
    meta = Draft202012Validator(Draft202012Validator.META_SCHEMA)
    errors = sorted(meta.iter_errors(schema), key=lambda e: [str(p) for p in e.path])
    for err in errors[:20]:
        where = "/".join(str(p) for p in err.path) or "(top level)"
        problems.add(
            display, _yaml_line(node, err.path), None, f"invalid JSON Schema at {where}: {err.message}"
        )
    if errors:
        return None, data
    bad_refs = [(at, kind) for at, kind in _x_refs(schema, []) if kind not in REF_KINDS]
    for at, kind in bad_refs:
        problems.add(
            display,
            _yaml_line(node, at),
            None,
            f"x-ref {kind!r} is not a kind of reference; use one of {', '.join(REF_KINDS)}",
        )
    if bad_refs:
        return None, data
    return schema, data


def _x_refs(schema: Any, path: list[Any]) -> Iterable[tuple[list[Any], Any]]:
    """(JSON path of the ``x-ref`` key, its value) everywhere in a schema."""
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "x-ref":
                yield [*path, key], value
            else:
                yield from _x_refs(value, [*path, key])
    elif isinstance(schema, list):
        for index, item in enumerate(schema):
            yield from _x_refs(item, [*path, index])


@dataclass
class FormCache:
    """The forms a folder's user tasks name, each read once: key -> (schema or None, file bytes or None)."""

    forms_dir: Path
    loaded: dict[str, tuple[dict[str, Any] | None, bytes | None]] = field(default_factory=dict)
