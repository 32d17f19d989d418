"""A context for running a generator directly, with no server or queue (the CLI's
``renderhouse turntable``): artifacts go to a directory, checkpoints to a JSON file in it."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from renderhouse.generators import spending
from renderhouse.generators.context import ArtifactRef, Cancelled

ProgressFn = Callable[[float, float, str], None]


class DirectoryArtifacts:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._written: dict[str, ArtifactRef] = {}

    def _target(self, name: str) -> Path:
        target = (self.root / name).resolve()
        if not target.is_relative_to(self.root.resolve()):
            raise ValueError(f"artifact name {name!r} escapes the output directory")
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def put_bytes(self, name: str, data: bytes, content_type: str) -> ArtifactRef:
        target = self._target(name)
        target.write_bytes(data)
        ref = ArtifactRef(
            name, str(target), content_type, len(data), hashlib.sha256(data).hexdigest()
        )
        self._written[name] = ref
        return ref

    def put_file(self, name: str, path: Path, content_type: str) -> ArtifactRef:
        target = self._target(name)
        if Path(path).resolve() != target:
            shutil.copyfile(path, target)
        digest = hashlib.sha256()
        with open(target, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        ref = ArtifactRef(
            name, str(target), content_type, target.stat().st_size, digest.hexdigest()
        )
        self._written[name] = ref
        return ref

    def existing(self) -> dict[str, ArtifactRef]:
        return dict(self._written)

    def read(self, ref: ArtifactRef) -> bytes:
        return Path(ref.key).read_bytes()


class FileCheckpoint:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._state: dict[str, Any] | None = None

    def load(self) -> dict[str, Any] | None:
        if self._state is None and self.path is not None and self.path.exists():
            self._state = json.loads(self.path.read_text())
        return self._state

    def save(self, state: dict[str, Any]) -> None:
        self._state = state
        if self.path is not None:
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(state))
            tmp.replace(self.path)


class LocalContext:
    """Implements ``renderhouse.generators.context.Context`` in-process."""

    def __init__(
        self,
        out_dir: Path,
        *,
        timeout: float = 86_400.0,
        on_progress: ProgressFn | None = None,
        checkpoint_file: Path | None = None,
        job_id: str = "local",
        meter: spending.Meter | None = None,
    ) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        self.job_id = job_id
        self.attempt = 1
        self.deadline = time.time() + timeout
        self.log = logging.getLogger(f"renderhouse.job.{job_id}")
        self.checkpoint = FileCheckpoint(checkpoint_file)
        self.artifacts = DirectoryArtifacts(out_dir)
        self._on_progress = on_progress
        self._cancel = threading.Event()
        self.meter = meter or spending.Unmetered()
        """No budgets by default (there is no server); ``meter.spent`` adds up paid calls."""

    def progress(self, done: float, total: float, message: str = "") -> None:
        if self._on_progress is not None:
            self._on_progress(done, total, message)

    def children(self) -> list[dict[str, Any]]:
        return []

    def cancel(self) -> None:
        self._cancel.set()

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
