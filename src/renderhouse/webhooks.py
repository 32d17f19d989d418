"""Webhooks: when a job with a ``webhook_url`` ends, a ``webhook`` job is enqueued in the
same transaction (so the notice is never lost nor sent for a rolled-back end), and the
queue's retries with backoff deliver it. Each delivery's outcome lands in
``webhook_deliveries``; per-attempt errors are in ``job_attempts``.

Signature, Stripe-style: ``Renderhouse-Signature: t=<unix ts>,v1=<hex HMAC-SHA256(secret,
f"{t}.{body}")>``. The secret is per user, derived from the server's secret key; users read
it from ``GET /v1/me`` and should reject timestamps older than a few minutes."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from sqlalchemy import Connection

from renderhouse.queue import enqueue
from renderhouse.queue.enqueue import NewJob
from renderhouse.queue.jobs import SUCCEEDED, Job
from renderhouse.queue.queue import JobQueue
from renderhouse.runtime import Runtime
from renderhouse.store.schema_auth import webhook_deliveries

KIND = "webhook"
HEADER = "Renderhouse-Signature"
TOLERANCE_SECONDS = 300


def user_secret(secret_key: str, owner: str) -> str:
    return (
        "whsec_" + hmac.new(secret_key.encode(), f"webhook:{owner}".encode(), "sha256").hexdigest()
    )


def signature_header(secret: str, body: str, ts: int | None = None) -> str:
    t = int(ts if ts is not None else time.time())
    v1 = hmac.new(secret.encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={v1}"


def verify(secret: str, body: str, header: str, now: float | None = None) -> bool:
    """For receivers (and tests): the signature matches and is fresh."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    if "t" not in parts or "v1" not in parts or not parts["t"].isdigit():
        return False
    if abs((now or time.time()) - int(parts["t"])) > TOLERANCE_SECONDS:
        return False
    expected = signature_header(secret, body, int(parts["t"])).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts["v1"])


def payload(job: Job) -> dict[str, Any]:
    return {
        "id": f"evt_{job.id}_{int((job.finished_at or 0) * 1000)}",
        "type": f"job.{job.state}",
        "created": job.finished_at,
        "data": {
            "id": job.id,
            "kind": job.kind,
            "state": job.state,
            "result": job.result,
            "error": {"code": job.error_code, "message": job.error_message}
            if job.error_code
            else None,
            "cost": {
                "estimated": job.cost_estimated,
                "reserved": job.cost_reserved,
                "posted": job.cost_posted,
            },
            "finished_at": job.finished_at,
        },
    }


def _log_delivery(conn: Connection, job: Job) -> None:
    result = job.result or {}
    conn.execute(
        webhook_deliveries.insert().values(
            job_id=job.input.get("job_id", ""),
            delivery_job_id=job.id,
            url=job.input.get("url", ""),
            event=job.input.get("event", ""),
            outcome="delivered" if job.state == SUCCEEDED else job.state,
            attempts=job.attempts_spent,
            status_code=result.get("status_code"),
            error=job.error_message,
            finished_at=job.finished_at or time.time(),
        )
    )


def install(rt: Runtime, queue: JobQueue | None = None) -> None:
    """Add the terminal hook to ``queue`` (``rt.queue``) once (API and workers both end
    jobs), and give this process's ``webhook`` duty the deployment's target policy."""
    if KIND in rt.registry.kinds():
        delivery: Any = rt.registry.get(KIND)
        delivery.allow_private = rt.settings.webhook_allow_private
    queue = queue if queue is not None else rt.queue
    if any(getattr(h, "renderhouse_webhooks", False) for h in queue.terminal_hooks):
        return
    settings = rt.settings

    def on_terminal(conn: Connection, job: Job) -> None:
        if job.kind == KIND:
            _log_delivery(conn, job)
            return
        if not job.webhook_url:
            return
        event = payload(job)
        body = json.dumps(event, separators=(",", ":"), sort_keys=True)
        nj = NewJob(
            kind=KIND,
            input={
                "url": job.webhook_url,
                "body": body,
                "secret": user_secret(settings.secret_key, job.owner),
                "job_id": job.id,
                "event": event["type"],
                "timeout": settings.webhook_timeout_seconds,
            },
            owner=job.owner,
            priority=100,
            max_attempts=settings.webhook_max_attempts,
            timeout=settings.webhook_timeout_seconds + 5,
            idempotency_key=f"webhook:{event['id']}",
            parent_id=job.id,
        )
        enqueue.insert_jobs(conn, rt.store.dialect, [nj], queue.clock.now())

    on_terminal.renderhouse_webhooks = True  # type: ignore[attr-defined]
    queue.terminal_hooks.append(on_terminal)
