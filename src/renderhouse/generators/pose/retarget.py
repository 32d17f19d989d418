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
from renderhouse.generators.pose.bind_pose import local_matrix
from renderhouse.generators.pose.pose_format import Pose
from renderhouse.generators.pose.skeleton import AIMS, BONES, PARENTS


@dataclass
class Retargeted:
    overrides: dict[int, dict[str, np.ndarray]]  # node → TRS for the scene loader
    world_rotations: dict[int, np.ndarray]  # node → posed world rotation (normalised space)


def reference_rotations(avatar: Avatar) -> dict[int, np.ndarray]:
    """Each node's world rotation in the reference pose, built from the bind pose."""
    order, rest_world = avatar.order, avatar.bind
    root_q = rot.from_matrix(avatar.root[:3, :3])
    node_bone = {n: b for b, n in avatar.bones.bones.items()}
    rest_q = {i: rot.from_matrix(rest_world[i][:3, :3]) for i in order}
    ref: dict[int, np.ndarray] = {}
    for i in order:
        parent = avatar.parents.get(i)
        parent_q = ref[parent] if parent is not None else root_q
        parent_rest = rest_q[parent] if parent is not None else root_q
        bind_local = rot.multiply(rot.inverse(parent_rest), rest_q[i])
        cand = rot.multiply(parent_q, bind_local)
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
    return ref


def normalised_world(pose: Pose) -> dict[str, np.ndarray]:
    """N(bone): the pose's local rotations multiplied down the canonical hierarchy."""
    out: dict[str, np.ndarray] = {}
    for bone in BONES:  # parents come before children in BONES
        parent = PARENTS[bone]
        base = out[parent] if parent is not None else rot.IDENTITY
        out[bone] = rot.multiply(base, pose.rotations.get(bone, rot.IDENTITY))
    return out


def retarget(avatar: Avatar, pose: Pose) -> Retargeted:
    ref = reference_rotations(avatar)
    order = avatar.order
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
    if hips in overrides:
        parent_world = (
            current_world(avatar, avatar.parents[hips]) if hips in avatar.parents else avatar.root
        )
        target = avatar.bind[hips][:3, 3] + pose.hips_offset * avatar.hips_height
        local = np.linalg.inv(parent_world) @ np.array([*target, 1.0])
        overrides[hips]["translation"] = local[:3]
    return Retargeted(overrides, posed)


def current_world(avatar: Avatar, node: int) -> np.ndarray:
    """World matrix (after ``root``) of a node as stored, not posed by us."""
    chain = [node]
    while chain[-1] in avatar.parents:
        chain.append(avatar.parents[chain[-1]])
    m = avatar.root.copy()
    for i in reversed(chain):
        m = m @ local_matrix(avatar.rest[i])
    return m
