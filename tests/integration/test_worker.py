"""The worker against the real store: inline and isolated generators, retries, timeouts,
crashes, cancellation, breakers and graceful shutdown."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from renderhouse.queue.enqueue import NewJob
from renderhouse.queue.queue import JobQueue
from renderhouse.queue.retry import RetryPolicy
from renderhouse.store.database import Store
from renderhouse.worker.registration import breaker_states
from tests.integration.running import running_worker, wait_until


@pytest.fixture
def queue(store: Store) -> JobQueue:
    return JobQueue(store, policy=RetryPolicy(base=0.01, jitter=0))


def state(queue: JobQueue, job_id: str) -> str:
    return queue.get(job_id).state


def test_inline_noop_jobs_drain(queue: JobQueue, tmp_path: Path) -> None:
    made = [
        j.id
        for j, _ in queue.enqueue_many([NewJob("noop", {"message": str(i)}) for i in range(20)])
    ]
    with running_worker(queue, tmp_path, kinds=["noop"], concurrency=4):
        wait_until(lambda: all(state(queue, i) == "succeeded" for i in made), what="20 noop jobs")
    assert queue.get(made[3]).result == {"echo": "3"}


def test_isolated_job_reports_progress_checkpoint_artifacts(
    queue: JobQueue, tmp_path: Path
) -> None:
    j = queue.enqueue(NewJob("test.steps", {"steps": 3}))[0]
    with running_worker(queue, tmp_path / "store", kinds=["test.steps"], concurrency=1):
        wait_until(lambda: state(queue, j.id) == "succeeded", what="steps job")
    done = queue.get(j.id)
    assert done.checkpoint == {"done": 3} and done.progress == 1.0
    arts = queue.artifacts(j.id)
    assert [a["name"] for a in arts] == ["step-0.txt", "step-1.txt", "step-2.txt"]
    assert (tmp_path / "store" / arts[0]["key"]).read_bytes() == b"step 0"


def test_failure_is_retried_then_succeeds(queue: JobQueue, tmp_path: Path) -> None:
    j = queue.enqueue(NewJob("test.steps", {"steps": 1, "fail_times": 1}, max_attempts=2))[0]
    with running_worker(queue, tmp_path, kinds=["test.steps"], concurrency=1):
        wait_until(lambda: state(queue, j.id) == "succeeded", what="retried job")
    atts = queue.attempts(j.id)
    assert [(a["outcome"], a["error_code"]) for a in atts] == [
        ("failed", "planned_failure"),
        ("succeeded", None),
    ]
    assert "planned failure" in atts[0]["traceback"]


def test_invalid_input_fails_without_retry(queue: JobQueue, tmp_path: Path) -> None:
    j = queue.enqueue(NewJob("test.steps", {"steps": "many"}, max_attempts=3))[0]
    with running_worker(queue, tmp_path, kinds=["test.steps"], concurrency=1):
        wait_until(lambda: state(queue, j.id) == "failed", what="invalid job")
    assert queue.get(j.id).error_code == "invalid_input"
    assert len(queue.attempts(j.id)) == 1


def test_timeout_kills_the_child_and_the_pool_recovers(queue: JobQueue, tmp_path: Path) -> None:
    slow = queue.enqueue(
        NewJob("test.sleep", {"seconds": 30, "ignore_cancel": True}, timeout=0.5, max_attempts=1)
    )[0]
    with running_worker(queue, tmp_path, kinds=["test.sleep"], concurrency=1) as worker:
        wait_until(lambda: state(queue, slow.id) == "failed", what="timeout")
        assert queue.get(slow.id).error_code == "timeout"
        quick = queue.enqueue(NewJob("test.sleep", {"seconds": 0}))[0]
        wait_until(lambda: state(queue, quick.id) == "succeeded", what="job after timeout")
        assert worker.pool is not None and worker.pool.replaced == 1


def test_child_crash_fails_the_attempt(queue: JobQueue, tmp_path: Path) -> None:
    j = queue.enqueue(NewJob("test.steps", {"steps": 3, "crash_at": 1}, max_attempts=1))[0]
    with running_worker(queue, tmp_path, kinds=["test.steps"], concurrency=1):
        wait_until(lambda: state(queue, j.id) == "failed", what="crash")
    job = queue.get(j.id)
    assert job.error_code == "worker_crashed" and job.checkpoint == {"done": 1}


@pytest.mark.parametrize("ignore_cancel", [False, True])
def test_cancel_running_job_stops_it_quickly(
    queue: JobQueue, tmp_path: Path, ignore_cancel: bool
) -> None:
    j = queue.enqueue(NewJob("test.sleep", {"seconds": 60, "ignore_cancel": ignore_cancel}))[0]
    with running_worker(queue, tmp_path, kinds=["test.sleep"], concurrency=1):
        wait_until(lambda: state(queue, j.id) == "running", what="start")
        asked = time.monotonic()
        queue.cancel(j.id)
        wait_until(lambda: state(queue, j.id) == "cancelled", timeout=5, what="cancellation")
        took = time.monotonic() - asked
    assert took < 3.0, f"cancellation took {took:.2f}s"


def test_breaker_opens_after_consecutive_failures(
    queue: JobQueue, store: Store, tmp_path: Path
) -> None:
    bad = [
        queue.enqueue(NewJob("test.steps", {"steps": 1, "fail_times": 9}, max_attempts=1))[0].id
        for _ in range(3)
    ]
    with running_worker(
        queue,
        tmp_path,
        kinds=["test.steps"],
        concurrency=1,
        breaker_failures=2,
        breaker_cooldown_seconds=3600,
    ):
        wait_until(lambda: sum(state(queue, i) == "failed" for i in bad) == 2, what="two failures")
        wait_until(
            lambda: breaker_states(store).get("test.steps", {}).get("state") == "open",
            what="open breaker",
        )
        # The third job stays queued while the breaker is open.
        time.sleep(0.3)  # a few poll cycles with nothing to observe but absence
        assert sum(state(queue, i) == "queued" for i in bad) == 1


def test_graceful_shutdown_hands_back_unfinished_jobs(queue: JobQueue, tmp_path: Path) -> None:
    j = queue.enqueue(NewJob("test.sleep", {"seconds": 60}, max_attempts=1))[0]
    with running_worker(
        queue, tmp_path, kinds=["test.sleep"], concurrency=1, shutdown_grace_seconds=0.2
    ):
        wait_until(lambda: state(queue, j.id) == "running", what="start")
    back = queue.get(j.id)
    assert back.state == "queued" and back.attempts_spent == 0


def test_snooze_from_inline_generator(queue: JobQueue, tmp_path: Path) -> None:
    j = queue.enqueue(NewJob("test.snooze", {"times": 2}, max_attempts=1))[0]
    with running_worker(queue, tmp_path, kinds=["test.snooze"], concurrency=1):
        wait_until(lambda: state(queue, j.id) == "succeeded", what="snoozed job")
    done = queue.get(j.id)
    assert done.result == {"snoozed": 2} and done.attempt == 3 and done.attempts_spent == 1


def test_fan_out_children_then_merge(queue: JobQueue, tmp_path: Path) -> None:
    parent = queue.enqueue(NewJob("test.fan", {"parts": 4}))[0]
    with running_worker(queue, tmp_path / "store", kinds=["test.fan"], concurrency=2):
        wait_until(lambda: state(queue, parent.id) == "succeeded", what="fan-out and merge")
    children = queue.children(parent.id)
    assert [c["input"]["part"] for c in children] == [0, 1, 2, 3]
    assert all(
        c["state"] == "succeeded" and c["result"] == {"part": c["input"]["part"]} for c in children
    )
    [merged] = [a for a in queue.artifacts(parent.id) if a["name"] == "merged.txt"]
    assert (tmp_path / "store" / merged["key"]).read_bytes() == b"<0><1><2><3>"
    done = queue.get(parent.id)
    assert done.result == {"merged": 4} and done.attempts_spent == 1


def test_fan_out_child_failure_fails_the_parent(queue: JobQueue, tmp_path: Path) -> None:
    parent = queue.enqueue(NewJob("test.fan", {"parts": 3, "fail_part": 1}, max_attempts=1))[0]
    with running_worker(queue, tmp_path, kinds=["test.fan"], concurrency=2):
        wait_until(lambda: state(queue, parent.id) == "failed", what="the parent to fail")
    assert queue.get(parent.id).error_code == "child_failed"


def test_cancelling_a_fanned_out_job_cancels_its_children(queue: JobQueue, store: Store) -> None:
    from renderhouse.queue import attempts

    parent = queue.enqueue(NewJob("test.fan", {"parts": 3}))[0]
    c = queue.claim(["test.fan"], 1, "w")[0]
    with store.begin() as conn:
        attempts.fan_out(
            conn, store.dialect, parent.id, c.attempt, [{"part": i} for i in range(3)], 0.0
        )
    queue.cancel(parent.id)
    assert state(queue, parent.id) == "cancelled"
    assert {ch["state"] for ch in queue.children(parent.id)} == {"cancelled"}
