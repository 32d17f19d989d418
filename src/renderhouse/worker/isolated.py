"""Drive one job in a pool child from a parent thread: apply its reports to the queue
(fenced by attempt), enforce the deadline, stop it on cancellation or shutdown."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from renderhouse.errors import StaleAttempt
from renderhouse.generators.spending import Meter, Unmetered
from renderhouse.queue.jobs import Job
from renderhouse.queue.queue import JobQueue
from renderhouse.worker import limits, metering, outcome
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
) -> dict[str, Any]:
    return {
        "t": "run",
        "job_id": job.id,
        "attempt": job.attempt,
        "kind": job.kind,
        "input": job.input,
        "checkpoint": job.checkpoint,
        "deadline": (job.attempted_at or time.time()) + job.timeout,
        "storage_url": storage_url,
        "artifacts": [
            {k: a[k] for k in ("name", "key", "content_type", "size", "sha256")} for a in artifacts
        ],
        "children": children,
    }


def run_isolated(
    queue: JobQueue, pool: ChildPool, run: Running, storage_url: str, meter: Meter | None = None
) -> dict[str, Any]:
    """Returns the final message: done / error / snooze / cancelled / handed_back / lost.
    ``meter`` answers the job's paid calls (none: unmetered)."""
    job = run.job
    meter = meter or Unmetered()
    child = pool.acquire()
    try:
        child.send(job_message(job, storage_url, queue.artifacts(job.id), queue.children(job.id)))
    except OSError:
        pool.discard(child)
        return {
            "t": "error",
            "code": "worker_crashed",
            "message": "child pipe closed",
            "retryable": True,
            "retry_after": None,
            "traceback": None,
        }
    deadline = time.time() + job.timeout
    cancel_sent_at: float | None = None
    last_progress = 0.0
    while True:
        if run.lost.is_set():
            pool.discard(child)
            return {"t": "lost"}
        if run.hand_back.is_set():
            pool.discard(child)
            return {"t": "handed_back"}
        if run.cancel.is_set():
            if cancel_sent_at is None:
                cancel_sent_at = time.monotonic()
                _try_send(child, {"t": "cancel"})
            elif time.monotonic() - cancel_sent_at > CANCEL_GRACE:
                pool.discard(child)
                return {"t": "cancelled", "reason": "cancelled by request (child stopped)"}
        if time.time() > deadline:
            pool.discard(child)
            return {
                "t": "error",
                "code": "timeout",
                "message": f"the job ran longer than its timeout of {job.timeout:g} s",
                "retryable": True,
                "retry_after": None,
                "traceback": None,
            }
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
            return {
                "t": "error",
                "code": "worker_crashed",
                "message": f"the generator process died (exit code {code})",
                "retryable": True,
                "retry_after": None,
                "traceback": None,
            }
        if msg is None:
            continue
        t = msg["t"]
        try:
            if t == "progress":
                now = time.monotonic()
                if now - last_progress >= PROGRESS_MIN_INTERVAL or msg["done"] >= msg["total"]:
                    last_progress = now
                    queue.progress(job.id, job.attempt, msg["done"], msg["total"], msg["message"])
            elif t == "checkpoint":
                queue.save_checkpoint(job.id, job.attempt, msg["state"])
                _try_send(child, {"t": "ack", "ok": True})
            elif t == "artifact":
                queue.add_artifact(job.id, job.attempt, msg["ref"])
                _try_send(child, {"t": "ack", "ok": True})
            elif t in ("spend", "settle"):
                _try_send(child, metering.answer(meter, msg))
            else:
                child.jobs_run += 1
                if msg.get("code") == "resource_limit":
                    pool.discard(child)  # a child that hit its cap may be left half broken
                else:
                    pool.release(child)
                return msg
        except StaleAttempt as exc:
            log.warning("job %s attempt %s was taken away: %s", job.id, job.attempt, exc)
            _try_send(child, {"t": "ack", "ok": False, "error": exc.message})
            pool.discard(child)
            return {"t": "lost"}


def _try_send(child: Child, msg: dict[str, Any]) -> None:
    try:
        child.send(msg)
    except OSError:
        pass
