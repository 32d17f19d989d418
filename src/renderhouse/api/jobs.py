"""``/v1/jobs``: submit, look up, list, cancel, retry. A caller only ever sees its own jobs:
another user's job id answers 404, exactly like an id that does not exist."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response
from sqlalchemy import select

from renderhouse.accounts import User
from renderhouse.api import submission
from renderhouse.api.auth import current_user
from renderhouse.api.errors import IdempotencyConflict
from renderhouse.api.schemas import ERRORS, JobCreate, JobOut, JobPage
from renderhouse.api.state import ApiState, api_state
from renderhouse.errors import InvalidInput
from renderhouse.queue.enqueue import NewJob
from renderhouse.queue.jobs import STATES, Job
from renderhouse.store.schema import jobs

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], responses=ERRORS)

MAX_PAGE = 200
JOB_ID = r"^[0-9a-f]{12,32}$"


class _Replay(Exception):
    """Raised inside the enqueue transaction to roll back work the hooks did for a job
    that turned out to exist already (a concurrent request with the same key won)."""

    def __init__(self, job: Job) -> None:
        self.job = job


def _existing(state: ApiState, owner: str, key: str) -> Job | None:
    with state.runtime.store.read() as conn:
        row = conn.execute(
            select(jobs).where(jobs.c.owner == owner, jobs.c.idempotency_key == key)
        ).first()
    return Job.from_row(row) if row is not None else None


def _replay(job: Job, nj: NewJob) -> Response:
    if not submission.same_request(job, nj):
        raise IdempotencyConflict(
            "this Idempotency-Key was used for a different request; use a new key",
            details={"job_id": job.id},
        )
    return submission.job_response(job, 200)


def _enqueue_keyed(state: ApiState, user: User, nj: NewJob) -> Response:
    """A keyed submission in a transaction of its own: a concurrent request with the same
    key that wins makes this one roll back its hooks' work and answer as a replay."""
    found = _existing(state, user.id, str(nj.idempotency_key))
    if found is not None:
        return _replay(found, nj)
    try:
        with state.runtime.store.begin() as conn:
            job, created = submission.enqueue_in(state, user, nj, conn)
            if not created:
                raise _Replay(job)
    except _Replay as replay:
        return _replay(replay.job, nj)
    return submission.job_response(job, 201)


@router.post("", status_code=201, response_model=JobOut)
def submit(
    body: JobCreate,
    user: Annotated[User, Depends(current_user)],
    state: Annotated[ApiState, Depends(api_state)],
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> Response:
    """Enqueue a job. The same Idempotency-Key with the same body returns the first job
    (200); with a different body, 409."""
    nj = submission.prepare(state, user, body, idempotency_key)
    if idempotency_key is not None:
        return _enqueue_keyed(state, user, nj)
    job, _ = submission.enqueue_grouped(state, user, nj).result()
    return submission.job_response(job, 201)


@router.get("", response_model=JobPage)
def list_jobs(
    user: Annotated[User, Depends(current_user)],
    state: Annotated[ApiState, Depends(api_state)],
    job_state: Annotated[str | None, Query(alias="state", description="|".join(STATES))] = None,
    kind: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Annotated[str | None, Query(pattern=JOB_ID, description="next_cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> JobPage:
    """Your jobs, newest first, one page at a time."""
    if job_state is not None and job_state not in STATES:
        raise InvalidInput(f"state must be one of {', '.join(STATES)}", details={"field": "state"})
    page = state.runtime.queue.list_jobs(
        owner=user.id, state=job_state, kind=kind, before_id=cursor, limit=limit
    )
    next_cursor = page[-1].id if len(page) == limit else None
    return JobPage(data=[JobOut.of(j) for j in page], next_cursor=next_cursor)


@router.get("/{job_id}", response_model=JobOut)
def get_job(
    job_id: str,
    user: Annotated[User, Depends(current_user)],
    state: Annotated[ApiState, Depends(api_state)],
) -> Response:
    return submission.job_response(state.runtime.queue.get(job_id, owner=user.id))


@router.post("/{job_id}/cancel", response_model=JobOut)
def cancel_job(
    job_id: str,
    user: Annotated[User, Depends(current_user)],
    state: Annotated[ApiState, Depends(api_state)],
) -> JobOut:
    """A queued job ends at once; a running one is asked to stop (state stays running
    until its worker stops it)."""
    return JobOut.of(state.runtime.queue.cancel(job_id, owner=user.id))


@router.post("/{job_id}/retry", response_model=JobOut)
def retry_job(
    job_id: str,
    user: Annotated[User, Depends(current_user)],
    state: Annotated[ApiState, Depends(api_state)],
) -> JobOut:
    """Run a failed or cancelled job again (409 for any other state)."""
    return JobOut.of(state.runtime.queue.retry(job_id, owner=user.id))
