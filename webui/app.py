"""The Flask app factory. Configuration is injected; the engine is reached only through services."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from engine.clock import Clock, SystemClock
from engine.errors import CadreflowError
from engine.store.db import Database
from webui.context import WebContext
from webui.i18n import LANGUAGES, babel, current_language, pick, select_locale
from webui.security import JSON_PATHS, check_csrf, csrf_token, load_signed_in_actor, secret_key

# Engine error codes → HTTP statuses (the API's contract; pages use the same).
STATUS = {"forbidden": 403, "not_found": 404, "conflict": 409, "invalid": 422}


def create_app(config: dict[str, Any] | None = None, clock: Clock | None = None) -> Flask:
    app = Flask(__name__)
    settings = dict(config or {})
    var_dir = Path(settings.pop("VAR_DIR", "var"))
    app.config.update(
        DATABASE_URL=None,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PAGE_SIZE=20,
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent / "translations"),
        BABEL_DEFAULT_LOCALE="en",
    )
    app.config.update(settings)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key(var_dir)
    database = Database(app.config["DATABASE_URL"])
    app.extensions["cadreflow"] = WebContext(db=database, clock=clock or SystemClock())
    babel.init_app(app, locale_selector=select_locale)

    app.before_request(load_signed_in_actor)
    app.before_request(check_csrf)

    @app.context_processor
    def template_helpers() -> dict[str, Any]:
        return {
            "csrf_token": csrf_token,
            "pick": pick,
            "lang": current_language(),
            "languages": LANGUAGES,
            "actor": g.get("actor"),
            "config_endpoints": set(app.view_functions),
        }

    _register_blueprints(app)
    _register_errors(app)
    return app


def _register_blueprints(app: Flask) -> None:
    from webui.views import auth

    app.register_blueprint(auth.bp)
    for name in ("inbox", "tasks", "cases", "batches", "api", "public", "pool", "audit", "designer"):
        try:
            module = __import__(f"webui.views.{name}", fromlist=["bp"])
        except ModuleNotFoundError as err:
            if err.name != f"webui.views.{name}":
                raise
            continue  # an area not built yet
        app.register_blueprint(module.bp)


def _register_errors(app: Flask) -> None:
    def wants_json() -> bool:
        return request.path.startswith(JSON_PATHS)

    @app.errorhandler(CadreflowError)
    def engine_error(err: CadreflowError) -> Any:
        status = STATUS.get(err.code, 400)
        if wants_json():
            return jsonify(err.to_dict()), status
        return render_template("error.html", status=status, error=err), status

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException) -> Any:
        status = err.code or 500
        code = {401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict"}.get(status, "error")
        if err.description == "csrf":
            code, status = "forbidden", 403 if wants_json() else 400
        if wants_json():
            return jsonify({"error": code, "message": err.name, "fields": {}}), status
        return render_template("error.html", status=status, error=None, code=code), status
