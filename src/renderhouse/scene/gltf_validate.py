"""Check a glTF 2.0 / GLB file before anything is rendered from it.

Everything here reads only the container and the JSON (plus image headers), so a hostile or
broken upload is refused in milliseconds with a stable error code, before the loader trusts
any offset or count. Structure rules follow the glTF 2.0 specification, section 4.4
("Binary glTF Layout") and section 3.6 ("Accessors").

Error codes (``ModelError.code``): ``file_too_large``, ``not_gltf``, ``unsupported_version``,
``truncated_file``, ``bad_chunk``, ``bad_json``, ``bad_gltf``, ``missing_resource``,
``buffer_out_of_bounds``, ``accessor_out_of_bounds``, ``unsupported_extension``,
``too_many_triangles``, ``texture_too_large``, ``bad_texture``.
"""

from __future__ import annotations

import base64
import io
import json
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from renderhouse.errors import ModelError

GLB_MAGIC = b"glTF"
CHUNK_JSON = 0x4E4F534A
CHUNK_BIN = 0x004E4942

COMPONENT_SIZES = {5120: 1, 5121: 1, 5122: 2, 5123: 2, 5125: 4, 5126: 4}
TYPE_COUNTS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4, "MAT3": 9, "MAT4": 16}

#: Extensions that change how geometry or images must be decoded; we do not decode them,
#: so a model that requires them is refused by name instead of rendering garbage.
REFUSED_EXTENSIONS = {
    "KHR_draco_mesh_compression": "Draco-compressed geometry",
    "EXT_meshopt_compression": "meshopt-compressed buffers",
    "KHR_texture_basisu": "KTX2/Basis Universal textures",
    "EXT_texture_webp": "WebP-only textures",
    "EXT_texture_avif": "AVIF-only textures",
}

#: Extensions we implement, approximate, or may safely ignore (material look only).
HANDLED_EXTENSIONS = {
    "KHR_materials_emissive_strength",
    "KHR_texture_transform",
    "KHR_materials_transmission",
    "KHR_materials_unlit",
    "KHR_mesh_quantization",
    "KHR_materials_ior",
    "KHR_materials_volume",
    "KHR_materials_specular",
    "KHR_materials_clearcoat",
    "KHR_materials_sheen",
    "KHR_materials_iridescence",
    "KHR_materials_dispersion",
    "KHR_materials_anisotropy",
    "KHR_materials_variants",
    "KHR_lights_punctual",
}


@dataclass
class ModelLimits:
    """Resource ceilings; the caller (job options / settings) decides the numbers."""

    max_file_bytes: int = 512 * 1024 * 1024
    max_triangles: int = 10_000_000
    max_texture_pixels: int = 8192 * 8192


@dataclass
class ValidatedModel:
    """A model whose container and JSON passed validation; the loader starts from here."""

    path: Path
    doc: dict[str, Any]
    json_text: str
    buffers: list[bytes]
    triangles: int
    image_sizes: list[tuple[int, int]] = field(default_factory=list)


def _fail(code: str, message: str, **details: Any) -> ModelError:
    return ModelError(message, code=code, details=details)


def resolve_model_path(path: Path) -> Path:
    """A directory holding exactly one .gltf/.glb stands for that file."""
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if p.suffix.lower() in (".gltf", ".glb"))
        if len(found) != 1:
            raise _fail(
                "missing_resource",
                f"{path} is a directory with {len(found)} .gltf/.glb files; give one model file",
            )
        return found[0]
    if not path.exists():
        raise _fail("missing_resource", f"model file {path} does not exist")
    return path


def _split_glb(data: bytes) -> tuple[str, bytes | None]:
    """Container checks from glTF 2.0 §4.4: header, then a JSON chunk, then an optional BIN."""
    if len(data) < 12:
        raise _fail("truncated_file", f"GLB is only {len(data)} bytes; the header alone is 12")
    _magic, version, length = struct.unpack_from("<4sII", data, 0)
    if version != 2:
        raise _fail("unsupported_version", f"GLB version {version} is not supported; need 2")
    if length > len(data):
        raise _fail(
            "truncated_file",
            f"GLB header declares {length} bytes but the file has {len(data)}; "
            "the upload was cut short",
        )
    if length < 20:
        raise _fail("bad_chunk", f"GLB header declares an impossible length {length}")
    offset = 12
    chunks: list[tuple[int, bytes]] = []
    while offset < length:
        if offset + 8 > length:
            raise _fail("truncated_file", "GLB ends inside a chunk header")
        chunk_len, chunk_type = struct.unpack_from("<II", data, offset)
        start = offset + 8
        if start + chunk_len > length:
            raise _fail(
                "truncated_file"
                if length == len(data) and start + chunk_len > len(data)
                else "bad_chunk",
                f"GLB chunk {len(chunks)} declares {chunk_len} bytes, past the end of the file",
            )
        chunks.append((chunk_type, data[start : start + chunk_len]))
        offset = start + chunk_len
        offset += (-offset) % 4  # chunks are 4-byte aligned
    if not chunks or chunks[0][0] != CHUNK_JSON:
        raise _fail("bad_chunk", "the first GLB chunk must be JSON")
    binary = next((c for t, c in chunks[1:] if t == CHUNK_BIN), None)
    try:
        text = chunks[0][1].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _fail("bad_json", f"the GLB JSON chunk is not UTF-8: {exc}") from None
    return text, binary


