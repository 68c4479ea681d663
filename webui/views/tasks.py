"""The task page: read the case context, fill in the form, save a draft or complete; claim and unclaim.

* ``GET /tasks/<id>`` shows the task (``engine.task_views.task_detail``): instructions, the case
  context the role may see, and the form (a saved draft, else the form's prefill).
* ``POST /tasks/<id>`` with ``action=complete`` completes it (``engine.cases.complete_task``); invalid
  data re-renders the page with status 422, the submitted values and the engine's field errors.
  ``action=save_draft`` stores the form as it is (``engine.drafts.save_draft``).
* ``POST /tasks/<id>/claim`` and ``/unclaim`` go back to the ``next`` field (a local path) or the inbox.

A task the person may not act on is a 404, exactly like a task that does not exist. Someone else
having been quicker (completed or claimed it first) is told with a flash message on the inbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import cases
from engine.drafts import save_draft, visible_task
from engine.errors import Conflict, Forbidden, Invalid, NotFound
from engine.task_views import ContextItem, TaskDetail, task_detail
from webui.context import actor, web
from webui.forms_html import FORM_ERRORS, parse_form, render_form
from webui.i18n import current_language, pick
from webui.security import login_required

bp = Blueprint("tasks", __name__)

ACTIONS = ("complete", "save_draft")


# ---------------------------------------------------------------------------------------------------
# Helpers


def _inbox_url() -> str:
    return url_for("inbox.index")


def _next_url(default: str) -> str:
    """The form's ``next`` field when it is a path on this site, else ``default``."""
    target = (request.form.get("next") or "").strip()
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def _ensure_visible(task_id: str) -> None:
    """404 (the engine's NotFound) unless the signed-in person may act on the task."""
    with web().db.read() as session:
        visible_task(session, actor().user_id, task_id)


def _detail_or_gone(task_id: str) -> TaskDetail | None:
    """The task page's data; ``None`` when the person could act on it but it is no longer ready.

    A task the person may not act on stays a NotFound (404), so its existence is not revealed.
    """
    try:
        return task_detail(web().db, actor().user_id, task_id)
    except NotFound:
        _ensure_visible(task_id)  # raises NotFound again when it is not theirs
        return None


def _gone() -> Any:
    flash(_("Someone else was quicker: this task was completed or claimed by someone else."))
    return redirect(_inbox_url())


def _cell(value: Any) -> str:
    """One value of the case context as text."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ", ".join(_cell(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{pick(k)}: {_cell(v)}" for k, v in value.items())
    return pick(str(value))


def context_blocks(items: list[ContextItem]) -> list[dict[str, Any]]:
    """The context items as the template shows them: text, or a table (rows of objects)."""
    out: list[dict[str, Any]] = []
    for item in items:
        value = item.value
        if isinstance(value, list) and value and all(isinstance(row, dict) for row in value):
            columns: list[str] = []
            for row in value:
                columns += [key for key in row if key not in columns]
            out.append(
                {
                    "label": pick(item.label),
                    "kind": "table",
                    "columns": [pick(c) for c in columns],
                    "rows": [[_cell(row.get(c)) for c in columns] for row in value],
                }
            )
        elif isinstance(value, list) and not value:
            out.append({"label": pick(item.label), "kind": "text", "text": _("none")})
        else:
            out.append({"label": pick(item.label), "kind": "text", "text": _cell(value)})
    return out


def _render(
    detail: TaskDetail,
    values: Mapping[str, Any],
    errors: Mapping[str, str] | None = None,
    problem: str | None = None,
    status: int = 200,
) -> Any:
    me = actor().user_id
    locked = detail.claimed_by not in (None, me)
    form_html = render_form(detail.schema, values, errors or {}, detail.choices, current_language())
    now = web().clock.now()
    return (
        render_template(
            "task.html",
            detail=detail,
            task=detail.task,
            form_html=form_html,
            form_title=pick(detail.schema.get("title") or ""),
            context=context_blocks(detail.context),
            locked=locked,
            me=me,
            problem=problem,
            error_count=len([k for k in (errors or {}) if k != FORM_ERRORS]),
            overdue=detail.task.due_at is not None and detail.task.due_at < now,
            case_url=f"/cases/{detail.task.case_id}",
            here=url_for("tasks.view", task_id=detail.task.id),
        ),
        status,
    )


# ---------------------------------------------------------------------------------------------------
# Routes


@bp.get("/tasks/<task_id>")
@login_required
def view(task_id: str) -> Any:
    detail = task_detail(web().db, actor().user_id, task_id)
    return _render(detail, detail.values)


@bp.post("/tasks/<task_id>")
@login_required
def submit(task_id: str) -> Any:
    action = request.form.get("action", "")
    if action not in ACTIONS:
        abort(400)
    detail = _detail_or_gone(task_id)
    if detail is None:
        return _gone()
    data = parse_form(detail.schema, request.form)
    me = actor().user_id
    if action == "save_draft":
        try:
            save_draft(web().db, web().clock, me, task_id, data)
        except Conflict:
            return _gone()
        except Invalid as err:
            return _render(detail, data, {FORM_ERRORS: err.message}, err.message, 422)
        flash(_("Draft saved"))
        return redirect(url_for("tasks.view", task_id=task_id))
    try:
        after = cases.complete_task(web().db, web().clock, me, task_id, data)
    except Conflict:
        return _gone()
    except Invalid as err:
        errors = dict(err.fields) or {FORM_ERRORS: err.message}
        return _render(detail, data, errors, err.message, 422)
    except Forbidden as err:  # e.g. listing oneself: shown on the form, nothing was changed
        return _render(detail, data, {FORM_ERRORS: err.message}, err.message, 403)
    # The case's title as it stands after the step (open_batch is what names a batch).
    flash(_("Completed: %(task)s — %(batch)s", task=pick(detail.task.name), batch=pick(after.title)))
    return redirect(_inbox_url())


@bp.post("/tasks/<task_id>/claim")
@login_required
def claim(task_id: str) -> Any:
    _ensure_visible(task_id)
    try:
        task = cases.claim_task(web().db, web().clock, actor().user_id, task_id)
    except Conflict:
        return _gone()
    flash(_("Claimed: %(task)s", task=pick(task.name)))
    return redirect(_next_url(_inbox_url()))


@bp.post("/tasks/<task_id>/unclaim")
@login_required
def unclaim(task_id: str) -> Any:
    _ensure_visible(task_id)
    try:
        task = cases.unclaim_task(web().db, web().clock, actor().user_id, task_id)
    except Conflict:
        return _gone()
    except Forbidden:
        flash(_("Only the person who claimed a task can give it back."))
        return redirect(_next_url(_inbox_url()))
    flash(_("Given back: %(task)s", task=pick(task.name)))
    return redirect(_next_url(_inbox_url()))
