"""``renderhouse db upgrade`` and ``renderhouse check``."""

from __future__ import annotations

import click
from rich.console import Console

from renderhouse.cli import runtime
from renderhouse.cli.groups import HelpGroup
from renderhouse.store.migrate import current_revision, head_revision, upgrade

out = Console()


@click.group(cls=HelpGroup)
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Migrate the database to the schema this version needs."""
    rt = runtime(ctx)
    before = current_revision(rt.store)
    upgrade(rt.store)
    out.print(f"database at revision {head_revision()} (was {before or 'empty'})")


@click.command()
@click.pass_context
def check(ctx: click.Context) -> None:
    """Validate the settings and reach every configured service."""
    rt = runtime(ctx)
    problems = 0

    def report(name: str, fn: object) -> None:
        nonlocal problems
        try:
            detail = fn()  # type: ignore[operator]
            out.print(f"[green]ok[/]   {name}{': ' + detail if detail else ''}")
        except Exception as exc:
            problems += 1
            out.print(f"[red]FAIL[/] {name}: {exc}")

    def database() -> str:
        rt.store.ping()
        current, head = current_revision(rt.store), head_revision()
        if current != head:
            raise RuntimeError(
                f"schema at {current or 'nothing'}, needs {head}: run `renderhouse db upgrade`"
            )
        return rt.store.engine.url.render_as_string(hide_password=True)

    def storage() -> str:
        rt.storage.check_writable()
        return rt.storage.url

    def generators() -> str:
        return ", ".join(rt.registry.kinds())

    def redis() -> str:
        url = rt.settings.redis_url
        if not url:
            return "not configured"
        import redis as redis_lib

        redis_lib.Redis.from_url(url, socket_connect_timeout=3).ping()
        return url

    report("settings", lambda: f"mode={rt.settings.mode}, data_dir={rt.settings.data_dir}")
    report("database", database)
    report("storage", storage)
    report("generators", generators)
    report("redis", redis)
    from renderhouse.models.reachability import checks as llm_checks

    for name, llm_check in llm_checks(rt.settings.llm):
        report(name, llm_check)
    if problems:
        raise SystemExit(1)
