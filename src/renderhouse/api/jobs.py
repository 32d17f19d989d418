"""``/v1/jobs``: submit, look up, list, cancel, retry. A caller only ever sees its own jobs:
another user's job id answers 404, exactly like an id that does not exist."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from fastapi import APIRouter, Depends, Header, Query, Response

from renderhouse.accounts import User
from renderhouse.api import submission
from renderhouse.api.auth import current_user
from renderhouse.api.schemas import ERRORS, JobCreate, JobOut, JobPage
from renderhouse.api.state import ApiState, api_state
from renderhouse.queue.jobs import STATES

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], responses=ERRORS)

MAX_PAGE = 200
StateFilter = Literal["queued", "running", "succeeded", "failed", "cancelled"]
assert set(get_args(StateFilter)) == set(STATES)  # an enum in the OpenAPI document
JOB_ID = r"^[0-9a-f]{12,32}$"


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
        job, created = submission.enqueue_keyed(state, user, nj)
        return submission.answer(job, created, nj)
    job, _ = submission.enqueue_grouped(state, user, nj).result()
    return submission.job_response(job, 201)


@router.get("", response_model=JobPage)
def list_jobs(
    user: Annotated[User, Depends(current_user)],
    state: Annotated[ApiState, Depends(api_state)],
    job_state: Annotated[StateFilter | None, Query(alias="state")] = None,
    kind: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Annotated[str | None, Query(pattern=JOB_ID, description="next_cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> JobPage:
    """Your jobs, newest first, one page at a time."""
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
