"""Receiving one file from a ``multipart/form-data`` body without holding it in memory:
chunks go through a streaming parser into a temporary file, hashed and counted on the way,
and the request is refused the moment the file passes the size cap. A body that ends
before its closing boundary is a truncated upload, not a short file."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from renderhouse.api.errors import BadRequest, PayloadTooLarge, UnsupportedMedia

FIELD = "file"
OVERHEAD = 64 * 1024  # room for boundaries and part headers on top of the file itself


@dataclass
class Received:
    path: Path
    filename: str
    size: int
    sha256: str


class _Sink:
    """Parser callbacks: collect part headers, write the ``file`` part to disk."""

    def __init__(self, fh: Any, max_bytes: int) -> None:
        self.fh, self.max_bytes = fh, max_bytes
        self.digest = hashlib.sha256()
        self.size = 0
        self.filename: str | None = None
        self.done = False
        self._field, self._value = b"", b""
        self._headers: dict[bytes, bytes] = {}
        self._writing = self._taken = False

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda d, s, e: setattr(self, "_field", self._field + d[s:e]),
            "on_header_value": lambda d, s, e: setattr(self, "_value", self._value + d[s:e]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._data,
            "on_part_end": self._part_end,
            "on_end": lambda: setattr(self, "done", True),
        }

    def _part_begin(self) -> None:
        self._headers = {}

    def _header_end(self) -> None:
        self._headers[self._field.lower()] = self._value
        self._field, self._value = b"", b""

    def _headers_finished(self) -> None:
        _, opts = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = opts.get(b"name", b"").decode("utf-8", "replace")
        filename = opts.get(b"filename")
        self._writing = name == FIELD and filename is not None and not self._taken
        if self._writing:
            self.filename = (filename or b"").decode("utf-8", "replace")

    def _data(self, data: bytes, start: int, end: int) -> None:
        if not self._writing:
            return
        chunk = data[start:end]
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise PayloadTooLarge(
                f"the file is larger than the {self.max_bytes // (1 << 20)} MB limit",
                details={"limit_bytes": self.max_bytes},
            )
        self.digest.update(chunk)
        self.fh.write(chunk)

    def _part_end(self) -> None:
        if self._writing:
            self._taken, self._writing = True, False


async def receive_file(request: Request, tmp_dir: Path, max_bytes: int) -> Received:
    """The ``file`` field of the request, in a temporary file the caller must delete."""
    ctype, opts = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or not opts.get(b"boundary"):
        raise UnsupportedMedia(
            "send the file as multipart/form-data in a field named 'file'",
            details={"field": FIELD},
        )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes + OVERHEAD:
        raise PayloadTooLarge(
            f"the upload is larger than the {max_bytes // (1 << 20)} MB limit",
            details={"limit_bytes": max_bytes, "content_length": int(declared)},
        )
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=tmp_dir, prefix="upload-")
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            sink = _Sink(fh, max_bytes)
            parser = MultipartParser(opts[b"boundary"], sink.callbacks())  # type: ignore[arg-type]
            total = 0
            async for chunk in request.stream():
                total += len(chunk)
                if total > max_bytes + OVERHEAD:
                    raise PayloadTooLarge(
                        f"the upload is larger than the {max_bytes // (1 << 20)} MB limit",
                        details={"limit_bytes": max_bytes},
                    )
                parser.write(chunk)
            parser.finalize()
        if not sink.done:
            raise BadRequest(
                "the upload ended before the multipart body was complete; send it again",
                code="upload_truncated",
            )
        if sink.filename is None:
            raise BadRequest(
                "no file in the request: send it in a multipart field named 'file'",
                code="missing_file",
                details={"field": FIELD},
            )
        return Received(path, sink.filename, sink.size, sink.digest.hexdigest())
    except MultipartParseError as exc:
        path.unlink(missing_ok=True)
        raise BadRequest(f"malformed multipart body: {exc}", code="malformed_multipart") from None
    except ClientDisconnect:
        path.unlink(missing_ok=True)
        raise BadRequest("the client went away mid-upload", code="upload_truncated") from None
    except BaseException:
        path.unlink(missing_ok=True)
        raise
