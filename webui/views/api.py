"""The JSON API: the inbox's actions for programs. One error shape ``{error, message, fields}``.

Statuses: 401 not signed in, 403 forbidden (or a missing CSRF header), 404 not found — also for things
the caller may not see, so existence does not leak —, 409 conflict, 422 invalid. Sessions are the
same as the pages'; POSTs need the ``X-CSRF-Token`` header (``GET /api/session`` hands it out).
"""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, jsonify, request

from engine import cases
from engine.canonical import format_time
from engine.case_views import case_detail
from engine.errors import Invalid
from engine.inbox import InboxFilters, inbox_page
from engine.task_views import task_detail
from webui.context import actor, web
from webui.hiding import unseen_as_not_found
from webui.security import csrf_token, login_required

bp = Blueprint("api", __name__, url_prefix="/api")


def _plain(value: Any) -> Any:
    """Dataclasses, datetimes and tuples to JSON-ready values."""
    if is_dataclass(value) and not isinstance(value, type):
        return _plain(asdict(value))
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return format_time(value)
    return value


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Invalid("send a JSON object", fields={"(body)": "expected a JSON object"})
    return body


@bp.get("/session")
@login_required
def session_info() -> Any:
    me = actor()
    grants = sorted({(g.role, g.unit_id) for g in me.grants})
    return jsonify(
        {
            "user": me.user_id,
            "grants": [{"role": r, "unit": u} for r, u in grants],
            "csrf_token": csrf_token(),
        }
    )


@bp.get("/tasks")
@login_required
def tasks() -> Any:
    args = request.args
    filters = InboxFilters(
        view=args.get("view", "all"),
        process=args.get("process") or None,
        task=args.get("task") or None,
        unit=args.get("unit") or None,
        batch=args.get("batch") or None,
        search=args.get("q") or None,
        sort=args.get("sort", "due"),
        page=max(1, args.get("page", 1, type=int)),
        page_size=min(100, max(1, args.get("page_size", 20, type=int))),
    )
    page = inbox_page(web().db, actor().user_id, filters, web().clock.now())
    return jsonify(_plain(page))


@bp.get("/tasks/<task_id>")
@login_required
def task(task_id: str) -> Any:
    return jsonify(_plain(task_detail(web().db, actor().user_id, task_id)))


@bp.post("/tasks/<task_id>/claim")
@login_required
def claim(task_id: str) -> Any:
    with unseen_as_not_found(task_id):
        return jsonify(_plain(cases.claim_task(web().db, web().clock, actor().user_id, task_id)))


@bp.post("/tasks/<task_id>/unclaim")
@login_required
def unclaim(task_id: str) -> Any:
    with unseen_as_not_found(task_id):
        return jsonify(_plain(cases.unclaim_task(web().db, web().clock, actor().user_id, task_id)))


@bp.post("/tasks/<task_id>/complete")
@login_required
def complete(task_id: str) -> Any:
    body = _json_body()
    data = body.get("data", body)
    with unseen_as_not_found(task_id):
        view = cases.complete_task(web().db, web().clock, actor().user_id, task_id, data)
    return jsonify({"case_id": view.id, "status": view.status, "ready": _plain(view.ready)})


@bp.get("/cases/<case_id>")
@login_required
def case(case_id: str) -> Any:
    detail = case_detail(web().db, actor().user_id, case_id)
    out = _plain(detail)
    out.pop("bpmn_xml", None)  # the diagram is a page concern; programs get the path as element ids
    return jsonify(out)
