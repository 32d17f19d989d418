"""``JobQueue``: the queue's public facade over a ``Store``. The SQL lives in
``enqueue``, ``attempts`` and ``control``; this class owns transactions, the clock, the
retry policy, terminal hooks (the ledger) and in-process wake-ups."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection

from renderhouse.errors import QueueFull
from renderhouse.queue import attempts, control, enqueue, events, scheduler
from renderhouse.queue.clock import Clock, SystemClock
from renderhouse.queue.enqueue import NewJob
from renderhouse.queue.jobs import Job
from renderhouse.queue.retry import RetryPolicy
from renderhouse.store.database import Store, after_commit

Wakeup = Callable[[str], object]
EnqueueListener = Callable[[list[Job]], object]
DEPTH_REFRESH_SECONDS = 1.0


class JobQueue:
    def __init__(
        self,
        store: Store,
        *,
        clock: Clock | None = None,
        policy: RetryPolicy | None = None,
        lease_seconds: float = 15.0,
        max_queue_size: int | None = None,
    ) -> None:
        self.store = store
        self.clock: Clock = clock or SystemClock()
        self.policy = policy or RetryPolicy()
        self.lease_seconds = lease_seconds
        self.max_queue_size = max_queue_size
        self.terminal_hooks: list[attempts.TerminalHook] = [attempts.wake_parent]
        self.retry_hooks: list[control.RetryHook] = []
        """Run in a manual retry's transaction (the ledger charges the rerun there)."""
        self.gate_for: enqueue.GateFor | None = None
        """What a new job must pass in its insert's transaction (the ledger's reservation)."""
        self.enqueue_listeners: list[EnqueueListener] = []
        """Called with the jobs this process created, once their transaction has committed."""
        self._wakeups: list[Wakeup] = []
        self._depth: tuple[float, int] | None = None

    # -- wake-ups -------------------------------------------------------------------------
    def on_enqueue(self, fn: Wakeup) -> Callable[[], None]:
        """Call ``fn(kind)`` after a job of ``kind`` is committed by this process; returns
        the function that stops it (a stopped worker must not be woken any more)."""
        self._wakeups.append(fn)

        def remove() -> None:
            if fn in self._wakeups:
                self._wakeups.remove(fn)

        return remove

    def _wake(self, kinds: set[str]) -> None:
        for fn in self._wakeups:
            for kind in kinds:
                fn(kind)

    def _committed(self, created: list[Job], kinds: set[str]) -> None:
        for listener in self.enqueue_listeners:
            listener(created)
        self._wake(kinds)

    def announce(self, created: list[Job]) -> None:
        """Tell this process's listeners and waiting workers about jobs committed by a writer
        outside ``enqueue`` (the API's asynchronous enqueue)."""
        self._committed(created, {job.kind for job in created})

    def check_depth_cached(self, adding: int) -> bool:
        """``_check_depth`` without I/O, against the last count however old: raises
        QueueFull as it would, or returns False when nothing was ever counted (the caller
        enqueues the ordinary way). A stale count is refreshed by ``refresh_depth``."""
        if self.max_queue_size is None:
            return True
        if self._depth is None:
            return False
        self._admit(self._depth, self.max_queue_size, adding)
        return True

    def depth_stale(self) -> bool:
        """Whether the cached queue depth is due for ``refresh_depth``."""
        return self.max_queue_size is not None and (
            self._depth is None or time.monotonic() - self._depth[0] > DEPTH_REFRESH_SECONDS
        )

    def depth(self, kind: str | None = None) -> int:
        """Queued jobs now (of one ``kind``): one index count, for autoscalers and hosts
        that embed the queue; ``stats`` has the full per-state breakdown."""
        with self.store.read() as conn:
            return control.queued_count(conn, kind)

    def refresh_depth(self) -> None:
        """Count the queued jobs again (blocking; the API runs it off its event loop)."""
        now = time.monotonic()
        with self.store.read() as conn:
            self._depth = (now, control.queued_count(conn))

    def _check_depth(self, conn: Connection | None, adding: int) -> None:
        """Refuse work past ``max_queue_size``. The count is refreshed at most once a second
        (counting a large backlog on every enqueue would cost more than the enqueue)."""
        if self.max_queue_size is None:
            return
        now = time.monotonic()
        if self._depth is None or now - self._depth[0] > DEPTH_REFRESH_SECONDS:
            with self._tx(conn) as c:
                self._depth = (now, control.queued_count(c))
        self._admit(self._depth, self.max_queue_size, adding)

    def _admit(self, counted: tuple[float, int], limit: int, adding: int) -> None:
        """Raise QueueFull if ``adding`` more jobs would pass ``limit``, else count them."""
        depth = counted[1]
        if depth + adding > limit:
            raise QueueFull(
                f"the queue holds {depth} jobs (limit {limit}); retry later",
                details={"queued": depth, "limit": limit},
            )
        self._depth = (counted[0], depth + adding)

    @contextmanager
    def _tx(self, conn: Connection | None) -> Iterator[Connection]:
        if conn is not None:
            yield conn
        else:
            with self.store.begin() as own:
                yield own

    # -- producers ------------------------------------------------------------------------
    def enqueue(self, job: NewJob, conn: Connection | None = None) -> tuple[Job, bool]:
        """Insert ``job`` (in ``conn``'s transaction if given). Returns (job, created):
        an existing job with the same owner and idempotency key comes back uncreated."""
        return self.enqueue_many([job], conn)[0]

    def enqueue_many(
        self, new_jobs: Sequence[NewJob], conn: Connection | None = None
    ) -> list[tuple[Job, bool]]:
        self._check_depth(conn, len(new_jobs))
        kinds = {j.kind for j in new_jobs}
        if conn is not None:
            out = self._insert(conn, new_jobs)
            created = [job for job, made in out if made]
            after_commit(conn, lambda: self._committed(created, kinds))
            return out
        with self.store.begin() as own:
            out = self._insert(own, new_jobs)
        self._committed([job for job, made in out if made], kinds)
        return out

    def _insert(self, conn: Connection, new_jobs: Sequence[NewJob]) -> list[tuple[Job, bool]]:
        now = self.clock.now()
        return enqueue.insert_jobs(conn, self.store.dialect, list(new_jobs), now, self.gate_for)

    # -- workers --------------------------------------------------------------------------
    def claim(
        self,
        kinds: Sequence[str],
        limit: int,
        worker_id: str,
        skip_owners: Sequence[str] = (),
    ) -> list[Job]:
        with self.store.begin() as conn:
            return attempts.claim(
                conn,
                self.store.dialect,
                kinds,
                limit,
                worker_id,
                self.clock.now(),
                self.lease_seconds,
                skip_owners,
            )

    def heartbeat(self, held: Sequence[tuple[str, int]]) -> tuple[set[str], set[str]]:
        with self.store.begin() as conn:
            return attempts.heartbeat(conn, held, self.clock.now(), self.lease_seconds)

    def cancel_requested(self, held: Sequence[tuple[str, int]]) -> set[str]:
        with self.store.read() as conn:
            return attempts.cancel_requested(conn, held)

    def progress(
        self, job_id: str, attempt: int, done: float, total: float, message: str = ""
    ) -> None:
        with self.store.begin() as conn:
            attempts.progress(conn, job_id, attempt, done, total, message, self.clock.now())

    def save_checkpoint(self, job_id: str, attempt: int, state: dict[str, Any]) -> None:
        with self.store.begin() as conn:
            attempts.save_checkpoint(conn, job_id, attempt, state, self.clock.now())

    def add_artifact(self, job_id: str, attempt: int, ref: dict[str, Any]) -> None:
        with self.store.begin() as conn:
            attempts.add_artifact(conn, job_id, attempt, ref, self.clock.now())

    def complete(
        self,
        job_id: str,
        attempt: int,
        result: dict[str, Any] | None = None,
        cost: int | None = None,
    ) -> Job:
        with self.store.begin() as conn:
            return attempts.complete(
                conn, job_id, attempt, result or {}, self.clock.now(), self.terminal_hooks, cost
            )

    def complete_many(
        self, items: Sequence[tuple[str, int, dict[str, Any], int | None]]
    ) -> dict[str, Job]:
        """Group commit of many completions; see ``attempts.complete_many``."""
        with self.store.begin() as conn:
            return attempts.complete_many(conn, items, self.clock.now(), self.terminal_hooks)

    def fail(
        self,
        job_id: str,
        attempt: int,
        code: str,
        message: str,
        *,
        traceback: str | None = None,
        retryable: bool = True,
        retry_after: float | None = None,
    ) -> Job:
        with self.store.begin() as conn:
            return attempts.fail(
                conn,
                job_id,
                attempt,
                code,
                message,
                self.clock.now(),
                self.policy,
                self.terminal_hooks,
                traceback=traceback,
                retryable=retryable,
                retry_after=retry_after,
            )

    def cancel_running(self, job_id: str, attempt: int, reason: str = "cancelled") -> Job:
        with self.store.begin() as conn:
            return attempts.cancel_running(
                conn, job_id, attempt, reason, self.clock.now(), self.terminal_hooks
            )

    def snooze(self, job_id: str, attempt: int, seconds: float, reason: str = "snoozed") -> Job:
        with self.store.begin() as conn:
            return attempts.snooze(conn, job_id, attempt, seconds, self.clock.now(), reason)

    def fan_out(self, job_id: str, attempt: int, inputs: Sequence[dict[str, Any]]) -> Job:
        with self.store.begin() as conn:
            job = attempts.fan_out(
                conn, self.store.dialect, job_id, attempt, inputs, self.clock.now()
            )
        self._wake({job.kind})
        return job

    def children(self, job_id: str) -> list[dict[str, Any]]:
        with self.store.read() as conn:
            return control.children(conn, job_id)

    def hand_back(self, job_id: str, attempt: int) -> Job:
        """A shutting-down worker returns a job unfinished; it does not spend an attempt."""
        return self.snooze(job_id, attempt, 0.0, reason="handed_back")

    # -- users and operators --------------------------------------------------------------
    def get(self, job_id: str, owner: str | None = None) -> Job:
        with self.store.read() as conn:
            return control.get(conn, job_id, owner)

    def list_jobs(self, **filters: Any) -> list[Job]:
        with self.store.read() as conn:
            return control.list_jobs(conn, **filters)

    def cancel(
        self, job_id: str, owner: str | None = None, reason: str = "cancelled by request"
    ) -> Job:
        with self.store.begin() as conn:
            return control.cancel(
                conn,
                self.store.dialect,
                job_id,
                self.clock.now(),
                self.terminal_hooks,
                owner,
                reason,
            )

    def retry(self, job_id: str, owner: str | None = None) -> Job:
        with self.store.begin() as conn:
            job = control.retry(
                conn, self.store.dialect, job_id, self.clock.now(), owner, self.retry_hooks
            )
        self._wake({job.kind})
        return job

    def stats(self, owner: str | None = None) -> dict[str, dict[str, Any]]:
        with self.store.read() as conn:
            return control.stats(conn, self.clock.now(), owner)

    def attempts(self, job_id: str) -> list[dict[str, Any]]:
        with self.store.read() as conn:
            return control.attempts(conn, job_id)

    def artifacts(self, job_id: str) -> list[dict[str, Any]]:
        with self.store.read() as conn:
            return control.job_artifacts(conn, job_id)

    def events(self, job_id: str, after_id: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
        with self.store.read() as conn:
            return events.since(conn, job_id, after_id, limit)

    def next_run_at(self, kinds: Sequence[str], skip_owners: Sequence[str] = ()) -> float | None:
        with self.store.read() as conn:
            return scheduler.next_run_at(conn, kinds, skip_owners)
