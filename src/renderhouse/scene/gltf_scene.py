"""A validated glTF document flattened into world-space numpy geometry, materials and
textures, ready to upload.

Transforms, skinning and morph targets are baked on the CPU at one animation time (a
turntable spins a rigid pose, so nothing needs re-skinning per frame). Textures are decoded
only as large as the output can show: JPEG via PIL ``draft()`` (DCT scaling, far cheaper than
a full decode), anything else by integer ``reduce()``.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from renderhouse.errors import ModelError
from renderhouse.scene.gltf_accessors import AccessorReader
from renderhouse.scene.gltf_animation import local_transforms, world_transforms
from renderhouse.scene.gltf_validate import ValidatedModel

TEXTURE_SLOTS = ("baseColor", "metallicRoughness", "normal", "occlusion", "emissive")
SRGB_SLOTS = {"baseColor", "emissive"}
SKIN_BLOCK = 65536  # vertices skinned at once


@dataclass
class Image:
    pixels: np.ndarray  # HxWx4 uint8, row 0 = top of the image (glTF UV origin)
    srgb: bool
    repeat: tuple[bool, bool] = (True, True)
    mipmap: bool = True
    mips: list[np.ndarray] | None = None  # levels 1..n, made at the first upload, then kept


@dataclass
class TextureSlot:
    image: int
    texcoord: int = 0
    transform: np.ndarray = field(default_factory=lambda: np.eye(3, dtype=np.float32))


@dataclass
class Material:
    base_color: np.ndarray = field(default_factory=lambda: np.ones(4, np.float32))
    metallic: float = 1.0
    roughness: float = 1.0
    emissive: np.ndarray = field(default_factory=lambda: np.zeros(3, np.float32))
    normal_scale: float = 1.0
    occlusion_strength: float = 1.0
    alpha_mode: str = "OPAQUE"
    alpha_cutoff: float = 0.5
    double_sided: bool = False
    unlit: bool = False
    transmission: float = 0.0
    ior: float = 1.5
    slots: dict[str, TextureSlot] = field(default_factory=dict)
    iridescence: float = 0.0
    iridescence_ior: float = 1.3
    iridescence_thickness: float = 400.0  # nm
    occlusion_in_mr: bool = False  # occlusion is the R channel of the metallic-roughness image


@dataclass
class Primitive:
    positions: np.ndarray  # (N, 3) float32, world space
    normals: np.ndarray  # (N, 3) float32
    indices: np.ndarray  # (M,) uint32 triangle list
    material: int
    uv0: np.ndarray | None = None
    uv1: np.ndarray | None = None
    tangents: np.ndarray | None = None  # (N, 4)
    colors: np.ndarray | None = None  # (N, 4)
    mirrored: bool = False  # negative-determinant transform: front faces are clockwise


@dataclass
class Scene:
    primitives: list[Primitive]
    materials: list[Material]
    images: list[Image]
    bounds: tuple[np.ndarray, np.ndarray]
    triangles: int
    animations: int = 0
    # How it was loaded, for backends that read the file themselves (filament):
    source: Path | None = None
    z_up: bool = False
    pose: tuple[int, float] | None = None  # (animation, time) when posed


def _texture_transform(info: dict[str, Any]) -> tuple[int, np.ndarray]:
    """KHR_texture_transform: uv' = T · R · S · uv, with R as written in that spec."""
    texcoord = info.get("texCoord", 0)
    ext = (info.get("extensions") or {}).get("KHR_texture_transform")
    if not ext:
        return texcoord, np.eye(3, dtype=np.float32)
    ox, oy = ext.get("offset", [0.0, 0.0])
    sx, sy = ext.get("scale", [1.0, 1.0])
    r = float(ext.get("rotation", 0.0))
    c, s = np.cos(r), np.sin(r)
    t = np.array([[1, 0, ox], [0, 1, oy], [0, 0, 1]], np.float64)
    rot = np.array([[c, s, 0], [-s, c, 0], [0, 0, 1]], np.float64)
    sc = np.diag([sx, sy, 1.0])
    return ext.get("texCoord", texcoord), (t @ rot @ sc).astype(np.float32)


