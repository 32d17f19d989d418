"""Artifacts: ``GET /v1/jobs/{id}/artifacts`` lists a job's outputs with signed URLs, and
``GET /v1/artifacts/{job_id}/{name}?expires=…&sig=…`` serves one without an API key (so a
browser or ``<img>`` can fetch it), with single-range ``Range`` support. The signature is
HMAC-SHA256 with the secret key over the path and the expiry.

A share, ``GET /v1/shares/{job_id}/{expires}/{sig}/{name}``, signs a directory instead: the
job and the expiry, not a file name. A page served under it (the turntable's ``viewer.html``)
then loads its frames by plain relative URLs (``frames/row0_0000.png``), which a per-file
query-string signature cannot give it. Same secret, same lifetime as a file's URL.

Artifacts of a job that has not succeeded (failed, cancelled, or still running) are
*partial*: listed with ``partial: true`` and served with ``X-Renderhouse-Partial: true``.
They stay downloadable (a failed render's finished frames are still worth having) but are
never presented as a complete result (docs/http_api.md)."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Iterator
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import Field

from renderhouse.accounts import User
from renderhouse.api.auth import anonymous_limit, current_user
from renderhouse.api.errors import Forbidden, RangeNotSatisfiable
from renderhouse.api.schemas import ERRORS, ArtifactOut
from renderhouse.api.state import ApiState, api_state
from renderhouse.errors import NotFound
from renderhouse.queue import control
from renderhouse.queue.jobs import SUCCEEDED

router = APIRouter(tags=["artifacts"], responses=ERRORS)

PARTIAL_HEADER = "X-Renderhouse-Partial"


class JobArtifactOut(ArtifactOut):
    partial: bool = Field(
        description="True unless the job succeeded: one of an incomplete set of outputs "
        "(the job failed, was cancelled or is still running)."
    )


CHUNK = 1 << 16
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def artifact_path(job_id: str, name: str) -> str:
    return f"/v1/artifacts/{job_id}/{quote(name)}"


def sign(secret: str, path: str, expires: int) -> str:
    msg = f"{path}\n{expires}".encode()
    return hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()


def signed_url(secret: str, job_id: str, name: str, ttl: int, now: float | None = None) -> str:
    expires = int((now or time.time()) + ttl)
    path = artifact_path(job_id, name)
    return f"{path}?expires={expires}&sig={sign(secret, path, expires)}"


def _share_sig(secret: str, job_id: str, expires: int) -> str:
    # A domain prefix keeps a share signature from ever being valid as a file's, and back.
    msg = f"share\n{job_id}\n{expires}".encode()
    return hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()


def share_url(secret: str, job_id: str, name: str, expires: int) -> str:
    """``name`` under the signed directory that serves every artifact of ``job_id``."""
    return f"/v1/shares/{job_id}/{expires}/{_share_sig(secret, job_id, expires)}/{quote(name)}"


@router.get("/v1/jobs/{job_id}/artifacts", response_model=list[JobArtifactOut])
def list_artifacts(
    job_id: str,
    user: Annotated[User, Depends(current_user)],
    state: Annotated[ApiState, Depends(api_state)],
) -> list[JobArtifactOut]:
    rt = state.runtime
    partial = rt.queue.get(job_id, owner=user.id).state != SUCCEEDED
    ttl, secret = state.settings.artifact_url_ttl_seconds, state.settings.secret_key
    expires = int(time.time() + ttl)
    out = []
    for a in rt.queue.artifacts(job_id):
        path = artifact_path(job_id, a["name"])
        url = f"{path}?expires={expires}&sig={sign(secret, path, expires)}"
        if a["content_type"].startswith("text/html"):
            # A page links its siblings by relative URLs: serve it under a signed prefix.
            url = share_url(secret, job_id, a["name"], expires)
        out.append(
            JobArtifactOut(
                name=a["name"],
                content_type=a["content_type"],
                size=a["size"],
                sha256=a["sha256"],
                url=url,
                expires_at=expires,
                partial=partial,
            )
        )
    return out


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) inclusive for a single satisfiable range; None for the whole file."""
    if not header:
        return None
    m = _RANGE.match(header.strip())
    if m is None or (not m.group(1) and not m.group(2)):
        return None  # multi-range or malformed: RFC 9110 lets us send the whole file
    if not m.group(1):
        first, last = max(0, size - int(m.group(2))), size - 1
    else:
        first = int(m.group(1))
        last = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
    if first >= size or first > last:
        raise RangeNotSatisfiable(
            f"the range is outside the {size}-byte file", details={"size": size}
        )
    return first, last


