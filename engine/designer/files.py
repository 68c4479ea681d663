"""A process as an in-memory file set: ``{path: text}`` with the paths a deployed version stores.

Paths are ``processes/<process id>/<file>.bpmn|.dmn``, ``processes/<process id>/tests/<name>.test.yaml``
and ``forms/<key>``. Validation and loading reuse the folder loader unchanged
(:func:`engine.bpmn.loader.load_process_folder`) by writing the set into a throwaway project folder:
the checks then see exactly what ``cadreflow validate`` sees on disk, so the two can never disagree.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bpmn.loader import ProcessBundle, load_process_folder, validate_paths
from engine.errors import DefinitionError, Invalid
from engine.store.models import DefinitionVersion

Files = dict[str, str]

TESTS_DIR = "tests"
TEST_SUFFIX = ".test.yaml"
MAX_FILES = 200
MAX_FILE_CHARS = 5 * 1024 * 1024


def process_dir(process_id: str) -> str:
    """The bundle folder of a process: ``processes/<process id>``."""
    return f"processes/{process_id}"


def check_paths(process_id: str, files: Files) -> None:
    """Refuse paths outside the process's folder and ``forms/`` (a draft must not write elsewhere)."""
    if len(files) > MAX_FILES:
        raise Invalid(f"a draft holds at most {MAX_FILES} files", fields={"files": f"{len(files)} given"})
    prefix = process_dir(process_id) + "/"
    for path, text in files.items():
        pure = PurePosixPath(path)
        if not isinstance(text, str):
            raise Invalid(f"{path}: the content must be text", fields={path: "not text"})
        if len(text) > MAX_FILE_CHARS:
            raise Invalid(f"{path}: file too large", fields={path: "too large"})
        bad = pure.is_absolute() or ".." in pure.parts or "\\" in path or "\x00" in path
        inside = path.startswith(prefix) or (path.startswith("forms/") and len(pure.parts) == 2)
        if bad or not inside or str(pure) != path:
            raise Invalid(
                f"{path}: files of a draft of {process_id} live under {prefix} or forms/",
                fields={path: "path outside the process"},
            )


def test_files(process_id: str, files: Files) -> Files:
    """The process tests of a file set (``processes/<id>/tests/*.test.yaml``), by path."""
    prefix = f"{process_dir(process_id)}/{TESTS_DIR}/"
    return {p: t for p, t in sorted(files.items()) if p.startswith(prefix) and p.endswith(TEST_SUFFIX)}


def write_tree(files: Files, root: Path) -> None:
    """Write a file set under ``root`` (``root/processes/...``, ``root/forms/...``)."""
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    (root / "forms").mkdir(exist_ok=True)
    (root / "processes").mkdir(exist_ok=True)


def deployed_forms(session: Session) -> Files:
    """Every form of the latest deployed version of each process: what a draft may name unchanged."""
    out: Files = {}
    rows = session.scalars(select(DefinitionVersion).order_by(DefinitionVersion.version)).all()
    for row in rows:  # later versions overwrite earlier ones
        for path, text in json.loads(row.files_json).items():
            if path.startswith("forms/"):
                out[path] = text
    return out


@contextmanager
def project_tree(files: Files, extra_forms: Files | None = None) -> Iterator[Path]:
    """A throwaway project folder holding ``files`` (and forms a draft names without editing them)."""
    with tempfile.TemporaryDirectory(prefix="cadreflow-draft-") as tmp:
        root = Path(tmp)
        write_tree({**(extra_forms or {}), **files}, root)
        yield root


def _relative(problem: DefinitionError, root: Path) -> DefinitionError:
    """Name the file as the draft does (``processes/x/x.bpmn``), not by its throwaway location."""
    try:
        problem.file = str(Path(problem.file).resolve().relative_to(root.resolve()))
    except ValueError:
        pass
    return problem


def validate_files(process_id: str, files: Files, extra_forms: Files | None = None) -> list[DefinitionError]:
    """Every validation problem of a process file set (empty: it would deploy), files named by path."""
    with project_tree(files, extra_forms) as root:
        folder = root / process_dir(process_id)
        if not folder.is_dir():
            return [DefinitionError(message="the draft has no BPMN file", file=process_dir(process_id))]
        return [_relative(p, root) for p in validate_paths([folder], forms_dir=root / "forms")]


def load_bundle(process_id: str, files: Files, extra_forms: Files | None = None) -> ProcessBundle:
    """The validated bundle of a file set (raises :class:`~engine.errors.DefinitionErrors`).

    The bundle holds the BPMN, DMN and used forms as the folder loader reads them, plus the process
    tests, so that a deployed version keeps the tests it was deployed with.
    """
    from engine.bpmn.loader import bundle_hash
    from engine.errors import DefinitionErrors

    with project_tree(files, extra_forms) as root:
        try:
            bundle = load_process_folder(root / process_dir(process_id), root / "forms")
        except DefinitionErrors as err:
            err.problems = [_relative(p, root) for p in err.problems]
            raise
    if bundle.process_id != process_id:
        raise Invalid(
            f"the top process of the draft is {bundle.process_id!r}, not {process_id!r}",
            fields={"process_id": bundle.process_id},
        )
    merged = {**bundle.files, **{p: t.encode("utf-8") for p, t in test_files(process_id, files).items()}}
    return ProcessBundle(
        process_id=bundle.process_id,
        files=merged,
        content_hash=bundle_hash(merged),
        user_tasks=bundle.user_tasks,
        forms=bundle.forms,
        process_properties=bundle.process_properties,
    )


def version_files(row: DefinitionVersion) -> Files:
    """The stored files of a deployed version, by path."""
    files: Files = json.loads(row.files_json)
    return files
