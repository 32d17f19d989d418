"""The CLI as a new user meets it (issue 19, item 6): ``jobs list`` shows whole ids at 80
columns, every list/show command answers ``--json`` (times in RFC 3339, as the API), a
group called alone prints its help and exits 0, ``credits balance`` defaults to the
administrator, and every platform command, option and argument is described."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from renderhouse import accounts, ledger
from renderhouse.cli import COMMANDS, main
from renderhouse.queue.enqueue import NewJob
from renderhouse.runtime import Runtime
from renderhouse.settings import Settings

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


@pytest.fixture
def data(tmp_path: Path) -> tuple[Path, str]:
    rt = Runtime(Settings(data_dir=tmp_path / "data", secret_key="s" * 40))
    rt.prepare_store(create_if_empty=True)
    with rt.store.begin() as conn:
        admin = accounts.create_user(conn, "admin", is_admin=True)
        accounts.create_key(conn, admin, scope="admin")
        ledger.grant(conn, admin.id, 42, "hello")
    job, _ = rt.queue.enqueue(NewJob(kind="noop", input={}, owner=admin.id))
    rt.close()
    return tmp_path / "data", job.id


def cli(data: Path, *args: str) -> click.testing.Result:
    env = {"COLUMNS": "80", "RENDERHOUSE_SECRET_KEY": "s" * 40}
    result = CliRunner(env=env).invoke(main, ["--data-dir", str(data), *args])
    return result


def test_jobs_list_shows_whole_ids_at_80_columns(
    data: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from rich.console import Console

    import renderhouse.cli.jobs

    monkeypatch.setattr(renderhouse.cli.jobs, "out", Console(width=80))  # an 80-column terminal
    path, job_id = data
    out = cli(path, "jobs", "list")
    assert out.exit_code == 0, out.output
    assert max(len(line) for line in out.output.splitlines()) <= 80
    assert job_id in out.output, out.output


def test_list_and_show_commands_speak_json(data: tuple[Path, str]) -> None:
    path, job_id = data
    (job,) = json.loads(cli(path, "jobs", "list", "--json").output)
    assert job["id"] == job_id and RFC3339.match(job["created_at"])
    shown = json.loads(cli(path, "jobs", "show", job_id, "--json").output)
    assert shown["job"]["id"] == job_id and RFC3339.match(shown["job"]["updated_at"])
    assert json.loads(cli(path, "queue", "stats", "--json").output)["noop"]["queued"] == 1
    (user,) = json.loads(cli(path, "users", "list", "--json").output)
    assert user["name"] == "admin"
    (key,) = json.loads(cli(path, "keys", "list", "--json").output)
    assert RFC3339.match(key["created_at"]) and key["revoked_at"] is None
    (entry,) = json.loads(cli(path, "credits", "ledger", "--json").output)
    assert entry["amount"] == 42 and RFC3339.match(entry["created_at"])
    assert json.loads(cli(path, "budgets", "show", "--json").output) == []


def test_credits_balance_defaults_to_the_admin(data: tuple[Path, str]) -> None:
    path, _ = data
    out = cli(path, "credits", "balance")
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["available"] == 42
    assert json.loads(cli(path, "credits", "balance", "admin").output)["available"] == 42


@pytest.mark.parametrize("group", ["", "credits", "jobs", "queue", "users", "keys", "db"])
def test_a_group_alone_prints_its_help(group: str) -> None:
    out = CliRunner().invoke(main, [group] if group else [])
    assert out.exit_code == 0, out.output
    assert "Usage:" in out.output and "Commands:" in out.output


def _undescribed(cmd: click.Command, path: str, ctx: click.Context) -> list[str]:
    missing = [] if (cmd.help or cmd.short_help) else [f"{path}: no help"]
    for p in cmd.params:
        if isinstance(p, click.Option) and not p.help:
            missing.append(f"{path} {p.opts[0]}: no help")
        if isinstance(p, click.Argument) and p.human_readable_name not in (cmd.help or ""):
            missing.append(f"{path} {p.human_readable_name}: not described in the help")
    if isinstance(cmd, click.Group):
        for name in cmd.list_commands(ctx):
            sub = cmd.get_command(ctx, name)
            assert sub is not None
            missing += _undescribed(sub, f"{path} {name}", ctx)
    return missing


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_platform_command_is_described(name: str) -> None:
    ctx = click.Context(main)
    command = main.get_command(ctx, name)
    assert command is not None
    assert _undescribed(command, name, ctx) == []
    options = [p for p in main.params if isinstance(p, click.Option) and p.name != "help"]
    assert [p.opts[0] for p in options if not p.help] == []


@pytest.mark.parametrize("args", [["--help"], ["credits", "--help"], ["jobs", "list", "--help"]])
def test_light_commands_stay_light(args: list[str]) -> None:
    """Help for these loads no database or server stack (docs/benchmarks.md, CLI start-up)."""
    import subprocess
    import sys

    code = (
        "import sys\nfrom renderhouse.cli import main\n"
        f"try:\n    main({args!r})\nexcept SystemExit:\n    pass\n"
        "print([m for m in ('sqlalchemy', 'alembic', 'uvicorn', 'numpy') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "Usage:" in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout[-300:]
