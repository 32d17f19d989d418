"""``/v1/poses``: the shipped pose library and the caller's own poses (captured from an
avatar or a clip), with categories, search and thumbnails rendered once on the mannequin.
Own poses are owner-scoped and usable by name in a pose job's ``poses``."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool

from renderhouse.accounts import User
from renderhouse.api.auth import current_user
from renderhouse.api.avatar_schemas import (
    Category,
    CategoryList,
    PoseCreate,
    PoseDetail,
    PoseList,
    PoseOut,
)
from renderhouse.api.errors import Forbidden, Unavailable
from renderhouse.api.schemas import ERRORS
from renderhouse.api.state import ApiState, api_state
from renderhouse.avatars import avatar_rows, inspection, own_poses, thumbnails
from renderhouse.avatars.own_poses import POSE_NAME, OwnPose
from renderhouse.errors import Conflict, InvalidInput, NotFound

router = APIRouter(prefix="/v1/poses", tags=["poses"], responses=ERRORS)
Caller = Annotated[User, Depends(current_user)]
State = Annotated[ApiState, Depends(api_state)]
PoseName = Annotated[str, PathParam(pattern=POSE_NAME)]
PNG: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/png": {}}, "description": "a PNG thumbnail"}
}


def _library() -> dict[str, Any]:
    from renderhouse.generators.pose.pose_format import library

    return library()


def _thumb(name: str) -> str:
    return f"/v1/poses/{name}/thumbnail.png"


def _shipped(name: str, p: Any) -> PoseOut:
    title = p.title or name
    return PoseOut(
        name=name, title=title, category=p.category, tags=list(p.tags), source="library",
        thumbnail_url=_thumb(name),
    )  # fmt: skip


def _own(p: OwnPose) -> PoseOut:
    return PoseOut(
        name=p.name, title=p.title, category=p.category, tags=list(p.pose.get("tags") or []),
        source="own", thumbnail_url=_thumb(p.name), created_at=p.created_at,
    )  # fmt: skip


def _all(state: ApiState, owner: str) -> list[PoseOut]:
    with state.runtime.store.read() as conn:
        mine = own_poses.all_of(conn, owner)
    return [_shipped(n, p) for n, p in _library().items()] + [_own(p) for p in mine]


def _matches(p: PoseOut, q: str) -> bool:
    words = q.lower().split()
    text = " ".join([p.name, p.title, p.category, *p.tags]).lower()
    return all(w in text for w in words)


@router.get("", response_model=PoseList)
def list_poses(
    user: Caller,
    state: State,
    category: Annotated[str | None, Query(max_length=32)] = None,
    q: Annotated[str | None, Query(max_length=100, description="words in name/title/tags")] = None,
) -> PoseList:
    """The library's poses, then yours; ``category`` filters, ``q`` searches."""
    poses = _all(state, user.id)
    if category is not None:
        poses = [p for p in poses if p.category == category]
    if q:
        poses = [p for p in poses if _matches(p, q)]
    return PoseList(data=poses)


@router.get("/categories", response_model=CategoryList)
def list_categories(user: Caller, state: State) -> CategoryList:
    """Categories in library order (your own categories after), with pose counts."""
    counts: dict[str, int] = {}
    for p in _all(state, user.id):
        counts[p.category] = counts.get(p.category, 0) + 1
    return CategoryList(data=[Category(name=k, count=v) for k, v in counts.items()])


def _find(state: ApiState, owner: str, name: str) -> tuple[PoseOut, dict[str, Any]]:
    shipped = _library().get(name)
    if shipped is not None:
        return _shipped(name, shipped), shipped.as_dict()
    with state.runtime.store.read() as conn:
        mine = own_poses.find(conn, owner, name)
    if mine is None:
        raise NotFound(f"no pose named {name!r}", details={"name": name})
    return _own(mine), mine.pose


@router.get("/{name}", response_model=PoseDetail)
def get_pose(name: PoseName, user: Caller, state: State) -> PoseDetail:
    """One pose with its rotations (``renderhouse-pose/1``)."""
    out, pose = _find(state, user.id, name)
    return PoseDetail(**dict(out), pose=pose)


@router.get("/{name}/thumbnail.png", response_class=Response, responses=PNG)
async def pose_thumbnail(name: PoseName, user: Caller, state: State) -> Response:
    """The pose on the neutral mannequin (256², PNG), rendered on first request and cached;
    503 with Retry-After while a first render takes longer than a few seconds."""
    _, pose = await run_in_threadpool(_find, state, user.id, name)
    cache = state.settings.data_dir / "cache"
    inflight = state.pose_thumbnails
    if name in _library():
        key = f"library:{name}"
        render = partial(thumbnails.library_thumbnail, cache, name)
    else:
        key = f"own:{thumbnails.own_thumbnail_path(cache, pose).name}"
        render = partial(thumbnails.own_thumbnail, cache, pose)
    try:
        path = await thumbnails.rendered(inflight, key, render)
    except thumbnails.StillRendering:
        raise Unavailable(
            "the thumbnail is still rendering; ask again in a few seconds",
            code="thumbnail_rendering",
            details={"pose": name},
        ) from None
    except thumbnails.RenderFailed as exc:
        raise Unavailable(
            "the thumbnail could not be rendered on this server; `renderhouse check` says why",
            code="thumbnail_failed",
            details={"pose": name},
        ) from exc
    data = await run_in_threadpool(Path(path).read_bytes)
    return Response(
        data, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"}
    )


@router.post("", status_code=201, response_model=PoseOut)
def create_pose(body: PoseCreate, user: Caller, state: State) -> PoseOut:
    """Capture your own pose from one of your avatars (its stored pose or a clip at a time)
    or from an uploaded GLB's clip at a time (422 ``unknown_clip``, ``bad_clip_time``,
    ``not_humanoid``…; 409 when the name is taken)."""
    if (body.avatar is None) == (body.upload is None):
        raise InvalidInput(
            "give exactly one of avatar (av_…) or upload (upload:<id>)",
            code="pose_source",
            details={"fields": ["avatar", "upload"]},
        )
    if body.name in _library():
        raise Conflict(
            f"{body.name!r} is a library pose; pick another name",
            code="pose_exists",
            details={"name": body.name},
        )
    rt = state.runtime
    cache = state.settings.data_dir / "cache" / "uploads"
    overrides: dict[str, str] = {}
    source: dict[str, Any] = {"clip": body.clip, "time": body.time}
    if body.avatar is not None:
        with rt.store.read() as conn:
            record = avatar_rows.get(conn, user.id, body.avatar)
        upload, overrides = record.upload_ref, record.bone_overrides
        source["avatar"] = record.id
    else:
        upload = str(body.upload)
    source["upload"] = upload
    path = inspection.staged_glb(rt.store, rt.storage, cache, user.id, upload)
    pose = inspection.capture(path, overrides, name=body.name, clip=body.clip, time=body.time)
    pose.update(category=body.category, title=body.title or body.name, tags=body.tags)
    with rt.store.begin() as conn:
        return _own(own_poses.create(conn, user.id, pose, source))


@router.delete("/{name}", status_code=204, response_class=Response)
def delete_pose(name: PoseName, user: Caller, state: State) -> Response:
    """Delete one of your own poses (library poses cannot be)."""
    if name in _library():
        raise Forbidden(f"{name!r} is a library pose; only your own poses can be deleted")
    with state.runtime.store.begin() as conn:
        own_poses.delete(conn, user.id, name)
    return Response(status_code=204)