def _load_uri(uri: str, base: Path, what: str) -> bytes:
    if uri.startswith("data:"):
        try:
            return base64.b64decode(uri.split(",", 1)[1], validate=False)
        except (IndexError, ValueError) as exc:
            raise _fail("bad_gltf", f"{what} has a malformed data URI: {exc}") from None
    target = (base / unquote(uri)).resolve()
    if not target.is_relative_to(base.resolve()):
        raise _fail("missing_resource", f"{what} points outside the model directory: {uri!r}")
    if not target.is_file():
        raise _fail("missing_resource", f"{what} file {uri!r} is missing next to the model")
    return target.read_bytes()


def _check_extensions(doc: dict[str, Any]) -> None:
    required = doc.get("extensionsRequired") or []
    for name in required:
        if name in REFUSED_EXTENSIONS:
            raise _fail(
                "unsupported_extension",
                f"the model requires {name} ({REFUSED_EXTENSIONS[name]}), which this renderer "
                "does not decode; export it without that compression",
                extension=name,
            )
        if name not in HANDLED_EXTENSIONS:
            raise _fail(
                "unsupported_extension",
                f"the model requires the unsupported extension {name}",
                extension=name,
            )
    for mesh in doc.get("meshes") or []:
        for prim in mesh.get("primitives") or []:
            draco = "KHR_draco_mesh_compression" in (prim.get("extensions") or {})
            if draco and prim.get("attributes", {}).get("POSITION") is None:
                raise _fail(
                    "unsupported_extension",
                    "a primitive uses KHR_draco_mesh_compression without uncompressed fallback",
                    extension="KHR_draco_mesh_compression",
                )


