"""The worker through database outages (issue 14): its loops back off exponentially and
log one line when an outage starts and one when it ends, not a traceback per attempt; the
store reports every fault as ``StoreError``, the original cause kept."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import psycopg
import pytest
from sqlalchemy import text

from renderhouse.errors import StoreError
from renderhouse.queue.enqueue import NewJob
from renderhouse.queue.queue import JobQueue
from renderhouse.store.database import Store
from tests.conftest import PG_ADMIN_URL
from tests.integration.running import running_worker, wait_until
from tests.pg_faults import database_down, terminating_backends

pytestmark = pytest.mark.postgres
T = TypeVar("T")


@pytest.fixture
def pg_store(pg_url: str) -> Store:
    from tests.conftest import _truncate

    store = Store(pg_url)
    _truncate(store)
    yield store  # type: ignore[misc]
    store.dispose()


def test_a_terminated_backend_is_a_store_error_not_pending_rollback(pg_store: Store) -> None:
    for _ in range(3):
        with pytest.raises(StoreError) as err, pg_store.begin() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            conn.execute(text("SELECT 1"))
        assert "terminating connection" in err.value.message
        assert type(err.value.__cause__).__name__ == "OperationalError"
    with pg_store.read() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1


def _retrying(fn: Callable[[], T]) -> T:
    """The test's own calls: the storm also cut this store's pooled connections."""
    for _ in range(5):
        try:
            return fn()
        except StoreError:
            continue
    return fn()


def test_worker_rides_out_an_outage_with_backoff_and_one_line(
    pg_store: Store, pg_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    queue = JobQueue(pg_store)
    caplog.set_level(logging.WARNING, logger="renderhouse.worker")
    with running_worker(
        queue, tmp_path, kinds=["noop"], concurrency=2, poll_seconds=0.05, heartbeat_seconds=0.2
    ):
        first = queue.enqueue(NewJob("noop", {}))[0]
        wait_until(lambda: queue.get(first.id).state == "succeeded", what="a job before")
        with database_down(pg_url):
            wait_until(
                lambda: (
                    "claiming jobs works again" not in caplog.text
                    and caplog.text.count("claiming jobs failed") == 1
                ),
                what="the outage to be noticed",
            )
            # Poll every 50 ms: without backoff this window would see ~60 attempts.
            time.sleep(3)
        wait_until(lambda: "claiming jobs works again" in caplog.text, what="recovery")
        storm = [j.id for j, _ in queue.enqueue_many([NewJob("noop", {}) for _ in range(20)])]
        with terminating_backends(pg_url, every=0.05) as killed:
            wait_until(lambda: killed[0] >= 10, what="backends to be terminated")
        after = _retrying(lambda: queue.enqueue(NewJob("noop", {}))[0])
        wait_until(
            lambda: all(
                _retrying(lambda j=i: queue.get(j)).state == "succeeded"  # type: ignore[misc]
                for i in [*storm, after.id]
            ),
            what="jobs after the outage",
        )
    worker_lines = [r for r in caplog.records if r.name.startswith("renderhouse.worker")]
    assert not [r for r in worker_lines if r.exc_info], "no tracebacks for an outage"
    started = [r.getMessage() for r in worker_lines if "claiming jobs failed" in r.getMessage()]
    ended = [r.getMessage() for r in worker_lines if "claiming jobs works again" in r.getMessage()]
    assert len(ended) == len(started) >= 1
    attempts = int(re.search(r"after [\d.]+s and (\d+) failed", ended[0]).group(1))  # type: ignore[union-attr]
    assert 2 <= attempts <= 20, f"{attempts} attempts in a 3 s outage: no backoff?"


def test_worker_through_a_server_restart(
    pg_store: Store, pg_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    if os.environ.get("RENDERHOUSE_TEST_PG_RESTART") != "1":
        pytest.skip(
            "restarts the shared PostgreSQL server: set RENDERHOUSE_TEST_PG_RESTART=1 (CI does)"
        )
    from tests.acceptance.test_crash_recovery import _cluster

    queue = JobQueue(pg_store)
    caplog.set_level(logging.WARNING, logger="renderhouse.worker")
    with running_worker(
        queue, tmp_path, kinds=["noop"], concurrency=2, poll_seconds=0.05, heartbeat_seconds=0.2
    ):
        first = queue.enqueue(NewJob("noop", {}))[0]
        wait_until(lambda: queue.get(first.id).state == "succeeded", what="a job before")
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", *_cluster(), "restart"],
            check=True,
            timeout=120,
        )
        made: list[str] = []

        def enqueued() -> bool:
            try:
                made.append(queue.enqueue(NewJob("noop", {}))[0].id)
            except StoreError:
                return False
            return True

        wait_until(enqueued, timeout=60, what="PostgreSQL to take a job again")
        wait_until(
            lambda: _retrying(lambda: queue.get(made[0])).state == "succeeded",
            timeout=60,
            what="a job after the restart",
        )
    worker_lines = [r for r in caplog.records if r.name.startswith("renderhouse.worker")]
    assert not [r for r in worker_lines if r.exc_info], "no tracebacks for a restart"
    started = sum("failed (" in r.getMessage() for r in worker_lines)
    ended = sum("works again" in r.getMessage() for r in worker_lines)
    assert started == ended, "every outage a loop noticed ended"
