"""The folders show the architecture (DESIGN.md §1): checked here, not hoped for."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def test_engine_imports_neither_flask_nor_webui() -> None:
    offenders = {
        str(p.relative_to(ROOT)): sorted(
            n for n in _imports(p) if n.split(".")[0] in {"flask", "webui", "werkzeug"}
        )
        for p in _modules("engine")
    }
    assert not {k: v for k, v in offenders.items() if v}


def test_only_engine_bpmn_imports_spiffworkflow() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in _modules("engine")
        if "bpmn" not in p.relative_to(ROOT).parts and any(n.startswith("SpiffWorkflow") for n in _imports(p))
    ]
    assert offenders == []


def test_only_engine_store_defines_tables() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in _modules("engine")
        if "store" not in p.relative_to(ROOT).parts and "sqlalchemy.orm.DeclarativeBase" in p.read_text()
    ]
    assert offenders == []


def test_the_web_layer_calls_services_not_the_workflow_library_or_the_tables() -> None:
    """webui reaches the engine through its services; SpiffWorkflow objects and tables stay inside."""
    offenders = {
        str(p.relative_to(ROOT)): sorted(
            n for n in _imports(p) if n.startswith(("engine.bpmn", "engine.store.models", "SpiffWorkflow"))
        )
        for p in _modules("webui")
    }
    assert not {k: v for k, v in offenders.items() if v}
