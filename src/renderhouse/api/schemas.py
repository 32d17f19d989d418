"""Request and response bodies as the OpenAPI document shows them."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, PlainSerializer, WithJsonSchema

from renderhouse.queue.enqueue import MAX_PRIORITY
from renderhouse.queue.jobs import Job
from renderhouse.timestamps import rfc3339

Timestamp = Annotated[
    float,
    PlainSerializer(rfc3339, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time", "example": "2026-12-07T15:24:01Z"}),
]
"""A time in a response: stored as epoch seconds, shown as RFC 3339 (``timestamps.py``)."""


class JobCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(min_length=1, max_length=64, description="a generator kind, e.g. turntable")
    input: dict[str, Any] = Field(default_factory=dict, description="the generator's input")
    priority: int = Field(0, ge=0, le=MAX_PRIORITY, description="higher runs first")
    webhook_url: HttpUrl | None = Field(
        None, description="POSTed a signed payload when the job ends"
    )


class Progress(BaseModel):
    done: float
    total: float
    fraction: float
    message: str


class Cost(BaseModel):
    estimated: int
    reserved: int
    posted: int | None


class JobError(BaseModel):
    code: str
    message: str | None


class JobOut(BaseModel):
    id: str
    kind: str
    owner: str
    state: str
    input: dict[str, Any]
    priority: int
    attempt: int
    max_attempts: int
    progress: Progress
    result: dict[str, Any] | None
    error: JobError | None
    cost: Cost
    webhook_url: str | None
    created_at: Timestamp
    started_at: Timestamp | None
    finished_at: Timestamp | None
    updated_at: Timestamp

    @classmethod
    def of(cls, job: Job) -> JobOut:
        return cls(
            id=job.id,
            kind=job.kind,
            owner=job.owner,
            state=job.state,
            input=job.input,
            priority=job.priority,
            attempt=job.attempts_spent,
            max_attempts=job.max_attempts,
            progress=Progress(
                done=job.progress_done,
                total=job.progress_total,
                fraction=job.progress,
                message=job.progress_message,
            ),
            result=job.result,
            error=JobError(code=job.error_code, message=job.error_message)
            if job.error_code
            else None,
            cost=Cost(
                estimated=job.cost_estimated, reserved=job.cost_reserved, posted=job.cost_posted
            ),
            webhook_url=job.webhook_url,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            updated_at=job.updated_at,
        )


class JobPage(BaseModel):
    data: list[JobOut]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next (older) page")


class ArtifactOut(BaseModel):
    name: str
    content_type: str
    size: int
    sha256: str
    url: str
    expires_at: Timestamp


class UploadOut(BaseModel):
    id: str
    name: str
    content_type: str
    size: int
    sha256: str
    created_at: Timestamp
    ref: str = Field(description="use this string in a job input to refer to the file")


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict[str, Any]


class ErrorOut(BaseModel):
    error: ErrorDetail


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (400, 401, 403, 404, 409, 422, 429, 503)
}
