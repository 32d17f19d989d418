"""``renderhouse backup PATH``, ``renderhouse restore PATH`` and ``renderhouse cleanup``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from renderhouse.cli import runtime


@click.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--include-artifacts/--database-only",
    default=None,
    help="Copy the stored files (artifacts and uploads) into the backup, or back up only the "
    "database and the file manifest. Default: copy from local storage; on remote storage (S3) "
    "check that every file still exists there.",
)
@click.pass_context
def backup(ctx: click.Context, path: Path, include_artifacts: bool | None) -> None:
    """Back up the database, with the artifacts and uploads it refers to, into the new
    directory PATH (restorable on another machine with `renderhouse restore PATH`)."""
    from renderhouse.ops.backup import create_backup

    rt = runtime(ctx)
    rt.prepare_store()
    remote = not rt.storage.url.startswith("file:")
    copy = include_artifacts if include_artifacts is not None else not remote
    manifest = create_backup(rt, path, include_artifacts=copy)
    rows = sum(manifest["tables"].values())
    files = len(manifest["artifacts"]) + len(manifest["uploads"])
    click.echo(
        f"backup written to {path}: {len(manifest['tables'])} tables, {rows} rows, "
        f"{len(manifest['artifacts'])} artifacts, {len(manifest['uploads'])} uploads"
    )
    if copy:
        lost = [a["key"] for a in manifest["artifacts"] if a.get("missing")]
        lost += [u["key"] for u in manifest["upload_files"] if u.get("missing")]
        click.echo(f"files copied into the backup: {files - len(lost)} of {files}")
    else:
        checked = manifest["files_checked"]
        lost = checked["missing"]
        how = "database only" if include_artifacts is False else "files not copied"
        click.echo(
            f"{how}: {checked['checked'] - len(lost)} of {checked['checked']} files verified "
            f"present in {checked['storage_url']}"
        )
    for key in lost[:10]:
        click.echo(f"  missing: {key}", err=True)
    if lost:
        ctx.exit(1)


@click.command()
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask before replacing the database.")
@click.option(
    "--force",
    is_flag=True,
    help="Replace the database even while a server or worker is using it.",
)
@click.pass_context
def restore(ctx: click.Context, path: Path, yes: bool, force: bool) -> None:
    """Replace the database with the backup in PATH, put back its files and verify it all.
    Refuses while a server or worker uses the database: stop them first."""
    from renderhouse.ops.restore import restore_backup

    rt = runtime(ctx)
    if not yes:
        click.confirm(
            f"replace the database {rt.store.engine.url.render_as_string(hide_password=True)} "
            f"with the backup in {path}?",
            abort=True,
        )
    report = restore_backup(rt, path, force=force)
    click.echo(
        f"restored and verified: {len(report['tables'])} tables, "
        f"{report['artifacts_checked']} files present, "
        f"{report['artifacts_restored']} files put back; "
        f"ledger: {'reconciles' if report['ledger'].get('ok') else report['ledger']}"
    )


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print what was freed as JSON.")
@click.pass_context
def cleanup(ctx: click.Context, as_json: bool) -> None:
    """Prune finished jobs past the retention period (and their artifacts) and old
    temporary files, once."""
    from renderhouse.ops.optimize import clear_temp, prune_expired

    rt = runtime(ctx)
    rt.prepare_store()
    freed = {**prune_expired(rt), **clear_temp(rt)}
    if as_json:
        click.echo(json.dumps(freed))
    else:
        click.echo(
            f"pruned {freed['jobs_pruned']} jobs and {freed['artifacts_deleted']} artifacts "
            f"({freed['artifact_bytes']} bytes); removed {freed['temp_entries']} temporary "
            f"entries ({freed['temp_bytes']} bytes)"
        )
