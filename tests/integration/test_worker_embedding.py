"""The worker as a library: a bare ``Worker`` rescues a dead worker's jobs by default, tells
its host about recorded outcomes, leaves signals to the host when asked, runs without
storage for kinds that store nothing, and the queue answers its depth per kind."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest

from renderhouse.queue import JobQueue, NewJob, RetryPolicy
from renderhouse.storage.local import LocalStorage
from renderhouse.store.database import Store
from renderhouse.worker.worker import Finished, Worker, WorkerConfig
from tests.integration.running import running, wait_until
from tests.integration.running import test_registry as registry_for_tests


@pytest.fixture
def queue(store: Store) -> JobQueue:
    return JobQueue(store, policy=RetryPolicy(base=0.01, jitter=0), lease_seconds=1.0)


def test_a_bare_worker_rescues_a_dead_workers_job(queue: JobQueue, tmp_path: Path) -> None:
    job, _ = queue.enqueue(NewJob(kind="noop", input={}))
    (taken,) = queue.claim(["noop"], 1, "a-worker-that-dies")
    assert taken.id == job.id and queue.get(job.id).state == "running"
    time.sleep(1.1)  # its lease runs out: nobody renews it
    worker = Worker(
        queue, registry_for_tests(), LocalStorage(tmp_path), WorkerConfig(kinds=["noop"])
    )
    assert worker.maintenance is not None  # no argument: the duties run here
    with running(worker):
        wait_until(lambda: queue.get(job.id).state == "succeeded", what="the rescued job")
    assert queue.get(job.id).attempt == 2


def test_no_duties_when_the_host_says_so(queue: JobQueue, tmp_path: Path) -> None:
    worker = Worker(
        queue, registry_for_tests(), LocalStorage(tmp_path), WorkerConfig(kinds=["noop"]), None
    )
    assert worker.maintenance is None


def test_hooks_hear_recorded_outcomes(queue: JobQueue, tmp_path: Path) -> None:
    heard: list[Finished] = []
    worker = Worker(
        queue,
        registry_for_tests(),
        LocalStorage(tmp_path),
        WorkerConfig(kinds=["noop", "test.steps"]),
        None,
    )
    worker.on_finished.append(heard.append)
    worker.on_finished.append(lambda _: 1 / 0)  # a broken hook is logged, nothing more
    ok, _ = queue.enqueue(NewJob(kind="noop", input={}))
    flaky, _ = queue.enqueue(
        NewJob(kind="test.steps", input={"steps": 1, "fail_times": 1}, max_attempts=3)
    )
    with running(worker):
        wait_until(lambda: len(heard) >= 3, what="three outcomes")
    by_job = {(f.job_id, f.attempt): f for f in heard}
    assert (by_job[(ok.id, 1)].outcome, by_job[(ok.id, 1)].state) == ("done", "succeeded")
    first = by_job[(flaky.id, 1)]
    assert (first.outcome, first.state, first.error_code) == ("error", "queued", "planned_failure")
    assert by_job[(flaky.id, 2)].state == "succeeded"


def test_signals_stay_the_hosts(queue: JobQueue, tmp_path: Path) -> None:
    seen: list[object] = []
    worker = Worker(
        queue, registry_for_tests(), LocalStorage(tmp_path), WorkerConfig(kinds=["noop"]), None
    )

    def on_finished(_: Finished) -> None:
        seen.append(signal.getsignal(signal.SIGTERM))
        worker.stop()

    worker.on_finished.append(on_finished)
    before = signal.getsignal(signal.SIGTERM)
    queue.enqueue(NewJob(kind="noop", input={}))
    asyncio.run(asyncio.wait_for(worker.run(handle_signals=False, own_executor=False), 60))
    assert seen == [before]


def test_a_worker_without_storage(queue: JobQueue) -> None:
    worker = Worker(
        queue, registry_for_tests(), None, WorkerConfig(kinds=["noop", "test.steps"]), None
    )
    plain, _ = queue.enqueue(NewJob(kind="noop", input={}))
    storing, _ = queue.enqueue(NewJob(kind="test.steps", input={"steps": 1}, max_attempts=1))
    with running(worker):
        wait_until(lambda: queue.get(storing.id).state == "failed", what="the storing job")
        wait_until(lambda: queue.get(plain.id).state == "succeeded", what="the plain job")
    failed = queue.get(storing.id)
    assert failed.error_code == "not_configured" and "no artifact storage" in failed.error_message


def test_depth_per_kind(queue: JobQueue) -> None:
    for kind in ("noop", "noop", "test.steps"):
        queue.enqueue(NewJob(kind=kind, input={}))
    assert (queue.depth(), queue.depth("noop"), queue.depth("test.steps")) == (3, 2, 1)
    queue.claim(["noop"], 1, "w")
    assert queue.depth("noop") == 1 and queue.depth("nothing") == 0


def test_a_stopped_worker_is_not_woken_by_later_enqueues(queue: JobQueue, tmp_path: Path) -> None:
    """Its event loop is closed once ``run`` returns: an enqueue afterwards must not try to
    schedule a wake-up on it ("Event loop is closed")."""
    cfg = WorkerConfig(kinds=["noop"])
    worker = Worker(queue, registry_for_tests(), LocalStorage(tmp_path), cfg, None)
    with running(worker):
        pass
    job, _ = queue.enqueue(NewJob(kind="noop", input={}))  # raised before the fix
    assert queue.get(job.id).state == "queued"
