"""Group commit of job completions: completions that arrive while one batch is being
written are written together in the next, so a busy worker pays one transaction for many
jobs instead of one each (and an idle one adds no delay)."""

from __future__ import annotations

import asyncio
from typing import Any

from renderhouse.errors import StaleAttempt
from renderhouse.queue.jobs import Job
from renderhouse.queue.queue import JobQueue

MAX_BATCH = 500
Item = tuple[str, int, dict[str, Any], int | None]


class BatchCompleter:
    def __init__(self, queue: JobQueue) -> None:
        self.queue = queue
        self._pending: list[tuple[Item, asyncio.Future[Job]]] = []
        self._flushing = False
        self._task: asyncio.Task[None] | None = None

    async def complete(
        self, job_id: str, attempt: int, result: dict[str, Any], cost: int | None
    ) -> Job:
        """Durable when this returns; raises StaleAttempt if the job was no longer ours."""
        fut: asyncio.Future[Job] = asyncio.get_running_loop().create_future()
        self._pending.append(((job_id, attempt, result, cost), fut))
        if not self._flushing:
            self._flushing = True
            self._task = asyncio.create_task(self._flush())
        return await fut

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                try:
                    done = await asyncio.to_thread(self.queue.complete_many, [i for i, _ in batch])
                except Exception as exc:
                    for _, fut in batch:
                        if not fut.done():
                            fut.set_exception(exc)
                    continue
                for (job_id, attempt, _, _), fut in batch:
                    if fut.done():
                        continue
                    if job_id in done:
                        fut.set_result(done[job_id])
                    else:
                        fut.set_exception(
                            StaleAttempt(
                                f"attempt {attempt} of job {job_id} is no longer current",
                                details={"job_id": job_id, "attempt": attempt},
                            )
                        )
        finally:
            self._flushing = False
