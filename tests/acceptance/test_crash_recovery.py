"""Crash tests with real worker processes: SIGKILL mid-job, a stale worker woken up
after its job moved on, and (PostgreSQL) a server restart under load."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from renderhouse.queue.enqueue import NewJob
from renderhouse.queue.queue import JobQueue
from renderhouse.store.database import Store
from tests.integration.running import wait_until

REPO = Path(__file__).resolve().parents[2]


@contextmanager
def worker_process(
    db_url: str, storage: Path, log: Path, *args: str
) -> Iterator[subprocess.Popen[bytes]]:
    with open(log, "ab") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.acceptance.worker_process", db_url, str(storage), *args],
            cwd=REPO,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def steps_job(tmp_path: Path, **extra: object) -> NewJob:
    return NewJob(
        "test.steps",
        {
            "steps": 5,
            "pause_at": 2,
            "pause_file": str(tmp_path / "paused"),
            "release_file": str(tmp_path / "release"),
            "log_file": str(tmp_path / "steps.log"),
            **extra,
        },
        max_attempts=3,
    )


def test_sigkilled_worker_job_is_rescued_and_resumes_from_checkpoint(
    store: Store, db_url: str, tmp_path: Path
) -> None:
    queue = JobQueue(store)
    job = queue.enqueue(steps_job(tmp_path))[0]
    log = tmp_path / "workers.log"
    with worker_process(db_url, tmp_path / "store", log) as first:
        wait_until(lambda: (tmp_path / "paused").exists(), what="the job to reach step 2")
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        killed_at = time.monotonic()
    (tmp_path / "release").write_text("go")
    with worker_process(db_url, tmp_path / "store", log):
        wait_until(lambda: queue.get(job.id).attempt >= 2, what="the job to be claimed again")
        reclaimed_after = time.monotonic() - killed_at
        wait_until(lambda: queue.get(job.id).state == "succeeded", what="the rescued job to finish")
    done = queue.get(job.id)
    steps = (tmp_path / "steps.log").read_text().split()
    assert steps == ["1:0", "1:1", "2:2", "2:3", "2:4"], "every step exactly once, resumed at 2"
    attempts = queue.attempts(job.id)
    assert [(a["outcome"], a["error_code"]) for a in attempts] == [
        ("failed", "lease_expired"),
        ("succeeded", None),
    ]
    assert done.result == {"steps": 5} and done.checkpoint == {"done": 5}
    assert len(queue.artifacts(job.id)) == 5
    assert reclaimed_after < 30, f"re-claimed after {reclaimed_after:.1f}s"


def test_stale_worker_cannot_complete_a_job_it_lost(
    store: Store, db_url: str, tmp_path: Path
) -> None:
    queue = JobQueue(store)
    job = queue.enqueue(steps_job(tmp_path))[0]
    log = tmp_path / "workers.log"
    with worker_process(db_url, tmp_path / "store", log) as stale:
        wait_until(lambda: (tmp_path / "paused").exists(), what="the job to reach step 2")
        os.killpg(stale.pid, signal.SIGSTOP)  # frozen: no heartbeats, lease runs out
        (tmp_path / "release").write_text("go")
        with worker_process(db_url, tmp_path / "store2", log):
            wait_until(
                lambda: queue.get(job.id).state == "succeeded", what="the second worker to finish"
            )
        finished = queue.get(job.id)
        os.killpg(stale.pid, signal.SIGCONT)
        wait_until(
            lambda: "refused" in log.read_text() or "taken away" in log.read_text(),
            what="the stale worker to be refused",
        )
    after = queue.get(job.id)
    assert after.state == "succeeded" and after.attempt == finished.attempt == 2
    assert after.finished_at == finished.finished_at and after.checkpoint == {"done": 5}
    assert [a["attempt"] for a in queue.attempts(job.id)] == [1, 2]


def _restart_allowed() -> bool:
    return os.environ.get("RENDERHOUSE_TEST_PG_RESTART") == "1"


@pytest.mark.postgres
def test_postgres_restart_under_load(pg_url: str, tmp_path: Path) -> None:
    if not _restart_allowed():
        pytest.skip(
            "restarts the shared PostgreSQL server: set RENDERHOUSE_TEST_PG_RESTART=1 (CI does)"
        )
    from tests.conftest import _truncate

    stores = [Store(pg_url)]
    queue = JobQueue(stores[0])
    _truncate(stores[0])
    log = tmp_path / "workers.log"
    try:
        # A long poll interval: after the restart only LISTEN/NOTIFY can wake workers fast.
        with (
            worker_process(pg_url, tmp_path / "s", log, "--poll", "30", "--concurrency", "4"),
            worker_process(pg_url, tmp_path / "s", log, "--poll", "30", "--concurrency", "4"),
        ):
            wait_until(
                lambda: log.read_text().count("started: kinds") >= 2, timeout=60, what="workers"
            )
            work = [j.id for j, _ in queue.enqueue_many([NewJob("noop", {}) for _ in range(500)])]
            subprocess.run(
                ["pg_ctlcluster", "--skip-systemctl-redirect", *_cluster(), "restart"],
                check=True,
                timeout=120,
            )
            stores.append(Store(pg_url))
            queue = JobQueue(stores[-1])
            wait_until(lambda: _reachable(stores[-1]), timeout=60, what="PostgreSQL to come back")
            wait_until(
                lambda: all(queue.get(i).state == "succeeded" for i in work),
                timeout=90,
                what="the jobs enqueued before the restart",
            )
            wait_until(
                lambda: log.read_text().count("listening for job notifications") >= 4,
                timeout=30,
                what="both listeners to reconnect",
            )
            fresh = queue.enqueue(NewJob("noop", {}))[0]
            t0 = time.monotonic()
            wait_until(
                lambda: queue.get(fresh.id).state == "succeeded",
                timeout=20,
                what="a job after the restart",
            )
            assert time.monotonic() - t0 < 5, "workers should be woken by NOTIFY, not the poll"
    finally:
        for store in stores:
            store.dispose()


def _cluster() -> list[str]:
    out = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True, check=True).stdout
    version, name = out.split()[:2]
    return [version, name]


def _reachable(store: Store) -> bool:
    try:
        store.ping()
        return True
    except Exception:
        return False
