"""The ``cadreflow`` command line. Every command prints typed errors as one clear line — no tracebacks."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from engine.clock import SystemClock
from engine.errors import CadreflowError

F = TypeVar("F", bound=Callable[..., Any])


def friendly_errors(func: F) -> F:
    """Turn typed errors into ``error: ...`` lines and exit code 1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except CadreflowError as err:
            click.echo(f"error ({err.code}): {err}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


@click.group()
@click.option(
    "--database",
    "database",
    envvar="CADREFLOW_DATABASE_URL",
    default=None,
    help="SQLAlchemy URL (default: SQLite at var/cadreflow.db; env CADREFLOW_DATABASE_URL).",
)
@click.pass_context
def main(ctx: click.Context, database: str | None) -> None:
    """cadreflow: reserve-cadre work run from BPMN/DMN process definitions."""
    ctx.obj = {"database": database}


def _db(ctx: click.Context) -> Any:
    from engine.store.db import Database

    return Database(ctx.obj["database"])


@main.command()
@click.pass_context
@friendly_errors
def init(ctx: click.Context) -> None:
    """Create or migrate the database to the current schema."""
    from engine.store.migrate import upgrade

    db = _db(ctx)
    upgrade(db)
    click.echo(f"database ready: {db.url}")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def validate(paths: tuple[Path, ...]) -> None:
    """Check BPMN/DMN/form files; print `file:line: element-id: message` per problem, exit 1 on any."""
    from engine.bpmn.loader import validate_paths

    problems = validate_paths(list(paths))
    for problem in problems:
        click.echo(problem.location())
    if problems:
        click.echo(f"{len(problems)} problem(s)", err=True)
        sys.exit(1)
    click.echo("ok: no problems found")


@main.command()
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--as", "actor", default="cli", show_default=True, help="Who deploys (recorded with the version)."
)
@click.option(
    "--why", "--note", "note", default="", help="Why this version is deployed (--note: the old name)."
)
@click.pass_context
@friendly_errors
def deploy(ctx: click.Context, path: Path, actor: str, note: str) -> None:
    """Validate and deploy the process folder(s) under PATH; unchanged content is not stored twice."""
    from engine.definitions import deploy_processes

    for row in deploy_processes(_db(ctx), path, actor, SystemClock().now(), note):
        click.echo(f"{row.process_id} version {row.version} ({row.hash[:12]})")


@main.command(name="test")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@friendly_errors
def run_tests(paths: tuple[Path, ...]) -> None:
    """Run process tests (*.test.yaml): `PASS name` / `FAIL name: ...`, then the totals."""
    from engine.process_tests import run_paths

    _passed, failed = run_paths(list(paths), click.echo)
    if failed:
        sys.exit(1)


@main.command()
@click.option("--once", is_flag=True, help="Fire what is due now, then exit (for cron or tests).")
@click.option("--interval", default=0.5, show_default=True, help="Seconds to sleep when nothing is due.")
@click.pass_context
@friendly_errors
def worker(ctx: click.Context, once: bool, interval: float) -> None:
    """Fire due timers with the real clock. Any number of workers may run against PostgreSQL."""
    from engine.worker import run_worker

    fired = run_worker(_db(ctx), SystemClock(), once=once, interval=interval, emit=click.echo)
    click.echo(f"worker stopped after firing {fired} timer(s)")


@main.command()
@click.pass_context
@friendly_errors
def demo(ctx: click.Context) -> None:
    """Seed units and users, run a batch of about 20 nominees to the end, print the outcome."""
    from engine.demo import run_demo

    run_demo(_db(ctx), click.echo, story=True)


def _register_designer_commands() -> None:
    from engine.designer.cli import register

    register(main, friendly_errors, _db)


_register_designer_commands()  # versions, diff, export, migrate (engine/designer/cli.py)

if __name__ == "__main__":  # pragma: no cover
    main()
