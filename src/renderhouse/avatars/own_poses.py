"""Users' own poses (captured from an avatar or a clip), stored in the library's
``renderhouse-pose/1`` form next to the shipped poses, owner-scoped. A name may not shadow a
library pose, so a pose name means one pose to its owner."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from renderhouse.avatars.documents import dump, load
from renderhouse.errors import Conflict, InvalidInput, NotFound
from renderhouse.store.schema_pose import user_poses

POSE_NAME = r"^[a-z0-9][a-z0-9-]{0,63}$"
MAX_POSES = 1000


@dataclass(frozen=True)
class OwnPose:
    name: str
    category: str
    title: str
    pose: dict[str, Any]  # renderhouse-pose/1
    source: dict[str, Any]
    created_at: float


def _own(row: Any) -> OwnPose:
    r = row._mapping
    return OwnPose(
        r["name"], r["category"], r["title"], load(r["pose"], {}), load(r["source"], {}),
        r["created_at"],
    )  # fmt: skip


def create(conn: Connection, owner: str, pose: dict[str, Any], source: dict[str, Any]) -> OwnPose:
    """Insert; the name must be free (409 ``pose_exists``), under the owner's limit."""
    n = conn.execute(
        select(func.count()).select_from(user_poses).where(user_poses.c.owner == owner)
    ).scalar_one()
    if n >= MAX_POSES:
        raise InvalidInput(
            f"you have {MAX_POSES} poses, the limit; delete some first",
            code="too_many",
            details={"limit": MAX_POSES},
        )
    if find(conn, owner, pose["name"]) is not None:
        raise Conflict(
            f"you already have a pose named {pose['name']!r}; delete it or pick another name",
            code="pose_exists",
            details={"name": pose["name"]},
        )
    conn.execute(
        user_poses.insert().values(
            owner=owner,
            name=pose["name"],
            category=pose["category"],
            title=pose["title"],
            pose=dump(pose),
            source=dump(source),
            created_at=time.time(),
        )
    )
    found = find(conn, owner, pose["name"])
    assert found is not None
    return found


def find(conn: Connection, owner: str, name: str) -> OwnPose | None:
    row = conn.execute(
        select(user_poses).where(user_poses.c.owner == owner, user_poses.c.name == name)
    ).first()
    return None if row is None else _own(row)


def all_of(conn: Connection, owner: str) -> list[OwnPose]:
    rows = conn.execute(
        select(user_poses).where(user_poses.c.owner == owner).order_by(user_poses.c.name)
    ).all()
    return [_own(r) for r in rows]


def delete(conn: Connection, owner: str, name: str) -> None:
    done = conn.execute(
        user_poses.delete().where(user_poses.c.owner == owner, user_poses.c.name == name)
    )
    if done.rowcount == 0:
        raise NotFound(f"you have no pose named {name!r}", details={"name": name})
