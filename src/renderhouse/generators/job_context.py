"""The one implementation of ``Context``: what differs between a job in a pool child, a job
on the worker's event loop and a generator run from the CLI is only where its reports go
(a ``Reporter``: the pipe to the worker, the queue directly, or the local disk) and where
its artifacts' bytes go (an ``ArtifactStore``). Checkpoints, artifact bookkeeping,
cancellation, the deadline and paid calls behave the same on all three, because they are
this code."""

from __future__ import annotations

import hashlib
import logging
import threading
from contextlib import AbstractContextManager
from pathlib import Path
from typing import IO, Any, Protocol

from renderhouse.generators import spending
from renderhouse.generators.context import ArtifactRef, Cancelled
from renderhouse.generators.language import LanguageModels, NoLanguageModels


class Reporter(Protocol):
    """Where a job's reports go. ``save_checkpoint`` and ``record_artifact`` return once the
    report is durable, or raise (a stale attempt is fenced off by the receiver)."""

    def progress(self, done: float, total: float, message: str) -> None: ...

    def save_checkpoint(self, state: dict[str, Any]) -> None: ...

    def record_artifact(self, ref: ArtifactRef) -> None: ...

    def earlier_artifacts(self) -> dict[str, ArtifactRef]:
        """Artifacts written by earlier attempts; asked for at most once, on first use."""

    def children(self) -> list[dict[str, Any]]:
        """A fan-out's children, as ``Context.children`` describes them (artifacts as dicts)."""


class ArtifactStore(Protocol):
    """Where artifact bytes go (``renderhouse.storage`` backends satisfy it)."""

    def put_bytes(self, key: str, data: bytes, content_type: str) -> int: ...

    def put_file(self, key: str, path: Path, content_type: str) -> int: ...

    def open(self, key: str) -> IO[bytes]: ...


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class JobArtifacts:
    """A job's artifacts under ``prefix`` in ``store``, each recorded with the reporter."""

    def __init__(self, store: ArtifactStore, prefix: str, reporter: Reporter) -> None:
        self._store, self._prefix, self._reporter = store, prefix, reporter
        self._earlier: dict[str, ArtifactRef] | None = None
        self._added: dict[str, ArtifactRef] = {}

    def _record(self, name: str, size: int, digest: str, content_type: str) -> ArtifactRef:
        ref = ArtifactRef(name, self._prefix + name, content_type, size, digest)
        self._reporter.record_artifact(ref)
        self._added[name] = ref
        return ref

    def put_bytes(self, name: str, data: bytes, content_type: str) -> ArtifactRef:
        size = self._store.put_bytes(self._prefix + name, data, content_type)
        return self._record(name, size, hashlib.sha256(data).hexdigest(), content_type)

    def put_file(self, name: str, path: Path, content_type: str) -> ArtifactRef:
        digest = sha256_of(Path(path))
        size = self._store.put_file(self._prefix + name, Path(path), content_type)
        return self._record(name, size, digest, content_type)

    def existing(self) -> dict[str, ArtifactRef]:
        if self._earlier is None:
            self._earlier = self._reporter.earlier_artifacts()
        return {**self._earlier, **self._added}

    def read(self, ref: ArtifactRef) -> bytes:
        with self._store.open(ref.key) as fh:
            return fh.read()


class JobCheckpoint:
    def __init__(self, reporter: Reporter, state: dict[str, Any] | None) -> None:
        self._reporter, self._state = reporter, state

    def load(self) -> dict[str, Any] | None:
        return self._state

    def save(self, state: dict[str, Any]) -> None:
        self._reporter.save_checkpoint(state)
        self._state = state


class JobContext:
    """``renderhouse.generators.context.Context`` over a reporter and an artifact store."""

    def __init__(
        self,
        *,
        job_id: str,
        kind: str,
        attempt: int,
        deadline: float,
        reporter: Reporter,
        store: ArtifactStore,
        prefix: str,
        checkpoint: dict[str, Any] | None = None,
        cancel: threading.Event | None = None,
        meter: spending.Meter | None = None,
        llm: LanguageModels | None = None,
    ) -> None:
        self.job_id, self.attempt, self.deadline = job_id, attempt, deadline
        self.log = logging.getLogger(f"renderhouse.job.{kind}")
        self.checkpoint = JobCheckpoint(reporter, checkpoint)
        self.artifacts = JobArtifacts(store, prefix, reporter)
        self.meter: spending.Meter = meter or spending.Unmetered()
        """No budgets unless the runner passes a meter; ``Unmetered`` adds up paid calls."""
        self.llm: LanguageModels = llm or NoLanguageModels()
        self._reporter = reporter
        self._cancel = cancel or threading.Event()

    def progress(self, done: float, total: float, message: str = "") -> None:
        self._reporter.progress(done, total, message)

    def children(self) -> list[dict[str, Any]]:
        return [
            {**c, "artifacts": {a["name"]: ArtifactRef(**a) for a in c["artifacts"]}}
            for c in self._reporter.children()
        ]

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def raise_if_cancelled(self) -> None:
        if self._cancel.is_set():
            raise Cancelled("the job was cancelled")

    def spend(
        self, estimate: int, *, provider: str | None = None
    ) -> AbstractContextManager[spending.PaidCall]:
        return spending.spend(self.meter, estimate, provider)
