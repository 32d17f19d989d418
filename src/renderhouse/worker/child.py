"""The child process side of the pool: imports generators once, keeps their instances
(and whatever they cache) warm, and runs one job at a time, reporting over a pipe."""

from __future__ import annotations

import hashlib
import logging
import os
import queue as thread_queue
import threading
import time
from contextlib import AbstractContextManager
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from renderhouse.generators import spending
from renderhouse.generators.base import Registry
from renderhouse.generators.context import ArtifactRef, Cancelled
from renderhouse.storage import open_storage
from renderhouse.worker import limits, metering, outcome


class _Channel:
    """Pipe to the parent; a reader thread routes acks to waiters and flags cancels."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.jobs: thread_queue.Queue[dict[str, Any]] = thread_queue.Queue()
        self.acks: thread_queue.Queue[dict[str, Any]] = thread_queue.Queue()
        self.cancel = threading.Event()
        self._send_lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True, name="rh-child-reader").start()

    def _read(self) -> None:
        while True:
            try:
                msg = self.conn.recv()
            except (EOFError, OSError):
                os._exit(0)  # parent gone: nothing left to report to
            kind = msg["t"]
            if kind == "cancel":
                self.cancel.set()
            elif kind == "ack":
                self.acks.put(msg)
            else:
                self.jobs.put(msg)

    def send(self, msg: dict[str, Any]) -> None:
        with self._send_lock:
            self.conn.send(msg)

    def call(self, msg: dict[str, Any]) -> dict[str, Any]:
        """Send and wait until the parent has made it durable (or refused it: raised here,
        StaleAttempt unless the ack names another error)."""
        self.send(msg)
        ack = self.acks.get()
        if not ack["ok"]:
            raise metering.refusal(ack)
        return ack


class _Checkpoint:
    def __init__(self, ch: _Channel, state: dict[str, Any] | None) -> None:
        self._ch, self._state = ch, state

    def load(self) -> dict[str, Any] | None:
        return self._state

    def save(self, state: dict[str, Any]) -> None:
        self._ch.call({"t": "checkpoint", "state": state})
        self._state = state


class _Artifacts:
    def __init__(self, ch: _Channel, storage_url: str, job_id: str, existing: list[dict[str, Any]]):
        self._ch = ch
        self._storage = open_storage(storage_url)
        self._prefix = f"jobs/{job_id}/"
        self._existing = {a["name"]: ArtifactRef(**a) for a in existing}

    def _record(self, name: str, size: int, digest: str, content_type: str) -> ArtifactRef:
        ref = ArtifactRef(name, self._prefix + name, content_type, size, digest)
        self._ch.call({"t": "artifact", "ref": ref.__dict__})
        self._existing[name] = ref
        return ref

    def put_bytes(self, name: str, data: bytes, content_type: str) -> ArtifactRef:
        size = self._storage.put_bytes(self._prefix + name, data, content_type)
        return self._record(name, size, hashlib.sha256(data).hexdigest(), content_type)

    def put_file(self, name: str, path: Path, content_type: str) -> ArtifactRef:
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        size = self._storage.put_file(self._prefix + name, Path(path), content_type)
        return self._record(name, size, digest.hexdigest(), content_type)

    def existing(self) -> dict[str, ArtifactRef]:
        return dict(self._existing)

    def read(self, ref: ArtifactRef) -> bytes:
        with self._storage.open(ref.key) as fh:
            return fh.read()


class ChildContext:
    """``renderhouse.generators.context.Context`` for a job running in a pool child."""

    def __init__(self, ch: _Channel, job: dict[str, Any]) -> None:
        self.job_id: str = job["job_id"]
        self.attempt: int = job["attempt"]
        self.deadline: float = job["deadline"]
        self.log = logging.getLogger(f"renderhouse.job.{job['kind']}")
        self.checkpoint = _Checkpoint(ch, job["checkpoint"])
        self.artifacts = _Artifacts(ch, job["storage_url"], self.job_id, job["artifacts"])
        self._ch = ch
        self._children: list[dict[str, Any]] = job.get("children", [])
        self._meter = metering.PipeMeter(ch.call)

    def progress(self, done: float, total: float, message: str = "") -> None:
        self._ch.send({"t": "progress", "done": done, "total": total, "message": message})

    def children(self) -> list[dict[str, Any]]:
        return [
            {**c, "artifacts": {a["name"]: ArtifactRef(**a) for a in c["artifacts"]}}
            for c in self._children
        ]

    @property
    def cancelled(self) -> bool:
        return self._ch.cancel.is_set()

    def raise_if_cancelled(self) -> None:
        if self._ch.cancel.is_set():
            raise Cancelled("the job was cancelled")

    def spend(
        self, estimate: int, *, provider: str | None = None
    ) -> AbstractContextManager[spending.PaidCall]:
        return spending.spend(self._meter, estimate, provider)


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
    ch.send({"t": "ready", "pid": os.getpid()})
    while True:
        job = ch.jobs.get()
        if job["t"] == "stop":
            return
        ch.cancel.clear()
        started = time.monotonic()
        try:
            gen = registry.get(job["kind"])
            res = gen.resources
            cpu = limits.cpu_seconds_for(job["deadline"] - time.time(), res.cpu)
            job_limits.apply(res.memory_mb, cpu)
            value = gen.run(ChildContext(ch, job), gen.parse_input(job["input"]))
            job_limits.lift()
            msg = outcome.from_return(value)
        except BaseException as exc:  # everything a generator raises is reported, not fatal
            job_limits.lift()  # reporting must not fail for want of the job's memory
            msg = outcome.from_exception(exc)
        msg["elapsed"] = time.monotonic() - started
        ch.send(msg)
