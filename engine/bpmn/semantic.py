"""What a BPMN document *means*, independent of how its XML is written.

A modeler (bpmn-js, through bpmn-moddle) re-serialises a diagram on every save: it turns CDATA into
escaped text, reorders attributes and child elements, reindents, rewrites numbers (``1.0`` -> ``1``)
and drops comments. None of that matters to SpiffWorkflow or to the renderer. :func:`semantic_model`
reduces a document to what does matter, so two files can be compared with :func:`semantic_diff`:

``elements``
    every BPMN element with an ``id`` (outside ``extensionElements`` and the diagram): its tag in Clark
    notation, the id of the element holding it (and the id-less elements in between), its attributes
    (no ``xmlns`` declarations; ``xsi:type`` resolved to Clark notation), the id-less elements inside it
    (``conditionExpression``, ``script``, ``timeDuration``, ``loopCondition``, ``incoming``, the
    ``multiInstanceLoopCharacteristics`` and its ``loopDataInputRef``...) as ``(path, attributes, text)``
    with normalised text, and its ``extensionElements`` content as ``(path, attributes, stripped text)``
    tuples in document order;
``flows``
    ``sourceRef``/``targetRef`` of every sequence flow (and of any other connecting element);
``lanes``
    each lane's ``flowNodeRef`` set;
``di``
    for each ``BPMNShape``/``BPMNEdge``/``BPMNPlane`` the ``bpmnElement`` it draws, its other attributes,
    its bounds, waypoints and label bounds as numbers.

Text is normalised by turning CR LF and CR into LF and stripping leading and trailing whitespace: a
serialiser may drop or add the whitespace around a CDATA section or a child element, and a script or
expression whose first line is indented would not run anyway. Whitespace inside text is kept.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from lxml import etree

from engine.bpmn.safe_xml import safe_parser

__all__ = ["semantic_diff", "semantic_model"]

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
_DIAGRAM_NAMESPACES = {BPMNDI_NS, DC_NS, DI_NS}

_PREFIXES = {
    BPMN_NS: "bpmn:",
    BPMNDI_NS: "bpmndi:",
    DC_NS: "dc:",
    DI_NS: "di:",
    "http://spiffworkflow.org/bpmn/schema/1.0/core": "spiffworkflow:",
    "http://www.w3.org/2001/XMLSchema-instance": "xsi:",
}

_EXTENSION_ELEMENTS = f"{{{BPMN_NS}}}extensionElements"
_FLOW_NODE_REF = f"{{{BPMN_NS}}}flowNodeRef"
_LANE = f"{{{BPMN_NS}}}lane"
_BOUNDS = f"{{{DC_NS}}}Bounds"
_WAYPOINT = f"{{{DI_NS}}}waypoint"
_LABEL = f"{{{BPMNDI_NS}}}BPMNLabel"
_DI_TAGS = {f"{{{BPMNDI_NS}}}{t}": t for t in ("BPMNShape", "BPMNEdge", "BPMNPlane")}

MAX_BYTES = 20 * 1024 * 1024

Attrs = tuple[tuple[str, str], ...]


def _parser() -> etree.XMLParser:
    # Comments, processing instructions and CDATA wrappers carry no meaning for the comparison.
    return safe_parser(remove_comments=True, remove_pis=True, strip_cdata=True)


def _parse(xml: bytes) -> Any:
    if len(xml) > MAX_BYTES:
        raise ValueError(f"BPMN document too large ({len(xml)} bytes)")
    try:
        root = etree.fromstring(xml, _parser())
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"malformed XML: {exc}") from exc
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise ValueError("DOCTYPE is not allowed in BPMN files")
    return root


def _text(value: str | None) -> str:
    if not value:
        return ""
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


def _own_text(el: Any) -> str:
    """The element's own character data (text and the tails of its children), normalised."""
    parts = [el.text or ""]
    parts.extend(child.tail or "" for child in el if isinstance(child.tag, str))
    return _text("".join(parts))


def _number(value: str | None) -> float | str | None:
    if value is None:
        return None
    try:
        return round(float(value), 6)
    except ValueError:
        return value


def _qname_value(el: Any, value: str) -> str:
    """Resolve a QName-valued attribute (``xsi:type="bpmn:tFormalExpression"``) to Clark notation."""
    prefix, _, local = value.rpartition(":")
    namespace = el.nsmap.get(prefix or None)
    return f"{{{namespace}}}{local}" if namespace else value


def _attrs(el: Any, numeric: bool = False) -> Attrs:
    items = []
    for name, value in el.attrib.items():  # lxml never lists xmlns declarations as attributes
        if name == XSI_TYPE:
            value = _qname_value(el, value)
        elif numeric:
            number = _number(value)
            value = repr(number) if isinstance(number, float) else value
        items.append((str(name), str(value)))
    return tuple(sorted(items))


def _children(el: Any) -> list[Any]:
    return [child for child in el if isinstance(child.tag, str)]


