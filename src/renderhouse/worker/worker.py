"""The worker loop: claim what fits, run it (isolated in the child pool or inline), renew
leases, watch for cancellation, apply outcomes, and shut down gracefully on SIGTERM."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import secrets
import signal
import socket
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from renderhouse import logs, metrics, uploads
from renderhouse.errors import StaleAttempt
from renderhouse.generators.base import Registry
from renderhouse.queue import scheduler
from renderhouse.queue.jobs import Job
from renderhouse.queue.queue import JobQueue
from renderhouse.storage.base import Storage
from renderhouse.storage.none import NoStorage
from renderhouse.uploads import Staging
from renderhouse.worker import failures, language, messages, metering, outcome, registration
from renderhouse.worker.backoff import Outage
from renderhouse.worker.breaker import CircuitBreaker
from renderhouse.worker.completer import BatchCompleter
from renderhouse.worker.inline import run_inline
from renderhouse.worker.isolated import Running, run_isolated
from renderhouse.worker.listener import Listener
from renderhouse.worker.maintenance import Maintenance
from renderhouse.worker.messages import Outcome
from renderhouse.worker.owner_budget import OwnerBudget
from renderhouse.worker.pool import ChildPool

log = logging.getLogger(__name__)

CANCEL_POLL_SECONDS = 0.5

DEFAULT_MAINTENANCE: Literal["default"] = "default"
"""``Worker(maintenance=...)``'s default: the rescuer and the pruner run in the worker, so a
worker embedded on its own never leaves a killed worker's jobs stuck. Pass None for a worker
that runs no duties (another process runs them), or a ``Maintenance`` of your own."""


@dataclass(frozen=True)
class Finished:
    """An attempt's outcome, told to ``Worker.on_finished`` hooks once it is recorded:
    ``outcome`` is done, error, cancelled, snooze, fanout, handed_back or lost; ``state`` is
    the job's state after it (None when unknown: a completion batched, or lost)."""

    job_id: str
    kind: str
    owner: str
    attempt: int
    outcome: str
    state: str | None
    error_code: str | None = None


@dataclass
class WorkerConfig:
    kinds: list[str]
    concurrency: int = 2
    poll_seconds: float = 1.0
    heartbeat_seconds: float = 5.0
    shutdown_grace_seconds: float = 10.0
    breaker_failures: int = 5
    breaker_cooldown_seconds: float = 30.0
    owner_failures: int = 5
    """Failures (not the caller's fault) an owner may have within ``owner_window_seconds``
    before its jobs are left out of this worker's claims (``worker/owner_budget.py``)."""
    owner_window_seconds: float = 300.0
    owner_cooldown_seconds: float = 60.0
    listen_url: str | None = None
    upload_cache_dir: Path = field(
        default_factory=lambda: Path(tempfile.gettempdir()) / "renderhouse-uploads"
    )
    """Where uploads kept on S3-like storage are fetched to (``renderhouse.uploads``)."""
    worker_id: str = field(
        default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
    )


