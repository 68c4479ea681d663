"""The auditor's pages: search, a case's record and explanations, the as-of view, diffs, exports, the log.

Read-only and for the ``auditor`` role only (everyone else gets 403, before anything is looked up, so
nothing leaks); a case the auditor may not view (one about themselves) answers 404 like a missing
one. Every view of a case, as-of view, diff, verification and export is written to the access log
(``engine.audit.access_log``) with who and when, and ``/audit/log`` shows that log to auditors.

The as-of view and diffs are rebuilt from the event log by re-execution (``engine.audit.replay``),
never read from the case's current state.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, render_template, request, url_for
from flask_babel import gettext as _

from engine.audit.access_log import log_access, recent_access
from engine.audit.batch_export import batch_table, to_csv, to_xlsx
from engine.audit.bundle import export_case
from engine.audit.diff import diff_events
from engine.audit.explain import CaseExplanation, ReadyRecord, explain_case, ready_records
from engine.audit.replay import CaseState
from engine.audit.search import CaseSearch, search_cases
from engine.audit.verify import verify_case
from engine.canonical import parse_time
from engine.case_views import CaseDetail, case_detail
from engine.errors import Invalid
from engine.roles import ROLES
from webui.context import actor, web
from webui.security import role_required
from webui.views.cases import outcome_labels, stage_label, status_label, when
from webui.views.inbox import page_numbers, page_size

bp = Blueprint("audit", __name__, url_prefix="/audit")
AUDITOR = "auditor"
SELECTION = "reserve_selection"


# ------------------------------------------------------------------------------------------------
# Labels (built per request: ``_`` needs the request's language)


def rule_labels() -> dict[str, str]:
    """The rule each explanation applied (``engine.audit.explain.RULES``), for people."""
    return {
        "committee_opinion": _("The unit committee found the nominee not qualified."),
        "conditions": _("Age, education, service years and political status against the batch's conditions."),
        "recommendation": _("Recommended when votes ≥ threshold × participants."),
        "exam_absent": _("A candidate without an exam score is out."),
        "exam_below_pass": _("Passes when the exam score ≥ the pass mark."),
        "ratio_elimination": _("The inspection list is the best-ranked 1.5 × quota (rounded up)."),
        "inspection": _("A candidate rated incompetent is out."),
        "proposal": _("Not proposed, and no longer available for back-fill."),
        "objection": _("An objection in an opinion round withdraws the candidate."),
        "committee": _("The party committee rejected the candidate."),
        "admitted": _("Approved by the party committee; admitted after the notice period."),
        "in_progress": _("Not decided yet."),
    }


def figure_labels() -> dict[str, str]:
    return {
        "committee_opinion": _("Committee opinion"),
        "committee_reason": _("Committee's reason"),
        "failed": _("Conditions not met"),
        "age": _("Age"),
        "max_age": _("Maximum age"),
        "education": _("Education"),
        "min_education": _("Minimum education"),
        "service_years": _("Service years"),
        "min_service_years": _("Minimum service years"),
        "political_status": _("Political status"),
        "required_status": _("Required status"),
        "reference_date": _("Reference date"),
        "votes": _("Votes"),
        "participants": _("Participants"),
        "threshold": _("Threshold"),
        "score": _("Exam score"),
        "pass_mark": _("Pass mark"),
        "rank": _("Rank"),
        "ranked": _("Ranked"),
        "list_size": _("Inspection list size"),
        "quota": _("Quota"),
        "rating": _("Inspection rating"),
        "composite": _("Composite score"),
        "preselection": _("Pre-selection"),
        "proposed": _("Proposed"),
        "round": _("Opinion round"),
        "body": _("Raised by"),
        "objection": _("Objection"),
        "decision": _("Committee decision"),
        "meeting_date": _("Meeting date"),
        "minute_ref": _("Committee minute"),
    }


def action_labels() -> dict[str, str]:
    """The access log's actions (``engine.audit.access_log.ACTIONS``), for people."""
    return {
        "view": _("Viewed the case"),
        "as_of": _("Viewed an earlier state"),
        "diff": _("Compared two events"),
        "verify": _("Verified the case"),
        "export": _("Exported the bundle"),
        "export_batch": _("Exported the candidates"),
    }


