"""Test support: run a real Worker on a background thread; wait on conditions, not sleeps."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from renderhouse.generators.base import Registry
from renderhouse.generators.noop import NoopGenerator
from renderhouse.generators.testing import TEST_GENERATORS
from renderhouse.queue.queue import JobQueue
from renderhouse.storage.local import LocalStorage
from renderhouse.worker.maintenance import Maintenance
from renderhouse.worker.worker import Worker, WorkerConfig


def wait_until(
    predicate: Callable[[], object], timeout: float = 30.0, what: str = "condition"
) -> None:
    """Poll a condition (every 20 ms) until it holds; fail with ``what`` on timeout."""
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def test_registry() -> Registry:
    from renderhouse.generators.turntable import TurntableGenerator

    return Registry([NoopGenerator, TurntableGenerator, *TEST_GENERATORS])


@contextmanager
def running_worker(
    queue: JobQueue, storage_dir: Path, *, maintenance: bool = False, **config: object
) -> Iterator[Worker]:
    registry = test_registry()
    cfg = WorkerConfig(kinds=config.pop("kinds", registry.kinds()), **config)  # type: ignore[arg-type]
    worker = Worker(
        queue,
        registry,
        LocalStorage(storage_dir),
        cfg,
        Maintenance(queue, rescue_every=0.2) if maintenance else None,
    )
    with running(worker):
        yield worker


@contextmanager
def running(worker: Worker) -> Iterator[Worker]:
    """Run an already built ``worker`` on a thread; stop it (and check it stopped) after."""
    thread = threading.Thread(target=asyncio.run, args=(worker.run(),), daemon=True)
    thread.start()
    wait_until(lambda: worker._loop is not None, what="the worker loop")
    try:
        yield worker
    finally:
        worker.stop_threadsafe()
        thread.join(60)
        assert not thread.is_alive(), "the worker did not stop"
