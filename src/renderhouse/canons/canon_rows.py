"""Canon rows: every replace makes a new version (the old ones stay readable), so a job row's
``canon.source`` (``canon:<id>@<version>``) always names content that can be read back.
Owner-scoped: another user's canon is as unknown as a missing one (``NotFound``)."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from renderhouse.errors import NotFound
from renderhouse.store.schema_canons import canon_versions, canons

CANON_ID = r"^cn_[0-9a-f]{24}$"


@dataclass(frozen=True)
class CanonRecord:
    id: str
    owner: str
    name: str
    version: int
    created_at: float
    updated_at: float
    content: dict[str, Any] | None = None
    """The canon of ``version`` (None in listings)."""
    sha256: str | None = None

    @property
    def source(self) -> str:
        return f"canon:{self.id}@{self.version}"


def _dump(content: dict[str, Any]) -> str:
    return json.dumps(content, sort_keys=True, separators=(",", ":"))


def _record(row: Any, version: Any = None) -> CanonRecord:
    r = row._mapping
    v = version._mapping if version is not None else None
    return CanonRecord(
        id=r["id"],
        owner=r["owner"],
        name=r["name"],
        version=v["version"] if v is not None else r["version"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        content=json.loads(v["content"]) if v is not None else None,
        sha256=v["sha256"] if v is not None else None,
    )


def _add_version(conn: Connection, owner: str, canon_id: str, version: int, text: str) -> None:
    conn.execute(
        canon_versions.insert().values(
            canon_id=canon_id,
            version=version,
            owner=owner,
            content=text,
            sha256=hashlib.sha256(text.encode()).hexdigest(),
            created_at=time.time(),
        )
    )


def create(conn: Connection, owner: str, content: dict[str, Any]) -> CanonRecord:
    now, canon_id = time.time(), f"cn_{secrets.token_hex(12)}"
    conn.execute(
        canons.insert().values(
            id=canon_id,
            owner=owner,
            name=str(content.get("name", "canon"))[:120],
            version=1,
            created_at=now,
            updated_at=now,
        )
    )
    _add_version(conn, owner, canon_id, 1, _dump(content))
    return get(conn, owner, canon_id)


def _head(conn: Connection, owner: str, canon_id: str) -> Any:
    row = conn.execute(
        select(canons).where(canons.c.id == canon_id, canons.c.owner == owner)
    ).first()
    if row is None:
        raise NotFound(f"no canon {canon_id}", details={"canon_id": canon_id})
    return row


def get(conn: Connection, owner: str, canon_id: str, version: int | None = None) -> CanonRecord:
    """The canon with its content: the current version, or ``version`` if it names one."""
    head = _head(conn, owner, canon_id)
    wanted = head.version if version is None else version
    row = conn.execute(
        select(canon_versions).where(
            canon_versions.c.canon_id == canon_id, canon_versions.c.version == wanted
        )
    ).first()
    if row is None:
        raise NotFound(
            f"canon {canon_id} has no version {wanted} (its current one is {head.version})",
            details={"canon_id": canon_id, "version": wanted},
        )
    return _record(head, row)


def page(conn: Connection, owner: str, *, offset: int, limit: int) -> tuple[list[CanonRecord], int]:
    """(one page newest first, without content; the total) of ``owner``'s canons."""
    where = canons.c.owner == owner
    total = conn.execute(select(func.count()).select_from(canons).where(where)).scalar_one()
    rows = conn.execute(
        select(canons)
        .where(where)
        .order_by(canons.c.created_at.desc(), canons.c.id)
        .offset(offset)
        .limit(limit)
    ).all()
    return [_record(r) for r in rows], int(total)


def replace(conn: Connection, owner: str, canon_id: str, content: dict[str, Any]) -> CanonRecord:
    """A new current version holding ``content``; the version number is taken by the UPDATE
    itself, so two concurrent replaces get two versions, never one overwritten."""
    _head(conn, owner, canon_id)
    version = conn.execute(
        canons.update()
        .where(canons.c.id == canon_id, canons.c.owner == owner)
        .values(
            version=canons.c.version + 1,
            name=str(content.get("name", "canon"))[:120],
            updated_at=time.time(),
        )
        .returning(canons.c.version)
    ).scalar_one()
    _add_version(conn, owner, canon_id, int(version), _dump(content))
    return get(conn, owner, canon_id)


def delete(conn: Connection, owner: str, canon_id: str) -> None:
    """The canon and all its versions (jobs that ran with it keep their copy)."""
    _head(conn, owner, canon_id)
    conn.execute(canon_versions.delete().where(canon_versions.c.canon_id == canon_id))
    conn.execute(canons.delete().where(canons.c.id == canon_id, canons.c.owner == owner))
