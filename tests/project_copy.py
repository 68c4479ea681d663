"""A throwaway copy of the project's processes and forms, optionally with text edits, for tests that
must see what happens when a designer changes a file."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def copy_project(tmp_path: Path, edits: dict[str, list[tuple[str, str]]] | None = None) -> Path:
    """Copy ``processes/`` (without process tests) and ``forms/`` under ``tmp_path``; apply ``edits``.

    ``edits`` maps a path relative to the project root to (old, new) replacements, each applied once;
    an ``old`` text that is not in the file fails loudly, so a test cannot silently edit nothing.
    """
    root = tmp_path / "project"
    shutil.copytree(ROOT / "processes", root / "processes", ignore=shutil.ignore_patterns("tests"))
    shutil.copytree(ROOT / "forms", root / "forms")
    for relative, replacements in (edits or {}).items():
        path = root / relative
        text = path.read_text(encoding="utf-8")
        for old, new in replacements:
            if old not in text:
                raise AssertionError(f"{relative} does not contain {old!r}")
            text = text.replace(old, new, 1)
        path.write_text(text, encoding="utf-8")
    return root
