"""The ``cadreflow`` command: the engine's commands plus ``serve``, which needs the web adapter.

The console script points here so that the engine never imports the web layer.
"""

from __future__ import annotations

import click

from engine.cli import friendly_errors, main


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.pass_context
@friendly_errors
def serve(ctx: click.Context, host: str, port: int) -> None:
    """Serve the web inbox (development server; for production: gunicorn 'webui.wsgi:app')."""
    from webui.app import create_app

    app = create_app({"DATABASE_URL": ctx.obj["database"]})
    click.echo(f"cadreflow inbox on http://{host}:{port}/  (Ctrl+C to stop)")
    app.run(host=host, port=port, debug=False, use_reloader=False)


__all__ = ["main"]
