"""The skeleton's bind pose: where each joint was when the mesh was skinned.

glTF 2.0 §3.7.3.1 defines a joint's inverse bind matrix as the inverse of its global
transform at bind time, so the bind pose comes from the skin, not from the nodes' TRS — which
an exporter may have left in any pose (the first frame of a clip, a "current" pose). Retargeting
and the unit/axis detection use it; nodes outside the skin follow their parents.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from renderhouse.errors import ModelError
from renderhouse.scene.gltf_accessors import AccessorReader
from renderhouse.scene.gltf_animation import trs_matrix

MAX_NODES = 20_000


def parents_first(parents: dict[int, int], count: int) -> list[int]:
    """Node indices ordered so every parent comes before its children (cycles refused)."""
    if count > MAX_NODES:
        raise ModelError(
            f"the model has {count} nodes; an avatar may have at most {MAX_NODES}",
            code="too_many_nodes",
        )
    children: dict[int, list[int]] = {}
    for child, parent in parents.items():
        children.setdefault(parent, []).append(child)
    order = [i for i in range(count) if i not in parents]
    k = 0
    while k < len(order):
        order.extend(children.get(order[k], ()))
        k += 1
    if len(order) != count:
        raise ModelError("the node hierarchy has a cycle", code="bad_gltf")
    return order


def bind_world(
    doc: dict[str, Any],
    reader: AccessorReader,
    skin: int,
    local: list[np.ndarray],
    parents: dict[int, int],
    order: list[int],
) -> dict[int, np.ndarray]:
    """Node → world matrix in the bind pose (before any unit or axis fix)."""
    skin_def = doc["skins"][skin]
    joints = skin_def["joints"]
    inverse_bind: dict[int, np.ndarray] = {}
    if "inverseBindMatrices" in skin_def:
        ibm = reader.read(skin_def["inverseBindMatrices"]).astype(np.float64)
        if ibm.shape[1:] != (16,) or not np.all(np.isfinite(ibm)) or np.abs(ibm).max() > 1e7:
            raise ModelError(
                "the skin's inverse bind matrices are not 4x4, not finite or absurdly large",
                code="bad_gltf",
            )
        ibm = ibm.reshape(-1, 4, 4).transpose(0, 2, 1)
        if len(ibm) < len(joints):
            raise ModelError(
                "the skin has fewer inverse bind matrices than joints", code="bad_gltf"
            )
        for k, j in enumerate(joints):
            try:
                inverse_bind[j] = np.linalg.inv(ibm[k])
            except np.linalg.LinAlgError:
                raise ModelError(
                    f"joint {k}'s inverse bind matrix is singular", code="bad_gltf"
                ) from None
            if not np.all(np.isfinite(inverse_bind[j])) or np.abs(inverse_bind[j]).max() > 1e7:
                raise ModelError(f"joint {k}'s bind pose is out of range", code="bad_gltf")
    world: dict[int, np.ndarray] = {}
    for i in order:
        if i in inverse_bind:
            world[i] = inverse_bind[i]
        else:
            parent = world[parents[i]] if i in parents else np.eye(4)
            world[i] = parent @ local[i]
    return world


def local_matrix(trs: Any) -> np.ndarray:
    return trs_matrix(trs.translation, trs.rotation, trs.scale)
