"""Job inputs submitted over HTTP: files are referred to as ``upload:<id>`` (the caller's own
uploads only). A reference is checked here — it exists, it is the caller's, and its detected
content type and size are what the generator's input model declares for the field
(``renderhouse.generators.fields.UploadedFile``) — and stays a reference in the job row on any
storage; the worker that runs the job fetches the file (``renderhouse.uploads.Staging``). So
a job row never holds a server path, and reads the same on every deployment.

A raw server path in a file field is refused: otherwise any caller could make a worker read
any file on the machine."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection

from renderhouse.errors import InvalidInput
from renderhouse.generators.base import Generator
from renderhouse.generators.fields import UploadedFile
from renderhouse.generators.fields import file_fields as declared_file_fields
from renderhouse.store.database import Store
from renderhouse.uploads import UPLOAD_REF, stored_type

FileFields = dict[str, UploadedFile]
"""Dotted field path (``canon.logo.image``) → declaration; a list's items and a dict's
values share their field's path."""


def file_fields(generator: Generator) -> FileFields:
    """The upload fields ``generator``'s input model declares."""
    return declared_file_fields(generator.Input)


_PATHLIKE = re.compile(r"[/\\]|^~|\.[A-Za-z0-9]{2,5}$")


def resolve(
    store: Store,
    owner: str,
    data: Any,
    files: FileFields | None = None,
    field: str = "",
    *,
    root: str = "input",
) -> Any:
    """``data`` with every upload reference checked against ``owner``'s uploads and the
    declaration at its field's dotted path (the database is read only when there is a
    reference). ``root`` is where ``data`` sits in the request, for the field names errors
    give (a job's ``input``; none for a body that is the data itself, a canon)."""
    files = files or {}
    if isinstance(data, dict):
        return {
            k: resolve(store, owner, v, files, _child(field, k, files), root=root)
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [resolve(store, owner, v, files, field, root=root) for v in data]
    if not isinstance(data, str):
        return data
    spec = files.get(field)
    named = f"{root}.{field}" if root else field
    match = UPLOAD_REF.match(data)
    if match:
        with store.read() as conn:
            _check(conn, owner, match.group(1), named, spec)
        return data
    if spec is not None and not spec.takes_as_is(data) and _PATHLIKE.search(data):
        raise InvalidInput(
            f"{named}: server paths are not accepted over HTTP; upload the file with "
            "POST /v1/uploads and pass 'upload:<id>'",
            details={"field": named},
        )
    return data


def _child(field: str, key: str, files: FileFields) -> str:
    """The dotted path of ``field``'s member ``key`` (a declared field's own dict values
    share its path, as ``file_fields`` names them)."""
    if field in files:
        return field
    return f"{field}.{key}" if field else key


def has_upload_refs(data: Any) -> bool:
    """Whether ``resolve`` would read the database for ``data`` (an ``upload:`` reference
    anywhere in it)."""
    if isinstance(data, dict):
        return any(has_upload_refs(v) for v in data.values())
    if isinstance(data, list):
        return any(has_upload_refs(v) for v in data)
    return isinstance(data, str) and UPLOAD_REF.match(data) is not None


def _check(
    conn: Connection, owner: str, upload_id: str, field: str, spec: UploadedFile | None
) -> None:
    content_type, size = stored_type(conn, owner, upload_id)  # another user's: NotFound
    if spec is None:
        return
    if not spec.accepts(content_type):
        raise InvalidInput(
            f"{field}: upload {upload_id} is {content_type}; this field takes "
            f"{', '.join(spec.content_types)}",
            code="wrong_file_type",
            details={
                "field": field,
                "content_type": content_type,
                "accepted": list(spec.content_types),
            },
        )
    if spec.max_mb is not None and size > spec.max_mb * 1024 * 1024:
        raise InvalidInput(
            f"{field}: upload {upload_id} is {size / 1048576:.1f} MB; this field "
            f"takes at most {spec.max_mb:g} MB",
            code="file_too_large",
            details={"field": field, "size": size, "max_mb": spec.max_mb},
        )
