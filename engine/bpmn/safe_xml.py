"""The one way cadreflow reads designer-supplied XML: no entities, no DTD, no network, no huge trees.

XML external entities and entity-expansion bombs are refused before parsing (see the loader); this
parser is the second line: even a document that slipped through could not resolve anything.
"""

from __future__ import annotations

from typing import Any

from lxml import etree


def safe_parser(**options: Any) -> etree.XMLParser:
    """A new parser (lxml parsers must not be shared between threads) with the safe settings."""
    settings: dict[str, Any] = {
        "resolve_entities": False,
        "load_dtd": False,
        "no_network": True,
        "huge_tree": False,
        "dtd_validation": False,
    }
    settings.update(options)
    return etree.XMLParser(**settings)