def _is_diagram(el: Any) -> bool:
    return etree.QName(el).namespace in _DIAGRAM_NAMESPACES


def _extension_tuples(ext: Any) -> list[tuple[tuple[str, ...], Attrs, str]]:
    found = []

    def walk(el: Any, path: tuple[str, ...]) -> None:
        for child in _children(el):
            child_path = (*path, str(child.tag))
            found.append((child_path, _attrs(child), _own_text(child)))
            walk(child, child_path)

    walk(ext, ())
    return found


def _bounds(el: Any) -> tuple[Any, ...] | None:
    for child in _children(el):
        if child.tag == _BOUNDS:
            return tuple(_number(child.get(k)) for k in ("x", "y", "width", "height"))
    return None


def _di_entry(el: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "kind": _DI_TAGS[el.tag],
        "id": el.get("id"),
        "attrs": tuple((k, v) for k, v in _attrs(el) if k not in ("id", "bpmnElement")),
        "bounds": _bounds(el),
        "waypoints": [
            (_number(w.get("x")), _number(w.get("y"))) for w in _children(el) if w.tag == _WAYPOINT
        ],
        "label": None,
        "extra": [],
    }
    for child in _children(el):
        if child.tag == _LABEL:
            entry["label"] = (_attrs(child), _bounds(child))
    return entry


def semantic_model(xml: bytes) -> dict[str, Any]:
    """Reduce a BPMN document to what execution and rendering depend on (see the module docstring).

    Raises :class:`ValueError` for malformed XML or a DOCTYPE (no entity is ever expanded).
    """
    root = _parse(xml)
    elements: dict[str, dict[str, Any]] = {}
    flows: dict[str, tuple[str | None, str | None]] = {}
    lanes: dict[str, list[str]] = {}
    di: dict[str, dict[str, Any]] = {}
    duplicates: list[str] = []

    def visit(el: Any, owner: str | None, between: tuple[str, ...]) -> None:
        """Walk the tree; ``owner`` is the nearest id-bearing ancestor, ``between`` the id-less tags."""
        if el.tag in _DI_TAGS:
            target = el.get("bpmnElement") or f"<{el.get('id')}>"
            key, n = target, 2
            while key in di:
                key, n = f"{target}#{n}", n + 1
            di[key] = drawn = _di_entry(el)
            for child in _children(el):
                if child.tag in (_BOUNDS, _WAYPOINT, _LABEL):
                    continue  # in the entry already
                if child.tag in _DI_TAGS or child.get("id") is not None:
                    visit(child, owner, ())
                else:
                    drawn["extra"].append((str(child.tag), _attrs(child, True), _own_text(child)))
                    drawn["extra"].extend(_extension_tuples(child))
            return
        el_id = el.get("id")
        if el_id is not None or el.getparent() is None:
            key = el_id if el_id is not None else "<root>"
            if key in elements:
                duplicates.append(key)
                key = f"{key}#{len(duplicates) + 1}"
            entry: dict[str, Any] = {
                "tag": str(el.tag),
                "parent": (owner, between),
                "attrs": _attrs(el),
                "children": Counter(),
                "extensions": [],
            }
            elements[key] = entry
            if el.get("sourceRef") is not None or el.get("targetRef") is not None:
                flows[key] = (el.get("sourceRef"), el.get("targetRef"))
            if el.tag == _LANE:
                lanes[key] = sorted(_text(r.text) for r in _children(el) if r.tag == _FLOW_NODE_REF)
            owner, between = key, ()
        assert owner is not None
        holder = elements[owner]
        for child in _children(el):
            if child.tag == _EXTENSION_ELEMENTS:
                holder["extensions"].extend(
                    ((*between, *path), attrs, text) for path, attrs, text in _extension_tuples(child)
                )
            elif child.get("id") is not None or child.tag in _DI_TAGS:
                visit(child, owner, between)
            else:
                path = (*between, str(child.tag))
                numeric = _is_diagram(child)
                holder["children"][(path, _attrs(child, numeric), _own_text(child))] += 1
                visit(child, owner, path)

    visit(root, None, ())
    return {"elements": elements, "flows": flows, "lanes": lanes, "di": di, "duplicate_ids": duplicates}


# --------------------------------------------------------------------------------------------------
# Differences


def _short(name: str) -> str:
    if name.startswith("{"):
        namespace, _, local = name[1:].partition("}")
        return _PREFIXES.get(namespace, f"{{{namespace}}}") + local
    return name


def _path(path: tuple[str, ...]) -> str:
    return "/".join(_short(p) for p in path)


def _clip(text: str, limit: int = 80) -> str:
    one_line = text.replace("\n", "\\n")
    return one_line if len(one_line) <= limit else one_line[: limit - 3] + "..."


def _describe(item: tuple[tuple[str, ...], Attrs, str]) -> str:
    path, attrs, text = item
    shown = " ".join(f'{_short(k)}="{_short(v) if k == XSI_TYPE else v}"' for k, v in attrs)
    return f"<{_path(path)}{' ' + shown if shown else ''}>" + (f" {_clip(text)!r}" if text else "")


