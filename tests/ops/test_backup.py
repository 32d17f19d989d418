"""Backup → wipe → restore gives back identical jobs, ledger and artifacts, on SQLite and
PostgreSQL; a damaged restore is caught by the verification."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import inspect, text

from renderhouse.ops.backup import MANIFEST, create_backup, prune_backups
from renderhouse.ops.restore import RestoreVerificationFailed, restore_backup
from renderhouse.queue.enqueue import NewJob
from renderhouse.runtime import Runtime
from renderhouse.settings import Settings


@pytest.fixture
def rt(db_url: str, tmp_path: Path) -> Runtime:
    runtime = Runtime(
        Settings(data_dir=tmp_path / "data", database_url=db_url, secret_key="s" * 40)
    )
    yield runtime  # type: ignore[misc]
    runtime.close()


def populate(rt: Runtime) -> None:
    q = rt.queue
    for i in range(3):
        q.enqueue(NewJob(kind="noop", input={"message": f"m{i}"}, owner=f"user{i % 2}"))
    for job in q.claim(["noop"], 2, "w1"):
        data = f"frame of {job.id}".encode()
        key = f"jobs/{job.id}/frame.png"
        rt.storage.put_bytes(key, data, "image/png")
        q.add_artifact(
            job.id,
            job.attempt,
            {"name": "frame.png", "key": key, "content_type": "image/png",
             "size": len(data), "sha256": hashlib.sha256(data).hexdigest()},
        )  # fmt: skip
        q.complete(job.id, job.attempt, {"ok": True})
    try:
        from renderhouse.ledger import grant
    except ImportError:
        return
    with rt.store.begin() as conn:
        grant(conn, "user0", 500, "welcome")
        grant(conn, "user1", 70, "welcome")


def snapshot(rt: Runtime) -> dict[str, Any]:
    with rt.store.read() as conn:
        names = sorted(inspect(conn).get_table_names())
        tables = {
            n: sorted(tuple(map(str, r)) for r in conn.execute(text(f'SELECT * FROM "{n}"')))
            for n in names
        }
    files = {}
    for key in rt.storage.keys("jobs/"):
        with rt.storage.open(key) as fh:
            files[key] = fh.read()
    return {"tables": tables, "files": files}


def wipe(rt: Runtime) -> None:
    rt.store.dispose()
    if rt.store.is_sqlite:
        db = Path(str(rt.store.engine.url.database))
        for path in db.parent.glob(db.name + "*"):
            path.unlink()
    else:
        with rt.store.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    shutil.rmtree(rt.settings.data_dir / "artifacts")
    rt.__dict__.pop("storage", None)


def test_backup_wipe_restore_is_identical(rt: Runtime, tmp_path: Path) -> None:
    populate(rt)
    before = snapshot(rt)
    assert len(before["files"]) == 2 and before["tables"]["jobs"]
    manifest = create_backup(rt, tmp_path / "bk", include_artifacts=True)
    assert manifest["tables"]["jobs"] == 3
    assert {a["key"] for a in manifest["artifacts"]} == set(before["files"])

    wipe(rt)
    report = restore_backup(rt, tmp_path / "bk")

    assert report["problems"] == []
    assert report["artifacts_restored"] == 2
    if "ledger_entries" in before["tables"]:
        assert report["ledger"]["checked"] and report["ledger"]["ok"]
    assert snapshot(rt) == before
    rt.prepare_store()  # the schema revision came back too


def test_restore_catches_missing_artifacts(rt: Runtime, tmp_path: Path) -> None:
    populate(rt)
    create_backup(rt, tmp_path / "bk")  # manifest only: the files are not in the backup
    wipe(rt)
    with pytest.raises(RestoreVerificationFailed) as err:
        restore_backup(rt, tmp_path / "bk")
    assert err.value.details["artifacts_missing"] == 2


def test_refuses_a_non_empty_destination(rt: Runtime, tmp_path: Path) -> None:
    (tmp_path / "bk").mkdir()
    (tmp_path / "bk" / "other").write_text("x")
    with pytest.raises(Exception, match="not empty"):
        create_backup(rt, tmp_path / "bk")


def test_retention_keeps_the_newest(tmp_path: Path) -> None:
    for stamp in ("20260101T000000Z", "20260102T000000Z", "20260103T000000Z"):
        (tmp_path / stamp).mkdir()
        (tmp_path / stamp / MANIFEST).write_text("{}")
    (tmp_path / "not-a-backup").mkdir()
    removed = prune_backups(tmp_path, keep=2)
    assert [p.name for p in removed] == ["20260101T000000Z"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "20260102T000000Z",
        "20260103T000000Z",
        "not-a-backup",
    ]


def test_cli_backup_restore_cleanup(tmp_path: Path) -> None:
    from renderhouse.cli import main

    runner = CliRunner()
    data = ["--data-dir", str(tmp_path / "data")]
    rt = Runtime(Settings(data_dir=tmp_path / "data"))
    rt.prepare_store(create_if_empty=True)
    populate(rt)
    rt.close()
    out = runner.invoke(main, [*data, "backup", str(tmp_path / "bk"), "--include-artifacts"])
    assert out.exit_code == 0, out.output
    assert "3 jobs" not in out.output and "artifacts" in out.output
    out = runner.invoke(main, [*data, "restore", str(tmp_path / "bk"), "--yes"])
    assert out.exit_code == 0, out.output
    assert "restored and verified" in out.output
    out = runner.invoke(main, [*data, "cleanup", "--json"])
    assert out.exit_code == 0, out.output
    assert '"jobs_pruned": 0' in out.output
