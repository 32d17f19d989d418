"""``/v1/uploads``: files for job inputs. The body streams to a temporary file under a size
cap, its type is judged by content, and it is stored under a key the caller cannot choose.
Jobs refer to it as ``upload:<id>``; another user's upload id answers 404."""

from __future__ import annotations

import secrets
import tempfile
import time
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool

from renderhouse import uploads as upload_refs
from renderhouse.accounts import User
from renderhouse.api import filetypes
from renderhouse.api.auth import current_user
from renderhouse.api.multipart import receive_file
from renderhouse.api.schemas import ERRORS, UploadOut
from renderhouse.api.state import ApiState, api_state
from renderhouse.errors import InvalidInput, NotFound

router = APIRouter(prefix="/v1/uploads", tags=["uploads"], responses={**ERRORS, 413: {}, 415: {}})

ZIP_EXPANSION = 4  # a glTF zip may expand to this many times the upload cap
MULTIPART_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}


def _out(row: object) -> UploadOut:
    r = row._mapping  # type: ignore[attr-defined]
    return UploadOut(
        id=r["id"],
        name=r["name"],
        content_type=r["content_type"],
        size=r["size"],
        sha256=r["sha256"],
        created_at=r["created_at"],
        ref=f"upload:{r['id']}",
    )


def _store(state: ApiState, user: User, tmp: Path, filename: str, size: int, sha: str) -> UploadOut:
    s = state.settings
    tmp_root = s.data_dir / "tmp"
    with tempfile.TemporaryDirectory(prefix="members-", dir=tmp_root) as work:
        detected = filetypes.detect(tmp, s.max_upload_mb * (1 << 20) * ZIP_EXPANSION, Path(work))
        upload_id = "up_" + secrets.token_hex(12)
        name = filetypes.clean_name(filename, detected.extension)
        prefix = upload_refs.prefix(user.id, upload_id)
        if detected.main is not None:
            for rel in detected.files:
                storage_key = f"{prefix}/{rel}"
                state.runtime.storage.put_file(
                    storage_key, Path(work) / rel, "application/octet-stream"
                )
            key = f"{prefix}/{detected.main}"
        else:
            key = f"{prefix}/{name}"
            state.runtime.storage.put_file(key, tmp, detected.content_type)
    row = {
        "id": upload_id,
        "owner": user.id,
        "name": name,
        "content_type": detected.content_type,
        "size": size,
        "sha256": sha,
        "key": key,
        "created_at": time.time(),
    }
    with state.runtime.store.begin() as conn:
        upload_refs.record(conn, row)
    return UploadOut.model_validate({**row, "ref": f"upload:{upload_id}"})


@router.post("", status_code=201, response_model=UploadOut, openapi_extra=MULTIPART_BODY)
async def create_upload(
    request: Request,
    user: Annotated[User, Depends(current_user)],
    state: Annotated[ApiState, Depends(api_state)],
) -> UploadOut:
    """Upload a GLB, a glTF (.gltf, or a zip of it with its buffers and textures) or a PDF
    in the multipart field ``file``."""
    tmp_dir = state.settings.data_dir / "tmp"
    received = await receive_file(request, tmp_dir, state.settings.max_upload_mb * (1 << 20))
    try:
        if received.size == 0:  # before type detection: "empty" says more than "unsupported"
            raise InvalidInput(
                "the uploaded file is empty (0 bytes); choose the file again and re-send it",
                code="empty_file",
                details={"field": "file"},
            )
        return await run_in_threadpool(
            _store, state, user, received.path, received.filename, received.size, received.sha256
        )
    finally:
        received.path.unlink(missing_ok=True)


@router.get("", response_model=list[UploadOut])
def list_uploads(
    user: Annotated[User, Depends(current_user)],
    state: Annotated[ApiState, Depends(api_state)],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[UploadOut]:
    with state.runtime.store.read() as conn:
        rows = upload_refs.owned(conn, user.id, limit)
    return [_out(r) for r in rows]


@router.get("/{upload_id}", response_model=UploadOut)
def get_upload(
    upload_id: str,
    user: Annotated[User, Depends(current_user)],
    state: Annotated[ApiState, Depends(api_state)],
) -> UploadOut:
    with state.runtime.store.read() as conn:
        row = upload_refs.owned_one(conn, user.id, upload_id)
    if row is None:
        raise NotFound(f"no upload {upload_id}", details={"upload_id": upload_id})
    return _out(row)