@router.get(
    "/v1/artifacts/{job_id}/{name:path}",
    response_class=StreamingResponse,
    dependencies=[Depends(anonymous_limit)],
    responses={206: {"description": "partial content"}, 416: {}},
)
def download(
    job_id: str,
    name: str,
    request: Request,
    expires: Annotated[int, Query(ge=0, le=2**62)],
    sig: Annotated[str, Query(pattern=r"^[0-9a-fA-F]{64}$")],
    range_: Annotated[str | None, Header(alias="range", max_length=200)] = None,
) -> StreamingResponse:
    state: ApiState = request.app.state.rh
    path = artifact_path(job_id, name)
    expected = sign(state.settings.secret_key, path, expires)
    if not hmac.compare_digest(expected.encode(), sig.lower().encode()):
        raise Forbidden("the artifact URL's signature is not valid", code="invalid_signature")
    if expires < time.time():
        raise Forbidden("the artifact URL has expired; list the artifacts again", code="expired")
    return serve_artifact(state, job_id, name, range_)


@router.get(
    "/v1/shares/{job_id}/{expires}/{sig}/{name:path}",
    response_class=StreamingResponse,
    dependencies=[Depends(anonymous_limit)],
    responses={206: {"description": "partial content"}, 416: {}},
)
def shared_artifact(
    job_id: str,
    expires: Annotated[int, Path(ge=0, le=2**62)],
    sig: Annotated[str, Path(pattern=r"^[0-9a-fA-F]{64}$")],
    name: str,
    request: Request,
    range_: Annotated[str | None, Header(alias="range", max_length=200)] = None,
) -> StreamingResponse:
    """One artifact of a shared job: the page a share opens and everything it links."""
    state: ApiState = request.app.state.rh
    expected = _share_sig(state.settings.secret_key, job_id, expires)
    if not hmac.compare_digest(expected.encode(), sig.lower().encode()):
        raise Forbidden("the share URL's signature is not valid", code="invalid_signature")
    if expires < time.time():
        raise Forbidden("the share URL has expired; list the artifacts again", code="expired")
    return serve_artifact(state, job_id, name, range_)


def serve_artifact(
    state: ApiState, job_id: str, name: str, range_: str | None
) -> StreamingResponse:
    """Stream one stored artifact (or the requested byte range); the caller has checked
    the signature that grants it."""
    with state.runtime.store.read() as conn:
        row = control.artifact_with_state(conn, job_id, name)
    if row is None:
        raise NotFound(f"no artifact {name!r} for job {job_id}")
    size = int(row.size)
    span = _byte_range(range_, size)
    first, last = span or (0, size - 1)
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Length": str(max(0, last - first + 1)),
        "ETag": f'"{row.sha256}"',
        "Cache-Control": "private, max-age=3600",
        # Served as the generator declared it, never sniffed into HTML by the browser.
        "X-Content-Type-Options": "nosniff",
    }
    if span is not None:
        headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    if row.job_state != SUCCEEDED:
        headers[PARTIAL_HEADER] = "true"

    def body() -> Iterator[bytes]:
        with state.runtime.storage.open(row.key) as fh:
            fh.seek(first)
            left = last - first + 1
            while left > 0:
                chunk = fh.read(min(CHUNK, left))
                if not chunk:
                    return
                left -= len(chunk)
                yield chunk

    return StreamingResponse(
        body(), status_code=206 if span else 200, media_type=row.content_type, headers=headers
    )
