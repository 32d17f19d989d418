"""What ``POST /v1/jobs`` does, shared by its FastAPI route and its fast lane
(``submit_lane``), so both validate, price, reserve and answer identically."""

from __future__ import annotations

import asyncio
import json
import logging
from concurrent.futures import Future
from typing import cast

from fastapi import Response
from sqlalchemy import Connection

from renderhouse.accounts import User
from renderhouse.api import inputs
from renderhouse.api.errors import IdempotencyConflict
from renderhouse.api.schemas import JobCreate, JobOut
from renderhouse.api.state import ApiState
from renderhouse.api.webhook_targets import check_webhook_url
from renderhouse.errors import QueueFull
from renderhouse.queue import enqueue
from renderhouse.queue.enqueue import NewJob
from renderhouse.queue.jobs import Job

log = logging.getLogger(__name__)


def needs_io(body: JobCreate, state: ApiState) -> bool:
    """Whether preparing ``body`` may wait on I/O (a webhook host's DNS, uploads or other
    references to read): such a submission is prepared on a worker thread, never on the
    event loop."""
    refs = state.input_references.get(body.kind)
    return (
        body.webhook_url is not None
        or inputs.has_upload_refs(body.input)
        or (refs is not None and refs.mentioned(body.input))
    )


def prepare(state: ApiState, user: User, body: JobCreate, idempotency_key: str | None) -> NewJob:
    """Validate a submission into the job to enqueue, or raise (unknown kind, invalid input
    naming its field, forbidden webhook target)."""
    rt = state.runtime
    generator = rt.registry.public(body.kind)
    if body.webhook_url is not None:
        check_webhook_url(str(body.webhook_url), state.settings.webhook_allow_private)
    files = inputs.file_fields(generator)
    given, refs = body.input, state.input_references.get(body.kind)
    if refs is not None and refs.mentioned(given):
        given = refs.resolve(rt.store, user.id, given)
    raw = inputs.resolve(rt.store, user.id, given, files)
    parsed = generator.parse_input(raw)
    return NewJob(
        kind=body.kind,
        input=parsed.model_dump(mode="json"),
        owner=user.id,
        priority=body.priority,
        max_attempts=state.settings.retry_attempts,
        timeout=generator.default_timeout,
        idempotency_key=idempotency_key,
        webhook_url=str(body.webhook_url) if body.webhook_url else None,
        cost_estimated=generator.estimate_cost(parsed),
    )


def enqueue_in(state: ApiState, user: User, nj: NewJob, conn: Connection) -> tuple[Job, bool]:
    """The enqueue transaction's work: the ``before_enqueue`` hooks (budgets, pricing), then
    the insert with its credit reservation. Returns (job, created)."""
    for hook in state.before_enqueue:
        nj = hook.run(conn, user, nj) or nj
    return state.runtime.queue.enqueue(nj, conn)


def enqueue_grouped(state: ApiState, user: User, nj: NewJob) -> Future[tuple[Job, bool]]:
    """Enqueue a job without an idempotency key through the API's group commit: its
    transaction is shared with whatever other submissions arrived meanwhile."""
    assert nj.idempotency_key is None, "keyed submissions need their replay check"
    return state.group_commit.submit(lambda conn: enqueue_in(state, user, nj, conn), nj.owner)


def hooks_need_connection(state: ApiState, kind: str) -> bool:
    """Whether any ``before_enqueue`` hook reads the database for a job of ``kind``."""
    return any(hook.reads_database(kind) for hook in state.before_enqueue)


class _Replay(Exception):
    """Raised inside the enqueue transaction to roll back work the hooks did for a job
    that turned out to exist already (a concurrent request with the same key won)."""

    def __init__(self, job: Job) -> None:
        self.job = job


def enqueue_keyed(state: ApiState, user: User, nj: NewJob) -> tuple[Job, bool]:
    """A keyed submission in a transaction of its own: (job, created). A key that exists
    answers before any hook runs (a replay is never refused nor priced); a concurrent
    request with the same key that wins makes this one roll back its hooks' work and
    answer with the winner's job. The lookup and the insert are the statements the lanes'
    batches run (``enqueue.by_keys``, ``enqueue.insert_jobs``)."""
    key = (user.id, str(nj.idempotency_key))
    with state.runtime.store.read() as conn:
        found = enqueue.by_keys(conn, [key]).get(key)
    if found is not None:
        return found, False
    try:
        with state.runtime.store.begin() as conn:
            job, created = enqueue_in(state, user, nj, conn)
            if not created:
                raise _Replay(job)
    except _Replay as replay:
        return replay.job, False
    return job, True


def answer(job: Job, created: bool, nj: NewJob) -> Response:
    """201 with a new job; for an idempotent replay, 200 with the first job when the
    request is the same, else 409."""
    if created:
        return job_response(job, 201)
    if not same_request(job, nj):
        raise IdempotencyConflict(
            "this Idempotency-Key was used for a different request; use a new key",
            details={"job_id": job.id},
        )
    return job_response(job, 200)


async def enqueue_on_loop(state: ApiState, user: User, nj: NewJob) -> tuple[Job, bool] | None:
    """Enqueue from the event loop when nothing on the way may block it (PostgreSQL, hooks
    that read nothing for this kind, a fresh queue-depth count): (job, created). None when
    it cannot, and the caller takes ``enqueue_grouped`` or ``enqueue_keyed``."""
    enqueuer, queue = state.async_enqueue, state.runtime.queue
    if enqueuer is None or hooks_need_connection(state, nj.kind):
        return None
    if queue.depth_stale():
        _refresh_depth(state)
    try:
        if not queue.check_depth_cached(1):
            return None
    except QueueFull:
        if nj.idempotency_key is not None:
            return None  # a replay is still answered: ``enqueue_keyed`` looks before it counts
        raise
    for hook in state.before_enqueue:
        # Only hooks that said they read nothing for this kind get here: no connection.
        nj = hook.run(cast(Connection, None), user, nj) or nj
    if nj.idempotency_key is not None:
        return await enqueuer.enqueue_keyed(nj)
    return await enqueuer.enqueue(nj), True


def _refresh_depth(state: ApiState) -> None:
    """Recount the queue on a worker thread, one recount at a time: the event loop goes on
    checking against the previous count meanwhile (at most a second or two old)."""
    if state.depth_refresh is not None:
        return

    def done(finished: asyncio.Future[None]) -> None:
        state.depth_refresh = None
        if not finished.cancelled() and finished.exception() is not None:
            log.warning("could not count the queue: %s", finished.exception())

    task = asyncio.get_running_loop().run_in_executor(None, state.runtime.queue.refresh_depth)
    task.add_done_callback(done)
    state.depth_refresh = task


def same_request(job: Job, nj: NewJob) -> bool:
    """Whether an idempotent replay asks for the same job as the one already made."""
    return (job.kind, job.input, job.priority, job.webhook_url) == (
        nj.kind,
        json.loads(json.dumps(nj.input, sort_keys=True)),
        nj.priority,
        nj.webhook_url,
    )


def job_response(job: Job, status_code: int = 200) -> Response:
    """A job as its JSON response, serialised once by pydantic's own encoder: returning the
    model instead would validate and encode it a second time on the hottest routes (the
    OpenAPI schema still comes from ``response_model``)."""
    body = JobOut.of(job).model_dump_json()
    return Response(body, status_code=status_code, media_type="application/json")
