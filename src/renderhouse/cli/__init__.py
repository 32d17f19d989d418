"""The ``renderhouse`` command line. Settings are built here, once, from flags, the
environment and an optional settings file; errors become one readable line and exit 2."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console

from renderhouse.cli.groups import HelpGroup, summary_without_import
from renderhouse.errors import RenderhouseError

if TYPE_CHECKING:
    from renderhouse.runtime import Runtime

console = Console(stderr=True)

COMMANDS = {
    "serve": "renderhouse.cli.serve:serve",
    "worker": "renderhouse.cli.serve:worker",
    "api": "renderhouse.cli.serve:api",
    "db": "renderhouse.cli.db:db",
    "check": "renderhouse.cli.db:check",
    "enqueue": "renderhouse.cli.jobs:enqueue",
    "jobs": "renderhouse.cli.jobs:jobs",
    "queue": "renderhouse.cli.jobs:queue",
    "users": "renderhouse.cli.users:users",
    "keys": "renderhouse.cli.users:keys",
    "credits": "renderhouse.cli.credits:credits",
    "budgets": "renderhouse.cli.budgets:budgets",
    "backup": "renderhouse.cli.ops:backup",
    "restore": "renderhouse.cli.ops:restore",
    "cleanup": "renderhouse.cli.ops:cleanup",
    "secret": "renderhouse.cli.serve:secret",
}
"""The platform's own commands. Commands are imported when used, so ``renderhouse turntable``
never loads the database stack (SQLAlchemy, Alembic) it does not need: start-up time is part
of every render."""

COMMAND_GROUP = "renderhouse.commands"
"""Entry-point group through which a generator package brings its own command
(``renderhouse turntable`` is the first); listing it reads package metadata only."""


def _all_commands() -> dict[str, str]:
    from importlib.metadata import entry_points

    found = {ep.name: ep.value for ep in entry_points(group=COMMAND_GROUP)}
    clash = sorted(set(found) & set(COMMANDS))
    if clash:
        raise click.UsageError(f"plugin commands shadow built-in ones: {', '.join(clash)}")
    return {**COMMANDS, **found}


class _Group(HelpGroup):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_all_commands())

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from each command's docstring, read without importing it."""
        rows = []
        limit = formatter.width - 6 - max(len(n) for n in self.list_commands(ctx))
        for name, target in sorted(_all_commands().items()):
            text = summary_without_import(target, limit)
            if text is None:  # not plain in its source: import it after all
                command = self.get_command(ctx, name)
                text = command.get_short_help_str(limit) if command else ""
            rows.append((name, text))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _all_commands().get(cmd_name)
        if target is None:
            return None
        module, _, attr = target.partition(":")
        command: click.Command = getattr(importlib.import_module(module), attr)
        return command

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
@click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]),
    help="Log level (RENDERHOUSE_LOG_LEVEL).",
)
@click.version_option(package_name="renderhouse")
@click.pass_context
def main(ctx: click.Context, settings_file: Path | None, **flags: Any) -> None:
    """Renderhouse: a job platform for generative and render workloads."""

    def build() -> Runtime:
        from renderhouse.logs import configure_logging
        from renderhouse.runtime import Runtime
        from renderhouse.settings import load_settings

        settings = load_settings(settings_file, **flags)
        configure_logging(settings)
        # Nodes of a split deployment must share a key: they never make their own.
        return Runtime(settings, create_secret=ctx.invoked_subcommand not in ("api", "worker"))

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
