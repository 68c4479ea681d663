"""Stage 1 of validation: read a BPMN/DMN file as XML safely, or say why not.

No entities, no DTD, no network, no huge trees: any DOCTYPE is refused before lxml reads the document,
so XML external entities and entity-expansion bombs never get a chance; a syntax error is reported
with its line. Everything later works on the tree this stage returns.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from engine.bpmn.safe_xml import safe_parser
from engine.bpmn.validation.problems import Problems, line_of

ENTITY_MESSAGE = "DOCTYPE with entity declarations is not allowed (XML external entity / entity expansion)"
DOCTYPE_MESSAGE = "DOCTYPE is not allowed in BPMN/DMN files"

_LXML_POSITION_RE = re.compile(r",? line \d+, column \d+$")


def _doctype_in_prolog(data: bytes) -> tuple[int, bool] | None:
    """Find a DOCTYPE before the root element without handing the bytes to an XML parser.

    Returns ``(line, declares_entities)``. Scanning the prolog (declaration, PIs, comments) rather
    than the whole file means a script that merely mentions ``<!DOCTYPE`` is not refused.
    """
    text = data
    if text.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = text.decode("utf-16", errors="replace").encode("utf-8")
    if text.startswith(b"\xef\xbb\xbf"):
        text = text[3:]
    pos, size = 0, len(text)
    while pos < size:
        while pos < size and text[pos : pos + 1] in (b" ", b"\t", b"\r", b"\n"):
            pos += 1
        if text.startswith(b"<?", pos):
            end = text.find(b"?>", pos)
            if end < 0:
                return None
            pos = end + 2
        elif text.startswith(b"<!--", pos):
            end = text.find(b"-->", pos)
            if end < 0:
                return None
            pos = end + 3
        elif text[pos : pos + 9].upper() == b"<!DOCTYPE":
            line = text.count(b"\n", 0, pos) + 1
            return line, b"<!ENTITY" in text[pos:]
        else:
            return None
    return None


def parse_xml(data: bytes, display: str, problems: Problems) -> Any:
    """Parse without entities, DTDs or network; report a DOCTYPE or a syntax error with its line."""
    found = _doctype_in_prolog(data)
    if found is not None:
        doctype_line, entities = found
        problems.add(display, doctype_line, None, ENTITY_MESSAGE if entities else DOCTYPE_MESSAGE)
        return None
    try:
        root = etree.fromstring(data, safe_parser(remove_blank_text=False))
    except etree.XMLSyntaxError as exc:
        message = _LXML_POSITION_RE.sub("", exc.msg or str(exc)) or "malformed XML"
        line = exc.lineno if isinstance(exc.lineno, int) and exc.lineno > 0 else None
        problems.add(display, line, None, f"malformed XML: {message}")
        return None
    except (etree.LxmlError, ValueError) as exc:  # e.g. an unsupported encoding declaration
        problems.add(display, None, None, f"cannot read XML: {type(exc).__name__}: {exc}")
        return None
    # Defence in depth for encodings the prolog scan cannot read (UTF-16 without BOM and the like).
    docinfo = root.getroottree().docinfo
    dtd = docinfo.internalDTD
    if dtd is not None or docinfo.doctype:
        has_entities = dtd is not None and any(True for _ in dtd.iterentities())
        problems.add(display, 1, None, ENTITY_MESSAGE if has_entities else DOCTYPE_MESSAGE)
        return None
    if not isinstance(root.tag, str):
        problems.add(display, line_of(root), None, "document has no root element")
        return None
    return root
