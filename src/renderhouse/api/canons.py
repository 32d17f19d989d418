"""``/v1/canons``: users' stored brand canons, validated by the ``render`` generator's own
canon model and versioned (a ``PUT`` adds a version; older ones stay readable with
``?version=``). Owner-scoped: another user's id answers 404. ``render`` and
``render_check`` jobs take ``canon: "canon:<id>[@<version>]"`` (``canons/job_input.py``);
``POST /v1/canons/{id}/check`` runs the report on an uploaded picture as a ``render_check``
job. Routes are plain functions: FastAPI runs them on worker threads, so decoding a canon's
logo never holds up the event loop."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Query, Response
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from renderhouse.accounts import User
from renderhouse.api import canon_uploads, submission
from renderhouse.api.auth import current_user
from renderhouse.api.paging import Limit, Offset, Page, next_offset
from renderhouse.api.schemas import ERRORS, ErrorOut, JobCreate, JobOut, Timestamp
from renderhouse.api.state import ApiState, InputReferences, api_state
from renderhouse.canons import canon_rows, content, job_input
from renderhouse.canons.canon_rows import CANON_ID, CanonRecord

router = APIRouter(tags=["canons"], responses=ERRORS)
CanonId = Annotated[str, PathParam(pattern=CANON_ID)]
Caller = Annotated[User, Depends(current_user)]
State = Annotated[ApiState, Depends(api_state)]
Version = Annotated[int | None, Query(ge=1, le=999_999_999, description="an older version")]
CanonBody = Annotated[
    dict[str, Any],
    Body(description="a brand canon (docs/render.md): palette, background, logo, framing, …"),
]


def install(app: FastAPI, state: ApiState) -> None:
    """The routes, and ``canon:`` references in ``render`` and ``render_check`` jobs."""
    app.include_router(router)
    refs = InputReferences(job_input.mentions_references, job_input.resolve)
    for kind in job_input.KINDS:
        state.input_references[kind] = refs


class CanonSummary(BaseModel):
    id: str
    ref: str = Field(description="canon:<id>, for a render job's input.canon")
    name: str
    version: int = Field(description="the current version (each PUT adds one)")
    created_at: Timestamp
    updated_at: Timestamp


class CanonOut(CanonSummary):
    source: str = Field(description="canon:<id>@<version>: this exact version")
    sha256: str = Field(description="of the stored canon JSON")
    canon: dict[str, Any] = Field(description="the canon as validated")


class CanonPage(Page[CanonSummary]):
    pass


class CheckCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    image: Annotated[str, StringConstraints(pattern=r"^upload:[A-Za-z0-9_-]{1,64}$")] = Field(
        description="upload:<id> of a PNG, JPEG or WebP picture (POST /v1/uploads)"
    )
    version: int | None = Field(None, ge=1, le=999_999_999, description="default: the current")


def _summary(r: CanonRecord) -> CanonSummary:
    return CanonSummary(
        id=r.id,
        ref=f"canon:{r.id}",
        name=r.name,
        version=r.version,
        created_at=r.created_at,
        updated_at=r.updated_at,
    )


def _out(r: CanonRecord) -> CanonOut:
    assert r.content is not None and r.sha256 is not None
    return CanonOut(
        id=r.id,
        ref=f"canon:{r.id}",
        name=r.name,
        version=r.version,
        created_at=r.created_at,
        updated_at=r.updated_at,
        source=r.source,
        sha256=r.sha256,
        canon=r.content,
    )


@router.post("/v1/canons", status_code=201, response_model=CanonOut)
def create_canon(body: CanonBody, user: Caller, state: State) -> CanonOut:
    """Store a canon (422 with the canon's code: ``invalid_colour``, ``invalid_logo``,
    ``invalid_background``, ``invalid_framing``, ``invalid_canon``…). It is version 1."""
    canon = content.validated(canon_uploads.inlined(state.runtime, user.id, body))
    with state.runtime.store.begin() as conn:
        return _out(canon_rows.create(conn, user.id, canon))


@router.get("/v1/canons", response_model=CanonPage)
def list_canons(
    user: Caller,
    state: State,
    offset: Offset = 0,
    limit: Limit = 50,
) -> CanonPage:
    """Your canons, newest first, without their content (``offset``/``limit`` pages)."""
    with state.runtime.store.read() as conn:
        rows, total = canon_rows.page(conn, user.id, offset=offset, limit=limit)
    return CanonPage(
        data=[_summary(r) for r in rows],
        total=total,
        next_offset=next_offset(offset, len(rows), total),
    )


@router.get("/v1/canons/{canon_id}", response_model=CanonOut)
def get_canon(canon_id: CanonId, user: Caller, state: State, version: Version = None) -> CanonOut:
    """The canon's current version, or an older one with ``?version=``."""
    with state.runtime.store.read() as conn:
        return _out(canon_rows.get(conn, user.id, canon_id, version))


@router.put("/v1/canons/{canon_id}", response_model=CanonOut)
def replace_canon(canon_id: CanonId, body: CanonBody, user: Caller, state: State) -> CanonOut:
    """Replace the canon: a new version becomes current (jobs already submitted keep the
    version they named; the old versions stay readable)."""
    canon = content.validated(canon_uploads.inlined(state.runtime, user.id, body))
    with state.runtime.store.begin() as conn:
        return _out(canon_rows.replace(conn, user.id, canon_id, canon))


@router.delete("/v1/canons/{canon_id}", status_code=204, response_class=Response)
def delete_canon(canon_id: CanonId, user: Caller, state: State) -> Response:
    """Delete the canon and its versions (jobs that ran with it keep their copy)."""
    with state.runtime.store.begin() as conn:
        canon_rows.delete(conn, user.id, canon_id)
    return Response(status_code=204)


@router.post(
    "/v1/canons/{canon_id}/check",
    status_code=201,
    response_model=JobOut,
    responses={402: {"model": ErrorOut}},
)
def check_picture(canon_id: CanonId, body: CheckCreate, user: Caller, state: State) -> Response:
    """Run the brand-canon report on your uploaded picture as a ``render_check`` job (cheap:
    no rendering); the job records the canon version used (``input.canon.source``)."""
    ref = f"canon:{canon_id}" + (f"@{body.version}" if body.version is not None else "")
    job = JobCreate(
        kind="render_check",
        input={"canon": ref, "image": body.image},
        priority=0,
        webhook_url=None,
    )
    nj = submission.prepare(state, user, job, None)
    created, _ = submission.enqueue_grouped(state, user, nj).result()
    return submission.job_response(created, 201)
