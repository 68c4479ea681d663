"""``cadreflow audit``: verify cases, export a case as a bundle, verify a bundle offline.

Verifications and exports are logged in the audit access log as ``cli:<login name>``.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:  # the engine is imported when a command runs, not when the CLI starts
    from engine.audit.verify import VerifyReport


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _db(ctx: click.Context) -> Any:
    from engine.store.db import Database

    return Database((ctx.find_root().obj or {}).get("database"))


@click.group()
def audit() -> None:
    """Check cases against their log and rules; export and verify bundles."""


@audit.command()
@click.argument("case_ids", nargs=-1)
@click.option("--all", "all_cases", is_flag=True, help="Verify every case in the database.")
@click.pass_context
def verify(ctx: click.Context, case_ids: tuple[str, ...], all_cases: bool) -> None:
    """Check each case's hash chain, re-execute it from its log and compare every event and the snapshot.

    Prints `OK <case> (<n> events)` or `FAIL <case>: event <seq> (<type>): <what differed>`; exits 1 on
    any failure.
    """
    from engine.audit.access_log import cli_actor, log_access
    from engine.audit.record import case_ids as all_case_ids
    from engine.audit.verify import verify_case

    if bool(case_ids) == all_cases:
        raise click.UsageError("name one or more cases, or give --all")
    db = _db(ctx)
    started = time.perf_counter()
    targets = all_case_ids(db) if all_cases else list(case_ids)
    reports: list[VerifyReport] = []
    if all_cases:
        with click.progressbar(targets, label="verifying", file=sys.stderr) as bar:
            reports.extend(verify_case(db, case_id) for case_id in bar)
        for report in reports:
            click.echo(report.line())
    else:
        for case_id in targets:
            report = _verify_one(db, case_id)
            reports.append(report)
            click.echo(report.line())
    failed = [r for r in reports if not r.ok]
    seconds = time.perf_counter() - started
    events = sum(r.events for r in reports)
    log_access(
        db,
        cli_actor(),
        "verify",
        reports[0].case_id if len(reports) == 1 else None,
        f"{len(reports)} case(s), {len(failed)} failed" + ("" if len(reports) == 1 else " (--all)"),
        _now(),
    )
    click.echo(
        f"{len(reports) - len(failed)} of {len(reports)} case(s) verified, {events} events in {seconds:.2f} s"
        + (f" ({seconds / events * 1000:.2f} ms per event)" if events else "")
    )
    if failed:
        sys.exit(1)


def _verify_one(db: Any, case_id: str) -> VerifyReport:
    from engine.audit.verify import verify_case
    from engine.errors import CadreflowError

    try:
        return verify_case(db, case_id)
    except CadreflowError as err:
        click.echo(f"error ({err.code}): {err}", err=True)
        sys.exit(1)


@audit.command()
@click.argument("case_id")
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def export(ctx: click.Context, case_id: str, output: Path) -> None:
    """Write CASE_ID's self-contained bundle (events, definitions, manifest) to a zip file."""
    import hashlib

    from engine.audit.access_log import cli_actor, log_access
    from engine.audit.bundle import export_case
    from engine.errors import CadreflowError

    db = _db(ctx)
    actor = cli_actor()
    try:
        manifest = export_case(db, case_id, output, exported_by=actor, at=_now())
    except CadreflowError as err:
        click.echo(f"error ({err.code}): {err}", err=True)
        sys.exit(1)
    log_access(db, actor, "export", case_id, f"bundle {output.name}", _now())
    digest = hashlib.sha256(output.read_bytes()).hexdigest()
    click.echo(
        f"exported {case_id}: {manifest['event_count']} events, head {manifest['head']['seq']} "
        f"{manifest['head']['hash'][:16]}… to {output} (sha256 {digest})"
    )


@audit.command(name="verify-bundle")
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def verify_bundle_command(bundle: Path) -> None:
    """Verify an exported bundle offline, without any database."""
    from engine.audit.bundle import verify_bundle
    from engine.errors import CadreflowError

    try:
        report = verify_bundle(bundle)
    except CadreflowError as err:
        click.echo(f"error ({err.code}): {err}", err=True)
        sys.exit(1)
    click.echo(report.line())
    click.echo(f"{report.events} events in {report.seconds:.2f} s")
    if not report.ok:
        sys.exit(1)
