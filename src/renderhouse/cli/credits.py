"""``renderhouse credits grant|balance|ledger|reconcile``."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

import click
from rich.console import Console
from rich.table import Table
from sqlalchemy import Connection

from renderhouse import ledger
from renderhouse.accounts import find_user
from renderhouse.cli import runtime

out = Console()


def _account(conn: Connection, ref: str, raw: bool) -> str:
    return ref if raw else find_user(conn, ref).id


@click.group()
def credits() -> None:
    """Credit balances, grants and the ledger's reconciliation."""


@credits.command("grant")
@click.argument("user")
@click.argument("amount", type=int)
@click.option("--reason", required=True, help="Kept in the ledger.")
@click.option("--adjust", is_flag=True, help="A signed adjustment instead of a grant.")
@click.option("--raw-account", is_flag=True, help="USER is an account key, not a user.")
@click.pass_context
def grant(
    ctx: click.Context, user: str, amount: int, reason: str, adjust: bool, raw_account: bool
) -> None:
    """Give USER (id or name) AMOUNT credits, or adjust the balance by AMOUNT."""
    rt = runtime(ctx)
    rt.prepare_store()
    with rt.store.begin() as conn:
        account = _account(conn, user, raw_account)
        change = ledger.adjust if adjust else ledger.grant
        after = change(conn, account, amount, reason, actor="cli")
    out.print(f"{account}: {after.available} available, {after.held} held")


@credits.command("balance")
@click.argument("user")
@click.option("--raw-account", is_flag=True)
@click.pass_context
def balance(ctx: click.Context, user: str, raw_account: bool) -> None:
    rt = runtime(ctx)
    rt.prepare_store()
    with rt.store.read() as conn:
        b = ledger.balance(conn, _account(conn, user, raw_account))
    out.print(json.dumps(b.to_dict()))


@credits.command("ledger")
@click.argument("user")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--raw-account", is_flag=True)
@click.pass_context
def ledger_cmd(ctx: click.Context, user: str, limit: int, raw_account: bool) -> None:
    """USER's entries, newest first."""
    rt = runtime(ctx)
    rt.prepare_store()
    with rt.store.read() as conn:
        rows = ledger.entries(conn, _account(conn, user, raw_account), limit=limit)
    table = Table("id", "when", "kind", "amount", "job", "reason")
    for e in rows:
        when = datetime.fromtimestamp(e["created_at"], UTC).strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(
            str(e["id"]), when, e["kind"], str(e["amount"]), e["job_id"] or "", e["reason"]
        )
    out.print(table)


@credits.command("reconcile")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def reconcile(ctx: click.Context, as_json: bool) -> None:
    """Prove balances equal the ledger and every paid job settled once; exit 1 if not."""
    rt = runtime(ctx)
    rt.prepare_store()
    with rt.store.read() as conn:
        report = ledger.reconcile(conn)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        verdict = "[green]clean[/]" if report.ok else f"[red]{report.problem_count} problem(s)[/]"
        out.print(
            f"ledger {verdict}: {report.accounts} accounts, {report.entries} entries, "
            f"{report.paid_jobs} paid jobs, {report.available} available, {report.held} held"
        )
        for problem in report.problems:
            out.print(f"  - {problem}")
        if report.problem_count > len(report.problems):
            out.print(f"  … and {report.problem_count - len(report.problems)} more")
    if not report.ok:
        sys.exit(1)
