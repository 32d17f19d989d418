"""Apply a pose (rotations relative to the reference T-pose) to any mapped rig.

For every mapped joint we first find its world rotation in the *reference* pose: walk the
hierarchy from the root, carry each parent's correction down, and swing the joint so the
direction from it to its aim child (``skeleton.AIMS``) lies along the reference direction.
That removes the rig's own rest pose (A-pose arms, bent knees) while keeping its bone roll.
The posed world rotation of a joint is then N(bone) · T(joint), where N(bone) is the
product of the pose's local rotations down the canonical chain — bones the rig lacks
included, so a rig without a chest bone still bends by the chest's amount — and T(joint)
is its reference-pose world rotation. Joints we do not map keep their local transforms.
This is the "normalised bone" construction of the VRM 1.0 humanoid specification
(vrm-specification, VRMC_vrm-1.0 ``humanoid.md``: T-pose, rest rotations factored out).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from renderhouse.generators.pose import rotations as rot
from renderhouse.generators.pose.avatar import Avatar
from renderhouse.generators.pose.pose_format import Pose
from renderhouse.generators.pose.skeleton import AIMS, BONES, PARENTS
from renderhouse.scene.gltf_animation import trs_matrix


@dataclass
class Retargeted:
    overrides: dict[int, dict[str, np.ndarray]]  # node → TRS for the scene loader
    world_rotations: dict[int, np.ndarray]  # node → posed world rotation (normalised space)


def _order(avatar: Avatar) -> list[int]:
    """Nodes parents-first."""
    n = len(avatar.rest)
    depth = {}
    for i in range(n):
        d, j, seen = 0, i, set()
        while j in avatar.parents and j not in seen:
            seen.add(j)
            j = avatar.parents[j]
            d += 1
        depth[i] = d
    return sorted(range(n), key=lambda i: depth[i])


def _rest_world(avatar: Avatar, order: list[int]) -> dict[int, np.ndarray]:
    world: dict[int, np.ndarray] = {}
    for i in order:
        t = avatar.rest[i]
        parent = world.get(avatar.parents[i]) if i in avatar.parents else avatar.root
        world[i] = parent @ trs_matrix(t.translation, t.rotation, t.scale)
    return world


def reference_rotations(avatar: Avatar) -> tuple[list[int], dict[int, np.ndarray], dict]:
    """Order, each node's world rotation in the reference pose, and the rest world matrices."""
    order = _order(avatar)
    rest_world = _rest_world(avatar, order)
    root_q = rot.from_matrix(avatar.root[:3, :3])
    node_bone = {n: b for b, n in avatar.bones.bones.items()}
    rest_q = {i: rot.from_matrix(rest_world[i][:3, :3]) for i in order}
    ref: dict[int, np.ndarray] = {}
    for i in order:
        parent_q = ref[avatar.parents[i]] if i in avatar.parents else root_q
        cand = rot.multiply(parent_q, avatar.rest[i].rotation)
        bone = node_bone.get(i)
        if bone in AIMS:
            children, target = AIMS[bone]
            child = next((avatar.bones.bones[c] for c in children if c in avatar.bones.bones), None)
            if child is not None:
                offset = rest_world[child][:3, 3] - rest_world[i][:3, 3]
                if np.linalg.norm(offset) > 1e-9:
                    d_local = rot.rotate(rot.inverse(rest_q[i]), offset)
                    d_now = rot.rotate(cand, d_local)
                    cand = rot.multiply(rot.between(d_now, target), cand)
        ref[i] = rot.normalise(cand)
    return order, ref, rest_world


def normalised_world(pose: Pose) -> dict[str, np.ndarray]:
    """N(bone): the pose's local rotations multiplied down the canonical hierarchy."""
    out: dict[str, np.ndarray] = {}
    for bone in BONES:  # parents come before children in BONES
        parent = PARENTS[bone]
        base = out[parent] if parent is not None else rot.IDENTITY
        out[bone] = rot.multiply(base, pose.rotations.get(bone, rot.IDENTITY))
    return out


def retarget(avatar: Avatar, pose: Pose) -> Retargeted:
    order, ref, rest_world = reference_rotations(avatar)
    root_q = rot.from_matrix(avatar.root[:3, :3])
    n_world = normalised_world(pose)
    node_bone = {n: b for b, n in avatar.bones.bones.items()}
    posed: dict[int, np.ndarray] = {}
    overrides: dict[int, dict[str, np.ndarray]] = {}
    for i in order:
        parent_q = posed[avatar.parents[i]] if i in avatar.parents else root_q
        bone = node_bone.get(i)
        if bone is None:
            posed[i] = rot.multiply(parent_q, avatar.rest[i].rotation)
            continue
        posed[i] = rot.normalise(rot.multiply(n_world[bone], ref[i]))
        t = avatar.rest[i]
        overrides[i] = {
            "translation": t.translation,
            "rotation": rot.normalise(rot.multiply(rot.inverse(parent_q), posed[i])),
            "scale": t.scale,
        }
    hips = avatar.bones.bones["hips"]
    if np.any(pose.hips_offset) and hips in overrides:
        parent_world = rest_world[avatar.parents[hips]] if hips in avatar.parents else avatar.root
        target = rest_world[hips][:3, 3] + pose.hips_offset * avatar.hips_height
        local = np.linalg.inv(parent_world) @ np.array([*target, 1.0])
        overrides[hips]["translation"] = local[:3]
    return Retargeted(overrides, posed)
