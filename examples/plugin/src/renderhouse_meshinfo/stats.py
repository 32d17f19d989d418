"""What the generator measures, on its own: a GLB's meshes, vertex and triangle counts,
bounding box and materials, read with pygltflib (glTF 2.0 §3.6 meshes, §3.6.2.2 ``min``/
``max`` on POSITION accessors, which the spec requires)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pygltflib

from renderhouse.errors import ModelError

TRIANGLES = 4


def mesh_stats(path: Path) -> dict[str, Any]:
    try:
        gltf = pygltflib.GLTF2().load(str(path))
    except Exception as exc:  # pygltflib raises bare exceptions of many kinds on bad bytes
        raise ModelError(f"{path.name} is not a readable glTF file: {exc}") from exc
    if gltf is None:
        raise ModelError(f"{path.name} is not a readable glTF file")
    vertices = triangles = primitives = 0
    lo = [float("inf")] * 3
    hi = [float("-inf")] * 3
    for mesh in gltf.meshes:
        for prim in mesh.primitives:
            primitives += 1
            position = gltf.accessors[prim.attributes.POSITION]
            vertices += position.count
            for axis in range(3):
                lo[axis] = min(lo[axis], position.min[axis])
                hi[axis] = max(hi[axis], position.max[axis])
            if (prim.mode or TRIANGLES) == TRIANGLES:
                count = gltf.accessors[prim.indices].count if prim.indices is not None else None
                triangles += (count if count is not None else position.count) // 3
    return {
        "meshes": len(gltf.meshes),
        "primitives": primitives,
        "vertices": vertices,
        "triangles": triangles,
        "materials": [m.name or f"material {i}" for i, m in enumerate(gltf.materials)],
        "bounds": {"min": lo, "max": hi} if primitives else None,
    }
