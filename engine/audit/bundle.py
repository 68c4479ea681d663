"""A case exported as a self-contained zip bundle, and its offline verification.

Bundle format ``cadreflow-audit-bundle/1`` (documented in the README, "Audit"):

- ``events.jsonl`` — one event per line, oldest first: canonical JSON of the hashed body
  (``case_id, seq, type, schema, at, actor, payload``) plus ``prev_hash`` and ``hash``;
- ``definitions/<hash>/<path>`` — every file of every definition version the case used, under the
  content hash it was deployed as (recomputed on verification);
- ``manifest.json`` — case id, process, pinned and used definitions (hash, process, version, paths),
  event count, chain head (seq and hash), final snapshot (seq and state hash), cadreflow version,
  exported at/by, and the sha256 of every other file in the zip.

Verification needs no cadreflow database: it checks the digests, the chain and its head, then
re-executes the case from the bundled definitions (in a throwaway in-memory scratch store) and
compares every event and the final state's hash.
"""

from __future__ import annotations

import hashlib
import json
import time
import zipfile
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from engine.audit.chain import Divergence
from engine.audit.record import CaseRecord, RecordedDefinition, RecordedEvent, load_record
from engine.audit.verify import VerifyReport, verify_record
from engine.canonical import canonical_json, content_hash, format_time, parse_time
from engine.errors import Invalid
from engine.events import event_body
from engine.store.db import Database

FORMAT = "cadreflow-audit-bundle/1"
MANIFEST = "manifest.json"
EVENTS = "events.jsonl"


def export_case(
    db: Database, case_id: str, path: Path, exported_by: str = "cli", at: datetime | None = None
) -> dict[str, Any]:
    """Write ``case_id``'s bundle to ``path``; return its manifest."""
    record = load_record(db, case_id)
    files: dict[str, bytes] = {EVENTS: _events_jsonl(record.events).encode("utf-8")}
    listing = []
    for definition in record.definitions.values():
        for name, text in sorted(definition.files.items()):
            files[f"definitions/{definition.hash}/{name}"] = text.encode("utf-8")
        listing.append(
            {
                "hash": definition.hash,
                "process_id": definition.process_id,
                "version": definition.version,
                "files": sorted(definition.files),
            }
        )
    snapshot = record.snapshot
    manifest = {
        "format": FORMAT,
        "case_id": record.case_id,
        "process_id": record.process_id,
        "definition_hash": record.definition_hash,
        "definitions": listing,
        "event_count": len(record.events),
        "head": {"seq": record.last_seq, "hash": record.head_hash},
        "final_snapshot": (
            {"seq": snapshot.seq, "state_hash": content_hash(json.loads(snapshot.state_json))}
            if snapshot is not None
            else None
        ),
        "cadreflow_version": _version(),
        "exported_at": format_time(at or datetime.now(timezone.utc)),
        "exported_by": exported_by,
        "sha256": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True))
        for name, data in sorted(files.items()):
            archive.writestr(name, data)
    return manifest


def verify_bundle(path: Path) -> VerifyReport:
    """Verify a bundle offline: digests, chain, head, then re-execution from the bundled definitions."""
    started = time.perf_counter()
    manifest, contents = _read(path)
    case_id = str(manifest.get("case_id", ""))
    problem = _check_digests(manifest, contents)
    if problem is not None:
        return VerifyReport(False, case_id, 0, time.perf_counter() - started, problem)
    record = _record(manifest, contents)
    final = manifest.get("final_snapshot") or {}
    return verify_record(record, snapshot_hash=final.get("state_hash") or "", started=started)


def _events_jsonl(events: list[RecordedEvent]) -> str:
    lines = []
    for event in events:
        body = event_body(
            event.case_id, event.seq, event.type, event.at, event.actor, json.loads(event.payload_json)
        )
        lines.append(canonical_json({**body, "prev_hash": event.prev_hash, "hash": event.hash}))
    return "".join(line + "\n" for line in lines)


def _read(path: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    try:
        with zipfile.ZipFile(path) as archive:
            contents = {info.filename: archive.read(info) for info in archive.infolist() if not info.is_dir()}
    except (OSError, zipfile.BadZipFile) as err:
        raise Invalid(f"{path} is not a readable zip bundle: {err}", fields={"bundle": str(path)}) from err
    if MANIFEST not in contents:
        raise Invalid(f"{path} has no {MANIFEST}", fields={"bundle": str(path)})
    try:
        manifest = json.loads(contents.pop(MANIFEST))
    except ValueError as err:
        raise Invalid(f"{path}: {MANIFEST} is not JSON: {err}", fields={"bundle": str(path)}) from err
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise Invalid(f"{path} is not a {FORMAT} bundle", fields={"bundle": str(path)})
    return manifest, contents


def _check_digests(manifest: dict[str, Any], contents: dict[str, bytes]) -> Divergence | None:
    listed = manifest.get("sha256") or {}
    for name in sorted(set(listed) | set(contents)):
        if name not in contents:
            return Divergence(
                0, "", f"file:{name}", "present", "(missing)", f"{name} is missing from the bundle"
            )
        if name not in listed:
            return Divergence(
                0, "", f"file:{name}", "(not listed)", "present", f"{name} is not in the manifest"
            )
        found = hashlib.sha256(contents[name]).hexdigest()
        if found != listed[name]:
            return Divergence(0, "", f"file:{name}", listed[name], found, f"{name} does not match its sha256")
    return None


def _record(manifest: dict[str, Any], contents: dict[str, bytes]) -> CaseRecord:
    events = []
    for number, line in enumerate(contents.get(EVENTS, b"").decode("utf-8").splitlines(), start=1):
        try:
            row = json.loads(line)
            events.append(
                RecordedEvent(
                    case_id=row["case_id"],
                    seq=row["seq"],
                    type=row["type"],
                    schema=row["schema"],
                    at=parse_time(row["at"]),
                    actor=row["actor"],
                    payload_json=canonical_json(row["payload"]),
                    prev_hash=row["prev_hash"],
                    hash=row["hash"],
                )
            )
        except (ValueError, KeyError, TypeError) as err:
            raise Invalid(
                f"{EVENTS} line {number} is not an event: {err}", fields={EVENTS: str(number)}
            ) from err
    definitions = {}
    for entry in manifest.get("definitions") or []:
        digest = str(entry.get("hash"))
        files = {
            name: contents.get(f"definitions/{digest}/{name}", b"").decode("utf-8")
            for name in entry.get("files", [])
        }
        definitions[digest] = RecordedDefinition(
            digest, str(entry.get("process_id")), int(entry.get("version") or 0), files
        )
    head = manifest.get("head") or {}
    return CaseRecord(
        case_id=str(manifest.get("case_id")),
        process_id=str(manifest.get("process_id")),
        definition_hash=str(manifest.get("definition_hash")),
        last_seq=int(head.get("seq") or 0),
        head_hash=str(head.get("hash") or ""),
        events=events,
        definitions=definitions,
        snapshot=None,
    )


def _version() -> str:
    try:
        return metadata.version("cadreflow")
    except metadata.PackageNotFoundError:
        return "unknown"
