"""Run a light (I/O-bound, ``async def run``) generator on the worker's event loop."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import logging
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from renderhouse.errors import StaleAttempt
from renderhouse.generators import spending
from renderhouse.generators.base import Generator
from renderhouse.generators.context import ArtifactRef, Cancelled
from renderhouse.queue.queue import JobQueue
from renderhouse.storage.base import Storage
from renderhouse.worker import outcome
from renderhouse.worker.isolated import Running


class _Checkpoint:
    def __init__(self, queue: JobQueue, run: Running) -> None:
        self._queue, self._run, self._state = queue, run, run.job.checkpoint

    def load(self) -> dict[str, Any] | None:
        return self._state

    def save(self, state: dict[str, Any]) -> None:
        self._queue.save_checkpoint(self._run.job.id, self._run.job.attempt, state)
        self._state = state


class _Artifacts:
    """Earlier attempts' artifacts are read when first asked for: most jobs never ask, and
    reading them for every job cost a query per job on the worker's hottest path."""

    def __init__(self, queue: JobQueue, run: Running, storage: Storage) -> None:
        self._queue, self._run, self._storage = queue, run, storage
        self._prefix = f"jobs/{run.job.id}/"
        self._earlier: dict[str, ArtifactRef] | None = None
        self._added: dict[str, ArtifactRef] = {}

    def _record(self, ref: ArtifactRef) -> ArtifactRef:
        self._queue.add_artifact(self._run.job.id, self._run.job.attempt, ref.__dict__)
        self._added[ref.name] = ref
        return ref

    def put_bytes(self, name: str, data: bytes, content_type: str) -> ArtifactRef:
        size = self._storage.put_bytes(self._prefix + name, data, content_type)
        digest = hashlib.sha256(data).hexdigest()
        return self._record(ArtifactRef(name, self._prefix + name, content_type, size, digest))

    def put_file(self, name: str, path: Path, content_type: str) -> ArtifactRef:
        size = self._storage.put_file(self._prefix + name, path, content_type)
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        return self._record(ArtifactRef(name, self._prefix + name, content_type, size, digest))

    def existing(self) -> dict[str, ArtifactRef]:
        if self._earlier is None:
            self._earlier = {
                a["name"]: ArtifactRef(
                    a["name"], a["key"], a["content_type"], a["size"], a["sha256"]
                )
                for a in self._queue.artifacts(self._run.job.id)
            }
        return {**self._earlier, **self._added}

    def read(self, ref: ArtifactRef) -> bytes:
        with self._storage.open(ref.key) as fh:
            return fh.read()


class InlineContext:
    def __init__(
        self, queue: JobQueue, run: Running, storage: Storage, meter: spending.Meter | None = None
    ) -> None:
        self.job_id = run.job.id
        self.attempt = run.job.attempt
        self.deadline = (run.job.attempted_at or time.time()) + run.job.timeout
        self.log = logging.getLogger(f"renderhouse.job.{run.job.kind}")
        self.checkpoint = _Checkpoint(queue, run)
        self.artifacts = _Artifacts(queue, run, storage)
        self._queue, self._run = queue, run
        self._meter = meter or spending.Unmetered()

    def progress(self, done: float, total: float, message: str = "") -> None:
        self._queue.progress(self.job_id, self.attempt, done, total, message)

    def children(self) -> list[dict[str, Any]]:
        return [
            {**c, "artifacts": {a["name"]: ArtifactRef(**a) for a in c["artifacts"]}}
            for c in self._queue.children(self.job_id)
        ]

    @property
    def cancelled(self) -> bool:
        return self._run.cancel.is_set()

    def raise_if_cancelled(self) -> None:
        if self._run.cancel.is_set():
            raise Cancelled("the job was cancelled")

    def spend(
        self, estimate: int, *, provider: str | None = None
    ) -> AbstractContextManager[spending.PaidCall]:
        """Blocks the event loop for its database write, like ``progress`` does."""
        return spending.spend(self._meter, estimate, provider)


async def run_inline(
    queue: JobQueue,
    gen: Generator,
    run: Running,
    storage: Storage,
    meter: spending.Meter | None = None,
) -> dict[str, Any]:
    job = run.job
    try:
        ctx = InlineContext(queue, run, storage, meter)
        value = gen.run(ctx, gen.parse_input(job.input))
        if not inspect.isawaitable(value):
            return outcome.from_return(value)
        task = asyncio.ensure_future(value)
        deadline = time.monotonic() + job.timeout
        while not task.done():
            await asyncio.wait({task}, timeout=0.05)
            if task.done():
                break
            stop = None
            if run.lost.is_set():
                stop = {"t": "lost"}
            elif run.hand_back.is_set():
                stop = {"t": "handed_back"}
            elif run.cancel.is_set():
                stop = {"t": "cancelled", "reason": "cancelled by request"}
            elif time.monotonic() > deadline:
                stop = {
                    "t": "error",
                    "code": "timeout",
                    "retryable": True,
                    "retry_after": None,
                    "message": f"the job ran longer than its timeout of {job.timeout:g} s",
                    "traceback": None,
                }
            if stop is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                return stop
        return outcome.from_return(task.result())
    except StaleAttempt:
        return {"t": "lost"}
    except BaseException as exc:
        if isinstance(exc, asyncio.CancelledError):
            raise
        return outcome.from_exception(exc)
