"""``renderhouse users`` and ``renderhouse keys`` through the CLI runner, on a SQLite file."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from renderhouse import accounts
from renderhouse.cli import main
from renderhouse.runtime import Runtime
from renderhouse.settings import Settings


def test_users_and_keys(tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["--data-dir", str(tmp_path)]
    assert runner.invoke(main, [*base, "db", "upgrade"]).exit_code == 0
    made = runner.invoke(main, [*base, "users", "create", "dana", "--org", "acme"])
    assert made.exit_code == 0, made.output
    key = re.search(r"rh_live_\S+", made.output).group(0)
    again = runner.invoke(main, [*base, "users", "create", "dana"])
    assert again.exit_code == 2 and "already exists" in again.output
    second = runner.invoke(main, [*base, "keys", "create", "dana", "--name", "ci"])
    assert second.exit_code == 0 and second.output.startswith("rh_live_")
    listed = runner.invoke(main, [*base, "keys", "list", "--user", "dana"])
    assert listed.output.count("active") == 2
    prefix = accounts.split_key(key)[0]
    revoked = runner.invoke(main, [*base, "keys", "revoke", prefix])
    assert revoked.exit_code == 0, revoked.output
    assert "revoked" in runner.invoke(main, [*base, "keys", "list"]).output
    rt = Runtime(Settings(data_dir=tmp_path))
    with rt.store.read() as conn:
        assert accounts.verify_key(conn, key) is None
        assert accounts.verify_key(conn, second.output.strip()) is not None
    rt.close()
    bad = runner.invoke(main, [*base, "keys", "create", "dana", "--scope", "admin"])
    assert bad.exit_code == 2 and "not an admin" in bad.output
