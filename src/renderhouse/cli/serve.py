"""``renderhouse serve`` (all-in-one on the embedded defaults), ``renderhouse worker``,
``renderhouse api`` and ``renderhouse secret rotate``."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import click

from renderhouse.cli import runtime

if TYPE_CHECKING:  # loaded when a command runs, so `--help` stays light
    import uvicorn

    from renderhouse.runtime import Runtime
    from renderhouse.worker.worker import Worker

log = logging.getLogger(__name__)


def _kinds(value: str | None) -> list[str]:
    return [k.strip() for k in value.split(",") if k.strip()] if value else []


@click.command()
@click.option("--kinds", help="Comma-separated kinds to run (default: all installed).")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 256),
    help="Jobs at once (RENDERHOUSE_MAX_CONCURRENT_JOBS).",
)
@click.option(
    "--no-maintenance",
    is_flag=True,
    help="Do not run the rescuer, pruner, periodic jobs and alert rules here.",
)
@click.pass_context
def worker(
    ctx: click.Context, kinds: str | None, concurrency: int | None, no_maintenance: bool
) -> None:
    """Run a worker: claim and run jobs until SIGTERM."""
    rt = runtime(ctx)
    rt.prepare_store()
    w = rt.worker(
        _kinds(kinds),
        concurrency or rt.settings.max_concurrent_jobs,
        maintenance=not no_maintenance,
    )
    asyncio.run(w.run())


def _server(rt: Runtime, host: str, port: int, *, with_worker: bool = False) -> uvicorn.Server:
    import uvicorn

    app = rt.api_app(expect_workers=with_worker)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=rt.settings.log_level.lower(),
        log_config=None,  # keep the logging the CLI configured
        proxy_headers=False,
    )
    return uvicorn.Server(config)


FIRST_ADMIN_CREDITS = 100_000


def _first_start(rt: Runtime) -> None:
    """On a fresh install, create an admin with starting credits (paid kinds reserve credits,
    and an all-in-one install should run them out of the box) and print its key, once."""
    from renderhouse import accounts, ledger

    with rt.store.begin() as conn:
        key = accounts.bootstrap_admin(conn)
        if key:
            admin = accounts.find_user(conn, "admin")
            ledger.grant(conn, admin.id, FIRST_ADMIN_CREDITS, "first start")
    if key:
        click.echo("created user 'admin'. Its API key, shown this once — store it now:")
        click.echo(f"  {key}")
        click.echo(f"granted it {FIRST_ADMIN_CREDITS} credits (renderhouse credits grant for more)")


async def _serve_all(server: uvicorn.Server, w: Worker) -> None:
    """The API and the worker on one event loop, sharing the runtime; when the server stops
    (SIGINT/SIGTERM) the worker drains and stops too."""
    worker_task = asyncio.create_task(w.run())
    await asyncio.sleep(0)  # let the worker install its handlers before uvicorn wraps them
    try:
        await server.serve()
    finally:
        w.stop()
        await worker_task


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=8000,
    show_default=True,
    help="Port to listen on.",
)
@click.option("--workers", "concurrency", type=click.IntRange(1, 256), help="Worker concurrency.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, concurrency: int | None) -> None:
    """All-in-one on the embedded defaults: the HTTP API, a worker and the maintenance
    duties. Creates the database, and an admin with a key, on first start."""
    rt = runtime(ctx)
    rt.prepare_store(create_if_empty=True)
    _first_start(rt)
    kinds = ", ".join(rt.registry.kinds())
    click.echo(f"renderhouse serve: data in {rt.settings.data_dir.resolve()}; kinds {kinds}")
    click.echo(f"API on http://{host}:{port} (docs at /docs)")
    w = rt.worker([], concurrency or rt.settings.max_concurrent_jobs, maintenance=True)
    server = _server(rt, host, port, with_worker=True)
    asyncio.run(_serve_all(server, w))


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=8000,
    show_default=True,
    help="Port to listen on.",
)
@click.pass_context
def api(ctx: click.Context, host: str, port: int) -> None:
    """The HTTP API only (run workers elsewhere). For several processes use
    ``uvicorn --factory renderhouse.api.app:from_environment --workers N``."""
    rt = runtime(ctx)
    rt.prepare_store()
    click.echo(f"API on http://{host}:{port} (docs at /docs)")
    asyncio.run(_server(rt, host, port).serve())


@click.group()
def secret() -> None:
    """The secret key stored in the data directory (docs/security.md)."""


@secret.command()
@click.pass_context
def rotate(ctx: click.Context) -> None:
    """Replace the stored secret key (or create it). Tokens, signed artifact links and
    webhook signing secrets made with the old key stop working once processes restart."""
    from renderhouse.ops import secret_key
    from renderhouse.settings import DEFAULT_SECRET, load_settings

    flags = dict(ctx.find_root().params)  # the same settings the group would build
    settings = load_settings(flags.pop("settings_file", None), **flags)
    if settings.secret_key != DEFAULT_SECRET:
        raise click.UsageError(
            "RENDERHOUSE_SECRET_KEY is configured, so the stored key is not used: rotate by "
            "setting a new value there (on every node) and restarting"
        )
    path = secret_key.rotate(settings.data_dir)
    click.echo(f"new secret key in {path}; restart serve/api/worker processes to use it")
