"""``renderhouse budgets set KEY PERIOD LIMIT | show [KEY]``: spending caps on generators'
paid API calls. A KEY without a colon names a user (id or name); ``org:<name>`` and
``provider:<name>`` are taken as they are."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from sqlalchemy import Connection

from renderhouse.accounts import find_user
from renderhouse.cli import runtime
from renderhouse.cli.groups import HelpGroup
from renderhouse.ledger import budgets as library

out = Console()


def _key(conn: Connection, key: str, raw: bool) -> str:
    return key if raw or ":" in key else find_user(conn, key).id


def _limit(value: str) -> int | None:
    if value.lower() == "none":
        return None
    try:
        limit = int(value)
    except ValueError:
        raise click.BadParameter("a whole number of money units, or 'none'") from None
    if limit < 0:
        raise click.BadParameter("a limit is zero or more")
    return limit


@click.group(cls=HelpGroup)
def budgets() -> None:
    """Spending caps per user, org or provider and per UTC day or month."""


@budgets.command("set")
@click.argument("key")
@click.argument("period", type=click.Choice(library.PERIODS))
@click.argument("limit")
@click.option("--raw", is_flag=True, help="KEY is a budget key as it is, not a user.")
@click.pass_context
def set_cmd(ctx: click.Context, key: str, period: str, limit: str, raw: bool) -> None:
    """Cap KEY's spend per PERIOD at LIMIT (``none`` removes the cap)."""
    cap = _limit(limit)
    rt = runtime(ctx)
    rt.prepare_store()
    with rt.store.begin() as conn:
        resolved = _key(conn, key, raw)
        library.set_budget(conn, resolved, period, cap)
        s = library.budget_status(conn, resolved, period)
    shown = "no cap" if s["limit"] is None else f"limit {s['limit']}"
    out.print(
        f"{s['key']} per {period}: {shown}; this {period} ({s['window']}) "
        f"{s['spent']} spent, {s['held']} held",
        markup=False,
    )


@budgets.command("show")
@click.argument("key", required=False)
@click.option("--raw", is_flag=True, help="KEY is a budget key as it is, not a user.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def show(ctx: click.Context, key: str | None, raw: bool, as_json: bool) -> None:
    """Every budget with this window's spend, or KEY's (capped or not)."""
    rt = runtime(ctx)
    rt.prepare_store()
    with rt.store.read() as conn:
        if key is None:
            rows = library.list_budgets(conn)
        else:
            resolved = _key(conn, key, raw)
            rows = [library.budget_status(conn, resolved, p) for p in library.PERIODS]
    _print(rows, as_json=as_json)


def _print(rows: list[dict[str, Any]], *, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        out.print("no budgets set (renderhouse budgets set KEY PERIOD LIMIT)")
        return
    table = Table("key", "period", "window", "limit", "spent", "held", "remaining")
    for r in rows:
        cells = [r["limit"], r["spent"], r["held"], r["remaining"]]
        table.add_row(
            r["key"], r["period"], r["window"], *("-" if c is None else str(c) for c in cells)
        )
    out.print(table)
