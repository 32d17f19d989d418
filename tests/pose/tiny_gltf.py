"""Hand-made skinned glTF documents with answers that can be worked out on paper."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import numpy as np
import pygltflib as g


class Builder:
    def __init__(self) -> None:
        self.blob = bytearray()
        self.views: list[Any] = []
        self.accessors: list[Any] = []

    def add(self, arr: np.ndarray, ctype: int, atype: str) -> int:
        data = np.ascontiguousarray(arr).tobytes()
        while len(self.blob) % 4:
            self.blob.append(0)
        self.views.append(g.BufferView(buffer=0, byteOffset=len(self.blob), byteLength=len(data)))
        self.blob.extend(data)
        acc = g.Accessor(
            bufferView=len(self.views) - 1, componentType=ctype, count=len(arr), type=atype
        )
        if atype == g.VEC3 and ctype == g.FLOAT:
            acc.min = [float(v) for v in arr.min(0)]
            acc.max = [float(v) for v in arr.max(0)]
        self.accessors.append(acc)
        return len(self.accessors) - 1


def two_bone_arm(
    path: Path,
    *,
    vertices: np.ndarray,
    joints: np.ndarray,
    weights: np.ndarray,
    elbow_rotation: list[float] | None = None,
    animation: dict[str, Any] | None = None,
    mesh_node: dict[str, Any] | None = None,
    split_sets: bool = False,
) -> Path:
    """Shoulder joint at the origin, elbow joint at (1, 0, 0) (its child); the mesh is bound
    in that rest pose. ``animation``: {"path", "interpolation", "times", "values"} on the
    elbow. ``split_sets``: influence k of each vertex goes to JOINTS_k/WEIGHTS_k."""
    b = Builder()
    n = len(vertices)
    tris = np.arange(n - n % 3, dtype=np.uint32)
    attrs = g.Attributes(POSITION=b.add(vertices.astype(np.float32), g.FLOAT, g.VEC3))
    if split_sets:
        for k in range(2):
            j4 = np.zeros((n, 4), np.uint16)
            w4 = np.zeros((n, 4), np.float32)
            j4[:, 0], w4[:, 0] = joints[:, k], weights[:, k]
            setattr(attrs, f"JOINTS_{k}", b.add(j4, g.UNSIGNED_SHORT, g.VEC4))
            setattr(attrs, f"WEIGHTS_{k}", b.add(w4, g.FLOAT, g.VEC4))
    else:
        j4 = np.zeros((n, 4), np.uint16)
        w4 = np.zeros((n, 4), np.float32)
        j4[:, :2], w4[:, :2] = joints, weights
        attrs.JOINTS_0 = b.add(j4, g.UNSIGNED_SHORT, g.VEC4)
        attrs.WEIGHTS_0 = b.add(w4, g.FLOAT, g.VEC4)
    idx = b.add(tris, g.UNSIGNED_INT, g.SCALAR)
    ibm = np.stack([np.eye(4), np.linalg.inv(_translate(1, 0, 0))]).transpose(0, 2, 1)
    ibm_i = b.add(ibm.reshape(2, 16).astype(np.float32), g.FLOAT, g.MAT4)
    elbow = g.Node(name="elbow", translation=[1.0, 0.0, 0.0])
    if elbow_rotation is not None:
        elbow.rotation = elbow_rotation
    nodes = [
        g.Node(name="shoulder", children=[1]),
        elbow,
        g.Node(name="arm", mesh=0, skin=0, **(mesh_node or {})),
    ]
    animations = []
    if animation is not None:
        times = np.array(animation["times"], np.float32).reshape(-1, 1)
        values = np.array(animation["values"], np.float32)
        vtype = g.VEC4 if values.shape[1] == 4 else g.VEC3
        sampler = g.AnimationSampler(
            input=b.add(times, g.FLOAT, g.SCALAR),
            output=b.add(values, g.FLOAT, vtype),
            interpolation=animation["interpolation"],
        )
        animations.append(
            g.Animation(
                samplers=[sampler],
                channels=[
                    g.AnimationChannel(
                        sampler=0, target=g.AnimationChannelTarget(node=1, path=animation["path"])
                    )
                ],
            )
        )
    gltf = g.GLTF2(
        asset=g.Asset(version="2.0"),
        scene=0,
        scenes=[g.Scene(nodes=[0, 2])],
        nodes=nodes,
        meshes=[g.Mesh(primitives=[g.Primitive(attributes=attrs, indices=idx)])],
        skins=[g.Skin(joints=[0, 1], inverseBindMatrices=ibm_i)],
        animations=animations,
        accessors=b.accessors,
        bufferViews=b.views,
        buffers=[g.Buffer(byteLength=len(b.blob))],
    )
    gltf.set_binary_blob(bytes(b.blob))
    gltf.save_binary(str(path))
    return path


def _translate(x: float, y: float, z: float) -> np.ndarray:
    m = np.eye(4)
    m[:3, 3] = (x, y, z)
    return m


def scale_weights(src: Path, dst: Path, factor: float) -> Path:
    """A copy of a GLB whose WEIGHTS_0 floats are multiplied by ``factor`` (broken skin)."""
    gltf = g.GLTF2().load_binary(str(src))
    blob = bytearray(gltf.binary_blob())
    for mesh in gltf.meshes:
        for prim in mesh.primitives:
            acc = gltf.accessors[prim.attributes.WEIGHTS_0]
            view = gltf.bufferViews[acc.bufferView]
            start = (view.byteOffset or 0) + (acc.byteOffset or 0)
            count = acc.count * 4
            values = struct.unpack_from(f"<{count}f", blob, start)
            struct.pack_into(f"<{count}f", blob, start, *(v * factor for v in values))
    gltf.set_binary_blob(bytes(blob))
    gltf.save_binary(str(dst))
    return dst


def add_clip(src: Path, dst: Path, name: str, tracks: dict[str, tuple[list, list]]) -> Path:
    """A copy of a GLB with one LINEAR animation clip: node name → (times, quaternions)."""
    gltf = g.GLTF2().load_binary(str(src))
    blob = bytearray(gltf.binary_blob())

    def add(arr: np.ndarray, atype: str) -> int:
        while len(blob) % 4:
            blob.append(0)
        data = np.ascontiguousarray(arr, np.float32).tobytes()
        gltf.bufferViews.append(g.BufferView(buffer=0, byteOffset=len(blob), byteLength=len(data)))
        blob.extend(data)
        acc = g.Accessor(
            bufferView=len(gltf.bufferViews) - 1, componentType=g.FLOAT, count=len(arr), type=atype
        )
        if atype == g.SCALAR:
            acc.min, acc.max = [float(arr.min())], [float(arr.max())]
        gltf.accessors.append(acc)
        return len(gltf.accessors) - 1

    by_name = {n.name: i for i, n in enumerate(gltf.nodes)}
    samplers, channels = [], []
    for node_name, (times, quats) in tracks.items():
        samplers.append(
            g.AnimationSampler(
                input=add(np.array(times).reshape(-1, 1), g.SCALAR),
                output=add(np.array(quats), g.VEC4),
                interpolation="LINEAR",
            )
        )
        target = g.AnimationChannelTarget(node=by_name[node_name], path="rotation")
        channels.append(g.AnimationChannel(sampler=len(samplers) - 1, target=target))
    gltf.animations.append(g.Animation(name=name, samplers=samplers, channels=channels))
    gltf.buffers[0].byteLength = len(blob)
    gltf.set_binary_blob(bytes(blob))
    gltf.save_binary(str(dst))
    return dst
