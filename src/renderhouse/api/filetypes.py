"""What an uploaded file really is, judged by its bytes, never by its name or the client's
Content-Type: a GLB, a glTF JSON file, a zip holding one glTF and its files (guarded against
zip-slip paths, links, encryption, unknown compression, damaged data and zip bombs), a
PDF, a PNG, JPEG or WebP picture (decoded under a pixel limit), or an SVG logo (parsed
without entities and drawn once, loading nothing from outside). A model is refused at
upload for anything the renderer would refuse (``renderhouse.scene.gltf_validate``), so a
job never starts on a model that cannot load;
every refusal is a 4xx with a code and a sentence, whatever the bytes."""

from __future__ import annotations

import logging
import os
import re
import shutil
import stat
import tempfile
import unicodedata
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from renderhouse.api.errors import UnsupportedMedia
from renderhouse.errors import InvalidInput, ModelError
from renderhouse.scene.glb_container import GLB_MAGIC, split_glb
from renderhouse.scene.gltf_json import parse_gltf_json
from renderhouse.scene.gltf_validate import validate_model

MAX_JSON_BYTES = 64 << 20
MAX_IMAGE_PIXELS = 40_000_000  # a 40-megapixel photo decodes to 120 MB of RGB at most
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_ZIP_ENTRIES = 1000
MAX_ZIP_RATIO = 200  # uncompressed/compressed per entry; past this it is a bomb, not a model
ZIP_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
log = logging.getLogger(__name__)


@dataclass
class Detected:
    content_type: str
    extension: str
    files: list[str] = field(default_factory=list)  # a zip's members, extracted under root
    main: str | None = None  # inside a zip: the .gltf (or .glb) to render
    warnings: list[str] = field(default_factory=list)


def clean_name(name: str, extension: str = "") -> str:
    """A safe single path segment: no directories, no control or shell characters."""
    base = unicodedata.normalize("NFKC", name.replace("\\", "/").rsplit("/", 1)[-1])
    base = _SAFE.sub("_", base).strip("._")[:120] or "upload"
    if extension and not base.lower().endswith(extension):
        base = f"{base.rsplit('.', 1)[0] if '.' in base else base}{extension}"
    return base


def _bad(code: str, message: str) -> InvalidInput:
    return InvalidInput(message, code=code, details={"field": "file"})


def _model(path: Path, kind: str) -> list[str]:
    """Run the renderer's own validation; its ``ModelError`` codes reach the caller."""
    try:
        return validate_model(path).warnings
    except ModelError as exc:
        exc.details = {"field": "file", **exc.details}
        if exc.code == "missing_resource" and kind == ".gltf":
            exc.message += "; upload a zip of the .gltf with the files it refers to"
            exc.args = (exc.message,)
        raise
    except (OSError, MemoryError):
        raise  # the server failed, not the model
    except Exception as exc:  # a validator bug must not answer 500 for every such upload
        log.exception("model validation failed unexpectedly on an upload")
        raise _bad("invalid_gltf", f"the model could not be read ({type(exc).__name__})") from None


def check_glb(path: Path) -> list[str]:
    try:
        parts = split_glb(path.read_bytes())
    except ModelError as exc:
        raise _bad("invalid_glb", exc.message) from None
    if len(parts.json) > MAX_JSON_BYTES:
        raise _bad("invalid_glb", "the GLB's JSON chunk is larger than 64 MB")
    try:
        parse_gltf_json(parts.json, "GLB")
    except ModelError as exc:
        raise _bad("invalid_gltf", exc.message) from None
    del parts
    return _model(path, ".glb")


def check_gltf_json(path: Path) -> list[str]:
    """A lone .gltf, validated in a directory of its own so that no relative uri can reach
    another file on the server."""
    if path.stat().st_size > MAX_JSON_BYTES:
        raise _bad("invalid_gltf", "a .gltf JSON file is limited to 64 MB")
    with tempfile.TemporaryDirectory(prefix="gltf-check-") as tmp:
        alone = Path(tmp) / "model.gltf"
        try:
            os.link(path, alone)
        except OSError:
            shutil.copyfile(path, alone)
        return _model(alone, ".gltf")


