"""Deployed versions of a process: the list, a semantic diff between two, and export back to files.

The diff compares what the files *mean* (:mod:`engine.bpmn.semantic`), element by element, so a
modeler re-serialising a diagram shows no change. DMN rules are elements too: a changed cell is
reported at its rule, the decision holding it counts as changed, and so does every business rule task
that calls that decision — the ids to highlight on the two diagrams side by side.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.bpmn.semantic import element_differences, semantic_model
from engine.designer.files import Files, version_files
from engine.errors import Invalid, NotFound
from engine.store.db import Database
from engine.store.models import Case, DefinitionVersion

_DMN_RULE_PARTS = ("inputEntry", "outputEntry")
_DMN_NS_RE = re.compile(r"\{https?://www\.omg\.org/spec/DMN/[^}]*\}")
_CALLED_DECISION = "{http://spiffworkflow.org/bpmn/schema/1.0/core}calledDecisionId"


@dataclass(frozen=True)
class VersionInfo:
    """One deployed version: who deployed it, when, why, and how many cases still run on it."""

    process_id: str
    version: int
    hash: str
    deployed_at: datetime
    deployed_by: str
    note: str
    running_cases: int


@dataclass(frozen=True)
class ElementChange:
    """An element added, removed or changed; ``details`` say what differs (for changed ones)."""

    element_id: str
    file: str
    kind: str  # the BPMN/DMN local tag: userTask, sequenceFlow, rule, decision...
    details: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class VersionDiff:
    """Semantic differences from version ``a`` to version ``b`` of a process."""

    process_id: str
    a: int
    b: int
    a_hash: str
    b_hash: str
    added: list[ElementChange]
    removed: list[ElementChange]
    changed: list[ElementChange]
    files_added: list[str]
    files_removed: list[str]
    files_changed: list[str]  # any file whose text differs (forms and tests included)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.files_added or self.files_removed)

    def highlight(self) -> dict[str, dict[str, list[str]]]:
        """Element ids to mark on each diagram: ``{"a": {removed, changed}, "b": {added, changed}}``."""
        changed = sorted({c.element_id for c in self.changed})
        return {
            "a": {"removed": sorted({c.element_id for c in self.removed}), "changed": changed},
            "b": {"added": sorted({c.element_id for c in self.added}), "changed": changed},
        }


def deployed_processes(db: Database) -> list[str]:
    """The id of every process with at least one deployed version."""
    with db.read() as session:
        return list(
            session.scalars(
                select(DefinitionVersion.process_id).distinct().order_by(DefinitionVersion.process_id)
            )
        )


def list_versions(db: Database, process_id: str) -> list[VersionInfo]:
    """Every deployed version of ``process_id``, newest first, with its running-case count."""
    with db.read() as session:
        counts = dict(
            session.execute(
                select(Case.definition_hash, func.count())
                .where(Case.process_id == process_id, Case.status == "running")
                .group_by(Case.definition_hash)
            ).all()
        )
        rows = session.scalars(
            select(DefinitionVersion)
            .where(DefinitionVersion.process_id == process_id)
            .order_by(DefinitionVersion.version.desc())
        ).all()
        if not rows:
            raise NotFound(f"process {process_id!r} has no deployed version")
        return [
            VersionInfo(
                r.process_id, r.version, r.hash, r.deployed_at, r.deployed_by, r.note, counts.get(r.hash, 0)
            )
            for r in rows
        ]


def version_row(session: Session, process_id: str, ref: int | str) -> DefinitionVersion:
    """A version of ``process_id`` by number (``3``, ``"3"``) or by hash (or a unique hash prefix)."""
    text = str(ref).strip()
    query = select(DefinitionVersion).where(DefinitionVersion.process_id == process_id)
    if text.isdigit():
        row = session.scalars(query.where(DefinitionVersion.version == int(text))).first()
    else:
        if len(text) < 6:
            raise Invalid(
                "give a version number or at least 6 characters of its hash", fields={"version": text}
            )
        found = session.scalars(query.where(DefinitionVersion.hash.startswith(text))).all()
        if len(found) > 1:
            raise Invalid(f"hash prefix {text} is ambiguous", fields={"version": text})
        row = found[0] if found else None
    if row is None:
        raise NotFound(f"{process_id} has no version {text}")
    return row


def _readable(text: str) -> str:
    """DMN tags as ``dmn:x`` rather than in Clark notation (BPMN ones are shortened by semantic)."""
    return _DMN_NS_RE.sub("dmn:", text)


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _model(path: str, text: str) -> dict[str, Any] | None:
    if not path.endswith((".bpmn", ".dmn")):
        return None
    try:
        return semantic_model(text.encode("utf-8"))
    except (ValueError, etree.XMLSyntaxError):
        return None


def _rule_of(key: str, elements: dict[str, Any]) -> str:
    """A DMN cell's changes belong to its rule (the row a designer edits)."""
    entry = elements.get(key)
    if entry is not None and _local(entry["tag"]) in _DMN_RULE_PARTS and entry["parent"][0]:
        return str(entry["parent"][0])
    return key


def _decision_of(key: str, elements: dict[str, Any]) -> str | None:
    node: str | None = key
    while node is not None and node in elements:
        if _local(elements[node]["tag"]) == "decision":
            return node
        node = elements[node]["parent"][0]
    return None


