"""The child process side of the pool: imports generators once, keeps their instances
(and whatever they cache) warm, and runs one job at a time, reporting over a pipe."""

from __future__ import annotations

import functools
import os
import queue as thread_queue
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from renderhouse.generators.base import Registry
from renderhouse.generators.context import ArtifactRef
from renderhouse.generators.job_context import JobContext
from renderhouse.storage import open_storage
from renderhouse.storage.base import Storage
from renderhouse.worker import language, limits, metering, outcome
from renderhouse.worker.messages import (
    Ack,
    AddArtifact,
    CancelJob,
    Progress,
    Ready,
    Replied,
    RunJob,
    SaveCheckpoint,
    Settle,
    Spend,
    Stop,
)


class _Channel:
    """Pipe to the parent; a reader thread routes acks to waiters and flags cancels."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.jobs: thread_queue.Queue[RunJob | Stop] = thread_queue.Queue()
        self.acks: thread_queue.Queue[Ack] = thread_queue.Queue()
        self.replies: thread_queue.Queue[Replied] = thread_queue.Queue()
        self.cancel = threading.Event()
        self._send_lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True, name="rh-child-reader").start()

    def _read(self) -> None:
        while True:
            try:
                msg = self.conn.recv()
            except (EOFError, OSError):
                os._exit(0)  # parent gone: nothing left to report to
            match msg:
                case CancelJob():
                    self.cancel.set()
                case Ack():
                    self.acks.put(msg)
                case Replied():
                    self.replies.put(msg)
                case RunJob() | Stop():
                    self.jobs.put(msg)

    def send(self, msg: Any) -> None:
        with self._send_lock:
            self.conn.send(msg)

    def call(self, msg: SaveCheckpoint | AddArtifact | Spend | Settle) -> Ack:
        """Send and wait until the parent has made it durable (or refused it: raised here,
        StaleAttempt unless the ack names another error)."""
        self.send(msg)
        ack = self.acks.get()
        if not ack.ok:
            raise metering.refusal(ack)
        return ack


class PipeReporter:
    """A pool child's reports go over the pipe; checkpoints and artifacts wait for the
    parent's acknowledgement (durable, or refused as a stale attempt)."""

    def __init__(self, ch: _Channel, job: RunJob) -> None:
        self._ch, self._job = ch, job

    def progress(self, done: float, total: float, message: str) -> None:
        self._ch.send(Progress(done, total, message))

    def save_checkpoint(self, state: dict[str, Any]) -> None:
        self._ch.call(SaveCheckpoint(state))

    def record_artifact(self, ref: ArtifactRef) -> None:
        self._ch.call(AddArtifact(ref.__dict__))

    def earlier_artifacts(self) -> dict[str, ArtifactRef]:
        return {a["name"]: ArtifactRef(**a) for a in self._job.artifacts}

    def children(self) -> list[dict[str, Any]]:
        return self._job.children


def child_context(ch: _Channel, job: RunJob) -> JobContext:
    """The context of a job in this child; ``storage_url`` is opened once per URL."""
    return JobContext(
        job_id=job.job_id,
        kind=job.kind,
        attempt=job.attempt,
        deadline=job.deadline,
        reporter=PipeReporter(ch, job),
        store=_storage(job.storage_url),
        prefix=f"jobs/{job.job_id}/",
        checkpoint=job.checkpoint,
        cancel=ch.cancel,
        meter=metering.PipeMeter(ch.call),
        llm=language.PipeLanguageModels(ch.send, ch.replies.get),
    )


@functools.cache
def _storage(url: str) -> Storage:
    return open_storage(url)


def child_main(conn: Connection, generators: list[tuple[str, str]]) -> None:
    """Entry point of a pool child (spawned, so it starts clean of the parent's threads)."""
    import importlib

    classes = []
    for _kind, path in generators:
        module, _, attr = path.partition(":")
        classes.append(getattr(importlib.import_module(module), attr))
    registry = Registry(classes)
    ch = _Channel(conn)
    job_limits = limits.JobLimits()
    ch.send(Ready(os.getpid()))
    while True:
        job = ch.jobs.get()
        if isinstance(job, Stop):
            return
        ch.cancel.clear()
        try:
            gen = registry.get(job.kind)
            res = gen.resources
            cpu = limits.cpu_seconds_for(job.deadline - time.time(), res.cpu)
            job_limits.apply(res.memory_mb, cpu)
            value = gen.run(child_context(ch, job), gen.parse_input(job.input))
            job_limits.lift()
            result = outcome.from_return(value)
        except BaseException as exc:  # everything a generator raises is reported, not fatal
            job_limits.lift()  # reporting must not fail for want of the job's memory
            result = outcome.from_exception(exc)
        ch.send(result)
