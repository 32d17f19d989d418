"""Money survives SIGKILL: real worker processes killed mid-job again and again; every job
ends exactly once, every failed or cancelled job is refunded exactly once, the books
reconcile. ``RENDERHOUSE_TEST_LEDGER_KILLS`` sets the kills per database: 10 by default (20
per run, about 2 minutes); the 100-kill run is recorded in docs/benchmarks.md."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from renderhouse import ledger
from renderhouse.queue.enqueue import NewJob
from renderhouse.queue.jobs import SUCCEEDED, TERMINAL
from renderhouse.queue.queue import JobQueue
from renderhouse.store.database import Store
from renderhouse.store.schema import job_events, jobs
from renderhouse.store.schema_ledger import ledger_entries
from tests.integration.running import wait_until
from tests.ledger.conftest import assert_books_clean

REPO = Path(__file__).resolve().parents[2]
KILLS = int(os.environ.get("RENDERHOUSE_TEST_LEDGER_KILLS", "10"))
PRICE = 10


def _start(db_url: str, storage: Path, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as fh:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.acceptance.worker_process",
                db_url,
                str(storage),
                "--ledger",
                "--lease",
                "1",
                "--concurrency",
                "2",
                "--kinds",
                "test.steps",
                "--poll",
                "0.1",
                "--no-listen",
                "--log-level",
                "WARNING",
            ],
            cwd=REPO,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _claims(store: Store) -> int:
    with store.read() as conn:
        return int(conn.execute(select(func.coalesce(func.sum(jobs.c.attempt), 0))).scalar_one())


def test_sigkilled_workers_never_lose_or_double_count_money(
    store: Store, db_url: str, tmp_path: Path
) -> None:
    rng = random.Random(6)
    queue = ledger.install(JobQueue(store))
    with store.begin() as conn:
        ledger.grant(conn, "alice", 1_000_000, "crash test funds")

    def top_up() -> None:
        with store.read() as conn:
            waiting = conn.execute(
                select(func.count()).where(jobs.c.state == "queued")
            ).scalar_one()
        for _ in range(max(0, 4 - waiting)):
            nj = NewJob(
                "test.steps",
                {
                    "steps": 4,
                    "step_seconds": rng.choice([0.05, 0.2, 0.4]),
                    "fail_times": rng.choice([0, 0, 1, 3]),
                },
                owner="alice",
                cost_estimated=PRICE,
                max_attempts=rng.choice([1, 2, 3]),
            )
            with store.begin() as conn:
                ledger.enqueue_paid(queue, conn, nj)

    log, storage = tmp_path / "workers.log", tmp_path / "artifacts"
    for _ in range(KILLS):
        top_up()
        before = _claims(store)
        proc = _start(db_url, storage, log)
        try:
            wait_until(lambda b=before: _claims(store) > b, timeout=60, what="a claim")
            time.sleep(rng.uniform(0.0, 0.5))
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    with store.read() as conn:
        for job_id in conn.execute(select(jobs.c.id).where(jobs.c.state == "queued")).scalars():
            queue.cancel(job_id)  # some end cancelled too
            break
    proc = _start(db_url, storage, log)
    try:
        wait_until(
            lambda: all(j.state in TERMINAL for j in queue.list_jobs(limit=10_000)),
            timeout=240,
            what="every job to end",
        )
    finally:
        proc.terminate()
        proc.wait(60)

    with store.read() as conn:
        ends = dict(
            conn.execute(
                select(job_events.c.job_id, func.count())
                .where(
                    job_events.c.type == "state",
                    job_events.c.data.like('%"state": "succeeded"%')
                    | job_events.c.data.like('%"state": "failed"%')
                    | job_events.c.data.like('%"state": "cancelled"%'),
                )
                .group_by(job_events.c.job_id)
            ).all()
        )
        money = conn.execute(select(ledger_entries).where(ledger_entries.c.job_id.is_not(None)))
        by_job: dict[str, dict[str, int]] = {}
        for e in money:
            by_job.setdefault(e.job_id, {})[e.kind] = e.amount
        balance = ledger.balance(conn, "alice")
    all_jobs = queue.list_jobs(limit=10_000)
    states = {j.state for j in all_jobs}
    assert "failed" in states and SUCCEEDED in states, states
    assert any(j.attempt > 1 for j in all_jobs), "kills should have cost attempts"
    spent = 0
    for j in all_jobs:
        assert ends.get(j.id) == 1, f"job {j.id} ended {ends.get(j.id)} times"
        m = by_job[j.id]
        if j.state == SUCCEEDED:
            assert m == {"reserve": PRICE, "post": PRICE}, (j.id, m)
            spent += PRICE
        else:
            assert m == {"reserve": PRICE, "void": PRICE}, (j.id, j.state, m)
    assert (balance.available, balance.held) == (1_000_000 - spent, 0)
    assert_books_clean(store)
