"""Maintenance duty: put back running jobs whose lease expired (their worker was killed or
cut off). The job resumes from its checkpoint; the lost attempt counts as a failure."""

from __future__ import annotations

import logging

from renderhouse.errors import StaleAttempt
from renderhouse.queue import attempts
from renderhouse.queue.jobs import Job
from renderhouse.queue.queue import JobQueue

log = logging.getLogger(__name__)


def rescue(queue: JobQueue, limit: int = 100) -> list[Job]:
    """One pass; returns the jobs as they are after being rescued."""
    rescued: list[Job] = []
    with queue.store.begin() as conn:
        now = queue.clock.now()
        for job in attempts.expired(conn, queue.store.dialect, now, limit):
            try:
                after = attempts.fail(
                    conn,
                    job.id,
                    job.attempt,
                    "lease_expired",
                    f"worker {job.worker_id} stopped renewing its lease on attempt {job.attempt}",
                    now,
                    queue.policy,
                    queue.terminal_hooks,
                    retry_after=0.0,
                )
            except StaleAttempt:
                continue
            log.warning(
                "rescued job %s (attempt %s) from worker %s", job.id, job.attempt, job.worker_id
            )
            rescued.append(after)
    return rescued
