"""``renderhouse credits grant|balance|ledger|reconcile``."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table

from renderhouse.cli import runtime
from renderhouse.cli.groups import HelpGroup, echo_json
from renderhouse.errors import InvalidInput
from renderhouse.timestamps import rfc3339

if TYPE_CHECKING:
    from sqlalchemy import Connection

# The ledger and the database stack load inside the commands, so --help stays light.
out = Console()


def _account(conn: Connection, ref: str | None, raw: bool) -> str:
    from renderhouse.accounts import find_user

    if ref is None:
        return _only_admin(conn)
    return ref if raw else find_user(conn, ref).id


def _only_admin(conn: Connection) -> str:
    """No USER given: the administrator, when there is one (``serve`` makes ``admin``)."""
    from renderhouse.accounts import list_users

    admins = [u for u in list_users(conn) if u.is_admin]
    if len(admins) != 1:
        raise InvalidInput(
            f"there are {len(admins)} administrators: name the USER (id or name)",
            code="user_required",
        )
    return admins[0].id


@click.group(cls=HelpGroup)
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
    from renderhouse import ledger

    rt = runtime(ctx)
    rt.prepare_store()
    with rt.store.begin() as conn:
        account = _account(conn, user, raw_account)
        change = ledger.adjust if adjust else ledger.grant
        after = change(conn, account, amount, reason, actor="cli")
    out.print(f"{account}: {after.available} available, {after.held} held")


@credits.command("balance")
@click.argument("user", required=False)
@click.option("--raw-account", is_flag=True, help="USER is an account key, not a user.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the default output).")
@click.pass_context
def balance(ctx: click.Context, user: str | None, raw_account: bool, as_json: bool) -> None:
    """Available and held credits of USER (id or name; default: the administrator)."""
    from renderhouse import ledger

    rt = runtime(ctx)
    rt.prepare_store()
    with rt.store.read() as conn:
        b = ledger.balance(conn, _account(conn, user, raw_account))
    out.print(json.dumps(b.to_dict()))


@credits.command("ledger")
@click.argument("user", required=False)
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True,
              help="At most this many entries.")  # fmt: skip
@click.option("--raw-account", is_flag=True, help="USER is an account key, not a user.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def ledger_cmd(
    ctx: click.Context, user: str | None, limit: int, raw_account: bool, as_json: bool
) -> None:
    """USER's entries, newest first (USER: id or name; default: the administrator)."""
    from renderhouse import ledger

    rt = runtime(ctx)
    rt.prepare_store()
    with rt.store.read() as conn:
        rows = ledger.entries(conn, _account(conn, user, raw_account), limit=limit)
    if as_json:
        echo_json(rows, times=("created_at",))
        return
    table = Table("id", "when", "kind", "amount", "job", "reason")
    for e in rows:
        when = rfc3339(int(e["created_at"]))
        table.add_row(
            str(e["id"]), when, e["kind"], str(e["amount"]), e["job_id"] or "", e["reason"]
        )
    out.print(table)


@credits.command("reconcile")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def reconcile(ctx: click.Context, as_json: bool) -> None:
    """Prove balances equal the ledger and every paid job settled once; exit 1 if not."""
    from renderhouse import ledger

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
