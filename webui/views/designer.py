"""The designer: edit a process's draft (diagram, decisions, forms, tests), deploy it, compare versions,
move running cases to a new version.

Everything here is for the ``designer`` role only (anyone else gets 403). The pages are thin: drafts,
validation, test runs, deployment, diffs and migration are the engine's (``engine.designer``); this
module turns their answers into pages and JSON. The editor page's script (``static/designer/editor.js``)
keeps the draft's files in the browser and sends them whole to ``POST /designer/api/<process>/draft``;
the answer lists the validation problems, which the script marks on the diagram at their element.
"""

from __future__ import annotations

import io
import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from markupsafe import Markup

from engine.designer import deploy, drafts, interchange, migration, versions
from engine.errors import DefinitionError, Invalid, NotFound
from engine.process_tests import TestResult
from webui.context import actor, web
from webui.forms_html import render_form
from webui.i18n import current_language, pick
from webui.security import role_required
from webui.views.api import _json_body, _plain
from webui.views.cases import when

bp = Blueprint("designer", __name__, url_prefix="/designer")

designer_only = role_required("designer")

# The moddle descriptor of the spiffworkflow namespace the bpmn-js round-trip checker uses: served
# to the modeler so it types cadreflow's extension elements instead of keeping a second copy.
REPOSITORY = Path(__file__).resolve().parents[2]
SPIFF_DESCRIPTOR = REPOSITORY / "tools" / "bpmnjs_roundtrip" / "spiffworkflow.json"
MAX_UPLOAD_BYTES = 2 * 1024 * 1024


def file_kind(path: str) -> str:
    """What a draft file is, for the editor's tabs: ``bpmn``, ``dmn``, ``form``, ``test`` or ``other``."""
    if path.endswith(".bpmn"):
        return "bpmn"
    if path.endswith(".dmn"):
        return "dmn"
    if path.endswith(".test.yaml"):
        return "test"
    if path.startswith("forms/") or path.endswith(".schema.yaml"):
        return "form"
    return "other"


def problem_json(problem: DefinitionError) -> dict[str, Any]:
    """A validation problem for the editor's script: message, file, line, ``element_id``, lint ``rule``."""
    return problem.to_dict()


def project_root() -> Path:
    """Where ``processes/`` lies: a draft of a version deployed without its tests takes them from there."""
    return Path(current_app.config.get("PROJECT_ROOT") or REPOSITORY)


def open_draft(process_id: str) -> drafts.Draft:
    return drafts.open_draft(web().db, actor().user_id, process_id, web().clock, project_root())


