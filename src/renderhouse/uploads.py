"""Upload references: ``upload:<id>`` in a job's input names a file its owner uploaded
(``POST /v1/uploads``). Generators only ever read local files, so the worker that runs the
job swaps each reference for a local path (``Staging``): the stored file itself on local
storage, and on S3-like storage a copy fetched once per machine into a cache directory
(uploads never change, so a cached copy never goes stale)."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from renderhouse.errors import NotFound
from renderhouse.storage.base import Storage
from renderhouse.store.database import Store
from renderhouse.store.schema_auth import uploads

UPLOAD_REF = re.compile(r"^upload:([A-Za-z0-9_-]{1,64})$")


def prefix(owner: str, upload_id: str) -> str:
    """Where an upload's file (or a zip's members) are stored."""
    return f"uploads/{owner}/{upload_id}"


def stored_key(conn: Connection, owner: str, upload_id: str) -> str:
    """The storage key of ``owner``'s upload; another user's id is as unknown as none."""
    row = conn.execute(
        select(uploads.c.key).where(uploads.c.id == upload_id, uploads.c.owner == owner)
    ).first()
    if row is None:
        raise NotFound(f"no upload {upload_id}", details={"upload_id": upload_id})
    return str(row.key)


def stored_type(conn: Connection, owner: str, upload_id: str) -> tuple[str, int]:
    """(detected content type, size in bytes) of ``owner``'s upload; NotFound otherwise."""
    row = conn.execute(
        select(uploads.c.content_type, uploads.c.size).where(
            uploads.c.id == upload_id, uploads.c.owner == owner
        )
    ).first()
    if row is None:
        raise NotFound(f"no upload {upload_id}", details={"upload_id": upload_id})
    return str(row.content_type), int(row.size)


def record(conn: Connection, row: dict[str, Any]) -> None:
    """Keep a stored upload's row (id, owner, name, content_type, size, sha256, key,
    created_at)."""
    conn.execute(uploads.insert().values(**row))


def owned(conn: Connection, owner: str, limit: int) -> list[Any]:
    """``owner``'s newest uploads' rows."""
    return list(
        conn.execute(
            select(uploads)
            .where(uploads.c.owner == owner)
            .order_by(uploads.c.created_at.desc())
            .limit(limit)
        ).all()
    )


def owned_one(conn: Connection, owner: str, upload_id: str) -> Any | None:
    """``owner``'s upload's row; another user's id is as unknown as none."""
    return conn.execute(
        select(uploads).where(uploads.c.id == upload_id, uploads.c.owner == owner)
    ).first()


def upload_manifest(conn: Connection) -> list[dict[str, Any]]:
    """Every stored upload (what a backup copies or verifies), in key order."""
    rows = conn.execute(
        select(
            uploads.c.id, uploads.c.owner, uploads.c.key, uploads.c.size, uploads.c.sha256,
            uploads.c.content_type,
        ).order_by(uploads.c.key)
    ).all()  # fmt: skip
    return [dict(r._mapping) for r in rows]


def mentions(data: Any) -> bool:
    """Whether ``data`` holds any upload reference (cheap; no database)."""
    if isinstance(data, dict):
        return any(mentions(v) for v in data.values())
    if isinstance(data, list):
        return any(mentions(v) for v in data)
    return isinstance(data, str) and UPLOAD_REF.match(data) is not None


def _replace(data: Any, swap: Callable[[str], str]) -> Any:
    if isinstance(data, dict):
        return {k: _replace(v, swap) for k, v in data.items()}
    if isinstance(data, list):
        return [_replace(v, swap) for v in data]
    return swap(data) if isinstance(data, str) else data


class Staging:
    """Turns a job's upload references into local paths on this machine, and back (a
    fan-out's children carry references, not paths that exist only here)."""

    def __init__(self, store: Store, storage: Storage, cache_dir: Path) -> None:
        self.store, self.storage, self.cache_dir = store, storage, cache_dir
        self._refs: dict[str, str] = {}  # local path -> reference it was staged from

    def stage(self, owner: str, data: Any) -> Any:
        def swap(value: str) -> str:
            match = UPLOAD_REF.match(value)
            return self._local(owner, match.group(1)) if match else value

        return _replace(data, swap)

    def unstage(self, data: Any) -> Any:
        return _replace(data, lambda value: self._refs.get(value, value))

    def _local(self, owner: str, upload_id: str) -> str:
        with self.store.read() as conn:
            key = stored_key(conn, owner, upload_id)
        path = getattr(self.storage, "path", None)
        local = str(path(key)) if path is not None else str(self._fetch(owner, upload_id, key))
        self._refs[local] = f"upload:{upload_id}"
        return local

    def _fetch(self, owner: str, upload_id: str, key: str) -> Path:
        """Copy every object of the upload (a glTF's buffers and textures too) into the
        cache, published by one rename so concurrent jobs never see half a copy."""
        root = prefix(owner, upload_id) + "/"
        if not key.startswith(root):
            raise ValueError(f"upload {upload_id} is stored outside {root}: {key}")
        target = self.cache_dir / upload_id
        main = target / key[len(root) :]
        if main.is_file():
            return main
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(prefix=f".{upload_id}-", dir=self.cache_dir))
        try:
            for member in self.storage.keys(root):
                dest = (partial / member[len(root) :]).resolve()
                if not dest.is_relative_to(partial.resolve()):
                    raise ValueError(f"stored key {member!r} escapes its upload")
                dest.parent.mkdir(parents=True, exist_ok=True)
                with self.storage.open(member) as src, dest.open("wb") as out:
                    shutil.copyfileobj(src, out, 1 << 20)
            os.rename(partial, target)
        except OSError:
            if not main.is_file():  # not another job's copy winning the rename: a failure
                raise
        finally:
            shutil.rmtree(partial, ignore_errors=True)
        if not main.is_file():  # deleted from the bucket: it will not come back
            raise NotFound(
                f"upload {upload_id} is no longer stored; upload the file again",
                details={"upload_id": upload_id, "key": key},
            )
        return main
