"""``renderhouse backup PATH``, ``renderhouse restore PATH`` and ``renderhouse cleanup``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from renderhouse.cli import runtime


@click.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--include-artifacts", is_flag=True, help="Copy the artifact files too, not only the manifest."
)
@click.pass_context
def backup(ctx: click.Context, path: Path, include_artifacts: bool) -> None:
    """Back up the database and the artifact manifest into the new directory PATH."""
    from renderhouse.ops.backup import create_backup

    rt = runtime(ctx)
    rt.prepare_store()
    manifest = create_backup(rt, path, include_artifacts=include_artifacts)
    rows = sum(manifest["tables"].values())
    click.echo(
        f"backup written to {path}: {len(manifest['tables'])} tables, {rows} rows, "
        f"{len(manifest['artifacts'])} artifacts"
        + (" (files included)" if include_artifacts else " (manifest only)")
    )


@click.command()
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask before replacing the database.")
@click.pass_context
def restore(ctx: click.Context, path: Path, yes: bool) -> None:
    """Replace the database with the backup in PATH and verify it (stop workers first)."""
    from renderhouse.ops.restore import restore_backup

    rt = runtime(ctx)
    if not yes:
        click.confirm(
            f"replace the database {rt.store.engine.url.render_as_string(hide_password=True)} "
            f"with the backup in {path}?",
            abort=True,
        )
    report = restore_backup(rt, path)
    click.echo(
        f"restored and verified: {len(report['tables'])} tables, "
        f"{report['artifacts_checked']} artifacts present, "
        f"{report['artifacts_restored']} artifact files put back; "
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
