"""``renderhouse users create`` and ``renderhouse keys create|revoke|list``. A key is
printed once, at creation; only its hash is stored."""

from __future__ import annotations

import click

from renderhouse import accounts
from renderhouse.cli import runtime
from renderhouse.cli.groups import HelpGroup, echo_json
from renderhouse.timestamps import rfc3339

KEY_TIMES = ("created_at", "last_used_at", "revoked_at", "expires_at")


def _when(ts: float | None) -> str:
    return "-" if ts is None else rfc3339(int(ts))


@click.group(cls=HelpGroup)
def users() -> None:
    """Manage users."""


@users.command("create")
@click.argument("name")
@click.option("--org", help="Organisation the user belongs to.")
@click.option("--admin", "is_admin", is_flag=True, help="Make the user an administrator.")
@click.option("--no-key", is_flag=True, help="Do not create an API key now.")
@click.pass_context
def create_user(
    ctx: click.Context, name: str, org: str | None, is_admin: bool, no_key: bool
) -> None:
    """Create a user NAME (and print an API key for it, once). A new user gets the starter
    credits (RENDERHOUSE_STARTER_CREDITS) once."""
    from renderhouse.ledger.starter import grant_starter

    rt = runtime(ctx)
    rt.prepare_store()
    starter = rt.settings.starter_credits
    with rt.store.begin() as conn:
        user = accounts.create_user(conn, name, org=org, is_admin=is_admin)
        granted = grant_starter(conn, user.id, starter)
        key = (
            None
            if no_key
            else accounts.create_key(conn, user, scope="admin" if is_admin else "user", name="cli")
        )
    click.echo(f"user {user.name} ({user.id}) created")
    if granted:
        click.echo(f"granted {starter} starter credits (RENDERHOUSE_STARTER_CREDITS)")
    if key:
        click.echo(f"API key (shown once, store it now): {key}")


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def list_users(ctx: click.Context, as_json: bool) -> None:
    """Every user, oldest first."""
    rt = runtime(ctx)
    rt.prepare_store()
    with rt.store.read() as conn:
        found = accounts.list_users(conn)
    if as_json:
        echo_json([u.to_dict() for u in found])
        return
    for u in found:
        click.echo(f"{u.id}  {u.name}  org={u.org or '-'}  admin={'yes' if u.is_admin else 'no'}")


@click.group(cls=HelpGroup)
def keys() -> None:
    """Manage API keys."""


@keys.command("create")
@click.argument("user")
@click.option("--scope", type=click.Choice(accounts.SCOPES), default="user", show_default=True,
              help="What the key may do.")  # fmt: skip
@click.option("--name", default="", help="A label to recognise the key by.")
@click.pass_context
def create_key(ctx: click.Context, user: str, scope: str, name: str) -> None:
    """Create an API key for USER (id or name); it is printed once."""
    rt = runtime(ctx)
    rt.prepare_store()
    with rt.store.begin() as conn:
        key = accounts.create_key(conn, accounts.find_user(conn, user), scope=scope, name=name)
    click.echo(key)


@keys.command("revoke")
@click.argument("prefix")
@click.pass_context
def revoke_key(ctx: click.Context, prefix: str) -> None:
    """Revoke the key with PREFIX (the part after rh_live_), or given in full."""
    rt = runtime(ctx)
    rt.prepare_store()
    with rt.store.begin() as conn:
        accounts.revoke_key(conn, prefix)
    click.echo(f"key {prefix} revoked")


@keys.command("list")
@click.option("--user", help="Only this user's keys (id or name).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def list_keys(ctx: click.Context, user: str | None, as_json: bool) -> None:
    """API keys (their prefixes; a key's secret is never stored)."""
    rt = runtime(ctx)
    rt.prepare_store()
    with rt.store.read() as conn:
        user_id = accounts.find_user(conn, user).id if user else None
        rows = accounts.list_keys(conn, user_id)
    if as_json:
        echo_json(rows, times=KEY_TIMES)
        return
    for k in rows:
        state = f"revoked {_when(k['revoked_at'])}" if k["revoked_at"] else "active"
        click.echo(
            f"{k['prefix']}  user={k['user_id']}  scope={k['scope']}  {state}  "
            f"created {_when(k['created_at'])}  last used {_when(k['last_used_at'])}  {k['name']}"
        )