class Worker:
    def __init__(
        self,
        queue: JobQueue,
        registry: Registry,
        storage: Storage | None,
        config: WorkerConfig,
        maintenance: Maintenance | Literal["default"] | None = DEFAULT_MAINTENANCE,
        meter_for: metering.MeterFor = metering.unmetered,
        language_for: language.LanguageFor = language.none_for,
    ) -> None:
        """``meter_for`` gives each job's budgets for ``ctx.spend``; a deployment passes the
        ledger's (``ledger.metering.meter_for``), the default enforces none.
        ``language_for`` gives each job's ``ctx.llm`` (a deployment: the model registry's
        gateway on this worker's loop; the default: none). ``storage`` may
        be None when no kind this worker runs stores artifacts or reads uploads (a job that
        tries fails with ``not_configured``)."""
        self.queue, self.registry, self.config = queue, registry, config
        self.storage: Storage = storage if storage is not None else NoStorage()
        self.maintenance = Maintenance(queue) if maintenance == DEFAULT_MAINTENANCE else maintenance
        assert not isinstance(self.maintenance, str)
        self.on_finished: list[Callable[[Finished], None]] = []
        """Called on the event loop after each attempt's outcome is recorded (acknowledged
        completions and failures, for an embedding application); a hook that raises is
        logged and ignored."""
        self.meter_for, self.language_for = meter_for, language_for
        self.staging = Staging(queue.store, self.storage, config.upload_cache_dir)
        self.kinds = config.kinds or registry.kinds()
        for kind in self.kinds:
            registry.cls(kind)  # unknown kinds fail at start-up, not at the first job
        self.isolated = [k for k in self.kinds if registry.cls(k).resources.isolated]
        self.breakers = {
            k: CircuitBreaker(
                k, queue.clock, config.breaker_failures, config.breaker_cooldown_seconds
            )
            for k in self.kinds
        }
        self.owners = OwnerBudget(
            queue.clock,
            config.owner_failures,
            config.owner_window_seconds,
            config.owner_cooldown_seconds,
        )
        self.running: dict[str, Running] = {}
        self.pool: ChildPool | None = None
        self.finished = 0
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._completer = BatchCompleter(queue)

    # -- lifecycle ------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop claiming; running jobs get the grace period to finish, then are handed back."""
        self._stopping.set()
        self._wake.set()

    def stop_threadsafe(self) -> None:
        """``stop`` from another thread (tests, an embedding server)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.stop)

    async def run(self, *, handle_signals: bool = True, own_executor: bool = True) -> None:
        """Run until ``stop``. Embedded in an application that owns its event loop, pass
        ``handle_signals=False`` (SIGTERM/SIGINT stay the host's; call ``stop`` yourself)
        and ``own_executor=False`` (the loop's default thread pool is left as it is)."""
        loop = self._loop = asyncio.get_running_loop()
        if own_executor:
            workers = self.config.concurrency * 2 + 8
            loop.set_default_executor(ThreadPoolExecutor(max_workers=workers))
        for sig in (signal.SIGTERM, signal.SIGINT) if handle_signals else ():
            try:
                loop.add_signal_handler(sig, self.stop)
            except (NotImplementedError, RuntimeError, ValueError):
                pass
        unwake = self.queue.on_enqueue(lambda _kind: loop.call_soon_threadsafe(self._wake.set))
        listener = None
        if self.config.listen_url:

            def notified(payload: str) -> None:
                try:
                    loop.call_soon_threadsafe(self._notified, payload)
                except RuntimeError:  # the loop closed between stop() and the thread's end
                    pass

            listener = Listener(self.config.listen_url, notified)
            listener.start()
        if self.isolated:
            generators = [(k, _path(self.registry.cls(k))) for k in self.isolated]
            self.pool = ChildPool(self.config.concurrency, generators)
            await asyncio.to_thread(self.pool.start)
        await self._register()
        background = [
            asyncio.create_task(self._heartbeat_loop()),
            asyncio.create_task(self._cancel_loop()),
        ]
        if self.maintenance is not None:
            background.append(asyncio.create_task(self.maintenance.run(self._stopping)))
        log.info(
            "worker %s started: kinds=%s concurrency=%s",
            self.config.worker_id,
            self.kinds,
            self.config.concurrency,
        )
        try:
            await self._claim_loop()
            await self._drain()
        finally:
            unwake()  # the loop closes with run(): enqueues after this must not reach it
            self._stopping.set()
            for t in background:
                t.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            if listener is not None:
                listener.stop()
            if self.pool is not None:
                await asyncio.to_thread(self.pool.shutdown)
            close = getattr(self.language_for, "aclose", None)
            if close is not None:
                await close()  # provider connections opened on this loop
            await asyncio.to_thread(
                registration.unregister, self.queue.store, self.config.worker_id
            )
            log.info("worker %s stopped", self.config.worker_id)

    async def _register(self) -> None:
        """Announce this worker, riding out a database that is restarting meanwhile: the
        claim loop retries on its own, and start-up must not be the one step that dies."""
        while True:
            try:
                await asyncio.to_thread(
                    registration.register,
                    self.queue.store,
                    self.config.worker_id,
                    self.kinds,
                    self.queue.clock.now(),
                )
                return
            except Exception as exc:
                if self._stopping.is_set():
                    raise
                log.warning("could not register the worker (%s); retrying", exc)
                await asyncio.sleep(1.0)

    def _notified(self, payload: str) -> None:
        if payload.startswith("cancel:"):
            run = self.running.get(payload[len("cancel:") :])
            if run is not None:
                run.cancel.set()
        else:
            self._wake.set()

    # -- claiming -------------------------------------------------------------------------
    async def _claim_loop(self) -> None:
        outage = Outage("claiming jobs", log)
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                timeout = await self._claim_round()
                outage.ended()
            except Exception as exc:
                timeout = outage.failed(exc)
            if timeout is None:
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:
                pass

    async def _claim_round(self) -> float | None:
        """Claim what fits; return how long to wait for a wake-up (None: claim again now)."""
        free = self.config.concurrency - len(self.running)
        claimed = await self._claim(free) if free > 0 else 0
        if claimed and len(self.running) < self.config.concurrency:
            return None
        if free <= 0 or claimed:
            return self.config.poll_seconds
        now = self.queue.clock.now()
        throttled = self.owners.throttled()
        due = await asyncio.to_thread(self.queue.next_run_at, self.kinds, list(throttled))
        if throttled:  # their jobs are due but not ours to claim until their pause ends
            due = min([due, *throttled.values()]) if due is not None else min(throttled.values())
        return scheduler.wait_seconds(due, now, self.config.poll_seconds)

    async def _claim(self, free: int) -> int:
        open_kinds, probes = [], []
        for kind in self.kinds:
            allow = self.breakers[kind].allow()
            if allow < 0:
                open_kinds.append(kind)
            elif allow > 0:
                probes.append(kind)
        jobs: list[Job] = []
        skip = list(self.owners.throttled())
        wid = self.config.worker_id
        for kind in probes:
            if len(jobs) < free:
                got = await asyncio.to_thread(self.queue.claim, [kind], 1, wid, skip)
                if got:
                    self.breakers[kind].on_claimed()
                jobs.extend(got)
        if open_kinds and len(jobs) < free:
            jobs.extend(
                await asyncio.to_thread(self.queue.claim, open_kinds, free - len(jobs), wid, skip)
            )
        for job in jobs:
            metrics.job_started(job)
            run = Running(job)
            self.running[job.id] = run
            task = asyncio.create_task(self._execute(run))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(jobs)

    # -- running --------------------------------------------------------------------------
    async def _execute(self, run: Running) -> None:
        job = run.job
        logs.bind_job(job)  # this task's context: every log line of the job carries its ids
        try:
            meter, llm = self.meter_for(job), self.language_for(job)
            unstaged = await self._stage(run)  # upload references -> local files
            msg: Outcome
            if unstaged is not None:
                msg = unstaged
            elif job.kind in self.isolated:
                assert self.pool is not None
                msg = await asyncio.to_thread(
                    run_isolated, self.queue, self.pool, run, self.storage.url, meter, llm
                )
            else:
                gen = self.registry.get(job.kind)
                msg = await run_inline(self.queue, gen, run, self.storage, meter, llm)
            state = await self._record(run, msg)
            self._tell(run.job, msg, state)
        finally:
            self.running.pop(job.id, None)
            self.finished += 1
            self._wake.set()

    async def _stage(self, run: Running) -> Outcome | None:
        """Give the job local paths for its upload references; the failure if it can't."""
        if not uploads.mentions(run.job.input):
            return None
        try:
            staged = await asyncio.to_thread(self.staging.stage, run.job.owner, run.job.input)
        except Exception as exc:
            return outcome.from_exception(exc)
        run.job = dataclasses.replace(run.job, input=staged)
        return None

    async def _record(self, run: Running, msg: Outcome) -> str | Literal[False] | None:
        """Apply the outcome, retrying through a database blip for as long as the lease
        lasts; after that the rescuer owns the job (delivery is at least once). Returns the
        job's state after it (None: not known here), or False when nothing was recorded."""
        give_up = time.monotonic() + self.queue.lease_seconds
        outage = Outage(f"job {run.job.id}: recording its outcome", log, cap=1.0)
        while True:
            try:
                if isinstance(msg, messages.Done):
                    ok = await self._complete(run, msg)
                    outage.ended()
                    return "succeeded" if ok else False
                state = await asyncio.to_thread(self._apply, run, msg)
                outage.ended()
                return state
            except Exception as exc:
                if time.monotonic() > give_up:
                    log.error(
                        "job %s: could not record its outcome (%s); the rescuer will retry it",
                        run.job.id,
                        exc,
                    )
                    return False
                await asyncio.sleep(outage.failed(exc))

    def _tell(self, job: Job, msg: Outcome, state: str | Literal[False] | None) -> None:
        if state is False or not self.on_finished:
            return
        code = msg.code if isinstance(msg, messages.Failed) else None
        event = Finished(job.id, job.kind, job.owner, job.attempt, msg.name, state, code)
        for hook in self.on_finished:
            try:
                hook(event)
            except Exception:
                log.exception("an on_finished hook failed for job %s", job.id)

    async def _complete(self, run: Running, msg: messages.Done) -> bool:
        try:
            await self._completer.complete(run.job.id, run.job.attempt, msg.result, msg.cost)
        except StaleAttempt:
            log.warning(
                "job %s attempt %s: completion refused (stale)", run.job.id, run.job.attempt
            )
            return False
        metrics.attempt_finished(run.job, "done")
        metrics.result_reported(run.job.kind, msg.result)  # a result's own "metrics"
        self.owners.on_success(run.job.owner)
        self._breaker(run.job.kind, ok=True)
        return True

    def _apply(self, run: Running, msg: Outcome) -> str | Literal[False] | None:
        """Record any outcome but ``Done`` (batched by ``_complete``); the job's state after."""
        job, q = run.job, self.queue
        after: Job | None = None
        state: str | Literal[False] | None = "queued"
        try:
            match msg:
                case messages.FannedOut(children):
                    q.fan_out(job.id, job.attempt, self.staging.unstage(children))
                case messages.Snoozed(seconds):
                    q.snooze(job.id, job.attempt, float(seconds))
                case messages.HandedBack():
                    q.hand_back(job.id, job.attempt)
                case messages.Cancelled(reason):
                    q.cancel_running(job.id, job.attempt, reason)
                    state = "cancelled"
                case messages.Failed():
                    after = q.fail(
                        job.id,
                        job.attempt,
                        msg.code,
                        msg.message,
                        traceback=msg.traceback,
                        retryable=msg.retryable,
                        retry_after=msg.retry_after,
                    )
                    self._failed(job, failures.fault_of(msg))
                    state = str(after.state) if after is not None else None
                case messages.Lost():  # the job is someone else's now: nothing to record
                    state = False
                case messages.Done():
                    raise TypeError("completions are recorded by _complete")
            metrics.attempt_finished(job, msg.name, after)
        except StaleAttempt:
            log.warning(
                "job %s attempt %s: outcome %s refused (stale)", job.id, job.attempt, msg.name
            )
            return False
        return state

    def _failed(self, job: Job, fault: str) -> None:
        """Count a failed attempt where its class says (``worker/failures.py``)."""
        if fault in (failures.SUSPECT, failures.INFRASTRUCTURE):
            self.owners.on_failure(job.owner)
            self._breaker(job.kind, ok=False, owner=job.owner, suspect=fault == failures.SUSPECT)

    def _breaker(
        self, kind: str, *, ok: bool, owner: str | None = None, suspect: bool = False
    ) -> None:
        b = self.breakers[kind]
        changed = b.on_success() if ok else b.on_failure(owner, suspect=suspect)
        if changed:
            log.warning("circuit breaker for %s is now %s", kind, b.state)
            registration.save_breaker(self.queue.store, b, self.queue.clock.now())

    # -- background -----------------------------------------------------------------------
    async def _heartbeat_loop(self) -> None:
        outage = Outage("heartbeat", log)
        pause = self.config.heartbeat_seconds
        while True:
            await asyncio.sleep(pause)
            pause = self.config.heartbeat_seconds
            held = [(r.job.id, r.job.attempt) for r in self.running.values()]
            try:
                kept, cancels = await asyncio.to_thread(self.queue.heartbeat, held)
                await asyncio.to_thread(
                    registration.beat,
                    self.queue.store,
                    self.config.worker_id,
                    self.queue.clock.now(),
                )
                outage.ended()
            except Exception as exc:
                # Leases renew on the next beat; retry sooner than a beat while it is short.
                pause = min(self.config.heartbeat_seconds, outage.failed(exc))
                continue
            for job_id, _ in held:
                run = self.running.get(job_id)
                if run is None:
                    continue
                if job_id not in kept:
                    run.lost.set()
                if job_id in cancels:
                    run.cancel.set()

    async def _cancel_loop(self) -> None:
        outage = Outage("cancel check", log)
        pause = CANCEL_POLL_SECONDS
        while True:
            await asyncio.sleep(pause)
            pause = CANCEL_POLL_SECONDS
            held = [
                (r.job.id, r.job.attempt) for r in self.running.values() if not r.cancel.is_set()
            ]
            if not held:
                continue
            try:
                ids = await asyncio.to_thread(self.queue.cancel_requested, held)
                outage.ended()
            except Exception as exc:
                pause = max(CANCEL_POLL_SECONDS, outage.failed(exc))
                continue
            for job_id in ids:
                if (run := self.running.get(job_id)) is not None:
                    run.cancel.set()

    async def _drain(self) -> None:
        if self._tasks:
            log.info(
                "shutting down: waiting up to %ss for %d job(s)",
                self.config.shutdown_grace_seconds,
                len(self._tasks),
            )
            _, pending = await asyncio.wait(
                set(self._tasks), timeout=self.config.shutdown_grace_seconds
            )
            for run in self.running.values():
                run.hand_back.set()
            if pending:
                await asyncio.wait(pending)


def _path(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"
