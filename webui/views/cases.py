"""The case page: the pinned diagram with the path taken so far, the ready tasks, candidates and timeline.

What a viewer may see is decided by :func:`engine.case_views.case_detail` alone (a unit committee gets
its own units' part, someone without access gets ``NotFound`` → the 404 page). This module only
formats what the engine hands over.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import cases
from engine.case_views import CaseDetail, case_detail
from engine.roles import ROLES
from webui.context import actor, web
from webui.i18n import pick
from webui.security import login_required

bp = Blueprint("cases", __name__, url_prefix="/cases")


# Labels are built per request (``_`` needs the request's language; plain ``_`` calls keep them
# extractable by pybabel's default keywords).
def stage_labels() -> dict[str, str]:
    """Where a candidate stands or dropped out (``CandidateRow.stage``), for people."""
    return {
        "qualification": _("Qualification"),
        "recommendation": _("Democratic recommendation"),
        "exam": _("Examination"),
        "exam_absent": _("Examination (absent)"),
        "exam_below_pass": _("Examination (below the pass mark)"),
        "ratio_elimination": _("Ranking elimination"),
        "inspection": _("Inspection"),
        "proposal": _("Proposal"),
        "opinions": _("Opinions"),
        "objection": _("Objection in the opinions"),
        "committee": _("Committee decision"),
        "notice": _("Public notice"),
        "admitted": _("Admitted"),
    }


def status_labels() -> dict[str, str]:
    return {"running": _("Running"), "finished": _("Finished"), "cancelled": _("Cancelled")}


def outcome_labels() -> dict[str, str]:
    return {"admitted": _("Admitted"), "dropped": _("Dropped"), "in_progress": _("In progress")}


def humanise(identifier: str) -> str:
    """``"record_exam_scores"`` → ``"record exam scores"`` (for ids that have no label of their own)."""
    return identifier.replace("_", " ").strip()


def stage_label(stage: str) -> str:
    return stage_labels().get(stage) or humanise(stage)


def status_label(status: str) -> str:
    return status_labels().get(status) or humanise(status)


def when(moment: datetime | None, with_time: bool = True) -> str:
    """A moment as the pages show it (UTC): ``2027-01-04 09:30`` or ``2027-01-04``."""
    if moment is None:
        return ""
    return moment.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")


def _detail(case_id: str) -> CaseDetail:
    return case_detail(web().db, actor().user_id, case_id)


@bp.post("/new")
@login_required
def start() -> Any:
    """Start a case (e.g. open a new batch) and go straight to its first task, if it is the starter's."""
    process_id = request.form.get("process", "")
    case = cases.start_case(web().db, web().clock, actor().user_id, process_id)
    names = {p.process_id: p.name for p in cases.startable_processes(web().db, actor().user_id)}
    flash(_("Started: %(title)s", title=pick(names.get(process_id, process_id))))
    mine = [t for t in case.ready if t.role in actor().roles()]
    if mine:
        return redirect(url_for("tasks.view", task_id=mine[0].id))
    return redirect(url_for("cases.view", case_id=case.id))


@bp.get("/<case_id>")
@login_required
def view(case_id: str) -> Any:
    detail = _detail(case_id)
    return render_template(
        "case.html",
        detail=detail,
        case=detail.case,
        path={"completed": detail.completed, "active": detail.active},
        # Lanes are named by role id; the diagram shows the role's name in the page's language.
        role_names={r.id: f"{r.label_en} / {r.label_zh}" for r in ROLES.values()},
        stage_label=stage_label,
        status_label=status_label,
        outcome_labels=outcome_labels(),
        when=when,
        who=_who,
    )


@bp.get("/<case_id>/diagram.bpmn")
@login_required
def diagram(case_id: str) -> Any:
    """The case's pinned BPMN file (the version it runs on), under the same visibility as the page."""
    detail = _detail(case_id)
    if not detail.bpmn_xml:
        abort(404)
    response = Response(detail.bpmn_xml, mimetype="application/xml")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _who(user: str) -> str:
    """``system:engine`` → ``engine`` (the engine's own steps), people by their user id."""
    return _("engine") if user == "system:engine" else user.removeprefix("system:")
