"""``renderhouse credits …`` through the CLI runner, on both databases."""

from __future__ import annotations

import json

from click.testing import CliRunner
from sqlalchemy import update

from renderhouse import accounts
from renderhouse.cli import main
from renderhouse.store.database import Store
from renderhouse.store.schema_ledger import credit_accounts


def test_grant_balance_ledger_reconcile(store: Store, db_url: str) -> None:
    with store.begin() as conn:
        alice = accounts.create_user(conn, "alice")
    runner = CliRunner()
    db = ["--database-url", db_url]

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(main, [*db, "credits", *args])
        assert result.exit_code == code, result.output
        return result.output

    assert "100 available" in run("grant", "alice", "100", "--reason", "welcome")
    assert "90 available" in run("grant", "--reason", "fix", "--adjust", "--", alice.id, "-10")
    assert json.loads(run("balance", "alice")) == {
        "account": alice.id, "available": 90, "held": 0,
    }  # fmt: skip
    listing = run("ledger", "alice")
    assert "adjustment" in listing and "welcome" in listing
    assert "clean" in run("reconcile")
    assert "no user" in run("balance", "mallory", code=2)
    with store.begin() as conn:  # corrupt the cache behind the ledger's back
        conn.execute(update(credit_accounts).values(available=credit_accounts.c.available + 5))
    report = run("reconcile", "--json", code=1)
    assert json.loads(report)["problem_count"] == 1
    assert "ledger says 90/0" in run("reconcile", code=1)
