"""Group commit: many callers' small write transactions run as one.

Each enqueue on its own pays a BEGIN, a COMMIT with its WAL flush, a pool checkout and a
thread hand-off; at hundreds of submissions a second those cost the API and PostgreSQL more
than the inserts themselves. ``GroupCommit`` gives every unit of work to one writer thread,
which runs whatever has queued up meanwhile in a single transaction and resolves each
caller's future only after that COMMIT returned, so a caller is never told "done" about a
row that is not durable (the same trade PostgreSQL's own ``commit_delay`` makes, but with no
added wait: a batch is simply what arrived while the previous one was committing).

All or nothing per unit, never per batch: if any unit raises, the batch is rolled back and
every unit runs again alone, in its own transaction, exactly as if there were no batching,
so one caller's refusal (no credits, a full queue) or a database error can neither leak
another's writes nor commit half of its own. Units run in ``order`` key order (the owner),
so two writer threads or processes take row locks in the same order and cannot deadlock.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from renderhouse.store.database import Store

log = logging.getLogger(__name__)

MAX_BATCH = 64
"""Units per transaction: bounds how long one batch holds its row locks."""

Work = Callable[[Connection], Any]


@dataclass(order=True)
class _Unit:
    order: str
    work: Work = field(compare=False)
    future: Future[Any] = field(compare=False, default_factory=Future)


class GroupCommit:
    """A writer thread that commits queued units of work together (see the module doc)."""

    def __init__(
        self,
        store: Store,
        *,
        max_batch: int = MAX_BATCH,
        name: str = "enqueue",
        flushed: bool = True,
    ) -> None:
        """``flushed=False`` commits without waiting for the disk (``Store.begin`` says
        when that is safe)."""
        self.store, self.flushed = store, flushed
        self.max_batch = max_batch
        self.name = name
        self._queue: queue.SimpleQueue[_Unit | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        store.on_dispose(self.close)
        self.batches = 0
        """Transactions committed (a benchmark reads units / batches)."""
        self.units = 0

    def submit(self, work: Work, order: str = "") -> Future[Any]:
        """Run ``work(conn)`` in a shared transaction; the future holds its result once that
        transaction has committed, or the exception ``work`` raised when run alone."""
        unit = _Unit(order, work)
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run,
                    args=(self._queue,),
                    name=f"group-commit-{self.name}",
                    daemon=True,
                )
                self._thread.start()
            self._queue.put(unit)
        return unit.future

    def close(self, timeout: float = 10.0) -> None:
        """Finish what is queued, then stop the thread (a later ``submit`` starts another:
        an app's lifespan may run more than once)."""
        with self._lock:
            thread, self._thread = self._thread, None
            if thread is None:
                return
            # Each thread has its own queue: a thread started by a later ``submit`` must not
            # take this one's stop marker.
            stopping, self._queue = self._queue, queue.SimpleQueue()
            stopping.put(None)
        thread.join(timeout)

    def _run(self, units: queue.SimpleQueue[_Unit | None]) -> None:
        while True:
            first = units.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < self.max_batch:
                try:
                    more = units.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[_Unit]) -> None:
        # A unit whose caller gave up (its future cancelled) before it ran is dropped; once
        # running, a future can no longer be cancelled, so its result is always delivered.
        batch = sorted(u for u in batch if u.future.set_running_or_notify_cancel())
        if len(batch) > 1:
            try:
                results = []
                with self.store.begin(flushed=self.flushed) as conn:
                    for unit in batch:
                        results.append(unit.work(conn))
            except BaseException:  # every unit runs again alone, below
                log.debug("group commit of %d units rolled back; running each alone", len(batch))
            else:
                self.batches += 1
                self.units += len(batch)
                for unit, result in zip(batch, results, strict=True):
                    unit.future.set_result(result)
                return
        for unit in batch:
            self._alone(unit)

    def _alone(self, unit: _Unit) -> None:
        try:
            with self.store.begin(flushed=self.flushed) as conn:
                result = unit.work(conn)
        except BaseException as exc:  # the caller's to re-raise; its future must resolve
            unit.future.set_exception(exc)
            return
        self.batches += 1
        self.units += 1
        unit.future.set_result(result)
