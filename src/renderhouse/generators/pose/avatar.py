"""Load a rigged glTF humanoid as an avatar: validated, bones mapped, units and axes known.

Refusals (``ModelError.code``): ``no_skin`` (no skin, or no skinned mesh), ``too_many_joints``,
``bad_weights`` (weights not summing to 1, negative or non-finite, or naming a missing
joint), ``not_humanoid`` (required VRM bones not found), ``unknown_bone`` (a bone-map
override naming an unknown canonical bone or joint). Every check reads accessors already
bounded by ``gltf_validate``, so time and memory stay proportional to the file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from renderhouse.errors import ModelError
from renderhouse.generators.pose import rotations as rot
from renderhouse.generators.pose.bind_pose import bind_world, local_matrix, parents_first
from renderhouse.generators.pose.bone_map import BoneMap, map_bones
from renderhouse.generators.pose.skeleton import BONES, REQUIRED
from renderhouse.scene.gltf_accessors import AccessorReader
from renderhouse.scene.gltf_validate import ModelLimits, ValidatedModel, validate_model

MAX_JOINTS = 256
MAX_COORDINATE = 1e7  # in file units: a kilometre in millimetres is 1e6
WEIGHT_TOLERANCE = 0.02  # 8-bit normalised weights are off by up to 4/255 in total; we allow half
UNITS = {1.0: "m", 0.1: "dm", 0.01: "cm", 0.001: "mm"}
HUMAN_HEIGHT_M = 1.7


@dataclass
class Trs:
    translation: np.ndarray
    rotation: np.ndarray
    scale: np.ndarray


@dataclass
class Avatar:
    model: ValidatedModel
    skin: int
    bones: BoneMap
    rest: list[Trs]  # every node's local TRS as stored (what renders when not posed)
    parents: dict[int, int]
    order: list[int]  # parents first
    bind: dict[int, np.ndarray]  # node → world matrix in the bind pose, after ``root``
    root: np.ndarray  # 4x4 above the scene: unit scale and axis fix into Y-up, facing +Z
    unit_scale: float
    up_axis: str
    hips_height: float  # metres, in the rest pose

    def summary(self) -> dict[str, Any]:
        """What the avatar looks like to us: shown to the user next to the renders."""
        return {
            "skin": self.skin,
            "joints": len(self.model.doc["skins"][self.skin]["joints"]),
            "mapping": self.bones.as_dict(),
            "missing_optional": [b for b in BONES if b not in self.bones.bones],
            "unit": UNITS.get(self.unit_scale, str(self.unit_scale)),
            "up_axis": self.up_axis,
            "hips_height_m": round(self.hips_height, 4),
        }


def _fail(code: str, message: str, **details: Any) -> ModelError:
    return ModelError(message, code=code, details=details)


def _trs(node: dict[str, Any], index: int) -> Trs:
    try:
        if "matrix" in node:
            m = np.array(node["matrix"], np.float64).reshape(4, 4).T
            trs = Trs(
                m[:3, 3].copy(), rot.from_matrix(m[:3, :3]), np.linalg.norm(m[:3, :3], axis=0)
            )
        else:
            trs = Trs(
                np.array(node.get("translation", [0, 0, 0]), np.float64).reshape(3),
                rot.normalise(np.array(node.get("rotation", [0, 0, 0, 1]), np.float64).reshape(4)),
                np.array(node.get("scale", [1, 1, 1]), np.float64).reshape(3),
            )
    except (TypeError, ValueError):
        raise _fail("bad_gltf", f"node {index} has a malformed transform") from None
    values = np.concatenate([trs.translation, trs.rotation, trs.scale])
    if not np.all(np.isfinite(values)) or np.abs(values).max() > MAX_COORDINATE:
        raise _fail("bad_gltf", f"node {index} has a non-finite or absurdly large transform")
    return trs


def _skinned_primitives(doc: dict[str, Any], skin: int) -> list[dict[str, Any]]:
    out = []
    for node in doc.get("nodes") or []:
        if node.get("skin") == skin and "mesh" in node:
            for prim in doc["meshes"][node["mesh"]].get("primitives") or []:
                attrs = prim.get("attributes") or {}
                if "JOINTS_0" in attrs and "WEIGHTS_0" in attrs:
                    out.append(attrs)
    return out


def _check_influence_accessors(doc: dict[str, Any], attrs: dict[str, Any], p: int) -> None:
    """glTF 2.0 §3.7.3.3: JOINTS_n are VEC4 unsigned byte/short, WEIGHTS_n VEC4 float or
    normalised unsigned byte/short, one per vertex; anything else is refused unread."""
    accessors = doc.get("accessors") or []
    count = accessors[attrs["POSITION"]].get("count") if "POSITION" in attrs else None
    n = 0
    while f"JOINTS_{n}" in attrs or f"WEIGHTS_{n}" in attrs:
        j, w = attrs.get(f"JOINTS_{n}"), attrs.get(f"WEIGHTS_{n}")
        if not (isinstance(j, int) and isinstance(w, int)):
            raise _fail("bad_weights", f"skinned primitive {p} has JOINTS_{n} without WEIGHTS_{n}")
        ja, wa = accessors[j], accessors[w]
        ok = (
            ja.get("type") == "VEC4"
            and ja.get("componentType") in (5121, 5123)
            and wa.get("type") == "VEC4"
            and (
                wa.get("componentType") == 5126
                or (wa.get("componentType") in (5121, 5123) and wa.get("normalized"))
            )
            and ja.get("count") == wa.get("count") == count
        )
        if not ok:
            raise _fail(
                "bad_weights",
                f"skinned primitive {p}: JOINTS_{n}/WEIGHTS_{n} must be VEC4 unsigned integers "
                "and VEC4 floats (or normalised integers), one per vertex",
            )
        n += 1


def check_weights(reader: AccessorReader, prims: list[dict[str, Any]], n_joints: int) -> None:
    from renderhouse.scene.gltf_scene import skin_influences

    for p, attrs in enumerate(prims):
        _check_influence_accessors(reader.doc, attrs, p)
        joints, weights = skin_influences(reader, attrs)
        total = weights.sum(1)
        bad = ~np.isfinite(total) | (np.abs(total - 1.0) > WEIGHT_TOLERANCE)
        bad |= (weights < 0).any(1)
        if bad.any():
            v = int(np.argmax(bad))
            raise _fail(
                "bad_weights",
                f"{int(bad.sum())} vertices of skinned primitive {p} have weights that do not "
                f"sum to 1 (vertex {v}: {float(total[v]):.4f}); normalise the skin weights "
                "in your DCC tool and export again",
                vertices=int(bad.sum()),
            )
        stray = (joints >= n_joints) & (weights > 0)
        if stray.any():
            raise _fail(
                "bad_weights",
                f"{int(stray.any(1).sum())} vertices of skinned primitive {p} are weighted to "
                f"joint indices past the skin's {n_joints} joints",
            )


def _pick_skin(doc: dict[str, Any]) -> int:
    skins = doc.get("skins") or []
    used = [n["skin"] for n in doc.get("nodes") or [] if "skin" in n and "mesh" in n]
    candidates = [s for s in used if 0 <= s < len(skins)]
    if not skins or not candidates:
        raise _fail(
            "no_skin",
            "the model has no skinned mesh (glTF skins); export the character with its "
            "armature and skin weights",
        )
    return max(set(candidates), key=lambda s: len(skins[s].get("joints") or []))


def _snap(g: np.ndarray) -> np.ndarray:
    """An axis permutation when ``g`` is within 10° of one (exports differ by 90° turns)."""
    snapped = np.round(g)
    permutation = np.allclose(np.abs(snapped).sum(0), 1) and np.linalg.det(snapped) > 0.5
    if permutation and np.all(np.abs(g - snapped) < math.sin(math.radians(10))):
        return snapped
    return g


def _orientation(world: dict[int, np.ndarray], bones: dict[str, int]) -> tuple[np.ndarray, str]:
    """Rotation taking the rig's left/up/forward onto +X/+Y/+Z, and its up axis by name."""

    def p(b: str) -> np.ndarray:
        return world[bones[b]][:3, 3]

    feet = (p("leftFoot") + p("rightFoot")) / 2
    up = p("head") - feet
    left = p("leftUpperArm") - p("rightUpperArm") + p("leftUpperLeg") - p("rightUpperLeg")
    up = up / (np.linalg.norm(up) or 1.0)
    left = left - np.dot(left, up) * up
    if np.linalg.norm(left) < 1e-9:
        raise _fail("not_humanoid", "the left and right limbs sit on top of each other")
    left = left / np.linalg.norm(left)
    g = _snap(np.stack([left, up, np.cross(left, up)]))
    axis = int(np.argmax(np.abs(up)))
    return g, ("+" if up[axis] > 0 else "-") + "xyz"[axis]


