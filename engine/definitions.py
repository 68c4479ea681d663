"""Deployed process definitions: stored once per content hash, pinned by every case that uses them.

A definition version holds every file the process needs (its BPMN and DMN files and the forms its
user tasks name), so a case can always be re-run against exactly what it started on. Parsed specs are
cached in-process by content hash: parsing happens once per version per process, not per step.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.bpmn.loader import ProcessBundle, UserTaskInfo, load_process_folder, parse_specs
from engine.bpmn.runtime import Specs
from engine.canonical import canonical_json
from engine.errors import NotFound
from engine.store.db import Database
from engine.store.models import DefinitionVersion


@dataclass(frozen=True)
class Definition:
    """A deployed version with everything parsed that a step needs."""

    hash: str
    process_id: str
    version: int
    specs: Specs
    user_tasks: dict[str, UserTaskInfo]
    forms: dict[str, dict[str, Any]]


_cache: dict[str, Definition] = {}
_cache_lock = threading.Lock()


def find_project_root(start: Path) -> Path:
    """The folder holding ``processes/`` and ``forms/``, searched upwards from ``start``."""
    here = start.resolve()
    for folder in [here, *here.parents]:
        if (folder / "processes").is_dir() and (folder / "forms").is_dir():
            return folder
    raise NotFound(f"no folder with processes/ and forms/ above {start}")


def process_folders(path: Path) -> list[Path]:
    """A process folder itself, or every process folder below ``processes/``."""
    if any(path.glob("*.bpmn")):
        return [path]
    return sorted(p for p in path.iterdir() if p.is_dir() and any(p.glob("*.bpmn")))


def load_bundles(path: Path) -> list[ProcessBundle]:
    root = find_project_root(path)
    return [load_process_folder(folder, root / "forms") for folder in process_folders(path)]


def deploy_bundle(
    session: Session, bundle: ProcessBundle, actor: str, now: datetime, note: str = ""
) -> DefinitionVersion:
    """Store ``bundle`` as a new version unless the same content is already deployed (then return it)."""
    existing = session.get(DefinitionVersion, bundle.content_hash)
    if existing is not None:
        return existing
    latest = session.scalar(
        select(func.max(DefinitionVersion.version)).where(DefinitionVersion.process_id == bundle.process_id)
    )
    row = DefinitionVersion(
        hash=bundle.content_hash,
        process_id=bundle.process_id,
        version=(latest or 0) + 1,
        files_json=canonical_json({path: data.decode("utf-8") for path, data in bundle.files.items()}),
        deployed_at=now,
        deployed_by=actor,
        note=note,
    )
    session.add(row)
    session.flush()
    return row


def deploy_processes(
    db: Database, path: Path, actor: str, now: datetime, note: str = ""
) -> list[DefinitionVersion]:
    """Validate every process folder under ``path`` and deploy them in one transaction (all or none)."""
    bundles = load_bundles(path)
    with db.write() as session:
        return [deploy_bundle(session, bundle, actor, now, note) for bundle in bundles]


def latest_version(session: Session, process_id: str) -> DefinitionVersion:
    row = session.scalars(
        select(DefinitionVersion)
        .where(DefinitionVersion.process_id == process_id)
        .order_by(DefinitionVersion.version.desc())
        .limit(1)
    ).first()
    if row is None:
        raise NotFound(f"process {process_id!r} is not deployed; run `cadreflow deploy processes/`")
    return row


def get_definition(session: Session, definition_hash: str) -> Definition:
    """The parsed definition for a hash (cached; versions are immutable, so the cache never goes stale)."""
    cached = _cache.get(definition_hash)
    if cached is not None:
        return cached
    row = session.get(DefinitionVersion, definition_hash)
    if row is None:
        raise NotFound(f"no deployed definition {definition_hash}")
    files = {path: text.encode("utf-8") for path, text in json.loads(row.files_json).items()}
    spec, subprocess_specs = parse_specs(files)
    forms = {
        Path(path).name: yaml.safe_load(data.decode("utf-8"))
        for path, data in files.items()
        if path.startswith("forms/")
    }
    definition = Definition(
        hash=row.hash,
        process_id=row.process_id,
        version=row.version,
        specs=Specs(row.hash, row.process_id, spec, subprocess_specs),
        user_tasks=_user_tasks(spec, subprocess_specs),
        forms=forms,
    )
    with _cache_lock:
        _cache[definition_hash] = definition
    return definition


def _user_tasks(spec: Any, subprocess_specs: dict[str, Any]) -> dict[str, UserTaskInfo]:
    """User-task metadata read from the parsed specs (BPMN ids are unique across a definition)."""
    out: dict[str, UserTaskInfo] = {}
    for process in [spec, *subprocess_specs.values()]:
        for task_spec in process.task_specs.values():
            if not getattr(task_spec, "manual", False):
                continue
            ext = getattr(task_spec, "extensions", {}) or {}
            props = dict(ext.get("properties", {}))
            out[task_spec.bpmn_id] = UserTaskInfo(
                element_id=task_spec.bpmn_id,
                name=task_spec.bpmn_name or task_spec.bpmn_id,
                lane=task_spec.lane,
                form_key=props.get("formJsonSchemaFilename"),
                due_in=props.get("dueIn"),
                unit_key=props.get("unitKey", "unit"),
                instructions=ext.get("instructionsForEndUser"),
                properties=props,
                file="",
                line=None,
            )
    return out
