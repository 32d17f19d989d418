"""A context for running a generator directly, with no server or queue (the CLI commands,
plugin tests): artifacts go to a directory, checkpoints to a JSON file, progress to a
callback. It is ``JobContext`` with a reporter and a store on the local disk."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from renderhouse.generators import spending
from renderhouse.generators.context import ArtifactRef
from renderhouse.generators.job_context import JobContext
from renderhouse.generators.language import LanguageModels, installed_language_models

ProgressFn = Callable[[float, float, str], None]


class DirectoryStore:
    """Artifact bytes as files under ``root``; a key is the file's absolute path."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _target(self, key: str) -> Path:
        target = Path(key).resolve()
        if not target.is_relative_to(self.root):
            raise ValueError(f"artifact {key!r} escapes the output directory {self.root}")
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def put_bytes(self, key: str, data: bytes, content_type: str) -> int:
        self._target(key).write_bytes(data)
        return len(data)

    def put_file(self, key: str, path: Path, content_type: str) -> int:
        target = self._target(key)
        if Path(path).resolve() != target:
            shutil.copyfile(path, target)
        return target.stat().st_size

    def open(self, key: str) -> IO[bytes]:
        return open(key, "rb")


class LocalReporter:
    """Progress to a callback, checkpoints to a JSON file (or memory), no earlier attempts."""

    def __init__(self, on_progress: ProgressFn | None, checkpoint_file: Path | None) -> None:
        self._on_progress, self.checkpoint_file = on_progress, checkpoint_file

    def load_checkpoint(self) -> dict[str, Any] | None:
        path = self.checkpoint_file
        if path is None or not path.exists():
            return None
        state: dict[str, Any] = json.loads(path.read_text())
        return state

    def progress(self, done: float, total: float, message: str) -> None:
        if self._on_progress is not None:
            self._on_progress(done, total, message)

    def save_checkpoint(self, state: dict[str, Any]) -> None:
        if self.checkpoint_file is not None:
            tmp = self.checkpoint_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(state))
            tmp.replace(self.checkpoint_file)

    def record_artifact(self, ref: ArtifactRef) -> None:
        pass

    def earlier_artifacts(self) -> dict[str, ArtifactRef]:
        return {}

    def children(self) -> list[dict[str, Any]]:
        return []


class LocalContext(JobContext):
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
        llm: LanguageModels | None = None,
    ) -> None:
        """``llm``: the models behind ``ctx.llm``; by default those the installed platform
        offers through its ``renderhouse.language_models`` entry point (uncharged), else
        none."""
        out_dir.mkdir(parents=True, exist_ok=True)
        store = DirectoryStore(out_dir)
        reporter = LocalReporter(on_progress, checkpoint_file)
        super().__init__(
            job_id=job_id,
            kind=job_id,
            attempt=1,
            deadline=time.time() + timeout,
            reporter=reporter,
            store=store,
            prefix=f"{store.root}/",
            checkpoint=reporter.load_checkpoint(),
            meter=meter,
            llm=llm or installed_language_models(),
        )

    def cancel(self) -> None:
        self._cancel.set()
