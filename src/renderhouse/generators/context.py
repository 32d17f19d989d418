"""What a running generator may touch: progress, checkpoint, artifacts, cancellation,
deadline, a logger, paid calls under budget (``spend``) and language-model calls through
the deployment's model registry (``llm``), and nothing else (never the queue, the ledger
or the database)."""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from renderhouse.errors import RenderhouseError
from renderhouse.generators.language import LanguageModels
from renderhouse.generators.spending import PaidCall


class Cancelled(RenderhouseError):
    """Raised inside a generator by ``ctx.raise_if_cancelled()``; the job ends cancelled."""

    code = "cancelled"


@dataclass(frozen=True)
class ArtifactRef:
    name: str
    key: str
    content_type: str
    size: int
    sha256: str


class Checkpoint(Protocol):
    def load(self) -> dict[str, Any] | None:
        """The state saved by an earlier attempt of this job, or None."""

    def save(self, state: dict[str, Any]) -> None:
        """Keep ``state`` (small, JSON) with the job; durable once this returns."""


class Artifacts(Protocol):
    def put_bytes(self, name: str, data: bytes, content_type: str) -> ArtifactRef: ...

    def put_file(self, name: str, path: Path, content_type: str) -> ArtifactRef: ...

    def existing(self) -> dict[str, ArtifactRef]:
        """Artifacts already written by earlier attempts (for resuming)."""

    def read(self, ref: ArtifactRef) -> bytes:
        """The bytes of an artifact of this job or of one of its children."""


class Context(Protocol):
    job_id: str
    attempt: int
    deadline: float
    """Epoch seconds after which the attempt is killed."""
    log: logging.Logger

    @property
    def checkpoint(self) -> Checkpoint: ...

    @property
    def artifacts(self) -> Artifacts: ...

    @property
    def llm(self) -> LanguageModels:
        """Completions from the model registry, charged to the job's owner
        (``renderhouse.generators.language`` has the contract)."""

    def progress(self, done: float, total: float, message: str = "") -> None: ...

    def children(self) -> list[dict[str, Any]]:
        """After a ``FanOut``: each child's ``id``, ``state``, ``result``, ``input`` and
        ``artifacts`` (name → ArtifactRef), in the order they were spawned."""

    @property
    def cancelled(self) -> bool: ...

    def raise_if_cancelled(self) -> None: ...

    def spend(
        self, estimate: int, *, provider: str | None = None
    ) -> AbstractContextManager[PaidCall]:
        """Hold ``estimate`` against the job's budgets for one paid call; settle the actual
        cost on the yielded call (``renderhouse.generators.spending`` has the contract)."""
