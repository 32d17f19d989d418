"""Small valid glTF models built in code (pygltflib + numpy): the seeds every fuzzer mutates.

Each exercises a different part of the loader: indexed geometry with a PNG texture and a
texture transform; an animated, skinned, morphed mesh with a sparse accessor and a matrix
node; an un-indexed strip with a JPEG and vertex colours.
"""

from __future__ import annotations

import io
import json
import struct
from functools import cache

import numpy as np
import pygltflib as g

JSON_CHUNK, BIN_CHUNK = 0x4E4F534A, 0x004E4942


def png(width: int = 8, height: int = 8, fmt: str = "PNG") -> bytes:
    from PIL import Image

    rng = np.random.default_rng(width * 31 + height)
    pixels = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, fmt)
    return out.getvalue()


class _Builder:
    """Appends arrays to one binary blob and records views and accessors for them."""

    def __init__(self) -> None:
        self.blob = bytearray()
        self.views: list[g.BufferView] = []
        self.accessors: list[g.Accessor] = []

    def view(self, data: bytes, target: int | None = None) -> int:
        self.blob += b"\0" * (-len(self.blob) % 4)
        self.views.append(
            g.BufferView(buffer=0, byteOffset=len(self.blob), byteLength=len(data), target=target)
        )
        self.blob += data
        return len(self.views) - 1

    def accessor(self, array: np.ndarray, kind: str, target: int | None = None, **extra) -> int:
        ctype = {np.float32: g.FLOAT, np.uint16: g.UNSIGNED_SHORT, np.uint8: g.UNSIGNED_BYTE}[
            array.dtype.type
        ]
        view = self.view(array.tobytes(), target)
        kwargs = {}
        if kind == "VEC3" and ctype == g.FLOAT:
            kwargs = {"min": array.min(0).tolist(), "max": array.max(0).tolist()}
        elif kind == "SCALAR" and ctype == g.FLOAT:
            kwargs = {"min": [float(array.min())], "max": [float(array.max())]}
        self.accessors.append(
            g.Accessor(
                bufferView=view,
                componentType=ctype,
                count=len(array),
                type=kind,
                **kwargs,
                **extra,
            )
        )
        return len(self.accessors) - 1

    def glb(self, gltf: g.GLTF2) -> bytes:
        gltf.bufferViews, gltf.accessors = self.views, self.accessors
        gltf.buffers = [g.Buffer(byteLength=len(self.blob))]
        gltf.set_binary_blob(bytes(self.blob))
        return b"".join(gltf.save_to_bytes())


