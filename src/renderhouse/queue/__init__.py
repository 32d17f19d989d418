"""The durable job queue: job model, enqueue, claim, retries, maintenance duties.

This is the queue's public face: code outside ``queue/`` imports these names from
``renderhouse.queue``, not from its modules. Names load on first use (PEP 562), so importing
one costs only the module that defines it and the package has no import-time cycle."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from renderhouse.queue.clock import Clock, FakeClock, SystemClock
    from renderhouse.queue.enqueue import MAX_PRIORITY, Gate, NewJob
    from renderhouse.queue.events import EVENTS_CHANNEL
    from renderhouse.queue.jobs import (
        CANCELLED,
        FAILED,
        QUEUED,
        RUNNING,
        STATES,
        SUCCEEDED,
        TERMINAL,
        Job,
        JobState,
        new_job_id,
    )
    from renderhouse.queue.periodic import PeriodicJob, enqueue_due
    from renderhouse.queue.pruner import prune
    from renderhouse.queue.queue import JobQueue
    from renderhouse.queue.rescuer import rescue
    from renderhouse.queue.retry import RetryPolicy

_HOME = {
    "Clock": "clock",
    "FakeClock": "clock",
    "SystemClock": "clock",
    "MAX_PRIORITY": "enqueue",
    "Gate": "enqueue",
    "NewJob": "enqueue",
    "EVENTS_CHANNEL": "events",
    "CANCELLED": "jobs",
    "FAILED": "jobs",
    "QUEUED": "jobs",
    "RUNNING": "jobs",
    "STATES": "jobs",
    "SUCCEEDED": "jobs",
    "TERMINAL": "jobs",
    "Job": "jobs",
    "JobState": "jobs",
    "new_job_id": "jobs",
    "PeriodicJob": "periodic",
    "enqueue_due": "periodic",
    "prune": "pruner",
    "JobQueue": "queue",
    "rescue": "rescuer",
    "RetryPolicy": "retry",
}
__all__ = [
    "CANCELLED",
    "EVENTS_CHANNEL",
    "FAILED",
    "MAX_PRIORITY",
    "QUEUED",
    "RUNNING",
    "STATES",
    "SUCCEEDED",
    "TERMINAL",
    "Clock",
    "FakeClock",
    "Gate",
    "Job",
    "JobQueue",
    "JobState",
    "NewJob",
    "PeriodicJob",
    "RetryPolicy",
    "SystemClock",
    "enqueue_due",
    "new_job_id",
    "prune",
    "rescue",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'renderhouse.queue' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"renderhouse.queue.{home}"), name)
    globals()[name] = value
    return value