def member_path(name: str, mode: int = 0) -> str:
    """The safe relative path a zip member is stored under; refuses escapes and links."""
    norm = name.replace("\\", "/")
    parts = PurePosixPath(norm).parts
    if norm.startswith("/") or re.match(r"^[A-Za-z]:", norm) or ".." in parts or not parts:
        raise _bad("unsafe_zip", f"zip entry {name[:200]!r} points outside the archive")
    if stat.S_ISLNK(mode):
        raise _bad("unsafe_zip", f"zip entry {name[:200]!r} is a symbolic link")
    return "/".join(clean_name(p) for p in parts)


def _zip_members(archive: zipfile.ZipFile, max_total: int) -> list[zipfile.ZipInfo]:
    infos = [i for i in archive.infolist() if not i.is_dir()]
    if len(infos) > MAX_ZIP_ENTRIES:
        raise _bad("zip_bomb", f"the zip has more than {MAX_ZIP_ENTRIES} entries")
    total = 0
    for info in infos:
        member_path(info.filename, info.external_attr >> 16)
        if info.flag_bits & 0x1:
            raise _bad("invalid_zip", f"zip entry {info.filename[:200]!r} is encrypted")
        if info.compress_type not in ZIP_METHODS:
            raise _bad(
                "invalid_zip",
                f"zip entry {info.filename[:200]!r} uses compression method "
                f"{info.compress_type}; only stored and deflate are accepted",
            )
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if total > max_total or ratio > MAX_ZIP_RATIO:
            raise _bad("zip_bomb", "the zip expands far beyond its size; refused as a bomb")
    return infos


def _extract(archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo], root: Path, budget: int):
    """Write each member under ``root``, counting real bytes (headers can lie about sizes);
    zipfile itself stops at the declared size and checks the CRC."""
    files = []
    for info in infos:
        rel = member_path(info.filename, info.external_attr >> 16)
        out = root / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(info) as fin, out.open("wb") as fout:
            while chunk := fin.read(1 << 16):
                budget -= len(chunk)
                if budget < 0:
                    raise _bad("zip_bomb", "the zip expands beyond the allowed size")
                fout.write(chunk)
        files.append(rel)
    return files