def _diff_file(path: str, ma: dict[str, Any], mb: dict[str, Any]) -> tuple[list[ElementChange], ...]:
    ea, eb = ma["elements"], mb["elements"]
    ea = {k: v for k, v in ea.items() if k != "<root>"}
    eb = {k: v for k, v in eb.items() if k != "<root>"}
    added = [ElementChange(k, path, _local(eb[k]["tag"])) for k in sorted(set(eb) - set(ea))]
    removed = [ElementChange(k, path, _local(ea[k]["tag"])) for k in sorted(set(ea) - set(eb))]
    details: dict[str, list[str]] = {}
    for key in sorted(set(ea) & set(eb)):
        found = element_differences(key, ea[key], eb[key])
        if found:
            details.setdefault(_rule_of(key, ea), []).extend(_readable(f) for f in found)
    for key in sorted(set(ma["flows"]) & set(mb["flows"])):
        if ma["flows"][key] != mb["flows"][key]:
            (a_src, a_dst), (b_src, b_dst) = ma["flows"][key], mb["flows"][key]
            details.setdefault(key, []).append(f"flow {a_src} -> {a_dst} became {b_src} -> {b_dst}")
    for key in sorted(set(ma["lanes"]) & set(mb["lanes"])):
        for node in sorted(set(ma["lanes"][key]) ^ set(mb["lanes"][key])):
            details.setdefault(node, []).append(f"lane changed ({key})")
    # A rule added or removed changes its decision too (the table it belongs to).
    decisions: dict[str, list[str]] = {}
    for change in added + removed:
        if change.kind == "rule":
            elements = eb if change in added else ea
            decision = _decision_of(change.element_id, elements)
            if decision:
                verb = "added" if change in added else "removed"
                decisions.setdefault(decision, []).append(f"rule {change.element_id} {verb}")
    for key in list(details):
        decision = _decision_of(key, ea)
        if decision and decision != key:
            decisions.setdefault(decision, []).append(
                f"rule {key} changed" if key in ea and _local(ea[key]["tag"]) == "rule" else f"{key} changed"
            )
    for decision, notes in decisions.items():
        details.setdefault(decision, []).extend(notes)
    gone_or_new = {c.element_id for c in added + removed}
    changed = [
        ElementChange(k, path, _local((ea.get(k) or eb.get(k) or {"tag": "?"})["tag"]), v)
        for k, v in sorted(details.items())
        if k not in gone_or_new  # a removed rule's cells "moved" to the new rule: it is not also changed
    ]
    return added, removed, changed


def diff_files(process_id: str, files_a: Files, files_b: Files) -> tuple[list[ElementChange], ...]:
    """Element changes between two file sets of a process: (added, removed, changed)."""
    added: list[ElementChange] = []
    removed: list[ElementChange] = []
    changed: list[ElementChange] = []
    changed_decisions: dict[str, list[str]] = {}
    for path in sorted(set(files_a) | set(files_b)):
        ma = _model(path, files_a.get(path, ""))
        mb = _model(path, files_b.get(path, ""))
        if ma is None and mb is None:
            continue
        empty: dict[str, Any] = {"elements": {}, "flows": {}, "lanes": {}}
        a, r, c = _diff_file(path, ma or empty, mb or empty)
        added += a
        removed += r
        changed += c
        if path.endswith(".dmn"):
            for change in c:
                if change.kind == "decision":
                    changed_decisions[change.element_id] = change.details
    # A business rule task calling a changed decision behaves differently: it is changed too.
    already = {(c.file, c.element_id) for c in changed}
    for path in sorted(files_b):
        mb = _model(path, files_b[path]) if path.endswith(".bpmn") else None
        for key, entry in (mb or {"elements": {}})["elements"].items():
            if _local(entry["tag"]) != "businessRuleTask" or (path, key) in already:
                continue
            called = {text for p, _a, text in entry["extensions"] if p and p[-1] == _CALLED_DECISION}
            for decision in sorted(called & set(changed_decisions)):
                changed.append(ElementChange(key, path, "businessRuleTask", [f"decision {decision} changed"]))
    return added, removed, changed


def diff_versions(db: Database, process_id: str, a: int | str, b: int | str) -> VersionDiff:
    """Semantic diff from version ``a`` to version ``b`` (numbers or hashes) of ``process_id``."""
    with db.read() as session:
        row_a, row_b = version_row(session, process_id, a), version_row(session, process_id, b)
        files_a, files_b = version_files(row_a), version_files(row_b)
        (version_a, hash_a), (version_b, hash_b) = (row_a.version, row_a.hash), (row_b.version, row_b.hash)
    added, removed, changed = diff_files(process_id, files_a, files_b)
    return VersionDiff(
        process_id=process_id,
        a=version_a,
        b=version_b,
        a_hash=hash_a,
        b_hash=hash_b,
        added=added,
        removed=removed,
        changed=changed,
        files_added=sorted(set(files_b) - set(files_a)),
        files_removed=sorted(set(files_a) - set(files_b)),
        files_changed=sorted(p for p in set(files_a) & set(files_b) if files_a[p] != files_b[p]),
    )


def export_version(db: Database, process_id: str, version: int | str, dest_dir: Path) -> list[Path]:
    """Write a deployed version's files under ``dest_dir`` as ``processes/<id>/...`` and ``forms/...``.

    Returns the files written. Existing files of the same name are replaced (exporting into the
    project root brings ``processes/`` back in line with what is deployed).
    """
    with db.read() as session:
        files = version_files(version_row(session, process_id, version))
    written = []
    for path, text in sorted(files.items()):
        target = Path(dest_dir) / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written
