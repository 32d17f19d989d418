"""``/v1/avatars``, ``/v1/avatar-projects``, ``/v1/presets``: rigged avatars validated by the
``pose`` generator's own code, their bone maps (shown and editable), the projects that group
them, users' default shots and each avatar's usage. Owner-scoped: another user's id answers
404. A pose job takes ``avatar: "avatar:<id>"`` and ``preset: "preset:<id>"``
(``avatars/job_input.py``). Routes are plain functions: FastAPI runs them on worker threads,
so validating a GLB never holds up the event loop."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Query, Response
from fastapi import Path as PathParam

from renderhouse.accounts import User
from renderhouse.api.auth import current_user
from renderhouse.api.avatar_schemas import (
    AvatarCreate,
    AvatarOut,
    AvatarPage,
    AvatarPatch,
    PresetCreate,
    PresetOut,
    ProjectCreate,
    ProjectOut,
    UsagePage,
    Use,
)
from renderhouse.api.paging import Limit, Offset, next_offset
from renderhouse.api.schemas import ERRORS
from renderhouse.api.state import ApiState, InputReferences, api_state
from renderhouse.avatars import avatar_rows, inspection, job_input, projects, usage
from renderhouse.avatars.avatar_rows import AVATAR_ID, AvatarRecord
from renderhouse.avatars.projects import PRESET_ID, PROJECT_ID

router = APIRouter(tags=["avatars"], responses=ERRORS)
AvatarId = Annotated[str, PathParam(pattern=AVATAR_ID)]
ProjectId = Annotated[str, PathParam(pattern=PROJECT_ID)]
PresetId = Annotated[str, PathParam(pattern=PRESET_ID)]
Caller = Annotated[User, Depends(current_user)]
State = Annotated[ApiState, Depends(api_state)]


def install(app: FastAPI, state: ApiState) -> None:
    """The routes, and ``avatar:``/``preset:``/own-pose references in ``pose`` jobs."""
    app.include_router(router)
    state.input_references["pose"] = InputReferences(
        job_input.mentions_references, job_input.resolve
    )


def _cache(state: ApiState) -> Path:
    return state.settings.data_dir / "cache" / "uploads"


def _summary(state: ApiState, owner: str, upload: str, bone_map: dict[str, str]) -> dict:
    rt = state.runtime
    path = inspection.staged_glb(rt.store, rt.storage, _cache(state), owner, upload)
    return inspection.summarise(path, bone_map)


def _out(r: AvatarRecord) -> AvatarOut:
    return AvatarOut(
        id=r.id,
        ref=f"avatar:{r.id}",
        name=r.name,
        project_id=r.project_id,
        upload=r.upload_ref,
        bone_map=r.bone_overrides,
        mapping=r.mapping,
        summary=r.summary,
        created_at=r.created_at,
        updated_at=r.updated_at,
    )


@router.post("/v1/avatars", status_code=201, response_model=AvatarOut)
def create_avatar(body: AvatarCreate, user: Caller, state: State) -> AvatarOut:
    """Validate an uploaded rigged GLB as a humanoid avatar and map its bones (422 with the
    generator's code: ``no_skin``, ``not_humanoid``, ``bad_weights``, ``unknown_bone``…)."""
    store = state.runtime.store
    if body.project_id is not None:
        with store.read() as conn:
            projects.get_project(conn, user.id, body.project_id)
    summary = _summary(state, user.id, body.upload, body.bone_map)
    name = body.name
    if name is None:
        with store.read() as conn:
            name = inspection.upload_name(conn, user.id, body.upload)
    with store.begin() as conn:
        record = avatar_rows.create(
            conn,
            user.id,
            name=name,
            upload_id=body.upload.removeprefix("upload:"),
            project_id=body.project_id,
            bone_overrides=body.bone_map,
            summary=summary,
        )
    return _out(record)


@router.get("/v1/avatars", response_model=AvatarPage)
def list_avatars(
    user: Caller,
    state: State,
    project_id: Annotated[str | None, Query(pattern=PROJECT_ID)] = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> AvatarPage:
    """Your avatars, newest first (``offset``/``limit`` pages; ``project_id`` filters)."""
    with state.runtime.store.read() as conn:
        rows, total = avatar_rows.page(
            conn, user.id, project_id=project_id, offset=offset, limit=limit
        )
    return AvatarPage(
        data=[_out(r) for r in rows], total=total, next_offset=next_offset(offset, len(rows), total)
    )


@router.get("/v1/avatars/{avatar_id}", response_model=AvatarOut)
def get_avatar(avatar_id: AvatarId, user: Caller, state: State) -> AvatarOut:
    with state.runtime.store.read() as conn:
        return _out(avatar_rows.get(conn, user.id, avatar_id))


@router.patch("/v1/avatars/{avatar_id}", response_model=AvatarOut)
def update_avatar(avatar_id: AvatarId, body: AvatarPatch, user: Caller, state: State) -> AvatarOut:
    """Rename, move to a project (null: none) or edit the bone map (validated again: the
    avatar keeps its old map when the new one is refused)."""
    store = state.runtime.store
    changes: dict = {}
    with store.read() as conn:
        record = avatar_rows.get(conn, user.id, avatar_id)
        if body.project_id is not None:
            projects.get_project(conn, user.id, body.project_id)
    if "name" in body.model_fields_set and body.name is not None:
        changes["name"] = body.name
    if "project_id" in body.model_fields_set:
        changes["project_id"] = body.project_id
    if body.bone_map is not None:
        changes["bone_overrides"] = body.bone_map
        changes["summary"] = _summary(state, user.id, record.upload_ref, body.bone_map)
    with store.begin() as conn:
        return _out(avatar_rows.update(conn, user.id, avatar_id, **changes))


@router.delete("/v1/avatars/{avatar_id}", status_code=204, response_class=Response)
def delete_avatar(avatar_id: AvatarId, user: Caller, state: State) -> Response:
    """Delete the avatar (its upload and the jobs that used it stay)."""
    with state.runtime.store.begin() as conn:
        avatar_rows.delete(conn, user.id, avatar_id)
    return Response(status_code=204)


@router.get("/v1/avatars/{avatar_id}/usage", response_model=UsagePage)
def avatar_usage(
    avatar_id: AvatarId,
    user: Caller,
    state: State,
    offset: Offset = 0,
    limit: Limit = 50,
) -> UsagePage:
    """The pose jobs run with this avatar's file, newest first, with the credits the ledger
    reserved, posted and voided for each."""
    with state.runtime.store.read() as conn:
        record = avatar_rows.get(conn, user.id, avatar_id)
        rows, total = usage.uses(conn, user.id, record.upload_id, offset=offset, limit=limit)
    data = [
        Use(
            job_id=u.job_id,
            state=u.state,
            poses=u.poses,
            credits_reserved=u.reserved,
            credits_posted=u.posted,
            credits_voided=u.voided,
            created_at=u.created_at,
            finished_at=u.finished_at,
        )
        for u in rows
    ]
    return UsagePage(
        avatar_id=avatar_id, data=data, total=total, next_offset=next_offset(offset, limit, total)
    )


def _project_out(p: projects.Project) -> ProjectOut:
    return ProjectOut(
        id=p.id,
        name=p.name,
        preset_id=p.preset_id,
        avatars=p.avatars,
        created_at=p.created_at,
        updated_at=p.updated_at,
    )


@router.post("/v1/avatar-projects", status_code=201, response_model=ProjectOut)
def create_project(body: ProjectCreate, user: Caller, state: State) -> ProjectOut:
    """A group of avatars, optionally with a default preset for their pose jobs."""
    with state.runtime.store.begin() as conn:
        return _project_out(projects.create_project(conn, user.id, body.name, body.preset_id))


@router.get("/v1/avatar-projects", response_model=list[ProjectOut])
def list_projects(user: Caller, state: State) -> list[ProjectOut]:
    with state.runtime.store.read() as conn:
        return [_project_out(p) for p in projects.list_projects(conn, user.id)]


@router.get("/v1/avatar-projects/{project_id}", response_model=ProjectOut)
def get_project(project_id: ProjectId, user: Caller, state: State) -> ProjectOut:
    with state.runtime.store.read() as conn:
        return _project_out(projects.get_project(conn, user.id, project_id))


@router.delete("/v1/avatar-projects/{project_id}", status_code=204, response_class=Response)
def delete_project(project_id: ProjectId, user: Caller, state: State) -> Response:
    """Delete the project; its avatars stay, ungrouped."""
    with state.runtime.store.begin() as conn:
        projects.delete_project(conn, user.id, project_id)
    return Response(status_code=204)


def _preset_out(p: projects.Preset) -> PresetOut:
    return PresetOut(
        id=p.id,
        ref=f"preset:{p.id}",
        name=p.name,
        settings=p.settings,
        created_at=p.created_at,
        updated_at=p.updated_at,
    )


@router.post("/v1/presets", status_code=201, response_model=PresetOut)
def create_preset(body: PresetCreate, user: Caller, state: State) -> PresetOut:
    """A default shot (camera, background, lighting, size, …) for pose jobs."""
    settings = body.settings.model_dump(exclude_none=True)
    with state.runtime.store.begin() as conn:
        return _preset_out(projects.create_preset(conn, user.id, body.name, settings))


@router.get("/v1/presets", response_model=list[PresetOut])
def list_presets(user: Caller, state: State) -> list[PresetOut]:
    with state.runtime.store.read() as conn:
        return [_preset_out(p) for p in projects.list_presets(conn, user.id)]


@router.get("/v1/presets/{preset_id}", response_model=PresetOut)
def get_preset(preset_id: PresetId, user: Caller, state: State) -> PresetOut:
    with state.runtime.store.read() as conn:
        return _preset_out(projects.get_preset(conn, user.id, preset_id))


@router.delete("/v1/presets/{preset_id}", status_code=204, response_class=Response)
def delete_preset(preset_id: PresetId, user: Caller, state: State) -> Response:
    """Delete the preset; projects that used it keep no default."""
    with state.runtime.store.begin() as conn:
        projects.delete_preset(conn, user.id, preset_id)
    return Response(status_code=204)