def save_draft(process_id: str, body: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    """Save the editor's files (``body``: files and the revision it loaded); the validation problems,
    ready for the editor's script, and the draft's new revision."""
    revision = body.get("revision")
    saved = drafts.save_draft(
        web().db,
        actor().user_id,
        process_id,
        _files_from(body),
        web().clock,
        expected_revision=revision if isinstance(revision, str) else None,
    )
    return [problem_json(p) for p in saved.problems], saved.draft.revision


def result_json(result: TestResult) -> dict[str, Any]:
    """A process test's result: the ``PASS name`` / ``FAIL name: what differed`` line and its parts."""
    return {
        "name": result.name,
        "file": result.file,
        "passed": result.passed,
        "message": result.message,
        "line": result.line(),
    }


def _files_from(body: dict[str, Any]) -> dict[str, str]:
    files = body.get("files")
    if not isinstance(files, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in files.items()
    ):
        raise Invalid("files must map each path to its text", fields={"files": "expected {path: text}"})
    return dict(files)


# --------------------------------------------------------------------------------------------------
# Process list, templates, import


@dataclass(frozen=True)
class ProcessRow:
    """One line of the process list: the latest deployed version (if any) and the open draft (if any)."""

    process_id: str
    version: versions.VersionInfo | None
    draft: drafts.Draft | None


def process_rows() -> list[ProcessRow]:
    """Every process known here: deployed ones (also those made in the designer, which have no folder),
    the project's process folders (not deployed yet) and every open draft."""
    open_drafts = {d.process_id: d for d in drafts.list_drafts(web().db)}
    folder = project_root() / "processes"
    ids = set(versions.deployed_processes(web().db)) | (
        {p.name for p in folder.iterdir() if p.is_dir() and any(p.glob("*.bpmn"))}
        if folder.is_dir()
        else set()
    )
    rows = []
    for process_id in sorted(ids | set(open_drafts)):
        try:
            latest: versions.VersionInfo | None = versions.list_versions(web().db, process_id)[0]
        except NotFound:
            latest = None
        rows.append(ProcessRow(process_id, latest, open_drafts.get(process_id)))
    return rows


@bp.get("/")
@designer_only
def index() -> Any:
    return render_template("designer/index.html", processes=process_rows(), when=when)


@bp.post("/new")
@designer_only
def new_process() -> Any:
    process_id = request.form.get("process_id", "").strip()
    name = request.form.get("name", "").strip()
    drafts.new_process_from_template(web().db, actor().user_id, process_id, name, web().clock)
    flash(
        _("New process %(id)s created from the template; it is a draft until you deploy it.", id=process_id)
    )
    return redirect(url_for("designer.edit", process_id=process_id))


def safe_name(text: str, fallback: str) -> str:
    """``"Order Handling (v2)"`` → ``"order_handling_v2"``: a file or process name a draft accepts."""
    name = re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_") or fallback
    return name if name[0].isalpha() else f"{fallback}_{name}"


@bp.post("/import")
@designer_only
def import_file() -> Any:
    """Open a BPMN file made elsewhere as a draft. An executable one becomes the draft of its process
    (replacing that draft's diagram); one with nothing executable opens for drawing, under a process
    id taken from the file name; a refused one is not kept, and the page names what was refused."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise Invalid(_("Choose a BPMN file to import."), fields={"file": _("required")})
    data = upload.stream.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise Invalid(_("The file is larger than 2 MB."), fields={"file": upload.filename})
    report = interchange.import_model(data, upload.filename)
    if report.status == interchange.REFUSED:
        return render_template("designer/import.html", report=report, filename=upload.filename), 422
    stem = Path(upload.filename).stem
    process_id = report.processes[0] if report.processes else safe_name(stem, "drawing")
    try:
        files = {p: t for p, t in open_draft(process_id).files.items() if file_kind(p) != "bpmn"}
    except NotFound:  # a process new to cadreflow
        files = {}
    name = safe_name(stem, "diagram") + ".bpmn"
    files[f"processes/{process_id}/{name}"] = data.decode("utf-8", errors="replace")
    drafts.save_draft(web().db, actor().user_id, process_id, files, web().clock)
    for message in report.messages:
        flash(message)
    if report.status == interchange.DRAWING_ONLY:
        flash(_("Nothing in this file is executable: it opens for drawing only."))
    return redirect(url_for("designer.edit", process_id=process_id))


# --------------------------------------------------------------------------------------------------
# The editor


@bp.get("/<process_id>/edit")
@designer_only
def edit(process_id: str) -> Any:
    draft = open_draft(process_id)
    files = dict(draft.files)
    return render_template(
        "designer/editor.html",
        process_id=process_id,
        draft=draft,
        files=files,
        kinds={path: file_kind(path) for path in files},
        when=when,
    )


@bp.get("/spiffworkflow.json")
@designer_only
def spiff_descriptor() -> Any:
    return Response(SPIFF_DESCRIPTOR.read_text(encoding="utf-8"), mimetype="application/json")


@bp.post("/<process_id>/discard")
@designer_only
def discard(process_id: str) -> Any:
    drafts.discard_draft(web().db, actor().user_id, process_id)
    flash(_("The draft of %(id)s was discarded.", id=process_id))
    return redirect(url_for("designer.index"))


@bp.post("/api/<process_id>/draft")
@designer_only
def api_save(process_id: str) -> Any:
    problems, revision = save_draft(process_id, _json_body())
    return jsonify({"saved": True, "problems": problems, "revision": revision})


@bp.post("/api/<process_id>/tests")
@designer_only
def api_run_tests(process_id: str) -> Any:
    body = _json_body()
    revision = None
    if "files" in body:  # run what is on the screen: save it first
        problems, revision = save_draft(process_id, body)
        if problems:
            return jsonify({"problems": problems, "results": [], "revision": revision})
    results = deploy.run_draft_tests(web().db, process_id)  # DeployBlocked → 422 with the problems
    return jsonify({"problems": [], "results": [result_json(r) for r in results], "revision": revision})


@bp.post("/api/<process_id>/deploy")
@designer_only
def api_deploy(process_id: str) -> Any:
    body = _json_body()
    why = str(body.get("why", "")).strip()
    if not why:
        raise Invalid(_("Say why this version is deployed."), fields={"why": _("required")})
    revision = save_draft(process_id, body)[1] if "files" in body else None
    # DeployBlocked (422) carries the problems and every test result; Conflict (409): the draft changed.
    version = deploy.deploy_draft(web().db, web().clock, actor().user_id, process_id, why)
    return jsonify(
        {
            "version": _plain(version),
            "versions_url": url_for("designer.versions_page", process_id=process_id),
            "revision": revision,
        }
    )


@bp.post("/api/form-preview")
@designer_only
def api_form_preview() -> Any:
    """The form a JSON Schema (YAML text) renders to, as the task page would show it."""
    text = str(_json_body().get("yaml", ""))
    try:
        schema = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = _("line %(n)s", n=mark.line + 1) if mark is not None else ""
        raise Invalid(_("Not valid YAML") + f" ({where}): {getattr(err, 'problem', '')}") from err
    if not isinstance(schema, dict):
        raise Invalid(_("A form is a YAML mapping (a JSON Schema object)."))
    title = pick(str(schema.get("title", "")))
    try:
        html = render_form(schema, language=current_language(), prefix="preview", include_script=False)
    except Exception as err:  # noqa: BLE001 - a half-typed schema must not break the editor
        raise Invalid(_("The form cannot be shown yet: %(why)s", why=str(err))) from err
    return jsonify({"title": title, "html": str(Markup(html))})


# --------------------------------------------------------------------------------------------------
# Versions


def change_labels() -> dict[str, str]:
    return {"added": _("Added"), "removed": _("Removed"), "changed": _("Changed")}


def change_list(diff: versions.VersionDiff) -> list[dict[str, Any]]:
    """Every added, removed and changed element, with what changed, for the list under the diagrams."""
    return [
        {
            "kind": kind,
            "element": change.element_id,
            "file": change.file.rsplit("/", 1)[-1],
            "type": change.kind,
            "what": "; ".join(change.details),
        }
        for kind, changes in (("removed", diff.removed), ("added", diff.added), ("changed", diff.changed))
        for change in changes
    ]


def diagram_marks(diff: versions.VersionDiff) -> dict[str, dict[str, str]]:
    """What each diagram marks: ``{"a": {element id: "removed"|"changed"}, "b": {id: "added"|"changed"}}``."""
    return {
        side: {element: kind for kind, ids in kinds.items() for element in ids}
        for side, kinds in diff.highlight().items()
    }


@bp.get("/<process_id>/versions")
@designer_only
def versions_page(process_id: str) -> Any:
    rows = versions.list_versions(web().db, process_id)  # newest first
    numbers = [r.version for r in rows]
    a = request.args.get("a", type=int)
    b = request.args.get("b", type=int)
    if a is None and b is None and len(numbers) >= 2:
        a, b = numbers[1], numbers[0]
    diff = None
    if a is not None and b is not None:
        if a not in numbers or b not in numbers:
            abort(404)
        diff = versions.diff_versions(web().db, process_id, a, b)
    return render_template(
        "designer/versions.html",
        process_id=process_id,
        rows=rows,
        a=a,
        b=b,
        diff=diff,
        changes=change_list(diff) if diff else [],
        diff_marks=diagram_marks(diff) if diff else {},
        change_labels=change_labels(),
        when=when,
    )


def version_files(process_id: str, number: int) -> dict[str, str]:
    """A deployed version's files ``{path: text}``, as ``versions.export_version`` lays them out."""
    with tempfile.TemporaryDirectory(prefix="cadreflow-export-") as folder:
        root = Path(folder)
        written = versions.export_version(web().db, process_id, number, root)
        return {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8") for p in written}


@bp.get("/<process_id>/versions/<int:number>/diagram.bpmn")
@designer_only
def version_diagram(process_id: str, number: int) -> Any:
    bpmn = [
        text for path, text in sorted(version_files(process_id, number).items()) if path.endswith(".bpmn")
    ]
    if not bpmn:
        abort(404)
    response = Response(bpmn[0], mimetype="application/xml")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/<process_id>/versions/<int:number>/export.zip")
@designer_only
def export(process_id: str, number: int) -> Any:
    """The version's files laid out like the repository (``processes/<id>/…``, ``forms/…``), zipped."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, text in sorted(version_files(process_id, number).items()):
            archive.writestr(path, text)
    response = Response(buffer.getvalue(), mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{process_id}-v{number}.zip"'
    return response


# --------------------------------------------------------------------------------------------------
# Migration


@bp.route("/<process_id>/migrate", methods=["GET", "POST"])
@designer_only
def migrate(process_id: str) -> Any:
    rows = versions.list_versions(web().db, process_id)  # newest first
    by_hash = {r.hash: r for r in rows}
    target = request.values.get("target", rows[0].hash)
    if target not in by_hash:
        raise Invalid(_("Choose a deployed version to move the cases to."), fields={"target": target})
    chosen = request.form.getlist("case") if request.method == "POST" else []
    action = request.form.get("action", "") if request.method == "POST" else ""
    checks = results = None
    if action == "dry_run":
        checks = migration.plan_migration(web().db, chosen, target)
    elif action == "migrate":
        results = migration.migrate_cases(
            web().db, web().clock, actor().user_id, chosen, target, request.form.get("why", "")
        )
        rows = versions.list_versions(web().db, process_id)  # the running-case counts changed
        chosen = []
    running = {
        r.hash: migration.cases_on_version(web().db, process_id, r.hash) for r in rows if r.running_cases
    }
    return render_template(
        "designer/migrate.html",
        process_id=process_id,
        rows=rows,
        by_hash=by_hash,
        running={h: ids for h, ids in running.items() if ids},
        target=target,
        chosen=set(chosen),
        checks=checks,
        results=results,
        when=when,
    )
