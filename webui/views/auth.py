"""Sign in, sign out, choose the language."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from engine.directory import authenticate
from webui.context import web
from webui.i18n import LANGUAGES

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    # Only local paths: never redirect to another site after sign-in.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("inbox.index") if "inbox.index" in _endpoints() else "/"


def _endpoints() -> set[str]:
    from flask import current_app

    return set(current_app.view_functions)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    error = None
    if request.method == "POST":
        user_id = request.form.get("user_id", "").strip()
        with web().db.read() as db_session:
            actor = authenticate(db_session, user_id, request.form.get("password", ""))
        if actor is None:
            error = _("Unknown user or wrong password.")
        else:
            lang = session.get("lang")
            session.clear()  # a fresh session (and CSRF token) for the signed-in user
            session["user_id"] = actor.user_id
            if lang:
                session["lang"] = lang
            return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", error=error), (401 if error else 200)


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You are signed out."))
    return redirect(url_for("auth.login"))


@bp.route("/lang/<code>", methods=["POST"])
def set_language(code: str) -> Any:
    if code in LANGUAGES:
        session["lang"] = code
    return redirect(_safe_next(request.form.get("next")))