def _index_list(doc: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = doc.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise _fail("bad_gltf", f"glTF field {key!r} must be a list of objects")
    return value


def _ref(items: list[Any], index: Any, what: str) -> Any:
    if not isinstance(index, int) or not 0 <= index < len(items):
        raise _fail("bad_gltf", f"{what} refers to a missing item #{index}")
    return items[index]


def _check_accessors(doc: dict[str, Any], buffers: list[bytes]) -> None:
    """Every accessor must lie inside its bufferView, every view inside its buffer (§3.6.2)."""
    views = _index_list(doc, "bufferViews")
    for i, view in enumerate(views):
        buf = _ref(buffers, view.get("buffer"), f"bufferView {i}")
        start, length = view.get("byteOffset", 0), view.get("byteLength")
        if not isinstance(length, int) or not isinstance(start, int) or start < 0 or length < 0:
            raise _fail("bad_gltf", f"bufferView {i} has an invalid byteOffset/byteLength")
        if start + length > len(buf):
            raise _fail(
                "buffer_out_of_bounds",
                f"bufferView {i} spans bytes {start}..{start + length} of a {len(buf)}-byte buffer",
            )
    for i, acc in enumerate(_index_list(doc, "accessors")):
        ctype, atype, count = acc.get("componentType"), acc.get("type"), acc.get("count")
        if ctype not in COMPONENT_SIZES or atype not in TYPE_COUNTS:
            raise _fail("bad_gltf", f"accessor {i} has an unknown componentType/type")
        if not isinstance(count, int) or count < 1:
            raise _fail("bad_gltf", f"accessor {i} has an invalid count {count!r}")
        if "bufferView" not in acc:
            continue  # all zeros (or sparse only): nothing to bound
        view = _ref(views, acc["bufferView"], f"accessor {i}")
        elem = COMPONENT_SIZES[ctype] * TYPE_COUNTS[atype]
        stride = view.get("byteStride") or elem
        offset = acc.get("byteOffset", 0)
        if not isinstance(offset, int) or offset < 0:
            raise _fail("bad_gltf", f"accessor {i} has an invalid byteOffset")
        end = offset + stride * (count - 1) + elem
        if end > view["byteLength"]:
            raise _fail(
                "accessor_out_of_bounds",
                f"accessor {i} needs {end} bytes ({count} x {atype}) but its bufferView "
                f"holds {view['byteLength']}",
                accessor=i,
            )


def _count_triangles(doc: dict[str, Any]) -> int:
    accessors = doc.get("accessors") or []
    meshes = _index_list(doc, "meshes")
    per_mesh = []
    for m, mesh in enumerate(meshes):
        tris = 0
        for prim in mesh.get("primitives") or []:
            mode = prim.get("mode", 4)
            src = prim.get("indices", prim.get("attributes", {}).get("POSITION"))
            if src is None:
                continue
            n = _ref(accessors, src, f"mesh {m} primitive")["count"]
            tris += n // 3 if mode == 4 else max(n - 2, 0) if mode in (5, 6) else 0
        per_mesh.append(tris)
    total = 0
    nodes = _index_list(doc, "nodes")
    for n, node in enumerate(nodes):
        if "mesh" in node:
            _ref(meshes, node["mesh"], f"node {n}")
            total += per_mesh[node["mesh"]]
    return total


def image_bytes(doc: dict[str, Any], buffers: list[bytes], base: Path, i: int) -> bytes:
    image = doc["images"][i]
    if "uri" in image:
        return _load_uri(image["uri"], base, f"image {i}")
    view = _ref(doc.get("bufferViews") or [], image.get("bufferView"), f"image {i}")
    start = view.get("byteOffset", 0)
    return buffers[view["buffer"]][start : start + view["byteLength"]]


def _check_images(
    doc: dict[str, Any], buffers: list[bytes], base: Path, limits: ModelLimits
) -> tuple[list[tuple[int, int]], list[bytes]]:
    """Read image headers only (PIL is lazy) to bound pixel counts before any decode."""
    from PIL import Image, UnidentifiedImageError

    sizes, blobs = [], []
    for i, image in enumerate(_index_list(doc, "images")):
        if image.get("mimeType") == "image/ktx2":
            raise _fail(
                "unsupported_extension",
                f"image {i} is KTX2 (KHR_texture_basisu), which this renderer does not decode",
                extension="KHR_texture_basisu",
            )
        blob = image_bytes(doc, buffers, base, i)
        try:
            with Image.open(io.BytesIO(blob)) as im:
                w, h = im.size
        except (UnidentifiedImageError, OSError, ValueError) as exc:
            raise _fail("bad_texture", f"image {i} cannot be decoded: {exc}", image=i) from None
        if w * h > limits.max_texture_pixels:
            raise _fail(
                "texture_too_large",
                f"image {i} is {w}x{h} pixels; the limit is {limits.max_texture_pixels} pixels",
                image=i,
            )
        sizes.append((w, h))
        blobs.append(blob)
    return sizes, blobs


def validate_model(path: Path, limits: ModelLimits | None = None) -> ValidatedModel:
    """Validate ``path`` (.glb, .gltf or a directory holding one) and return its parts."""
    limits = limits or ModelLimits()
    path = resolve_model_path(Path(path))
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise _fail(
            "file_too_large",
            f"model is {size} bytes; the limit is {limits.max_file_bytes} bytes",
        )
    data = path.read_bytes()
    binary: bytes | None = None
    if data[:4] == GLB_MAGIC:
        text, binary = _split_glb(data)
    elif data.lstrip()[:1] == b"{":
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _fail("bad_json", f"the .gltf file is not UTF-8: {exc}") from None
    else:
        raise _fail("not_gltf", f"{path.name} is neither a GLB (no 'glTF' magic) nor glTF JSON")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail("bad_json", f"the glTF JSON does not parse: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("asset"), dict):
        raise _fail("bad_gltf", "the glTF JSON has no 'asset' object")
    version = str(doc["asset"].get("version", ""))
    if not version.startswith("2."):
        raise _fail("unsupported_version", f"glTF asset version {version!r} is not 2.x")
    _check_extensions(doc)

    base = path.parent
    buffers: list[bytes] = []
    for i, buf in enumerate(_index_list(doc, "buffers")):
        if "uri" in buf:
            blob = _load_uri(buf["uri"], base, f"buffer {i}")
        elif i == 0 and binary is not None:
            blob = binary
        else:
            raise _fail("missing_resource", f"buffer {i} has no uri and no GLB BIN chunk")
        declared = buf.get("byteLength")
        if not isinstance(declared, int) or declared > len(blob):
            raise _fail(
                "truncated_file" if isinstance(declared, int) else "bad_gltf",
                f"buffer {i} declares {declared} bytes but only {len(blob)} are present",
            )
        buffers.append(blob)
    _check_accessors(doc, buffers)
    triangles = _count_triangles(doc)
    if triangles > limits.max_triangles:
        raise _fail(
            "too_many_triangles",
            f"model has {triangles} triangles; the limit is {limits.max_triangles}",
        )
    sizes, _ = _check_images(doc, buffers, base, limits)
    return ValidatedModel(path, doc, text, buffers, triangles, sizes)