def _decode_image(blob: bytes, max_side: int, index: int) -> np.ndarray:
    from PIL import Image as PILImage

    from renderhouse.scene.gltf_validate import IMAGE_FORMATS

    try:
        im = PILImage.open(io.BytesIO(blob), formats=IMAGE_FORMATS)
        if im.format == "JPEG" and max(im.size) > max_side:
            im.draft("RGB", (max_side, max_side))
        im = im.convert("RGBA")
        factor = max(1, max(im.size) // max_side)
        if factor > 1:
            im = im.reduce(factor)
        return np.asarray(im)
    except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning) as exc:
        raise ModelError(f"image {index} is too large: {exc}", code="texture_too_large") from None
    except Exception as exc:  # validation read its header; any decoder failure is the image's
        raise ModelError(f"image {index} cannot be decoded: {exc}", code="bad_texture") from None


def _image_blob(model: ValidatedModel, index: int) -> bytes:
    from renderhouse.scene.gltf_validate import image_bytes

    return image_bytes(model.doc, model.buffers, model.path.parent, index)


def _materials(doc: dict[str, Any]) -> tuple[list[Material], dict[tuple[int, bool], int], list]:
    """Materials plus the (image, sRGB?) pairs they sample, each decoded once."""
    textures = doc.get("textures") or []
    samplers = doc.get("samplers") or []
    wanted: dict[tuple[int, bool], int] = {}
    repeat_of: list[tuple[bool, bool]] = []
    out = []
    for mdef in (doc.get("materials") or []) + [{}]:
        pbr = mdef.get("pbrMetallicRoughness") or {}
        ext = mdef.get("extensions") or {}
        m = Material(
            base_color=np.array(pbr.get("baseColorFactor", [1, 1, 1, 1]), np.float32),
            metallic=float(pbr.get("metallicFactor", 1.0)),
            roughness=float(pbr.get("roughnessFactor", 1.0)),
            emissive=np.array(mdef.get("emissiveFactor", [0, 0, 0]), np.float32)
            * float((ext.get("KHR_materials_emissive_strength") or {}).get("emissiveStrength", 1)),
            alpha_mode=mdef.get("alphaMode", "OPAQUE"),
            alpha_cutoff=float(mdef.get("alphaCutoff", 0.5)),
            double_sided=bool(mdef.get("doubleSided", False)),
            unlit="KHR_materials_unlit" in ext,
            transmission=float(
                (ext.get("KHR_materials_transmission") or {}).get("transmissionFactor", 0.0)
            ),
            ior=float((ext.get("KHR_materials_ior") or {}).get("ior", 1.5)),
        )
        irid = ext.get("KHR_materials_iridescence") or {}
        if irid:
            m.iridescence = float(irid.get("iridescenceFactor", 0.0))
            m.iridescence_ior = float(irid.get("iridescenceIor", 1.3))
            m.iridescence_thickness = float(irid.get("iridescenceThicknessMaximum", 400.0))
        infos = {
            "baseColor": pbr.get("baseColorTexture"),
            "metallicRoughness": pbr.get("metallicRoughnessTexture"),
            "normal": mdef.get("normalTexture"),
            "occlusion": mdef.get("occlusionTexture"),
            "emissive": mdef.get("emissiveTexture"),
        }
        for slot, info in infos.items():
            if not info or not 0 <= info.get("index", -1) < len(textures):
                continue
            tex = textures[info["index"]]
            source = tex.get("source")
            if source is None:
                continue
            key = (source, slot in SRGB_SLOTS)
            if key not in wanted:
                wanted[key] = len(wanted)
                sampler = (
                    samplers[tex["sampler"]] if 0 <= tex.get("sampler", -1) < len(samplers) else {}
                )
                repeat_of.append(
                    (sampler.get("wrapS", 10497) != 33071, sampler.get("wrapT", 10497) != 33071)
                )
            texcoord, matrix = _texture_transform(info)
            m.slots[slot] = TextureSlot(wanted[key], texcoord, matrix)
        if "normal" in m.slots:
            m.normal_scale = float(infos["normal"].get("scale", 1.0))
        if "occlusion" in m.slots:
            m.occlusion_strength = float(infos["occlusion"].get("strength", 1.0))
        out.append(m)
    return out, wanted, repeat_of


def _flat_normals(pos: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """glTF §3.7.2.1: no NORMAL means flat shading; unweld so each face has its own."""
    tri = idx.reshape(-1, 3)
    p = pos[tri]
    n = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-20)
    return np.repeat(n, 3, axis=0).astype(np.float32), tri.reshape(-1)


