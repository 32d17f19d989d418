"""Maintenance duties against the real store: pruner and periodic jobs."""

from __future__ import annotations

from typing import Any

import pytest

from renderhouse.errors import InvalidInput
from renderhouse.queue.clock import FakeClock
from renderhouse.queue.enqueue import NewJob
from renderhouse.queue.periodic import PeriodicJob, enqueue_due
from renderhouse.queue.pruner import prune
from renderhouse.queue.queue import JobQueue
from renderhouse.store.database import Store


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_800_000_000.0)  # 2027-01-15 08:00:00 UTC


@pytest.fixture
def queue(store: Store, clock: FakeClock) -> JobQueue:
    return JobQueue(store, clock=clock)


def test_pruner_deletes_only_finished_jobs_past_retention(
    queue: JobQueue, clock: FakeClock
) -> None:
    old = queue.enqueue(NewJob("noop", {}))[0]
    c = queue.claim(["noop"], 1, "w")[0]
    queue.add_artifact(
        old.id,
        c.attempt,
        {"name": "a", "key": "jobs/a", "content_type": "x", "size": 1, "sha256": "0"},
    )
    queue.complete(old.id, c.attempt)
    waiting = queue.enqueue(NewJob("noop", {}, run_at=clock.now() + 10 * 86_400))[0]
    clock.advance(8 * 86_400)
    recent = queue.enqueue(NewJob("noop", {}))[0]
    queue.cancel(recent.id)
    deleted: list[dict[str, Any]] = []
    assert prune(queue, 7 * 86_400, deleted.append) == 1
    assert [a["key"] for a in deleted] == ["jobs/a"]
    remaining = {j.id for j in queue.list_jobs()}
    assert remaining == {waiting.id, recent.id}
    assert queue.events(old.id) == [] and queue.attempts(old.id) == []


def test_periodic_job_is_enqueued_once_per_slot(store: Store, clock: FakeClock) -> None:
    queues = [JobQueue(store, clock=clock) for _ in range(3)]  # three workers running the duty
    schedule = [PeriodicJob("hourly-noop", "0 * * * *", "noop", {"message": "tick"})]
    made = [i for q in queues for i in enqueue_due(q, schedule)]
    assert len(made) == 1
    clock.advance(30 * 60)
    assert [i for q in queues for i in enqueue_due(q, schedule)] == []
    clock.advance(30 * 60)
    assert len([i for q in queues for i in enqueue_due(q, schedule)]) == 1
    jobs = queues[0].list_jobs(kind="noop")
    assert len(jobs) == 2 and all(j.input == {"message": "tick"} for j in jobs)


def test_periodic_job_rejects_a_bad_cron() -> None:
    with pytest.raises(InvalidInput, match="bad cron"):
        PeriodicJob("x", "61 * * * *", "noop")
