"""The CLI through click's runner against real stores, and SIGTERM on a real worker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from renderhouse.cli import main
from renderhouse.queue.enqueue import NewJob
from renderhouse.queue.queue import JobQueue
from renderhouse.store.database import Store
from tests.integration.running import wait_until

REPO = Path(__file__).resolve().parents[2]


def run(*args: str, db: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--database-url", db, *args], catch_exceptions=False)
    return result.exit_code, result.output


def test_commands_refuse_an_empty_database_and_say_how_to_fix(tmp_path: Path) -> None:
    code, out = run("jobs", "list", db=f"sqlite:///{tmp_path / 'new.db'}")
    assert code == 2 and "renderhouse db upgrade" in out


def test_db_upgrade_enqueue_inspect_cancel_retry(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'rh.db'}"
    assert run("db", "upgrade", db=db)[0] == 0
    code, out = run("enqueue", "noop", "--input", '{"message": "hi"}', "--priority", "5", db=db)
    assert code == 0, out
    job_id = out.split()[-1]
    code, out = run("jobs", "show", job_id, db=db)
    shown = json.loads(out)
    assert shown["job"]["state"] == "queued" and shown["job"]["input"] == {"message": "hi"}
    assert run("jobs", "cancel", job_id, db=db)[1].strip().endswith("cancelled")
    assert run("jobs", "retry", job_id, db=db)[1].strip().endswith("queued")
    code, out = run("queue", "stats", db=db)
    assert code == 0 and "noop" in out
    code, out = run("jobs", "list", "--state", "queued", db=db)
    assert code == 0 and job_id[:8] in out


def test_bad_input_gets_a_clear_message(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'rh.db'}"
    run("db", "upgrade", db=db)
    code, out = run("enqueue", "noop", "--input", "{not json", db=db)
    assert code == 2 and "not valid JSON" in out
    code, out = run("enqueue", "nosuchkind", db=db)
    assert code == 2 and "unknown job kind" in out
    code, out = run("enqueue", "noop", "--input", '{"message": 5}', db=db)
    assert code == 2 and "message" in out
    code, out = run("jobs", "show", "doesnotexist", db=db)
    assert code == 2 and "no job" in out


def test_check_reports_each_service(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'rh.db'}"
    code, out = run("check", db=db)
    assert code == 1 and "renderhouse db upgrade" in out
    run("db", "upgrade", db=db)
    code, out = run("--data-dir", str(tmp_path), "check", db=db)
    assert code == 0, out
    assert "ok   database" in out and "ok   storage" in out and "turntable" in out


def test_sigterm_hands_back_and_exits(store: Store, db_url: str, tmp_path: Path) -> None:
    queue = JobQueue(store)
    job = queue.enqueue(NewJob("test.sleep", {"seconds": 120}, max_attempts=1))[0]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.acceptance.worker_process", db_url, str(tmp_path)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until(
            lambda: queue.get(job.id).state == "running", timeout=60, what="the job to start"
        )
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    back = queue.get(job.id)
    assert back.state == "queued" and back.attempts_spent == 0 and back.worker_id is None