CUBE_POS = np.array(
    [[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=np.float32
)
CUBE_IDX = np.array(
    [
        0,
        1,
        3,
        0,
        3,
        2,
        4,
        6,
        7,
        4,
        7,
        5,
        0,
        4,
        5,
        0,
        5,
        1,
        2,
        3,
        7,
        2,
        7,
        6,
        0,
        2,
        6,
        0,
        6,
        4,
        1,
        5,
        7,
        1,
        7,
        3,
    ],
    dtype=np.uint16,
)


@cache
def textured_cube() -> bytes:
    b = _Builder()
    pos = b.accessor(CUBE_POS, "VEC3", g.ARRAY_BUFFER)
    nrm = b.accessor(CUBE_POS / np.sqrt(3, dtype=np.float32), "VEC3", g.ARRAY_BUFFER)
    uv = b.accessor((CUBE_POS[:, :2] + 1) / 2, "VEC2", g.ARRAY_BUFFER)
    idx = b.accessor(CUBE_IDX, "SCALAR", g.ELEMENT_ARRAY_BUFFER)
    image_view = b.view(png())
    transform = {"KHR_texture_transform": {"offset": [0.1, 0.2], "scale": [2, 2], "rotation": 0.3}}
    gltf = g.GLTF2(
        asset=g.Asset(version="2.0"),
        extensionsUsed=["KHR_texture_transform"],
        scene=0,
        scenes=[g.Scene(nodes=[0])],
        nodes=[g.Node(mesh=0, rotation=[0, 0.3826834, 0, 0.9238795], scale=[1, 2, 1])],
        meshes=[
            g.Mesh(
                primitives=[
                    g.Primitive(
                        attributes=g.Attributes(POSITION=pos, NORMAL=nrm, TEXCOORD_0=uv),
                        indices=idx,
                        material=0,
                    )
                ]
            )
        ],
        materials=[
            g.Material(
                pbrMetallicRoughness=g.PbrMetallicRoughness(
                    baseColorTexture=g.TextureInfo(index=0, extensions=transform),
                    metallicFactor=0.2,
                ),
                normalTexture=g.NormalMaterialTexture(index=0, scale=0.5),
                alphaMode="MASK",
            )
        ],
        textures=[g.Texture(source=0, sampler=0)],
        samplers=[g.Sampler(wrapS=33071, wrapT=10497)],
        images=[g.Image(bufferView=image_view, mimeType="image/png")],
    )
    return b.glb(gltf)


@cache
def animated_skin() -> bytes:
    """Two joints, a LINEAR rotation and a CUBICSPLINE translation channel, one morph
    target animated by weights, a sparse accessor and a node with a matrix."""
    b = _Builder()
    pos = b.accessor(CUBE_POS, "VEC3", g.ARRAY_BUFFER)
    idx = b.accessor(CUBE_IDX, "SCALAR", g.ELEMENT_ARRAY_BUFFER)
    joints = b.accessor(np.array([[0, 1, 0, 0]] * 8, np.uint8), "VEC4", g.ARRAY_BUFFER)
    weights = b.accessor(np.array([[0.5, 0.5, 0, 0]] * 4 + [[1, 0, 0, 0]] * 4, np.float32), "VEC4")
    ibm = b.accessor(np.stack([np.eye(4, dtype=np.float32)] * 2).reshape(2, 16), "MAT4")
    # morph target: zeros plus two sparse displacements
    sparse_idx = b.view(np.array([1, 6], np.uint16).tobytes())
    sparse_val = b.view(np.array([[0, 0.5, 0], [0.3, 0, 0]], np.float32).tobytes())
    b.accessors.append(
        g.Accessor(
            byteOffset=None,
            componentType=g.FLOAT,
            count=8,
            type="VEC3",
            min=[0, 0, 0],
            max=[0.3, 0.5, 0],
            sparse=g.Sparse(
                count=2,
                indices=g.AccessorSparseIndices(
                    bufferView=sparse_idx, componentType=g.UNSIGNED_SHORT
                ),
                values=g.AccessorSparseValues(bufferView=sparse_val),
            ),
        )
    )
    target = len(b.accessors) - 1
    times = b.accessor(np.array([0, 0.5, 1], np.float32), "SCALAR")
    rotations = b.accessor(
        np.array([[0, 0, 0, 1], [0, 0.7071068, 0, 0.7071068], [0, 1, 0, 0]], np.float32), "VEC4"
    )
    cubic = b.accessor(np.arange(27, dtype=np.float32).reshape(9, 3) / 27, "VEC3")
    morph = b.accessor(np.array([0, 1, 0.5], np.float32), "SCALAR")
    matrix = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0.5, 0, 0, 1]
    gltf = g.GLTF2(
        asset=g.Asset(version="2.0"),
        scene=0,
        scenes=[g.Scene(nodes=[0, 1])],
        nodes=[
            g.Node(mesh=0, skin=0),
            g.Node(children=[2], translation=[0, 1, 0]),
            g.Node(matrix=matrix),
        ],
        meshes=[
            g.Mesh(
                primitives=[
                    g.Primitive(
                        attributes=g.Attributes(POSITION=pos, JOINTS_0=joints, WEIGHTS_0=weights),
                        indices=idx,
                        targets=[{"POSITION": target}],
                    )
                ],
                weights=[0.25],
            )
        ],
        skins=[g.Skin(joints=[1, 2], inverseBindMatrices=ibm)],
        animations=[
            g.Animation(
                samplers=[
                    g.AnimationSampler(input=times, output=rotations),
                    g.AnimationSampler(input=times, output=cubic, interpolation="CUBICSPLINE"),
                    g.AnimationSampler(input=times, output=morph, interpolation="STEP"),
                ],
                channels=[
                    g.AnimationChannel(
                        sampler=0, target=g.AnimationChannelTarget(node=1, path="rotation")
                    ),
                    g.AnimationChannel(
                        sampler=1, target=g.AnimationChannelTarget(node=1, path="translation")
                    ),
                    g.AnimationChannel(
                        sampler=2, target=g.AnimationChannelTarget(node=0, path="weights")
                    ),
                ],
            )
        ],
    )
    return b.glb(gltf)


@cache
def coloured_strip() -> bytes:
    """Un-indexed triangle strip with vertex colours, flat-shaded (no NORMAL), a JPEG."""
    b = _Builder()
    pos = np.array([[i % 2, i // 2, 0] for i in range(6)], np.float32)
    p = b.accessor(pos, "VEC3", g.ARRAY_BUFFER)
    col = b.accessor(np.linspace(0, 1, 24, dtype=np.float32).reshape(6, 4), "VEC4")
    uv = b.accessor(pos[:, :2] / 3, "VEC2")
    image_view = b.view(png(16, 4, "JPEG"))
    gltf = g.GLTF2(
        asset=g.Asset(version="2.0"),
        nodes=[g.Node(mesh=0)],
        meshes=[
            g.Mesh(
                primitives=[
                    g.Primitive(
                        attributes=g.Attributes(POSITION=p, COLOR_0=col, TEXCOORD_0=uv),
                        mode=5,
                        material=0,
                    )
                ]
            )
        ],
        materials=[
            g.Material(
                pbrMetallicRoughness=g.PbrMetallicRoughness(
                    baseColorTexture=g.TextureInfo(index=0)
                ),
                emissiveFactor=[0.1, 0, 0],
                doubleSided=True,
            )
        ],
        textures=[g.Texture(source=0)],
        images=[g.Image(bufferView=image_view, mimeType="image/jpeg")],
    )
    return b.glb(gltf)


SEEDS = {"textured_cube": textured_cube, "animated_skin": animated_skin, "strip": coloured_strip}


def split(data: bytes) -> tuple[dict, bytes]:
    """A well-formed GLB's JSON document and BIN chunk."""
    json_len = struct.unpack_from("<I", data, 12)[0]
    doc = json.loads(data[20 : 20 + json_len])
    start = 20 + json_len
    bin_len = struct.unpack_from("<I", data, start)[0]
    return doc, data[start + 8 : start + 8 + bin_len]


def glb(doc: dict | bytes, binary: bytes | None, pad_json: bool = True) -> bytes:
    """A GLB from a document (or raw JSON bytes) and a BIN chunk, padded per the spec
    unless ``pad_json`` is false (then the JSON chunk length may not be a multiple of 4)."""
    text = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    if pad_json:
        text += b" " * (-len(text) % 4)
    body = struct.pack("<II", len(text), JSON_CHUNK) + text
    if binary is not None:
        binary += b"\0" * (-len(binary) % 4)
        body += struct.pack("<II", len(binary), BIN_CHUNK) + binary
    return struct.pack("<4sII", b"glTF", 2, 12 + len(body)) + body
