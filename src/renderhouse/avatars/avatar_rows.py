"""Avatar rows: an upload validated as a humanoid, its bone map and summary, owner-scoped.
Another user's avatar is as unknown as a missing one (``NotFound``)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from renderhouse.avatars.documents import dump, load, new_id
from renderhouse.errors import InvalidInput, NotFound
from renderhouse.store.schema_pose import avatars

AVATAR_ID = r"^av_[0-9a-f]{24}$"
MAX_AVATARS = 1000


@dataclass(frozen=True)
class AvatarRecord:
    id: str
    owner: str
    name: str
    project_id: str | None
    upload_id: str
    bone_overrides: dict[str, str]
    mapping: dict[str, Any]
    summary: dict[str, Any]
    created_at: float
    updated_at: float

    @property
    def upload_ref(self) -> str:
        return f"upload:{self.upload_id}"


def _record(row: Any) -> AvatarRecord:
    r = row._mapping
    return AvatarRecord(
        id=r["id"],
        owner=r["owner"],
        name=r["name"],
        project_id=r["project_id"],
        upload_id=r["upload_id"],
        bone_overrides=load(r["bone_overrides"], {}),
        mapping=load(r["mapping"], {}),
        summary=load(r["summary"], {}),
        created_at=r["created_at"],
        updated_at=r["updated_at"],
    )


def create(
    conn: Connection,
    owner: str,
    *,
    name: str,
    upload_id: str,
    project_id: str | None,
    bone_overrides: dict[str, str],
    summary: dict[str, Any],
) -> AvatarRecord:
    have = conn.execute(
        select(func.count()).select_from(avatars).where(avatars.c.owner == owner)
    ).scalar_one()
    if have >= MAX_AVATARS:
        raise InvalidInput(
            f"you have {MAX_AVATARS} avatars, the limit; delete some first",
            code="too_many",
            details={"limit": MAX_AVATARS},
        )
    now, avatar_id = time.time(), new_id("av")
    row = {
        "id": avatar_id,
        "owner": owner,
        "name": name,
        "project_id": project_id,
        "upload_id": upload_id,
        "bone_overrides": dump(bone_overrides),
        "mapping": dump(summary.get("mapping", {})),
        "summary": dump(summary),
        "created_at": now,
        "updated_at": now,
    }
    conn.execute(avatars.insert().values(**row))
    return get(conn, owner, avatar_id)


def get(conn: Connection, owner: str, avatar_id: str) -> AvatarRecord:
    row = conn.execute(
        select(avatars).where(avatars.c.id == avatar_id, avatars.c.owner == owner)
    ).first()
    if row is None:
        raise NotFound(f"no avatar {avatar_id}", details={"avatar_id": avatar_id})
    return _record(row)


def page(
    conn: Connection, owner: str, *, project_id: str | None, offset: int, limit: int
) -> tuple[list[AvatarRecord], int]:
    """(one page newest first, the total) of ``owner``'s avatars, optionally one project's."""
    where = [avatars.c.owner == owner]
    if project_id is not None:
        where.append(avatars.c.project_id == project_id)
    total = conn.execute(select(func.count()).select_from(avatars).where(*where)).scalar_one()
    rows = conn.execute(
        select(avatars)
        .where(*where)
        .order_by(avatars.c.created_at.desc(), avatars.c.id)
        .offset(offset)
        .limit(limit)
    ).all()
    return [_record(r) for r in rows], int(total)


def update(conn: Connection, owner: str, avatar_id: str, **changes: Any) -> AvatarRecord:
    """Change ``name``, ``project_id`` or (``bone_overrides`` with its new ``summary``)."""
    get(conn, owner, avatar_id)
    values: dict[str, Any] = {"updated_at": time.time()}
    for key in ("name", "project_id"):
        if key in changes:
            values[key] = changes[key]
    if "bone_overrides" in changes:
        values["bone_overrides"] = dump(changes["bone_overrides"])
        values["summary"] = dump(changes["summary"])
        values["mapping"] = dump(changes["summary"].get("mapping", {}))
    conn.execute(
        avatars.update().where(avatars.c.id == avatar_id, avatars.c.owner == owner).values(values)
    )
    return get(conn, owner, avatar_id)


def delete(conn: Connection, owner: str, avatar_id: str) -> None:
    get(conn, owner, avatar_id)
    conn.execute(avatars.delete().where(avatars.c.id == avatar_id, avatars.c.owner == owner))


def detach_project(conn: Connection, owner: str, project_id: str) -> None:
    """Avatars of a deleted project stay, ungrouped."""
    conn.execute(
        avatars.update()
        .where(avatars.c.owner == owner, avatars.c.project_id == project_id)
        .values(project_id=None, updated_at=time.time())
    )
