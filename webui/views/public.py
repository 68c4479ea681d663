"""The public mass-supervision pages (domain.md section 6): no sign-in.

* ``GET /supervision`` — the form (the reserve cadre as the public knows them, the opinion, optional
  name and contact) and the published supervision telephone numbers (config ``SUPERVISION_PHONES``).
* ``POST /supervision`` — CSRF token required; at most ``SUPERVISION_RATE_LIMIT`` submissions per
  ``SUPERVISION_RATE_WINDOW`` seconds per remote address (in memory, per process: 429 beyond). The
  form is checked against ``processes/mass_supervision/public_form.schema.yaml`` (422 with field
  errors), then a ``mass_supervision`` case is started as the system user ``public`` with the message
  ``supervision_opinion``. The answer shows the reference number (the case id).
* ``GET /supervision/<reference>`` — the status of that one submission: submitted, under review or
  closed with its outcome. Nothing else of the case (no report, no note, no names) and nothing of any
  other case: an unknown reference, or the id of a case of another process, is a 404.

The public never sees the pool, other cases or engine objects: the views copy out the few fields shown.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections import deque
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from flask import Blueprint, current_app, render_template, request, url_for
from flask_babel import gettext as _

from engine import cases
from engine.definitions import find_project_root
from engine.directory import ensure_user, grant
from engine.errors import Invalid, NotFound
from engine.forms import validate_form
from webui.context import web
from webui.i18n import pick

bp = Blueprint("public", __name__)

PROCESS_ID = "mass_supervision"
START_MESSAGE = "supervision_opinion"
PUBLIC_USER = "public"  # the system user (role public, no password) the web submits as
FORM_FILE = "processes/mass_supervision/public_form.schema.yaml"  # not a task form: not in forms/
FIELDS = ("cadre", "content", "name", "contact")
DEFAULT_PHONES = ("0471-1234567",)
DEFAULT_RATE_LIMIT = 5
DEFAULT_RATE_WINDOW = 600.0  # seconds
REFERENCE = re.compile(r"^c-[0-9a-f]{12}$")
STATUSES = ("submitted", "under_review", "closed")


# ---------------------------------------------------------------------------------------------------
# Helpers


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    path = find_project_root(Path(__file__)) / FORM_FILE
    loaded: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded


def _phones() -> list[str]:
    return [str(p) for p in current_app.config.get("SUPERVISION_PHONES", DEFAULT_PHONES)]


def _labels() -> dict[str, str]:
    """Field labels from the form file (``English / 中文``), in the current language."""
    properties = _schema().get("properties", {})
    return {name: pick(properties.get(name, {}).get("title", name)) for name in FIELDS}


def _field_messages() -> dict[str, str]:
    """What to tell the public about a bad field (whatever the schema or the rule said)."""
    return {
        "cadre": _("Name the reserve cadre the opinion is about (at most 200 characters)."),
        "content": _("Describe the matter in at least 10 characters (at most 4000)."),
        "name": _("Your name may have at most 100 characters."),
        "contact": _("The contact may have at most 200 characters."),
    }


class _RateLimiter:
    """At most ``limit`` hits per ``window`` seconds per key; in memory, for one process."""

    def __init__(self) -> None:
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, limit: int, window: float) -> bool:
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and now - hits[0] >= window:
                hits.popleft()
            if len(hits) >= limit:
                return False
            hits.append(now)
            # Forget addresses that went quiet, so the table does not grow without bound.
            if len(self._hits) > 10_000:
                for other in [k for k, v in self._hits.items() if not v or now - v[-1] >= window]:
                    del self._hits[other]
            return True


def _limiter() -> _RateLimiter:
    limiter: _RateLimiter = current_app.extensions.setdefault("public_rate_limiter", _RateLimiter())
    return limiter


def _render_form(values: dict[str, str], errors: dict[str, str], status: int = 200) -> tuple[str, int]:
    page = render_template(
        "public_supervision.html",
        values=values,
        errors=errors,
        labels=_labels(),
        phones=_phones(),
    )
    return page, status


def _validate(values: dict[str, str]) -> dict[str, Any]:
    """The submission with defaults, or :class:`Invalid` naming the bad fields."""
    return validate_form(
        _schema(),
        values,
        task_data={},
        case_subjects=[],
        ref_exists=lambda kind, value: True,  # the public form names no units
    )


def _ensure_public_user() -> None:
    with web().db.write() as session:
        ensure_user(session, PUBLIC_USER, "Public (web form) / 群众（网上反映）")
        grant(session, PUBLIC_USER, "public")


# ---------------------------------------------------------------------------------------------------
# Views


@bp.get("/supervision")
def form() -> Any:
    return _render_form({name: "" for name in FIELDS}, {})


@bp.post("/supervision")
def submit() -> Any:
    limit = int(current_app.config.get("SUPERVISION_RATE_LIMIT", DEFAULT_RATE_LIMIT))
    window = float(current_app.config.get("SUPERVISION_RATE_WINDOW", DEFAULT_RATE_WINDOW))
    if not _limiter().allow(request.remote_addr or "-", limit, window):
        minutes = max(1, round(window / 60))
        page = render_template("public_rate_limited.html", phones=_phones(), limit=limit, minutes=minutes)
        return page, 429, {"Retry-After": str(int(window))}
    values = {name: request.form.get(name, "") for name in FIELDS}
    try:
        submission = _validate(values)
    except Invalid as err:
        messages = _field_messages()
        errors = {name: messages.get(name, _("Check this field.")) for name in err.fields if name in messages}
        if not errors:
            errors = {"content": messages["content"]}
        return _render_form(values, errors, 422)
    data = {name: str(submission.get(name, "")).strip() for name in FIELDS}
    # Written on the case and carried with the finding to the cadre's case.
    data["reference"] = "MS-" + secrets.token_hex(4).upper()
    _ensure_public_user()
    context = web()
    case = cases.start_case(
        context.db, context.clock, PUBLIC_USER, PROCESS_ID, {"name": START_MESSAGE, "data": data}
    )
    reference = case.id
    return render_template(
        "public_submitted.html",
        reference=reference,
        status_url=url_for("public.status", reference=reference),
        phones=_phones(),
    )


@bp.get("/supervision/<reference>")
def status(reference: str) -> Any:
    found = None
    if REFERENCE.match(reference):
        try:
            found = cases.get_case(web().db, reference)
        except NotFound:
            found = None
    if found is None or found.process_id != PROCESS_ID:
        return render_template("public_unknown.html", reference=reference, phones=_phones()), 404
    # Only these two values leave the case: the public's own submission's standing.
    state = str(found.data.get("status", ""))
    if state not in STATUSES:
        state = "closed" if found.status == "finished" else "submitted"
    outcome = str(found.data.get("outcome", "")) if state == "closed" else ""
    return render_template(
        "public_status.html",
        reference=reference,
        state=state,
        state_label=_status_labels()[state],
        outcome=outcome,
        outcome_label=_outcome_labels().get(outcome, ""),
        phones=_phones(),
    )


def _status_labels() -> dict[str, str]:
    return {
        "submitted": _("Submitted: waiting to be handled"),
        "under_review": _("Under review"),
        "closed": _("Closed"),
    }


def _outcome_labels() -> dict[str, str]:
    return {
        "not_relevant": _("Not accepted: the matter does not concern a reserve cadre."),
        "unsubstantiated": _("Verified: what was reported was not substantiated."),
        "substantiated": _("Verified: what was reported was substantiated and has been recorded."),
        "incomplete": _("Not accepted: the submission was incomplete."),
    }
