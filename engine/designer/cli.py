"""The designer's ``cadreflow`` commands: versions, diff, export, migrate (deploy is ``cadreflow deploy``).

:func:`register` adds them to the main group; it receives the main module's error wrapper and
database factory rather than importing ``engine.cli`` (which imports this module).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from engine.clock import SystemClock


def register(
    main: click.Group, friendly_errors: Callable[[Any], Any], database: Callable[[Any], Any]
) -> None:
    """Add ``versions``, ``diff``, ``export`` and ``migrate`` to ``main``."""

    @main.command()
    @click.argument("process")
    @click.pass_context
    @friendly_errors
    def versions(ctx: click.Context, process: str) -> None:
        """List the deployed versions of PROCESS: number, hash, when, who, why, running cases."""
        from engine.designer.versions import list_versions

        for v in list_versions(database(ctx), process):
            when = v.deployed_at.strftime("%Y-%m-%d %H:%M")
            click.echo(
                f"{v.version:>3}  {v.hash[:12]}  {when}  {v.deployed_by}  "
                f"running={v.running_cases}  {v.note or '-'}"
            )

    @main.command()
    @click.argument("process")
    @click.argument("a")
    @click.argument("b")
    @click.pass_context
    @friendly_errors
    def diff(ctx: click.Context, process: str, a: str, b: str) -> None:
        """Semantic diff of PROCESS from version A to version B (numbers or hashes)."""
        from engine.designer.versions import diff_versions

        result = diff_versions(database(ctx), process, a, b)
        click.echo(f"{process} version {result.a} -> {result.b}")
        for label, changes in (("+", result.added), ("-", result.removed), ("~", result.changed)):
            for change in changes:
                click.echo(f"{label} {change.kind} {change.element_id} ({change.file})")
                for detail in change.details:
                    click.echo(f"    {detail}")
        for path in result.files_added:
            click.echo(f"+ file {path}")
        for path in result.files_removed:
            click.echo(f"- file {path}")
        if result.empty:
            click.echo("no differences")

    @main.command(name="export")
    @click.argument("process")
    @click.argument("version")
    @click.option("-o", "--output", "dest", required=True, type=click.Path(file_okay=False, path_type=Path))
    @click.pass_context
    @friendly_errors
    def export_(ctx: click.Context, process: str, version: str, dest: Path) -> None:
        """Write version VERSION of PROCESS as files under -o DIR (processes/<id>/..., forms/...)."""
        from engine.designer.versions import export_version

        for path in export_version(database(ctx), process, version, dest):
            click.echo(str(path))

    @main.command()
    @click.argument("case_ids", nargs=-1)
    @click.option("--to", "target", required=True, help="Target version: number or hash.")
    @click.option("--process", default=None, help="The process (needed with a version number).")
    @click.option("--all-on", "all_on", default=None, help="Every running case on this version.")
    @click.option("--dry-run", is_flag=True, help="Only say which cases could move and why not.")
    @click.option("--as", "actor", default=None, help="The designer migrating (a user with that role).")
    @click.option("--why", default="", help="Why the cases move (required unless --dry-run).")
    @click.pass_context
    @friendly_errors
    def migrate(
        ctx: click.Context,
        case_ids: tuple[str, ...],
        target: str,
        process: str | None,
        all_on: str | None,
        dry_run: bool,
        actor: str | None,
        why: str,
    ) -> None:
        """Move running cases to another version: CASE... or --all-on VERSION; --dry-run to check."""
        from engine.designer.migration import cases_on_version, migrate_cases, plan_migration, resolve_target
        from engine.errors import Invalid

        db = database(ctx)
        process_id, target_hash = resolve_target(db, target, process, list(case_ids))
        ids = list(case_ids)
        if all_on is not None:
            ids += cases_on_version(db, process_id, resolve_target(db, all_on, process_id, [])[1])
        if not ids:
            raise Invalid("name the cases to migrate, or --all-on VERSION", fields={"cases": "none"})
        if dry_run:
            checks = plan_migration(db, ids, target_hash)
            for check in checks:
                click.echo(f"{'CAN MOVE' if check.can_move else 'STAYS'}  {check.case_id}: {check.reason}")
            click.echo(f"{sum(c.can_move for c in checks)} of {len(checks)} case(s) can move")
            return
        if actor is None:
            raise Invalid("--as names the designer migrating the cases", fields={"as": "required"})
        results = migrate_cases(db, SystemClock(), actor, ids, target_hash, why)
        for result in results:
            click.echo(f"{'MOVED' if result.migrated else 'STAYED'}  {result.case_id}: {result.reason}")
        moved = sum(r.migrated for r in results)
        click.echo(f"{moved} of {len(results)} case(s) moved")
        if moved < len(results):
            sys.exit(1)