def figure_text(key: str, value: Any) -> str:
    """One figure as a person reads it: lists joined, a missing value as a dash."""
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    if key == "threshold" and isinstance(value, (int, float)):
        return f"{value:g} ({value * 100:g}%)"
    return str(value)


def json_text(value: Any) -> str:
    """A value of the case data on one wrapping line (indented JSON made the data tables pages long)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(", ", ": "))


def _record(action: str, case_id: str | None, detail: str = "") -> None:
    log_access(web().db, actor().user_id, action, case_id, detail, web().clock.now())


def _detail(case_id: str) -> CaseDetail:
    """The case as an auditor sees it (``NotFound`` for one they may not view, e.g. about themselves)."""
    return case_detail(web().db, actor().user_id, case_id)


def _common() -> dict[str, Any]:
    return {
        "when": when,
        "status_label": status_label,
        "stage_label": stage_label,
        "outcome_labels": outcome_labels(),
        "role_names": {r.id: f"{r.label_en} / {r.label_zh}" for r in ROLES.values()},
    }


@dataclass(frozen=True)
class WaitingRow:
    name: str
    element_id: str
    role: str
    unit: str
    about: str
    since: datetime | None
    due: datetime | None = None
    assignee: str | None = None


@dataclass(frozen=True)
class Waiting:
    """What a case waits for, now (from the projections) or as of an event (``past``, re-executed)."""

    rows: list[WaitingRow]
    timers: list[tuple[str, datetime]]  # (element id, due)
    messages: list[str]
    finished: bool
    past: bool


def waiting_now(explanation: CaseExplanation) -> Waiting:
    rows = [
        WaitingRow(
            name=t.name,
            element_id=t.element_id,
            role=t.role,
            unit=t.unit_id,
            about=str(t.input.get("candidate") or ""),
            since=t.created_at,
            due=t.due_at,
            assignee=t.assignee,
        )
        for t in explanation.tasks
    ]
    timers = [(t.element_id, t.due) for t in explanation.timers]
    finished = explanation.status == "finished"
    return Waiting(rows, timers, explanation.messages, finished, past=False)


def waiting_then(state: CaseState, readiness: dict[str, ReadyRecord]) -> Waiting:
    rows = []
    for task in state.ready_tasks:
        record = readiness.get(task["task_id"])
        about = record.about.get("candidate") if record else None
        rows.append(
            WaitingRow(
                name=task["name"],
                element_id=task["element_id"],
                role=task["role"],
                unit=task["unit"],
                about=about if isinstance(about, str) else "",
                since=record.at if record else None,
            )
        )
    timers = [(t["element_id"], parse_time(t["due"])) for t in state.waiting_timers]
    return Waiting(rows, timers, list(state.waiting_messages), state.finished, past=True)


# ------------------------------------------------------------------------------------------------
# Search


def _day(name: str) -> date | None:
    text = request.args.get(name, "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as err:
        raise Invalid(f"{name} is not a date (YYYY-MM-DD): {text!r}", fields={name: "not a date"}) from err


@bp.get("")
@role_required(AUDITOR)
def index() -> Any:
    keys = ("process", "batch", "candidate", "unit", "from", "to")
    args = {key: request.args.get(key, "").strip() for key in keys}
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    query = CaseSearch(
        process=args["process"],
        batch=args["batch"],
        candidate=args["candidate"],
        unit=args["unit"],
        date_from=_day("from"),
        date_to=_day("to"),
        page=page,
        page_size=page_size(),
    )
    result = search_cases(web().db, actor().user_id, query)

    def page_url(number: int) -> str:
        params: dict[str, Any] = {k: v for k, v in args.items() if v}
        return url_for("audit.index", page=number, **params)

    return render_template(
        "audit/search.html",
        args=args,
        result=result,
        pages=page_numbers(result.page, result.pages),
        page_url=page_url,
        **_common(),
    )


# ------------------------------------------------------------------------------------------------
# A case


def _case_page(case_id: str, verified: Any = None) -> str:
    detail = _detail(case_id)
    explanation = explain_case(web().db, case_id)
    return render_template(
        "audit/case.html",
        detail=detail,
        case=detail.case,
        explanation=explanation,
        waiting=waiting_now(explanation),
        as_of_url=lambda seq: url_for("audit.as_of", case_id=case_id, seq=seq),
        verified=verified,
        is_batch=detail.case.process_id == SELECTION,
        rule_labels=rule_labels(),
        figure_labels=figure_labels(),
        figure_text=figure_text,
        **_common(),
    )


@bp.get("/cases/<case_id>")
@role_required(AUDITOR)
def case(case_id: str) -> Any:
    page = _case_page(case_id)
    _record("view", case_id)
    return page


@bp.post("/cases/<case_id>/verify")
@role_required(AUDITOR)
def verify(case_id: str) -> Any:
    _detail(case_id)  # may the auditor see it at all
    report = verify_case(web().db, case_id)
    _record("verify", case_id, report.line())
    return _case_page(case_id, verified=report)


@bp.get("/cases/<case_id>/at/<int:seq>")
@role_required(AUDITOR)
def as_of(case_id: str, seq: int) -> Any:
    detail = _detail(case_id)
    step = diff_events(web().db, case_id, max(1, seq - 1), seq)
    state = step.after
    readiness = ready_records(web().db, case_id)
    _record("as_of", case_id, f"seq {seq}")
    last = detail.case.last_seq
    return render_template(
        "audit/as_of.html",
        detail=detail,
        case=detail.case,
        state=state,
        changes=step.changes if seq > 1 else [],
        waiting=waiting_then(state, readiness),
        seq=seq,
        last=last,
        event=next((e for e in detail.timeline if e.seq == seq), None),
        path={"completed": state.completed_elements, "active": state.active_elements},
        json_text=json_text,
        **_common(),
    )


@bp.get("/cases/<case_id>/diff")
@role_required(AUDITOR)
def diff(case_id: str) -> Any:
    detail = _detail(case_id)
    try:
        first = int(request.args.get("from", "1"))
        second = int(request.args.get("to", str(detail.case.last_seq)))
    except ValueError as err:
        raise Invalid("from and to are event numbers", fields={"from": "a number", "to": "a number"}) from err
    result = diff_events(web().db, case_id, first, second)
    _record("diff", case_id, f"seq {first} to {second}")
    return render_template(
        "audit/diff.html",
        detail=detail,
        case=detail.case,
        result=result,
        first=first,
        second=second,
        json_text=json_text,
        **_common(),
    )


# ------------------------------------------------------------------------------------------------
# Exports


@bp.get("/cases/<case_id>/bundle.zip")
@role_required(AUDITOR)
def bundle(case_id: str) -> Any:
    _detail(case_id)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{case_id}.zip"
        export_case(web().db, case_id, path, exported_by=actor().user_id, at=web().clock.now())
        content = path.read_bytes()
    _record("export", case_id, f"bundle {len(content)} bytes")
    return _download(content, "application/zip", f"{case_id}.zip")


@bp.get("/cases/<case_id>/candidates.<kind>")
@role_required(AUDITOR)
def candidates(case_id: str, kind: str) -> Any:
    _detail(case_id)
    if kind not in ("csv", "xlsx"):
        raise Invalid(f"no export as {kind!r}; csv or xlsx", fields={"kind": "csv or xlsx"})
    table = batch_table(web().db, case_id)
    if kind == "csv":
        content, mimetype = to_csv(table), "text/csv; charset=utf-8"
    else:
        content = to_xlsx(table)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    _record("export_batch", case_id, f"{kind}, {len(table.rows)} candidates")
    return _download(content, mimetype, f"{case_id}-candidates.{kind}")


def _download(content: bytes, mimetype: str, filename: str) -> Response:
    response = Response(content, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# ------------------------------------------------------------------------------------------------
# The access log


@bp.get("/log")
@role_required(AUDITOR)
def access_log() -> Any:
    chosen = {k: request.args.get(k, "").strip() for k in ("case", "user", "action")}
    entries = recent_access(
        web().db,
        limit=500,
        case_id=chosen["case"] or None,
        actor=chosen["user"] or None,
        action=chosen["action"] or None,
    )
    return render_template(
        "audit/log.html", entries=entries, chosen=chosen, action_labels=action_labels(), when=when
    )
