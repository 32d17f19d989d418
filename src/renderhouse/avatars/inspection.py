"""Reads an uploaded avatar with the ``pose`` generator's own validation (the same code the
worker runs, so an avatar accepted here renders there) and captures poses from it. The
upload is staged to a local file exactly as a worker stages it; nothing here stores a path.

These calls parse untrusted glTF on the CPU: routes run them on a worker thread, and the
generator's limits (``AVATAR_LIMITS``) bound their time and memory."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from renderhouse.errors import InvalidInput, ModelError, RenderhouseError
from renderhouse.storage.base import Storage
from renderhouse.store.database import Store
from renderhouse.store.schema_auth import uploads
from renderhouse.uploads import Staging, stored_type

log = logging.getLogger(__name__)

GLB = "model/gltf-binary"


def staged_glb(store: Store, storage: Storage, cache_dir: Path, owner: str, ref: str) -> Path:
    """The local file of ``owner``'s upload ``upload:<id>``, which must be a GLB."""
    upload_id = ref.removeprefix("upload:")
    with store.read() as conn:
        content_type, _ = stored_type(conn, owner, upload_id)  # another user's: NotFound
    if content_type != GLB:
        raise InvalidInput(
            f"upload {upload_id} is {content_type}; an avatar is a rigged GLB "
            "(export binary glTF with its skin)",
            code="wrong_file_type",
            details={"content_type": content_type, "accepted": [GLB]},
        )
    return Path(Staging(store, storage, cache_dir).stage(owner, f"upload:{upload_id}"))


def upload_name(conn: Connection, owner: str, ref: str) -> str:
    """The upload's file name without its extension: an avatar's default name."""
    upload_id = ref.removeprefix("upload:")
    stored_type(conn, owner, upload_id)  # another user's: NotFound
    name = conn.execute(select(uploads.c.name).where(uploads.c.id == upload_id)).scalar_one()
    return str(name).rsplit(".", 1)[0][:120] or "avatar"


def _load(path: Path, bone_overrides: dict[str, str] | None) -> Any:
    from renderhouse.generators.pose.avatar import load_avatar
    from renderhouse.generators.pose.job import AVATAR_LIMITS

    try:
        return load_avatar(path, AVATAR_LIMITS, bone_overrides=bone_overrides or None)
    except RenderhouseError:
        raise
    except (ValueError, KeyError, IndexError, TypeError, ArithmeticError, RecursionError) as exc:
        # The generator's fuzzing found none of these; should one slip through, the
        # caller still gets an input error, and we the log line.
        log.exception("avatar validation failed unexpectedly")
        raise ModelError(
            f"the avatar could not be read ({type(exc).__name__}); check it with the "
            "Khronos glTF validator",
            code="bad_gltf",
        ) from exc


def summarise(path: Path, bone_overrides: dict[str, str] | None = None) -> dict[str, Any]:
    """The avatar's summary (skin, joints, ``mapping``, missing optional bones, unit, up
    axis); raises ``ModelError`` with the generator's code (``no_skin``, ``not_humanoid``…)."""
    summary: dict[str, Any] = _load(path, bone_overrides).summary()
    return summary


def capture(
    path: Path,
    bone_overrides: dict[str, str] | None,
    *,
    name: str,
    clip: str | None,
    time: float,
) -> dict[str, Any]:
    """The avatar's stored pose (``clip`` None) or its clip at ``time`` seconds, in the
    library's JSON form (``unknown_clip``, ``bad_clip_time`` otherwise)."""
    from renderhouse.generators.pose.capture import capture_pose

    avatar = _load(path, bone_overrides)
    try:
        pose = capture_pose(avatar, clip=clip, time=time, name=name)
    except RenderhouseError:
        raise
    except (ValueError, KeyError, IndexError, TypeError, ArithmeticError, RecursionError) as exc:
        log.exception("pose capture failed unexpectedly")
        raise ModelError(
            f"the animation could not be sampled ({type(exc).__name__})", code="bad_animation"
        ) from exc
    data: dict[str, Any] = pose.as_dict()
    return data