def check_zip(path: Path, max_total: int, root: Path) -> Detected:
    """Extract a glTF zip into ``root`` and validate the model it holds."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = _zip_members(archive, max_total)
            mains = [i for i in infos if i.filename.lower().endswith((".gltf", ".glb"))]
            if len(mains) != 1:
                raise _bad("invalid_gltf", "a glTF zip must hold exactly one .gltf or .glb file")
            if mains[0].filename.lower().endswith(".gltf") and mains[0].file_size > MAX_JSON_BYTES:
                raise _bad("invalid_gltf", "the .gltf JSON is larger than 64 MB")
            files = _extract(archive, infos, root, max_total)
            main = member_path(mains[0].filename)
    except InvalidInput:
        raise
    except OSError as exc:
        if exc.errno is not None:
            raise  # this server's disk failed, not the archive
        raise _bad("invalid_zip", f"the zip archive is damaged: {exc}") from None
    # zipfile and zlib raise many types on damaged archives (BadZipFile for a bad CRC,
    # zlib.error for corrupt deflate data, EOFError, ValueError, NotImplementedError...):
    # whatever it is, the archive is at fault.
    except Exception as exc:
        raise _bad("invalid_zip", f"the zip archive is damaged: {exc}") from None
    kind = ".gltf" if main.lower().endswith(".gltf") else ".glb"
    if kind == ".gltf":
        try:
            parse_gltf_json((root / main).read_bytes(), "glTF")
        except ModelError as exc:
            raise _bad("invalid_gltf", exc.message) from None
    warnings = _model(root / main, kind)
    return Detected("model/gltf+zip", ".zip", files, main, warnings)


def _is_webp(head: bytes) -> bool:
    return head[:4] == b"RIFF" and head[8:12] == b"WEBP"


def check_image(path: Path) -> Detected:
    """A PNG, JPEG or WebP picture (a customer's own photo, a logo): the pixel count is read
    from the header and refused past ``MAX_IMAGE_PIXELS`` before any pixel is decoded (a
    decompression bomb), then Pillow decodes it whole, so a damaged file is refused here."""
    from PIL import Image

    kinds = {"PNG": ("image/png", ".png"), "JPEG": ("image/jpeg", ".jpg")}
    kinds["WEBP"] = ("image/webp", ".webp")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path, formats=list(kinds)) as im:
                if im.width * im.height > MAX_IMAGE_PIXELS:
                    raise _bad(
                        "image_too_large",
                        f"the picture is {im.width}x{im.height} pixels; at most "
                        f"{MAX_IMAGE_PIXELS // 1_000_000} megapixels are accepted",
                    )
                fmt = str(im.format)
                im.load()
    except InvalidInput:
        raise
    except Image.DecompressionBombError:
        raise _bad(
            "image_too_large",
            f"the picture declares too many pixels; at most "
            f"{MAX_IMAGE_PIXELS // 1_000_000} megapixels are accepted",
        ) from None
    except MemoryError:
        raise
    except Exception as exc:  # Pillow raises many types on damaged data: the file is at fault
        raise _bad("invalid_image", f"the picture is damaged or not an image: {exc}") from None
    content_type, extension = kinds[fmt]
    return Detected(content_type, extension)


def _is_svg(head: bytes) -> bool:
    head = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    return head.startswith((b"<?xml", b"<svg", b"<!DOCTYPE svg")) and b"<svg" in head


def check_svg(path: Path) -> Detected:
    """An SVG (a brand logo): drawn once here the way the render generator draws it (no XML
    entities, no external files, a bounded size and aspect), so a job never meets an SVG
    it cannot draw."""
    from renderhouse.generators.render.canon_images import MAX_SVG_BYTES, svg_to_png

    if path.stat().st_size > MAX_SVG_BYTES:
        raise _bad("invalid_svg", f"an SVG is at most {MAX_SVG_BYTES >> 20} MB")
    try:
        svg_to_png(path.read_bytes(), "svg")
    except InvalidInput as exc:
        raise _bad("invalid_svg", exc.message) from None
    return Detected("image/svg+xml", ".svg")


def detect(path: Path, max_zip_total: int, workdir: Path) -> Detected:
    """The type of the upload at ``path``; a zip is extracted under ``workdir``."""
    size = path.stat().st_size
    if size == 0:
        raise _bad("empty_file", "the uploaded file is empty (0 bytes); choose the file again")
    with path.open("rb") as fh:
        head = fh.read(16)
        fh.seek(0)
        start = fh.read(1024)
        fh.seek(max(0, size - 1024))
        tail = fh.read()
    if head.startswith(GLB_MAGIC):
        return Detected("model/gltf-binary", ".glb", warnings=check_glb(path))
    if head.startswith(b"PK\x03\x04"):
        return check_zip(path, max_zip_total, workdir)
    if head.startswith(b"%PDF-"):
        if b"%%EOF" not in tail:
            raise _bad("invalid_pdf", "the PDF has no end-of-file marker (truncated?)")
        return Detected("application/pdf", ".pdf")
    if head.removeprefix(b"\xef\xbb\xbf").lstrip()[:1] == b"{":
        if size > MAX_JSON_BYTES:
            raise _bad("invalid_gltf", "a .gltf JSON file is limited to 64 MB")
        try:
            parse_gltf_json(path.read_bytes(), "glTF")
        except ModelError as exc:
            raise _bad("invalid_gltf", exc.message) from None
        return Detected("model/gltf+json", ".gltf", warnings=check_gltf_json(path))
    if head.startswith(PNG_MAGIC) or head.startswith(b"\xff\xd8\xff") or _is_webp(head):
        return check_image(path)
    if _is_svg(start):
        return check_svg(path)
    raise UnsupportedMedia(
        "unsupported file type: upload a GLB, a glTF (.gltf or a zip of it and its buffers), "
        "a PDF, a PNG, JPEG or WebP picture, or an SVG logo",
        details={"field": "file"},
    )