def load_avatar(
    path: Path,
    limits: ModelLimits | None = None,
    bone_overrides: dict[str, str] | None = None,
) -> Avatar:
    """Validate ``path`` as a humanoid avatar; raises ``ModelError`` with a code otherwise."""
    model = validate_model(Path(path), limits)
    doc = model.doc
    skin = _pick_skin(doc)
    joints = [j for j in doc["skins"][skin].get("joints") or [] if isinstance(j, int)]
    if len(joints) > MAX_JOINTS:
        raise _fail(
            "too_many_joints",
            f"the skin has {len(joints)} joints; at most {MAX_JOINTS} are supported",
            joints=len(joints),
        )
    nodes = doc.get("nodes") or []
    if any(not 0 <= j < len(nodes) for j in joints):
        raise _fail("bad_gltf", "the skin lists a joint that is not a node")
    reader = AccessorReader(doc, model.buffers)
    prims = _skinned_primitives(doc, skin)
    if not prims:
        raise _fail("no_skin", "no mesh bound to the skin has JOINTS_0 and WEIGHTS_0")
    check_weights(reader, prims, len(joints))
    for bone, name in (bone_overrides or {}).items():
        if bone not in BONES:
            raise _fail(
                "unknown_bone",
                f"{bone!r} is not a humanoid bone; use the VRM names (hips, leftUpperArm, …)",
                bone=bone,
            )
        if name not in {nodes[j].get("name") for j in joints}:
            raise _fail("unknown_bone", f"the skin has no joint named {name!r}", joint=name)
    bones = map_bones(doc, joints, bone_overrides)
    missing = [b for b in REQUIRED if b not in bones.bones]
    if missing:
        raise _fail(
            "not_humanoid",
            f"the skeleton is not a humanoid we can map: no {', '.join(missing)} "
            f"(naming scheme {bones.scheme}); pass a bone map naming those joints",
            missing=missing,
            mapping=bones.as_dict(),
        )
    parents = {c: i for i, n in enumerate(nodes) for c in n.get("children") or []}
    order = parents_first(parents, len(nodes))
    rest = [_trs(n, i) for i, n in enumerate(nodes)]
    world = bind_world(doc, reader, skin, [local_matrix(t) for t in rest], parents, order)
    g, up_axis = _orientation(world, bones.bones)
    hips = g @ world[bones.bones["hips"]][:3, 3]
    feet = g @ (world[bones.bones["leftFoot"]][:3, 3] + world[bones.bones["rightFoot"]][:3, 3]) / 2
    head = g @ world[bones.bones["head"]][:3, 3]
    height = float(head[1] - feet[1]) / 0.85
    if not height > 0:
        raise _fail("not_humanoid", "the head is not above the feet in the bind pose")
    scale = min(UNITS, key=lambda k: abs(math.log(max(height * k, 1e-12) / HUMAN_HEIGHT_M)))
    root = np.eye(4)
    root[:3, :3] = g * scale
    return Avatar(
        model=model,
        skin=skin,
        bones=bones,
        rest=rest,
        parents=parents,
        order=order,
        bind={i: root @ m for i, m in world.items()},
        root=root,
        unit_scale=scale,
        up_axis=up_axis,
        hips_height=float(hips[1] - feet[1]) * scale,
    )
