"""Drive one job in a pool child from a parent thread: apply its reports to the queue
(fenced by attempt), enforce the deadline, stop it on cancellation or shutdown."""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from renderhouse.errors import StaleAttempt
from renderhouse.generators.language import LanguageModels, NoLanguageModels
from renderhouse.generators.spending import Meter, Unmetered
from renderhouse.queue.jobs import Job
from renderhouse.queue.queue import JobQueue
from renderhouse.worker import language, limits, messages, metering, outcome
from renderhouse.worker.pool import Child, ChildPool

log = logging.getLogger(__name__)

PROGRESS_MIN_INTERVAL = 0.1
CANCEL_GRACE = 1.0


@dataclass
class Running:
    """What the worker knows about a job it holds; flags are set from other tasks."""

    job: Job
    cancel: threading.Event = field(default_factory=threading.Event)
    hand_back: threading.Event = field(default_factory=threading.Event)
    lost: threading.Event = field(default_factory=threading.Event)


def job_message(
    job: Job, storage_url: str, artifacts: list[dict[str, Any]], children: list[dict[str, Any]]
) -> messages.RunJob:
    return messages.RunJob(
        job_id=job.id,
        attempt=job.attempt,
        kind=job.kind,
        input=job.input,
        checkpoint=job.checkpoint,
        deadline=(job.attempted_at or time.time()) + job.timeout,
        storage_url=storage_url,
        artifacts=[
            {k: a[k] for k in ("name", "key", "content_type", "size", "sha256")} for a in artifacts
        ],
        children=children,
    )


def run_isolated(
    queue: JobQueue,
    pool: ChildPool,
    run: Running,
    storage_url: str,
    meter: Meter | None = None,
    llm: LanguageModels | None = None,
) -> messages.Outcome:
    """Returns the attempt's outcome (the child's, or ``Failed`` for a crash or timeout,
    ``Cancelled``, ``HandedBack`` or ``Lost`` when the worker stopped it). ``meter``
    answers the job's paid calls (none: unmetered), ``llm`` its language-model calls."""
    job = run.job
    meter = meter or Unmetered()
    llm = llm or NoLanguageModels()
    asked: concurrent.futures.Future[messages.Replied] | None = None
    child = pool.acquire()
    try:
        child.send(job_message(job, storage_url, queue.artifacts(job.id), queue.children(job.id)))
    except OSError:
        pool.discard(child)
        return outcome.crashed("child pipe closed")
    deadline = time.time() + job.timeout
    cancel_sent_at: float | None = None
    last_progress = 0.0
    while True:
        if run.lost.is_set():
            pool.discard(child)
            return messages.Lost()
        if run.hand_back.is_set():
            pool.discard(child)
            return messages.HandedBack()
        if run.cancel.is_set():
            if cancel_sent_at is None:
                cancel_sent_at = time.monotonic()
                _try_send(child, messages.CancelJob())
            elif time.monotonic() - cancel_sent_at > CANCEL_GRACE:
                pool.discard(child)
                return messages.Cancelled("cancelled by request (child stopped)")
        if time.time() > deadline:
            pool.discard(child)
            return outcome.timed_out(job.timeout)
        if asked is not None and asked.done():
            _try_send(child, asked.result())
            asked = None
        try:
            msg = child.conn.recv() if child.conn.poll(0.05) else None
            crashed = msg is None and not child.alive()
        except (EOFError, OSError):
            msg, crashed = None, True
        if crashed:
            child.process.join(1)
            code = child.process.exitcode
            pool.discard(child)
            if code == -limits.CPU_SIGNAL:
                return outcome.resource_limit(
                    "the job used more CPU time than its limit (its timeout at its declared "
                    "cores); use a smaller input or fewer frames"
                )
            return outcome.crashed(f"the generator process died (exit code {code})")
        if msg is None:
            continue
        try:
            match msg:
                case messages.Progress(done, total, message):
                    now = time.monotonic()
                    if now - last_progress >= PROGRESS_MIN_INTERVAL or done >= total:
                        last_progress = now
                        queue.progress(job.id, job.attempt, done, total, message)
                case messages.SaveCheckpoint(state):
                    queue.save_checkpoint(job.id, job.attempt, state)
                    _try_send(child, messages.Ack(True))
                case messages.AddArtifact(ref):
                    queue.add_artifact(job.id, job.attempt, ref)
                    _try_send(child, messages.Ack(True))
                case messages.Spend() | messages.Settle():
                    _try_send(child, metering.answer(meter, msg))
                case messages.Complete():
                    asked = language.start(llm, msg)  # answered when done, polled above
                case _ if isinstance(msg, messages.OUTCOMES):
                    child.jobs_run += 1
                    if isinstance(msg, messages.Failed) and msg.code == "resource_limit":
                        pool.discard(child)  # a child that hit its cap may be left half broken
                    else:
                        pool.release(child)
                    return msg
                case _:
                    raise TypeError(f"a pool child sent an unknown message: {msg!r}")
        except StaleAttempt as exc:
            log.warning("job %s attempt %s was taken away: %s", job.id, job.attempt, exc)
            _try_send(child, messages.Ack(False, error=exc.message))
            pool.discard(child)
            return messages.Lost()


def _try_send(
    child: Child, msg: messages.RunJob | messages.CancelJob | messages.Ack | messages.Replied
) -> None:
    try:
        child.send(msg)
    except OSError:
        pass
