"""What an uploaded file really is, judged by its bytes, never by its name or the client's
Content-Type: a GLB (magic, version 2, a length that matches the file, a JSON chunk that
parses, chunk lengths that fit), a glTF JSON file, a zip holding one glTF and its buffers
(guarded against zip-slip paths, links and zip bombs), or a PDF."""

from __future__ import annotations

import json
import re
import stat
import struct
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from renderhouse.api.errors import UnsupportedMedia
from renderhouse.errors import InvalidInput

GLB_MAGIC, JSON_CHUNK, BIN_CHUNK = b"glTF", 0x4E4F534A, 0x004E4942
MAX_JSON_BYTES = 64 << 20
MAX_ZIP_ENTRIES = 1000
MAX_ZIP_RATIO = 200  # uncompressed/compressed per entry; past this it is a bomb, not a model
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class Detected:
    content_type: str
    extension: str
    members: list[zipfile.ZipInfo] = field(default_factory=list)
    main: str | None = None  # inside a zip: the .gltf (or .glb) to render


def clean_name(name: str, extension: str = "") -> str:
    """A safe single path segment: no directories, no control or shell characters."""
    base = unicodedata.normalize("NFKC", name.replace("\\", "/").rsplit("/", 1)[-1])
    base = _SAFE.sub("_", base).strip("._")[:120] or "upload"
    if extension and not base.lower().endswith(extension):
        base = f"{base.rsplit('.', 1)[0] if '.' in base else base}{extension}"
    return base


def _bad(code: str, message: str) -> InvalidInput:
    return InvalidInput(message, code=code, details={"field": "file"})


def _json_object(data: bytes, what: str) -> dict[str, Any]:
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _bad("invalid_gltf", f"the {what} JSON does not parse: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("asset"), dict):
        raise _bad("invalid_gltf", f"the {what} JSON is not a glTF document (no 'asset')")
    return doc


def check_glb(path: Path) -> None:
    size = path.stat().st_size
    with path.open("rb") as fh:
        header = fh.read(20)
        if len(header) < 20:
            raise _bad("invalid_glb", "the GLB is shorter than its 20-byte header")
        _magic, version, length, json_len, json_type = struct.unpack("<4sIIII", header)
        if version != 2:
            raise _bad("invalid_glb", f"GLB version {version} is not supported (only 2)")
        if length != size:
            raise _bad("invalid_glb", f"the GLB header says {length} bytes but the file has {size}")
        if json_type != JSON_CHUNK or json_len == 0 or 20 + json_len > length:
            raise _bad("invalid_glb", "the GLB's first chunk is not a JSON chunk that fits")
        if json_len > MAX_JSON_BYTES:
            raise _bad("invalid_glb", "the GLB's JSON chunk is larger than 64 MB")
        _json_object(fh.read(json_len), "GLB")
        offset = 20 + json_len
        while offset < length:
            chunk = fh.read(8)
            if len(chunk) < 8:
                raise _bad("invalid_glb", "the GLB ends inside a chunk header")
            chunk_len, chunk_type = struct.unpack("<II", chunk)
            if offset + 8 + chunk_len > length:
                raise _bad("invalid_glb", "a GLB chunk claims more bytes than the file has")
            if chunk_type != BIN_CHUNK:
                raise _bad("invalid_glb", f"unknown GLB chunk type 0x{chunk_type:08x}")
            fh.seek(chunk_len, 1)
            offset += 8 + chunk_len


def member_path(info: zipfile.ZipInfo) -> str:
    name = info.filename.replace("\\", "/")
    parts = PurePosixPath(name).parts
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or ".." in parts or not parts:
        raise _bad("unsafe_zip", f"zip entry {info.filename!r} points outside the archive")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise _bad("unsafe_zip", f"zip entry {info.filename!r} is a symbolic link")
    return "/".join(clean_name(p) for p in parts)


def check_zip(path: Path, max_total: int) -> Detected:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _bad("invalid_zip", f"the zip archive is damaged: {exc}") from None
    with archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        if len(infos) > MAX_ZIP_ENTRIES:
            raise _bad("zip_bomb", f"the zip has more than {MAX_ZIP_ENTRIES} entries")
        total = 0
        for info in infos:
            member_path(info)
            total += info.file_size
            ratio = info.file_size / max(info.compress_size, 1)
            if total > max_total or ratio > MAX_ZIP_RATIO:
                raise _bad("zip_bomb", "the zip expands far beyond its size; refused as a bomb")
        mains = [i for i in infos if i.filename.lower().endswith((".gltf", ".glb"))]
        if len(mains) != 1:
            raise _bad("invalid_gltf", "a glTF zip must hold exactly one .gltf or .glb file")
        main = mains[0]
        if main.filename.lower().endswith(".gltf"):
            if main.file_size > MAX_JSON_BYTES:
                raise _bad("invalid_gltf", "the .gltf JSON is larger than 64 MB")
            _json_object(archive.read(main), "glTF")
    return Detected("model/gltf+zip", ".zip", infos, member_path(main))


def detect(path: Path, max_zip_total: int) -> Detected:
    with path.open("rb") as fh:
        head = fh.read(16)
        fh.seek(max(0, path.stat().st_size - 1024))
        tail = fh.read()
    if head.startswith(GLB_MAGIC):
        check_glb(path)
        return Detected("model/gltf-binary", ".glb")
    if head.startswith(b"PK\x03\x04"):
        return check_zip(path, max_zip_total)
    if head.startswith(b"%PDF-"):
        if b"%%EOF" not in tail:
            raise _bad("invalid_pdf", "the PDF has no end-of-file marker (truncated?)")
        return Detected("application/pdf", ".pdf")
    if head.lstrip()[:1] == b"{":
        if path.stat().st_size > MAX_JSON_BYTES:
            raise _bad("invalid_gltf", "a .gltf JSON file is limited to 64 MB")
        _json_object(path.read_bytes(), "glTF")
        return Detected("model/gltf+json", ".gltf")
    raise UnsupportedMedia(
        "unsupported file type: upload a GLB, a glTF (.gltf or a zip of it and its buffers) "
        "or a PDF",
        details={"field": "file"},
    )
