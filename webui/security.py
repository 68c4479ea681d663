"""Sessions, sign-in and CSRF.

* The session cookie is signed, HttpOnly and SameSite=Lax; the secret comes from
  ``CADREFLOW_SECRET_KEY`` or is generated once into ``var/secret_key`` (never in the repository).
* Every state-changing request (POST) carries the session's CSRF token: as the ``csrf_token`` form
  field, or the ``X-CSRF-Token`` header for the JSON API.
"""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

from flask import abort, g, redirect, request, session, url_for

from engine.directory import load_actor
from engine.errors import NotFound
from webui.context import web

F = TypeVar("F", bound=Callable[..., Any])

# Paths answered in JSON (errors too): the API and the designer's calls from its editor script.
JSON_PATHS = ("/api/", "/designer/api/")


def secret_key(var_dir: Path) -> str:
    configured = os.environ.get("CADREFLOW_SECRET_KEY")
    if configured:
        return configured
    path = var_dir / "secret_key"
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32), encoding="ascii")
        path.chmod(0o600)
    return path.read_text(encoding="ascii").strip()


def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return str(token)


def check_csrf() -> None:
    """Refuse a POST without the session's token (400 for forms; the API maps it to 403 JSON)."""
    if request.method != "POST":
        return
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    expected = session.get("csrf") or ""
    if not expected or not hmac.compare_digest(str(sent), str(expected)):
        abort(400, description="csrf")


def load_signed_in_actor() -> None:
    """Before each request: ``g.actor`` is the signed-in user with their grants, or None."""
    g.actor = None
    user_id = session.get("user_id")
    if not user_id:
        return
    with web().db.read() as db_session:
        try:
            g.actor = load_actor(db_session, user_id)
        except NotFound:
            session.clear()


def login_required(view: F) -> F:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.get("actor") is None:
            if request.path.startswith(JSON_PATHS):
                abort(401)
            return redirect(url_for("auth.login", next=request.full_path))
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def role_required(*roles: str) -> Callable[[F], F]:
    """The actor must hold one of ``roles`` (in any unit); otherwise 403."""

    def decorate(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not g.actor.roles() & set(roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate
