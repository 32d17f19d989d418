"""Avatar projects (a named group of avatars, with an optional default preset) and presets
(a user's default shot: camera, background, lighting, size, …), owner-scoped."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from renderhouse.avatars import avatar_rows
from renderhouse.avatars.documents import dump, load, new_id
from renderhouse.errors import InvalidInput, NotFound
from renderhouse.store.schema_pose import avatar_projects, avatars, pose_presets

PROJECT_ID = r"^ap_[0-9a-f]{24}$"
PRESET_ID = r"^ps_[0-9a-f]{24}$"
MAX_PER_OWNER = 500


@dataclass(frozen=True)
class Project:
    id: str
    name: str
    preset_id: str | None
    avatars: int
    created_at: float
    updated_at: float


@dataclass(frozen=True)
class Preset:
    id: str
    name: str
    settings: dict[str, Any]
    created_at: float
    updated_at: float


def _count(conn: Connection, owner: str, project_id: str) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(avatars)
            .where(avatars.c.owner == owner, avatars.c.project_id == project_id)
        ).scalar_one()
    )


def _project(conn: Connection, owner: str, row: Any) -> Project:
    r = row._mapping
    return Project(
        r["id"], r["name"], r["preset_id"], _count(conn, owner, r["id"]), r["created_at"],
        r["updated_at"],
    )  # fmt: skip


def _full(conn: Connection, table: Any, owner: str, what: str) -> None:
    n = conn.execute(select(func.count()).select_from(table).where(table.c.owner == owner))
    if n.scalar_one() >= MAX_PER_OWNER:
        raise InvalidInput(
            f"you have {MAX_PER_OWNER} {what}s, the limit; delete some first",
            code="too_many",
            details={"limit": MAX_PER_OWNER},
        )


def create_project(conn: Connection, owner: str, name: str, preset_id: str | None) -> Project:
    _full(conn, avatar_projects, owner, "project")
    if preset_id is not None:
        get_preset(conn, owner, preset_id)
    now = time.time()
    pid = new_id("ap")
    conn.execute(
        avatar_projects.insert().values(
            id=pid, owner=owner, name=name, preset_id=preset_id, created_at=now, updated_at=now
        )
    )
    return get_project(conn, owner, pid)


def get_project(conn: Connection, owner: str, project_id: str) -> Project:
    row = conn.execute(
        select(avatar_projects).where(
            avatar_projects.c.id == project_id, avatar_projects.c.owner == owner
        )
    ).first()
    if row is None:
        raise NotFound(f"no avatar project {project_id}", details={"project_id": project_id})
    return _project(conn, owner, row)


def list_projects(conn: Connection, owner: str) -> list[Project]:
    rows = conn.execute(
        select(avatar_projects)
        .where(avatar_projects.c.owner == owner)
        .order_by(avatar_projects.c.created_at, avatar_projects.c.id)
    ).all()
    return [_project(conn, owner, r) for r in rows]


def delete_project(conn: Connection, owner: str, project_id: str) -> None:
    get_project(conn, owner, project_id)
    avatar_rows.detach_project(conn, owner, project_id)
    conn.execute(
        avatar_projects.delete().where(
            avatar_projects.c.id == project_id, avatar_projects.c.owner == owner
        )
    )


def _preset(row: Any) -> Preset:
    r = row._mapping
    return Preset(r["id"], r["name"], load(r["settings"], {}), r["created_at"], r["updated_at"])


def create_preset(conn: Connection, owner: str, name: str, settings: dict[str, Any]) -> Preset:
    _full(conn, pose_presets, owner, "preset")
    now = time.time()
    pid = new_id("ps")
    conn.execute(
        pose_presets.insert().values(
            id=pid, owner=owner, name=name, settings=dump(settings), created_at=now,
            updated_at=now,
        )
    )  # fmt: skip
    return get_preset(conn, owner, pid)


def get_preset(conn: Connection, owner: str, preset_id: str) -> Preset:
    row = conn.execute(
        select(pose_presets).where(pose_presets.c.id == preset_id, pose_presets.c.owner == owner)
    ).first()
    if row is None:
        raise NotFound(f"no preset {preset_id}", details={"preset_id": preset_id})
    return _preset(row)


def list_presets(conn: Connection, owner: str) -> list[Preset]:
    rows = conn.execute(
        select(pose_presets)
        .where(pose_presets.c.owner == owner)
        .order_by(pose_presets.c.created_at, pose_presets.c.id)
    ).all()
    return [_preset(r) for r in rows]


def delete_preset(conn: Connection, owner: str, preset_id: str) -> None:
    """Projects that used it keep no default."""
    get_preset(conn, owner, preset_id)
    conn.execute(
        avatar_projects.update()
        .where(avatar_projects.c.owner == owner, avatar_projects.c.preset_id == preset_id)
        .values(preset_id=None, updated_at=time.time())
    )
    conn.execute(
        pose_presets.delete().where(pose_presets.c.id == preset_id, pose_presets.c.owner == owner)
    )