def normal_matrix(linear: np.ndarray) -> np.ndarray:
    """What transforms normals for ``linear`` (3x3, or a stack of them): its inverse
    transpose up to a positive scale, computed as the cofactor matrix times the sign of the
    determinant, so a singular (zero-scale) transform gives zero normals instead of an
    error. Normals are normalised afterwards, so the scale does not matter."""
    a, b, c = linear[..., :, 0], linear[..., :, 1], linear[..., :, 2]
    cof = np.stack([np.cross(b, c), np.cross(c, a), np.cross(a, b)], -1)
    det = np.einsum("...i,...i->...", a, np.cross(b, c))
    return cof * np.where(det < 0, -1.0, 1.0)[..., None, None]


def _triangle_list(idx: np.ndarray, mode: int) -> np.ndarray | None:
    if mode == 4:
        return idx[: len(idx) // 3 * 3]
    if mode in (5, 6) and len(idx) >= 3:
        k = np.arange(len(idx) - 2)
        if mode == 5:  # strip: alternate winding
            a = np.where(k % 2 == 0, idx[k], idx[k + 1])
            b = np.where(k % 2 == 0, idx[k + 1], idx[k])
            return np.stack([a, b, idx[k + 2]], 1).reshape(-1)
        return np.stack([np.full_like(k, idx[0]), idx[k + 1], idx[k + 2]], 1).reshape(-1)
    return None  # points and lines are not drawn by a turntable


def _skin_matrices(doc, reader, skin_i, world) -> np.ndarray:
    skin = doc["skins"][skin_i]
    joints = skin["joints"]
    if "inverseBindMatrices" in skin:
        ibm = reader.read(skin["inverseBindMatrices"]).reshape(-1, 4, 4).transpose(0, 2, 1)
    else:
        ibm = np.repeat(np.eye(4)[None], len(joints), 0)
    return np.stack([world.get(j, np.eye(4)) @ ibm[k] for k, j in enumerate(joints)])


def skin_influences(reader: AccessorReader, attrs: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Joint indices and weights per vertex from every JOINTS_n/WEIGHTS_n pair (glTF 2.0
    §3.7.3.3: a vertex may have more than four influences in further sets)."""
    joints, weights = [], []
    n = 0
    while f"JOINTS_{n}" in attrs and f"WEIGHTS_{n}" in attrs:
        joints.append(reader.read(attrs[f"JOINTS_{n}"], as_float=False).astype(np.int64))
        weights.append(reader.read(attrs[f"WEIGHTS_{n}"]).astype(np.float64))
        n += 1
    return np.concatenate(joints, 1), np.concatenate(weights, 1)


def _primitive(doc, reader, prim, world_m, skin_m, weights, n_mat) -> Primitive | None:
    attrs = prim.get("attributes") or {}
    if "POSITION" not in attrs:
        return None
    pos = reader.read(attrs["POSITION"]).astype(np.float64)
    nrm = reader.read(attrs["NORMAL"]).astype(np.float64) if "NORMAL" in attrs else None
    tan = reader.read(attrs["TANGENT"]).astype(np.float64) if "TANGENT" in attrs else None
    for k, target in enumerate(prim.get("targets") or []):
        w = float(weights[k]) if weights is not None and k < len(weights) else 0.0
        if w == 0.0:
            continue
        if "POSITION" in target:
            pos = pos + w * reader.read(target["POSITION"])
        if nrm is not None and "NORMAL" in target:
            nrm = nrm + w * reader.read(target["NORMAL"])
        if tan is not None and "TANGENT" in target:
            tan[:, :3] = tan[:, :3] + w * reader.read(target["TANGENT"])
    n = len(pos)
    if skin_m is not None and "JOINTS_0" in attrs and "WEIGHTS_0" in attrs:
        joints, wts = skin_influences(reader, attrs)
        joints = np.clip(joints, 0, len(skin_m) - 1)
        # in blocks: a matrix per vertex and influence is 128 bytes each, which for the
        # largest allowed mesh would be gigabytes at once
        for lo in range(0, n, SKIN_BLOCK):
            block = slice(lo, lo + SKIN_BLOCK)
            per_vertex = np.einsum("vk,vkij->vij", wts[block], skin_m[joints[block]])
            linear = per_vertex[:, :3, :3]
            pos[block] = np.einsum("vij,vj->vi", linear, pos[block]) + per_vertex[:, :3, 3]
            if nrm is not None:
                nrm[block] = np.einsum("vij,vj->vi", normal_matrix(linear), nrm[block])
            if tan is not None:
                tan[block, :3] = np.einsum("vij,vj->vi", linear, tan[block, :3])
        mirrored = False
    else:
        lin = world_m[:3, :3]
        pos = pos @ lin.T + world_m[:3, 3]
        if nrm is not None:
            nrm = nrm @ normal_matrix(lin).T
        if tan is not None:
            tan[:, :3] = tan[:, :3] @ lin.T
        mirrored = bool(np.linalg.det(lin) < 0)
    has_idx = "indices" in prim
    idx = reader.indices(prim["indices"], n) if has_idx else np.arange(n, dtype=np.uint32)
    idx = _triangle_list(idx, prim.get("mode", 4))
    if idx is None or len(idx) == 0:
        return None

    def attr(name: str) -> np.ndarray | None:
        return reader.read(attrs[name]).astype(np.float32) if name in attrs else None

    uv0, uv1, col = attr("TEXCOORD_0"), attr("TEXCOORD_1"), attr("COLOR_0")
    if col is not None and col.shape[1] == 3:
        col = np.concatenate([col, np.ones((n, 1), np.float32)], 1)
    if nrm is None:
        nrm, order = _flat_normals(pos, idx)
        pos = pos[order]
        uv0 = uv0[order] if uv0 is not None else None
        uv1 = uv1[order] if uv1 is not None else None
        col = col[order] if col is not None else None
        tan = None
        idx = np.arange(len(order), dtype=np.uint32)
    nrm = nrm / np.maximum(np.linalg.norm(nrm, axis=1, keepdims=True), 1e-20)
    mat = prim.get("material", n_mat - 1)
    if not 0 <= mat < n_mat:
        mat = n_mat - 1
    return Primitive(
        positions=pos.astype(np.float32),
        normals=nrm.astype(np.float32),
        indices=idx.astype(np.uint32),
        material=mat,
        uv0=uv0,
        uv1=uv1,
        tangents=tan.astype(np.float32) if tan is not None else None,
        colors=col,
        mirrored=mirrored,
    )


def _pack_occlusion(materials: list[Material], images: list[Image]) -> None:
    """Put occlusion into the R channel of the metallic-roughness image (the glTF "ORM"
    layout; R is unused by metallic-roughness) so the shader makes one texture fetch instead
    of two; on llvmpipe texture fetches are most of the per-pixel cost."""
    packed: dict[tuple[int, int], int] = {}
    for m in materials:
        occ, mr = m.slots.get("occlusion"), m.slots.get("metallicRoughness")
        if occ is None or mr is None or occ.texcoord != mr.texcoord:
            continue
        if not np.array_equal(occ.transform, mr.transform):
            continue
        if occ.image != mr.image:
            a, b = images[occ.image].pixels, images[mr.image].pixels
            if a.shape != b.shape:
                continue
            key = (occ.image, mr.image)
            if key not in packed:
                px = b.copy()
                px[..., 0] = a[..., 0]
                packed[key] = len(images)
                images.append(Image(px, srgb=False, repeat=images[mr.image].repeat))
            mr.image = occ.image = packed[key]
        m.occlusion_in_mr = True


def _predicted_packing(materials: list[Material]) -> list[Material]:
    """Copies of ``materials`` with ``occlusion_in_mr`` as ``_pack_occlusion`` will most
    likely set it (it also needs equal image sizes, known only after decoding)."""
    out = []
    for m in materials:
        occ, mr = m.slots.get("occlusion"), m.slots.get("metallicRoughness")
        packed = (
            occ is not None
            and mr is not None
            and occ.texcoord == mr.texcoord
            and np.array_equal(occ.transform, mr.transform)
        )
        out.append(replace(m, occlusion_in_mr=packed))
    return out


def load_scene(
    model: ValidatedModel,
    *,
    max_texture_side: int = 2048,
    animation: int | None = None,
    animation_time: float = 0.0,
    z_up: bool = False,
    while_decoding: Callable[[list[Primitive], list[Material]], object] | None = None,
    node_overrides: Mapping[int, Mapping[str, np.ndarray]] | None = None,
    root: np.ndarray | None = None,
) -> Scene:
    """Flatten ``model`` into world-space primitives: in its rest pose (node transforms as
    stored) when ``animation`` is None, else posed by that animation at ``animation_time``.
    ``z_up`` rotates a Z-up export into glTF's Y-up convention (glTF 2.0 §3.4 says +Y is
    up; some exporters ignore it).

    Images decode on two threads while this thread builds the geometry and then runs
    ``while_decoding(primitives, materials)`` (the job compiles the shader variants there;
    the materials are copies with occlusion packing predicted, as it is only decided once
    the images are decoded), so the slow parts of a cold start overlap.

    ``node_overrides`` set node TRS values after the animation is sampled and ``root`` is a
    transform above the scene's roots (the pose generator sets joint rotations and a unit
    and axis fix this way); ``repose`` re-poses a loaded scene without decoding again."""
    doc = model.doc
    reader = AccessorReader(doc, model.buffers)
    materials, wanted, repeat_of = _materials(doc)
    keys = sorted(wanted, key=wanted.get)
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="texture-decode")
    futures = [
        pool.submit(_decode_image, _image_blob(model, k[0]), max_texture_side, k[0]) for k in keys
    ]
    pool.shutdown(wait=False)
    try:
        prims, lo, hi = _geometry(
            doc, reader, materials, animation, animation_time, z_up, node_overrides, root
        )
        if while_decoding is not None:
            while_decoding(prims, _predicted_packing(materials))
        decoded = [f.result() for f in futures]
    finally:
        for f in futures:
            f.cancel()
    images = [
        Image(px, srgb=k[1], repeat=repeat_of[i])
        for i, (k, px) in enumerate(zip(keys, decoded, strict=True))
    ]
    _pack_occlusion(materials, images)
    tris = sum(len(p.indices) // 3 for p in prims)
    return Scene(
        prims,
        materials,
        images,
        (lo, hi),
        tris,
        len(doc.get("animations") or []),
        source=model.path,
        z_up=z_up,
        pose=None if animation is None else (animation, animation_time),
    )


def repose(
    model: ValidatedModel,
    scene: Scene,
    node_overrides: Mapping[int, Mapping[str, np.ndarray]] | None = None,
    root: np.ndarray | None = None,
) -> Scene:
    """``scene`` (loaded from ``model`` by ``load_scene``) with its geometry posed again by
    ``node_overrides`` and ``root``; materials and decoded images are shared, not copied."""
    reader = AccessorReader(model.doc, model.buffers)
    animation, time = scene.pose if scene.pose is not None else (None, 0.0)
    prims, lo, hi = _geometry(
        model.doc, reader, scene.materials, animation, time, scene.z_up, node_overrides, root
    )
    tris = sum(len(p.indices) // 3 for p in prims)
    return replace(scene, primitives=prims, bounds=(lo, hi), triangles=tris)


def _geometry(*args, **kwargs):
    """World-space primitives posed at the requested time, and their bounds. Transforms
    that are finite but huge may overflow float32 on the way: that is the model's fault,
    refused as ``bad_geometry`` by the finiteness check, not a floating-point warning."""
    with np.errstate(over="ignore", invalid="ignore"):
        return _posed_geometry(*args, **kwargs)


def _posed_geometry(
    doc, reader, materials, animation, animation_time, z_up, node_overrides=None, root=None
):
    local, weights = local_transforms(doc, reader, animation, animation_time, node_overrides)
    world = world_transforms(doc, local, root)
    if z_up:
        fix = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, -1, 0, 0], [0, 0, 0, 1]], np.float64)
        world = {k: fix @ v for k, v in world.items()}
    nodes = doc.get("nodes") or []
    prims: list[Primitive] = []
    for node_i, m in world.items():
        node = nodes[node_i]
        if "mesh" not in node:
            continue
        mesh = doc["meshes"][node["mesh"]]
        skin_m = None
        if "skin" in node and 0 <= node["skin"] < len(doc.get("skins") or []):
            skin_m = _skin_matrices(doc, reader, node["skin"], world)
        w = weights.get(node_i, node.get("weights", mesh.get("weights")))
        for prim in mesh.get("primitives") or []:
            p = _primitive(doc, reader, prim, m, skin_m, w, len(materials))
            if p is not None:
                prims.append(p)
    if not prims:
        raise ModelError("the model has no triangle meshes to render", code="empty_model")
    lo = np.min([p.positions.min(0) for p in prims], 0)
    hi = np.max([p.positions.max(0) for p in prims], 0)
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
        raise ModelError("the model has non-finite vertex positions", code="bad_geometry")
    return prims, lo, hi
