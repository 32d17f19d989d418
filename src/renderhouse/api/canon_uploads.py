"""A stored canon's pictures given as ``upload:<id>`` (``POST``/``PUT /v1/canons``): checked
like a job's upload fields (the caller's own upload, a PNG or SVG logo, a PNG, JPEG or WebP
background, 8 MB at most; a server path refused) and then **copied into the canon** as data
URLs. A canon version is a fixed snapshot that jobs name for months: it must not change nor
break when the upload it came from is deleted or expires."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from renderhouse.api.inputs import FileFields, resolve
from renderhouse.errors import InvalidInput
from renderhouse.uploads import UPLOAD_REF, stored_key, stored_type

if TYPE_CHECKING:
    from renderhouse.runtime import Runtime


def fields() -> FileFields:
    """The canon's picture fields, as the render generator's canon model declares them."""
    from renderhouse.generators.render.canon import BACKGROUND_FILE, LOGO_FILE

    return {"logo.image": LOGO_FILE, "background.image": BACKGROUND_FILE}


def inlined(rt: Runtime, owner: str, body: Any) -> Any:
    """``body`` (a canon) with its upload references checked and replaced by their bytes."""
    if not isinstance(body, dict):
        return body
    try:
        checked = dict(resolve(rt.store, owner, body, fields(), root=""))
    except InvalidInput as exc:
        if exc.code != InvalidInput.code:
            raise  # a wrong type or size: its own code
        field = str(exc.details.get("field", ""))
        part = field.split(".")[0]  # a server path: the canon's own code, as for any picture
        raise InvalidInput(
            f"{field}: give the picture inline (a data URL) or as upload:<id> (POST "
            "/v1/uploads); a canon never names a file on the server",
            code=f"invalid_{part}",
            details={"field": field},
        ) from None
    for part in ("logo", "background"):
        section = checked.get(part)
        image = section.get("image") if isinstance(section, dict) else None
        match = UPLOAD_REF.match(image) if isinstance(image, str) else None
        if match is not None:
            assert isinstance(section, dict)
            checked[part] = {**section, "image": _data_url(rt, owner, match.group(1), part)}
    return checked


def _data_url(rt: Runtime, owner: str, upload_id: str, part: str) -> str:
    with rt.store.read() as conn:
        content_type, size = stored_type(conn, owner, upload_id)
        key = stored_key(conn, owner, upload_id)
    limit = int((fields()[f"{part}.image"].max_mb or 8) * 1024 * 1024)
    with rt.storage.open(key) as fh:
        data = fh.read(limit + 1)
    if len(data) != size or len(data) > limit:
        raise InvalidInput(
            f"{part}.image: upload {upload_id} could not be read whole; upload it again",
            code=f"invalid_{part}",
            details={"field": f"{part}.image"},
        )
    return f"data:{content_type};base64," + base64.b64encode(data).decode()
