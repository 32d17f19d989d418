"""Run a light (I/O-bound, ``async def run``) generator on the worker's event loop."""

from __future__ import annotations

import asyncio
import inspect
import time
from typing import Any

from renderhouse.errors import StaleAttempt
from renderhouse.generators import spending
from renderhouse.generators.base import Generator
from renderhouse.generators.context import ArtifactRef
from renderhouse.generators.job_context import JobContext
from renderhouse.generators.language import LanguageModels
from renderhouse.queue.queue import JobQueue
from renderhouse.storage.base import Storage
from renderhouse.worker import messages, outcome
from renderhouse.worker.isolated import Running


class QueueReporter:
    """A job on the worker's event loop reports straight to the queue (fenced by attempt).
    Earlier attempts' artifacts are read when first asked for: most jobs never ask, and
    reading them for every job cost a query per job on the worker's hottest path."""

    def __init__(self, queue: JobQueue, run: Running) -> None:
        self._queue, self._job = queue, run.job

    def progress(self, done: float, total: float, message: str) -> None:
        self._queue.progress(self._job.id, self._job.attempt, done, total, message)

    def save_checkpoint(self, state: dict[str, Any]) -> None:
        self._queue.save_checkpoint(self._job.id, self._job.attempt, state)

    def record_artifact(self, ref: ArtifactRef) -> None:
        self._queue.add_artifact(self._job.id, self._job.attempt, ref.__dict__)

    def earlier_artifacts(self) -> dict[str, ArtifactRef]:
        return {
            a["name"]: ArtifactRef(a["name"], a["key"], a["content_type"], a["size"], a["sha256"])
            for a in self._queue.artifacts(self._job.id)
        }

    def children(self) -> list[dict[str, Any]]:
        return self._queue.children(self._job.id)


def inline_context(
    queue: JobQueue,
    run: Running,
    storage: Storage,
    meter: spending.Meter | None = None,
    llm: LanguageModels | None = None,
) -> JobContext:
    """The context of a job run on the event loop; ``spend`` and ``progress`` block the loop
    for their database write."""
    job = run.job
    return JobContext(
        job_id=job.id,
        kind=job.kind,
        attempt=job.attempt,
        deadline=(job.attempted_at or time.time()) + job.timeout,
        reporter=QueueReporter(queue, run),
        store=storage,
        prefix=f"jobs/{job.id}/",
        checkpoint=job.checkpoint,
        cancel=run.cancel,
        meter=meter,
        llm=llm,
    )


async def run_inline(
    queue: JobQueue,
    gen: Generator,
    run: Running,
    storage: Storage,
    meter: spending.Meter | None = None,
    llm: LanguageModels | None = None,
) -> messages.Outcome:
    job = run.job
    try:
        ctx = inline_context(queue, run, storage, meter, llm)
        value = gen.run(ctx, gen.parse_input(job.input))
        if not inspect.isawaitable(value):
            return outcome.from_return(value)
        task = asyncio.ensure_future(value)
        deadline = time.monotonic() + job.timeout
        while not task.done():
            await asyncio.wait({task}, timeout=0.05)
            if task.done():
                break
            stop: messages.Outcome | None = None
            if run.lost.is_set():
                stop = messages.Lost()
            elif run.hand_back.is_set():
                stop = messages.HandedBack()
            elif run.cancel.is_set():
                stop = messages.Cancelled("cancelled by request")
            elif time.monotonic() > deadline:
                stop = outcome.timed_out(job.timeout)
            if stop is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                return stop
        return outcome.from_return(task.result())
    except StaleAttempt:
        return messages.Lost()
    except BaseException as exc:
        if isinstance(exc, asyncio.CancelledError):
            raise
        return outcome.from_exception(exc)
