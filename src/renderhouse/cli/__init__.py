"""The ``renderhouse`` command line. Settings are built here, once, from flags, the
environment and an optional settings file; errors become one readable line and exit 2."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from renderhouse.errors import RenderhouseError
from renderhouse.runtime import Runtime
from renderhouse.settings import load_settings

console = Console(stderr=True)


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RenderhouseError as exc:
            console.print(f"[bold red]error[/] ({exc.code}): {exc.message}")
            sys.exit(2)


@click.group(cls=_Group)
@click.option(
    "--settings", "settings_file", type=click.Path(path_type=Path), help="TOML settings file."
)
@click.option(
    "--data-dir", type=click.Path(path_type=Path), help="Data directory (RENDERHOUSE_DATA_DIR)."
)
@click.option("--database-url", help="Database URL (RENDERHOUSE_DATABASE_URL).")
@click.option("--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]))
@click.version_option(package_name="renderhouse")
@click.pass_context
def main(ctx: click.Context, settings_file: Path | None, **flags: Any) -> None:
    """Renderhouse: a job platform for generative and render workloads."""

    def build() -> Runtime:
        settings = load_settings(settings_file, **flags)
        logging.basicConfig(
            level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        logging.getLogger("alembic").setLevel(logging.WARNING)
        return Runtime(settings)

    ctx.obj = _Lazy(build)
    ctx.call_on_close(lambda: ctx.obj.close())


class _Lazy:
    """Build the runtime only for commands that need it (``turntable`` does not)."""

    def __init__(self, build: Any) -> None:
        self._build = build
        self._rt: Runtime | None = None

    @property
    def rt(self) -> Runtime:
        if self._rt is None:
            self._rt = self._build()
        assert self._rt is not None
        return self._rt

    def close(self) -> None:
        if self._rt is not None:
            self._rt.close()


def runtime(ctx: click.Context) -> Runtime:
    lazy = ctx.find_object(_Lazy)
    if lazy is None:
        raise click.UsageError("this command must run under `renderhouse`")
    return lazy.rt


def _register() -> None:
    from renderhouse.cli.db import check, db
    from renderhouse.cli.jobs import enqueue, jobs, queue
    from renderhouse.cli.serve import serve, worker

    for cmd in (db, check, jobs, queue, enqueue, serve, worker):
        main.add_command(cmd)
    try:
        from renderhouse.cli.turntable import turntable
    except ImportError:  # pragma: no cover - the turntable command ships with the package
        return
    main.add_command(turntable)


_register()
