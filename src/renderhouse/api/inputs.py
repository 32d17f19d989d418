"""Job inputs submitted over HTTP: files are referred to as ``upload:<id>`` (the caller's own
uploads only). On local storage a reference becomes the stored file's path before the
generator validates it; on S3-like storage it stays a reference, checked here, and the worker
fetches the file (``renderhouse.uploads.Staging``).

A raw server path in a file field is refused: otherwise any caller could make a worker read
any file on the machine. A generator declares its file fields in its input model
(``renderhouse.generators.fields.UploadedFile``)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection

from renderhouse.errors import InvalidInput
from renderhouse.generators.base import Generator
from renderhouse.generators.fields import file_fields as declared_file_fields
from renderhouse.generators.fields import top_level
from renderhouse.storage.base import Storage
from renderhouse.store.database import Store
from renderhouse.uploads import UPLOAD_REF, stored_key


def file_fields(generator: Generator) -> frozenset[str]:
    """The names of the upload fields ``generator``'s input model declares."""
    return top_level(declared_file_fields(generator.Input))


_PATHLIKE = re.compile(r"[/\\]|^~|\.[A-Za-z0-9]{2,5}$")


def resolve(
    store: Store,
    storage: Storage,
    owner: str,
    data: Any,
    files: frozenset[str] = frozenset(),
    field: str = "",
) -> Any:
    """``data`` with every upload reference checked, and replaced by its path on local
    storage (the database is read only when there is a reference)."""
    if isinstance(data, dict):
        return {k: resolve(store, storage, owner, v, files, k) for k, v in data.items()}
    if isinstance(data, list):
        return [resolve(store, storage, owner, v, files, field) for v in data]
    if not isinstance(data, str):
        return data
    match = UPLOAD_REF.match(data)
    if match:
        with store.read() as conn:
            return _resolved(conn, storage, owner, match.group(1))
    if field in files and _PATHLIKE.search(data):
        raise InvalidInput(
            f"input.{field}: server paths are not accepted over HTTP; upload the file with "
            "POST /v1/uploads and pass 'upload:<id>'",
            details={"field": f"input.{field}"},
        )
    return data


def has_upload_refs(data: Any) -> bool:
    """Whether ``resolve`` would read the database for ``data`` (an ``upload:`` reference
    anywhere in it)."""
    if isinstance(data, dict):
        return any(has_upload_refs(v) for v in data.values())
    if isinstance(data, list):
        return any(has_upload_refs(v) for v in data)
    return isinstance(data, str) and UPLOAD_REF.match(data) is not None


def _resolved(conn: Connection, storage: Storage, owner: str, upload_id: str) -> str:
    key = stored_key(conn, owner, upload_id)
    path = getattr(storage, "path", None)
    return f"upload:{upload_id}" if path is None else str(path(key))
