"""Failure classes and resource limits (issue 14): one owner's failing jobs throttle that
owner alone, input errors count nowhere, and a pool child's memory and CPU-time limits end
a job with ``resource_limit`` while the worker lives on."""

from __future__ import annotations

import resource
from pathlib import Path

import pytest

from renderhouse.errors import InvalidInput, ModelError, RenderhouseError
from renderhouse.queue.clock import FakeClock
from renderhouse.queue.enqueue import NewJob
from renderhouse.queue.queue import JobQueue
from renderhouse.queue.retry import RetryPolicy
from renderhouse.store.database import Store
from renderhouse.worker import failures, outcome
from renderhouse.worker.breaker import CLOSED, OPEN, CircuitBreaker
from renderhouse.worker.messages import Failed
from renderhouse.worker.owner_budget import OwnerBudget
from renderhouse.worker.registration import breaker_states
from tests.integration.running import running_worker, wait_until


@pytest.fixture
def queue(store: Store) -> JobQueue:
    return JobQueue(store, policy=RetryPolicy(base=0.01, jitter=0))


class _Unrenderable(RenderhouseError):
    caller_fault = True
    code = "unrenderable"


def test_input_errors_are_final_and_the_callers_fault() -> None:
    for exc in (
        ModelError("bad accessor", code="accessor_out_of_bounds"),
        InvalidInput("frames must be positive"),
        _Unrenderable("no"),
    ):
        msg = outcome.from_exception(exc)
        assert isinstance(msg, Failed)
        assert msg.retryable is False and failures.fault_of(msg) == failures.CALLER
    crash = outcome.from_exception(RuntimeError("boom"))
    assert isinstance(crash, Failed)
    assert crash.retryable is True and failures.fault_of(crash) == failures.SUSPECT
    assert failures.fault_of(Failed("worker_crashed", "died")) == failures.SUSPECT
    mem = outcome.from_exception(MemoryError())
    assert isinstance(mem, Failed)
    assert mem.code == "resource_limit" and mem.retryable is False


def test_one_owners_crashes_do_not_open_the_kinds_breaker() -> None:
    b = CircuitBreaker("turntable", FakeClock(), threshold=3)
    for _ in range(9):
        b.on_failure("mallory", suspect=True)
    assert b.state == CLOSED
    b.on_failure("alice", suspect=True)
    assert b.state == OPEN, "crashes from two owners do say the kind is unhealthy"


def test_owner_budget_throttles_and_forgives() -> None:
    clock = FakeClock()
    budget = OwnerBudget(clock, failures=3, window=60, cooldown=10)
    assert [budget.on_failure("m") for _ in range(3)] == [False, False, True]
    assert set(budget.throttled()) == {"m"}
    clock.advance(11)
    assert budget.throttled() == {}
    assert [budget.on_failure("m") for _ in range(3)][-1] is True
    assert budget.throttled()["m"] == pytest.approx(clock.now() + 20), "the pause doubles"


def test_nine_crashing_jobs_from_one_owner_leave_another_owners_job_alone(
    queue: JobQueue, store: Store, tmp_path: Path
) -> None:
    """Before issue 14 the third crash opened the kind's breaker for its whole cooldown (an
    hour here) and the other owner's job waited behind it."""
    bad = [
        j.id
        for j, _ in queue.enqueue_many(
            [NewJob("test.hog", {"crash": True}, owner="mallory", max_attempts=1) for _ in range(9)]
        )
    ]
    with running_worker(
        queue,
        tmp_path,
        kinds=["test.hog"],
        concurrency=1,
        breaker_failures=3,
        breaker_cooldown_seconds=3600,
        owner_failures=5,
        owner_cooldown_seconds=3600,
    ) as worker:
        wait_until(lambda: sum(queue.get(i).state == "failed" for i in bad) >= 5, what="crashes")
        wait_until(lambda: "mallory" in worker.owners.throttled(), what="mallory's throttle")
        assert worker.breakers["test.hog"].state == CLOSED
        good = queue.enqueue(NewJob("test.hog", {"allocate_mb": 16}, owner="alice"))[0]
        wait_until(lambda: queue.get(good.id).state == "succeeded", what="alice's job")
        states = [queue.get(i).state for i in bad]
    assert states.count("failed") == 5 and states.count("queued") == 4, states
    assert breaker_states(store).get("test.hog", {}).get("state") != OPEN
    assert {queue.get(i).error_code for i in bad if queue.get(i).state == "failed"} == {
        "generator_error"
    }


def test_memory_cap_ends_the_job_and_the_worker_lives_on(queue: JobQueue, tmp_path: Path) -> None:
    hog = queue.enqueue(NewJob("test.hog", {}, max_attempts=3))[0]
    with running_worker(queue, tmp_path, kinds=["test.hog"], concurrency=1) as worker:
        wait_until(lambda: queue.get(hog.id).state == "failed", what="the hog to be stopped")
        after = queue.enqueue(NewJob("test.hog", {"allocate_mb": 32}))[0]
        wait_until(lambda: queue.get(after.id).state == "succeeded", what="the next job")
        assert worker.pool is not None and worker.pool.replaced == 1
    failed = queue.get(hog.id)
    assert failed.error_code == "resource_limit" and "memory" in (failed.error_message or "")
    assert len(queue.attempts(hog.id)) == 1, "a resource limit is final"
    result = queue.get(after.id).result or {}
    assert result["rlimit_as"] != resource.RLIM_INFINITY
    assert result["rlimit_cpu"] != resource.RLIM_INFINITY


def test_cpu_limit_signal_ends_the_job_as_resource_limit(queue: JobQueue, tmp_path: Path) -> None:
    j = queue.enqueue(NewJob("test.hog", {"xcpu": True}, max_attempts=3))[0]
    with running_worker(queue, tmp_path, kinds=["test.hog"], concurrency=1):
        wait_until(lambda: queue.get(j.id).state == "failed", what="the CPU-limited job")
        after = queue.enqueue(NewJob("test.hog", {"allocate_mb": 16}))[0]
        wait_until(lambda: queue.get(after.id).state == "succeeded", what="the next job")
    failed = queue.get(j.id)
    assert failed.error_code == "resource_limit" and "CPU time" in (failed.error_message or "")
