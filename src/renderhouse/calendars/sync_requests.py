"""Asking for a sync: ``POST /v1/calendars/{id}/sync {job}`` enqueues a ``calendar_sync``
job (``duties/calendar_sync.py``) for one schedule job's events. It is a job of its own, so
a calendar outage retries the sync with backoff while the extraction's result stays as it
is; it may be asked for before the extraction ends (it waits for it, snoozing).

The events' ``source`` (what their UIDs and our ownership marks derive from) defaults to
the uploaded file's name, so syncing a new version of ``rota.pdf`` into the same calendar
updates, adds and deletes only the events the last version put there."""

from __future__ import annotations

from typing import Any

from renderhouse import uploads
from renderhouse.calendars import connections
from renderhouse.errors import InvalidInput, NotFound
from renderhouse.queue.enqueue import NewJob
from renderhouse.queue.jobs import Job
from renderhouse.queue.queue import JobQueue

KIND = "calendar_sync"
EXTRACTION_KIND = "schedule"
TIMEOUT_SECONDS = 300.0


def default_source(queue: JobQueue, owner: str, extraction: Job) -> str:
    ref = extraction.input.get("pdf")
    if isinstance(ref, str) and ref.startswith("upload:"):
        with queue.store.read() as conn:
            row = uploads.owned_one(conn, owner, ref.removeprefix("upload:"))
        if row is not None and row._mapping["name"]:
            return str(row._mapping["name"])
    if isinstance(ref, str) and ref:
        return ref.replace("\\", "/").rsplit("/", 1)[-1]
    return extraction.id


def request_sync(
    queue: JobQueue, *, owner: str, connection_id: str, job_id: str, source: str | None,
    max_attempts: int,
) -> Job:  # fmt: skip
    with queue.store.read() as conn:
        connections.get(conn, owner, connection_id)  # 404 for an unknown or foreign one
    try:
        extraction = queue.get(job_id, owner)
    except NotFound:
        raise NotFound(f"no job {job_id!r}", details={"job": job_id}) from None
    if extraction.kind != EXTRACTION_KIND:
        raise InvalidInput(
            f"job {job_id} is a {extraction.kind!r} job; only schedule jobs have events to sync",
            code="not_a_schedule_job", details={"field": "job", "kind": extraction.kind},
        )  # fmt: skip
    payload: dict[str, Any] = {
        "connection": connection_id, "job": job_id, "owner": owner,
        "source": source or default_source(queue, owner, extraction),
    }  # fmt: skip
    new = NewJob(
        kind=KIND, input=payload, owner=owner, max_attempts=max_attempts,
        timeout=TIMEOUT_SECONDS, parent_id=job_id,
    )  # fmt: skip
    return queue.enqueue(new)[0]
