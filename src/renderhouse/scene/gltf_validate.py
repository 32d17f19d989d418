"""Check a glTF 2.0 / GLB file before anything is rendered from it.

Everything here reads only the container and the JSON (plus image headers), so a hostile or
broken upload is refused in milliseconds with a stable error code, before the loader trusts
any offset or count: the container (``glb_container``), the JSON grammar (``gltf_json``),
the type and range of every field the loader reads (``gltf_schema``), then here every byte
range against the buffers really present (glTF 2.0 §3.6, "Accessors"), the accessor types
each use needs, and the sizes the loader will allocate against ``ModelLimits``.

Error codes (``ModelError.code``): ``file_too_large``, ``not_gltf``, ``unsupported_version``,
``truncated_file``, ``bad_chunk``, ``bad_json``, ``bad_gltf``, ``missing_resource``,
``buffer_out_of_bounds``, ``accessor_out_of_bounds``, ``unsupported_extension``,
``too_many_triangles``, ``too_many_vertices``, ``texture_too_large``, ``bad_texture``.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from renderhouse.errors import ModelError
from renderhouse.scene.glb_container import GLB_MAGIC, split_glb
from renderhouse.scene.gltf_bounds import check_keyframes, check_ranges, count_geometry
from renderhouse.scene.gltf_json import parse_gltf_json
from renderhouse.scene.gltf_schema import COMPONENT_SIZES, TYPE_COUNTS, check_document

__all__ = ["COMPONENT_SIZES", "TYPE_COUNTS", "ModelLimits", "ValidatedModel", "validate_model"]

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
    """Resource ceilings; the caller (job options / settings) decides the numbers.
    ``max_vertices`` bounds every accessor and the vertices of all mesh instances together."""

    max_file_bytes: int = 512 * 1024 * 1024
    max_triangles: int = 10_000_000
    max_texture_pixels: int = 8192 * 8192
    max_vertices: int = 30_000_000


@dataclass
class ValidatedModel:
    """A model whose container and JSON passed validation; the loader starts from here.
    ``warnings`` name what was read leniently (a spec violation with one clear meaning)."""

    path: Path
    doc: dict[str, Any]
    json_text: str
    buffers: list[bytes]
    triangles: int
    image_sizes: list[tuple[int, int]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    vertices: int = 0


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


def _load_uri(uri: str, base: Path, what: str, max_bytes: int) -> bytes:
    if uri.startswith("data:"):
        try:
            return base64.b64decode(uri.split(",", 1)[1], validate=False)
        except (IndexError, ValueError) as exc:
            raise _fail("bad_gltf", f"{what} has a malformed data URI: {exc}") from None
    name = unquote(uri)
    if "\0" in name or not name:
        raise _fail("bad_gltf", f"{what} has an unusable uri {uri[:80]!r}")
    try:
        target = (base / name).resolve()
        inside = target.is_relative_to(base.resolve())
        size = target.stat().st_size if inside and target.is_file() else None
    except (OSError, ValueError):
        inside, size = True, None
    if not inside:
        raise _fail("missing_resource", f"{what} points outside the model directory: {uri!r}")
    if size is None:
        raise _fail("missing_resource", f"{what} file {uri!r} is missing next to the model")
    if size > max_bytes:
        raise _fail(
            "file_too_large", f"{what} file {uri!r} is {size} bytes; the limit is {max_bytes}"
        )
    return target.read_bytes()


def _check_extensions(doc: dict[str, Any]) -> None:
    for name in doc.get("extensionsRequired", []):
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
                f"the model requires the unsupported extension {name[:80]}",
                extension=name[:80],
            )
    for mesh in doc.get("meshes", []):
        for prim in mesh["primitives"]:
            draco = "KHR_draco_mesh_compression" in prim.get("extensions", {})
            if draco and "POSITION" not in prim["attributes"]:
                raise _fail(
                    "unsupported_extension",
                    "a primitive uses KHR_draco_mesh_compression without uncompressed fallback",
                    extension="KHR_draco_mesh_compression",
                )


def image_bytes(doc: dict[str, Any], buffers: list[bytes], base: Path, i: int) -> bytes:
    image = doc["images"][i]
    if "uri" in image:
        return _load_uri(image["uri"], base, f"image {i}", ModelLimits.max_file_bytes)
    view = doc["bufferViews"][image["bufferView"]]
    start = view.get("byteOffset", 0)
    return buffers[view["buffer"]][start : start + view["byteLength"]]


#: Image formats a glTF may carry (PNG and JPEG in the core, WebP through EXT_texture_webp);
#: nothing else reaches a Pillow decoder.
IMAGE_FORMATS = ("PNG", "JPEG", "WEBP")


def image_size(blob: bytes, index: int, max_pixels: int) -> tuple[int, int]:
    """Width and height from the header only; refuses a decompression bomb before Pillow
    allocates (Pillow's own guard raises its own error types, turned into ours here)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(blob), formats=IMAGE_FORMATS) as im:
            w, h = im.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _fail(
            "texture_too_large", f"image {index} is too large: {exc}", image=index
        ) from None
    except Exception as exc:  # any decoder failure on untrusted bytes is the image's fault
        raise _fail("bad_texture", f"image {index} cannot be decoded: {exc}", image=index) from None
    if w < 1 or h < 1:
        raise _fail("bad_texture", f"image {index} is {w}x{h} pixels: empty", image=index)
    if w * h > max_pixels:
        raise _fail(
            "texture_too_large",
            f"image {index} is {w}x{h} pixels; the limit is {max_pixels} pixels",
            image=index,
        )
    return w, h


def _check_images(
    doc: dict[str, Any], buffers: list[bytes], base: Path, limits: ModelLimits
) -> list[tuple[int, int]]:
    sizes = []
    for i, image in enumerate(doc.get("images", [])):
        if image.get("mimeType") == "image/ktx2":
            raise _fail(
                "unsupported_extension",
                f"image {i} is KTX2 (KHR_texture_basisu), which this renderer does not decode",
                extension="KHR_texture_basisu",
            )
        sizes.append(image_size(image_bytes(doc, buffers, base, i), i, limits.max_texture_pixels))
    return sizes


def _read_document(path: Path, data: bytes) -> tuple[str, dict[str, Any], bytes | None, list[str]]:
    if data[:4] == GLB_MAGIC:
        parts = split_glb(data)
        doc = parse_gltf_json(parts.json, "GLB")
        return parts.json.decode("utf-8-sig"), doc, parts.binary, parts.warnings
    if data.removeprefix(b"\xef\xbb\xbf").lstrip()[:1] == b"{":
        doc = parse_gltf_json(data, ".gltf")
        return data.decode("utf-8-sig"), doc, None, []
    raise _fail("not_gltf", f"{path.name} is neither a GLB (no 'glTF' magic) nor glTF JSON")


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
    text, doc, binary, warnings = _read_document(path, path.read_bytes())
    version = doc["asset"].get("version")
    if not isinstance(version, str) or not version.startswith("2."):
        raise _fail("unsupported_version", f"glTF asset version {version!r} is not 2.x")
    check_document(doc)
    _check_extensions(doc)

    base = path.parent
    buffers: list[bytes] = []
    for i, buf in enumerate(doc.get("buffers", [])):
        if "uri" in buf:
            blob = _load_uri(buf["uri"], base, f"buffer {i}", limits.max_file_bytes)
        elif i == 0 and binary is not None:
            blob = binary
        else:
            raise _fail("missing_resource", f"buffer {i} has no uri and no GLB BIN chunk")
        if buf["byteLength"] > len(blob):
            raise _fail(
                "truncated_file",
                f"buffer {i} declares {buf['byteLength']} bytes but only {len(blob)} are present",
                buffer=i,
                declared=buf["byteLength"],
                present=len(blob),
            )
        buffers.append(blob)
    check_ranges(doc, [len(b) for b in buffers], limits.max_vertices)
    check_keyframes(doc, buffers)
    counts = count_geometry(doc)
    if counts.triangles > limits.max_triangles:
        raise _fail(
            "too_many_triangles",
            f"model has {counts.triangles} triangles; the limit is {limits.max_triangles}",
        )
    if counts.vertices > limits.max_vertices:
        raise _fail(
            "too_many_vertices",
            f"model has {counts.vertices} vertices in all its mesh instances; the limit is "
            f"{limits.max_vertices}",
        )
    sizes = _check_images(doc, buffers, base, limits)
    return ValidatedModel(
        path, doc, text, buffers, counts.triangles, sizes, warnings, counts.vertices
    )
