"""``renderhouse backup`` restores on another machine (issue 19, item 2): the backup carries
the artifacts and uploads, a new empty data directory restored from it serves the jobs, the
ledger and every file; on S3 the files stay put and the backup says whether they still exist;
``restore`` will not swap a database that a server or worker is using."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

import renderhouse.store.schema_auth  # noqa: F401
from renderhouse import accounts, ledger
from renderhouse.api import create_app
from renderhouse.cli import main
from renderhouse.ops.backup import MANIFEST
from renderhouse.queue.enqueue import NewJob
from renderhouse.runtime import Runtime
from renderhouse.settings import Settings
from renderhouse.worker import registration
from tests.storage.conftest import aws_env, s3_endpoint, s3_url  # noqa: F401

SECRET = "s" * 40
GLB = (Path(__file__).parents[1] / "assets" / "BoomBox.glb").read_bytes()


def _settings(data: Path, **extra: str) -> Settings:
    return Settings(data_dir=data, secret_key=SECRET, **extra)  # type: ignore[arg-type]


def populate(data: Path, **extra: str) -> dict[str, str]:
    """A user with credits, an upload made over HTTP and a finished job with an artifact."""
    rt = Runtime(_settings(data, **extra))
    rt.prepare_store(create_if_empty=True)
    with rt.store.begin() as conn:
        user = accounts.create_user(conn, "ada")
        key = accounts.create_key(conn, user)
        ledger.grant(conn, user.id, 321, "welcome")
    app = create_app(rt.settings, rt)
    with TestClient(app, headers={"Authorization": f"Bearer {key}"}) as c:
        up = c.post("/v1/uploads", files={"file": ("BoomBox.glb", GLB, "model/gltf-binary")})
        assert up.status_code == 201, up.text
    job, _ = rt.queue.enqueue(NewJob(kind="noop", input={"message": "hi"}, owner=user.id))
    (claimed,) = rt.queue.claim(["noop"], 1, "w")
    data_bytes = b"frame bytes " * 100
    art_key = f"jobs/{job.id}/frame.png"
    rt.storage.put_bytes(art_key, data_bytes, "image/png")
    rt.queue.add_artifact(
        job.id, claimed.attempt,
        {"name": "frame.png", "key": art_key, "content_type": "image/png",
         "size": len(data_bytes), "sha256": hashlib.sha256(data_bytes).hexdigest()},
    )  # fmt: skip
    rt.queue.complete(job.id, claimed.attempt, {})
    rt.close()
    return {"key": key, "job": job.id, "upload": up.json()["id"], "art_key": art_key}


def run(*args: str) -> object:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result


def test_backup_restores_onto_an_empty_data_dir(tmp_path: Path) -> None:
    made = populate(tmp_path / "old")
    out = run("--data-dir", str(tmp_path / "old"), "backup", str(tmp_path / "bk"))
    assert out.exit_code == 0, out.output  # type: ignore[attr-defined]
    assert "1 artifacts, 1 uploads" in out.output  # type: ignore[attr-defined]
    assert "files copied into the backup: 2 of 2" in out.output  # type: ignore[attr-defined]

    new = tmp_path / "new"  # another machine: nothing there yet
    out = run("--data-dir", str(new), "restore", str(tmp_path / "bk"), "--yes")
    assert out.exit_code == 0, out.output  # type: ignore[attr-defined]
    assert "2 files present" in out.output  # type: ignore[attr-defined]

    rt = Runtime(_settings(new))
    app = create_app(rt.settings, rt)
    with TestClient(app, headers={"Authorization": f"Bearer {made['key']}"}) as c:
        assert c.get(f"/v1/jobs/{made['job']}").json()["state"] == "succeeded"
        entries = c.get("/v1/credits/ledger").json()["data"]
        assert [(e["kind"], e["amount"]) for e in entries] == [("grant", 321)]
        (art,) = c.get(f"/v1/jobs/{made['job']}/artifacts").json()
        assert c.get(art["url"]).content == b"frame bytes " * 100
        assert c.get(f"/v1/uploads/{made['upload']}").status_code == 200
    (up_key,) = [k for k in rt.storage.keys("uploads/")]
    with rt.storage.open(up_key) as fh:
        assert fh.read() == GLB
    rt.close()


def test_database_only_backup_says_so(tmp_path: Path) -> None:
    populate(tmp_path / "old")
    out = run("--data-dir", str(tmp_path / "old"), "backup", str(tmp_path / "bk"),
              "--database-only")  # fmt: skip
    assert out.exit_code == 0, out.output  # type: ignore[attr-defined]
    assert "database only: 2 of 2 files verified present" in out.output  # type: ignore[attr-defined]
    assert not (tmp_path / "bk" / "artifacts").exists()
    out = run("--data-dir", str(tmp_path / "new"), "restore", str(tmp_path / "bk"), "--yes")
    assert out.exit_code == 2  # type: ignore[attr-defined]
    assert "missing" in out.output  # type: ignore[attr-defined]


def test_s3_backup_checks_the_files_are_still_there(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    bucket = request.getfixturevalue("s3_url")
    made = populate(tmp_path / "old", storage_url=bucket)
    data = ["--data-dir", str(tmp_path / "old")]
    env = {"RENDERHOUSE_STORAGE_URL": bucket}
    out = CliRunner(env=env).invoke(main, [*data, "backup", str(tmp_path / "bk")])
    assert out.exit_code == 0, out.output
    assert "files not copied: 2 of 2 files verified present in s3://" in out.output
    assert json.loads((tmp_path / "bk" / MANIFEST).read_text())["artifacts_included"] is False

    rt = Runtime(_settings(tmp_path / "old", storage_url=bucket))
    rt.storage.delete(made["art_key"])
    rt.close()
    out = CliRunner(env=env).invoke(main, [*data, "backup", str(tmp_path / "bk2")])
    assert out.exit_code == 1
    assert "1 of 2 files verified present" in out.output
    assert f"missing: {made['art_key']}" in out.output


def test_restore_refuses_a_database_in_use(tmp_path: Path) -> None:
    populate(tmp_path / "old")
    assert run("--data-dir", str(tmp_path / "old"), "backup", str(tmp_path / "bk")).exit_code == 0  # type: ignore[attr-defined]
    rt = Runtime(_settings(tmp_path / "old"))
    registration.register(rt.store, "w-live", ["noop"], time.time())
    rt.close()
    restore = ["--data-dir", str(tmp_path / "old"), "restore", str(tmp_path / "bk"), "--yes"]
    out = run(*restore)
    assert out.exit_code == 2, out.output  # type: ignore[attr-defined]
    assert "database_in_use" in out.output and "worker pid" in out.output  # type: ignore[attr-defined]
    assert run(*restore, "--force").exit_code == 0  # type: ignore[attr-defined]

    # An API node on this machine holds the SQLite file open: refused too.
    db = tmp_path / "old" / "renderhouse.db"
    assert db.exists()
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import time; f = open({str(db)!r}, 'rb'); print(1, flush=True);"
         " time.sleep(60)"],
        stdout=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"1"
        out = run(*restore)
        assert out.exit_code == 2, out.output  # type: ignore[attr-defined]
        assert f"process {holder.pid}" in out.output  # type: ignore[attr-defined]
    finally:
        holder.kill()
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()