def _place(parent: tuple[str | None, tuple[str, ...]]) -> str:
    owner, between = parent
    return f"{owner}{'/' + _path(between) if between else ''}" if owner else "the top"


def _diff_attrs(
    where: str, a: Attrs, b: Attrs, out: list[str], skip: frozenset[str] | set[str] = frozenset()
) -> None:
    da, db = dict(a), dict(b)
    for name in sorted((set(da) | set(db)) - set(skip)):
        if name not in db:
            out.append(f"{where}: attribute {_short(name)} removed (was {da[name]!r})")
        elif name not in da:
            out.append(f"{where}: attribute {_short(name)} added ({db[name]!r})")
        elif da[name] != db[name]:
            out.append(f"{where}: attribute {_short(name)} changed {da[name]!r} -> {db[name]!r}")


def _diff_element(key: str, ea: dict[str, Any], eb: dict[str, Any], out: list[str]) -> None:
    where = f"element {key}"
    if ea["tag"] != eb["tag"]:
        out.append(f"{where}: tag changed {_short(ea['tag'])} -> {_short(eb['tag'])}")
    if ea["parent"] != eb["parent"]:
        out.append(f"{where}: moved from {_place(ea['parent'])} to {_place(eb['parent'])}")
    # Flow ends and lane membership have their own, clearer, messages.
    skip = {"sourceRef", "targetRef"}
    _diff_attrs(where, ea["attrs"], eb["attrs"], out, skip)
    ca = Counter({k: n for k, n in ea["children"].items() if k[0] != (_FLOW_NODE_REF,)})
    cb = Counter({k: n for k, n in eb["children"].items() if k[0] != (_FLOW_NODE_REF,)})
    for item in sorted((ca - cb).elements()):
        out.append(f"{where}: lost {_describe(item)}")
    for item in sorted((cb - ca).elements()):
        out.append(f"{where}: gained {_describe(item)}")
    xa, xb = ea["extensions"], eb["extensions"]
    if xa != xb:
        lost = Counter(xa) - Counter(xb)
        gained = Counter(xb) - Counter(xa)
        for item in sorted(lost.elements()):
            out.append(f"{where}: extensionElements lost {_describe(item)}")
        for item in sorted(gained.elements()):
            out.append(f"{where}: extensionElements gained {_describe(item)}")
        if not lost and not gained:
            out.append(f"{where}: extensionElements reordered")


def _diff_di(key: str, da: dict[str, Any], db: dict[str, Any], out: list[str]) -> None:
    where = f"diagram {da['kind']} for {key}"
    if da["kind"] != db["kind"]:
        out.append(f"{where}: became a {db['kind']}")
    for name in ("bounds", "waypoints", "label", "extra"):
        if da[name] != db[name]:
            out.append(f"{where}: {name} changed {da[name]!r} -> {db[name]!r}")
    _diff_attrs(where, da["attrs"], db["attrs"], out)


def semantic_diff(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Human-readable differences between two :func:`semantic_model` results; empty means the same."""
    out: list[str] = []
    ea, eb = a["elements"], b["elements"]
    for key in sorted(set(ea) - set(eb)):
        out.append(f"element {key} ({_short(ea[key]['tag'])}) removed")
    for key in sorted(set(eb) - set(ea)):
        out.append(f"element {key} ({_short(eb[key]['tag'])}) added")
    for key in sorted(set(ea) & set(eb)):
        _diff_element(key, ea[key], eb[key], out)

    fa, fb = a["flows"], b["flows"]
    for key in sorted(set(fa) & set(fb)):
        if fa[key] != fb[key]:
            out.append(f"flow {key}: {fa[key][0]} -> {fa[key][1]} became {fb[key][0]} -> {fb[key][1]}")

    la, lb = a["lanes"], b["lanes"]
    for key in sorted(set(la) & set(lb)):
        lost = sorted(set(la[key]) - set(lb[key]))
        gained = sorted(set(lb[key]) - set(la[key]))
        if lost:
            out.append(f"lane {key}: no longer holds {', '.join(lost)}")
        if gained:
            out.append(f"lane {key}: now holds {', '.join(gained)}")

    da, db = a["di"], b["di"]
    for key in sorted(set(da) - set(db)):
        out.append(f"diagram {da[key]['kind']} for {key} removed")
    for key in sorted(set(db) - set(da)):
        out.append(f"diagram {db[key]['kind']} for {key} added")
    for key in sorted(set(da) & set(db)):
        _diff_di(key, da[key], db[key], out)

    if a["duplicate_ids"] != b["duplicate_ids"]:
        out.append(f"duplicate ids changed {a['duplicate_ids']} -> {b['duplicate_ids']}")
    return out


def element_differences(key: str, a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """What differs between one element's entries in two :func:`semantic_model` results (tag, place,
    attributes, id-less children such as conditions and scripts, extension properties)."""
    out: list[str] = []
    _diff_element(key, a, b, out)
    return out
